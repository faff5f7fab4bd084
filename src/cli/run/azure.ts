// `exit-plan azure …` as it runs: list containers, count a container's size, make a read-only link and the commands
// that copy everything out; and the `--upload` target of `warehouse export`. The commands, flags and help are in ../azure.ts.
import * as azure from '../../exporters/azure';
import { ExitPlanError } from '../../exporters/shared/errors';
import { formatBytes, formatCount } from '../../exporters/shared/format';
import { ProgressLine, withCancelOnSignals } from './common';

/** `--upload URL`, or `--connection-string CS --container NAME` (with or without a bare `--upload`). */
export function uploadOption(opts: {
  upload?: string | boolean;
  connectionString?: string;
  container?: string;
}): azure.UploadTarget | undefined {
  if (typeof opts.upload === 'string') {
    if (opts.container || opts.connectionString)
      throw new ExitPlanError('Give either --upload with a container SAS URL, or --connection-string with --container, not both.');
    // Checked before exporting: a SAS that cannot do what the upload needs fails now, not after the export.
    azure.containerFromSasUrl(opts.upload);
    return { containerSasUrl: opts.upload };
  }
  if (opts.container) return { account: storageAccountOption(opts.connectionString), container: opts.container };
  if (opts.upload || opts.connectionString)
    throw new ExitPlanError('--upload needs a container: a container SAS URL, or --connection-string with --container NAME.');
  return undefined;
}

function storageAccountOption(connectionString: string | undefined): azure.StorageAccount {
  const cs = connectionString ?? process.env.AZURE_STORAGE_CONNECTION_STRING;
  if (!cs) throw new ExitPlanError('Give --connection-string or set AZURE_STORAGE_CONNECTION_STRING.');
  return azure.openStorageAccount({ kind: 'connectionString', connectionString: cs });
}

export async function listContainers(opts: { connectionString?: string; json?: boolean }): Promise<void> {
  const account = storageAccountOption(opts.connectionString);
  const containers: azure.ContainerItem[] = [];
  let continuation: string | undefined;
  do {
    const page = await azure.listContainers(account, continuation, 5000);
    containers.push(...page.items);
    continuation = page.continuation;
  } while (continuation);
  if (opts.json) {
    const items = containers.map((c) => ({ name: c.name, lastModified: c.lastModified?.toISOString() }));
    process.stdout.write(`${JSON.stringify({ containers: items }, null, 2)}\n`);
  } else {
    for (const c of containers) process.stdout.write(`${c.name}\n`);
  }
}

export async function computeSize(opts: { connectionString?: string; container: string; folder?: string; json?: boolean }): Promise<void> {
  const account = storageAccountOption(opts.connectionString);
  // Progress only on a terminal: cron mail gets the result, not chatter.
  const printer = new ProgressLine(Boolean(process.stderr.isTTY));
  let size: azure.SizeProgress;
  try {
    size = await withCancelOnSignals((signal) =>
      azure.computeSize(account, opts.container, azure.normaliseFolder(opts.folder), {
        signal,
        onProgress: (p) => printer.line('size', azure.describeSizeProgress(p)),
      }),
    );
  } finally {
    printer.end();
  }
  process.stdout.write(opts.json ? `${JSON.stringify(size)}\n` : `${formatCount(size.blobs)} blobs, ${formatBytes(size.bytes)}\n`);
}

export async function generateSas(opts: {
  connectionString?: string;
  container: string;
  folder?: string;
  expiryMinutes: string;
  json?: boolean;
}) {
  const expiryMinutes = azure.checkExpiryMinutes(opts.expiryMinutes);
  const account = storageAccountOption(opts.connectionString);
  const link = await withCancelOnSignals((signal) =>
    azure.generateSas(account, { container: opts.container, folder: opts.folder, expiryMinutes, signal }),
  );
  const plan = azure.transferCommands(link, { shell: 'posix', isEmulator: account.isEmulator });
  const commands = { local: plan.local.line, azure: plan.azure.line, s3: plan.s3.line, gcs: plan.gcs.line };
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ url: link.url, expiresOn: link.expiresOn.toISOString(), commands }, null, 2)}\n`);
    return;
  }
  process.stdout.write(
    `${link.url}\n\nRead + list until ${link.expiresOn.toISOString()}. Anyone holding this link can read the data until then.\n\n` +
      `Copy to local disk:\n  ${commands.local}\nCopy to another Azure account:\n  ${commands.azure}\n` +
      `Copy to AWS S3 (rclone):\n  ${commands.s3}\n  or: ${plan.s3TwoStep}\n` +
      `Copy to Google Cloud Storage (rclone):\n  ${commands.gcs}\n  or: ${plan.gcsTwoStep}\n`,
  );
}
