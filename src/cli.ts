#!/usr/bin/env node
// `exit-plan`: the command-line twin of the extension, a thin layer over src/exporters for cron and servers.
import { Command, Option } from 'commander';
import {
  CancelledError,
  ExitPlanError,
  azure,
  DEFAULT_MAX_ROWS_PER_FILE,
  MAX_JOBS,
  TOOL_VERSION,
  errorMessage,
  exportWarehouse,
  formatBytes,
  formatCount,
  jsonText,
  listWarehouseTables,
  describeLockWait,
  maskSecrets,
  printable,
  type ExportProgress,
  type LockWait,
} from './exporters';
import { splitList } from './exporters/shared/globs';
import { LEFTOVER_REMOVED } from './exporters/shared/partialFile';
import { addBackupsCommands } from './cli/backups';
import { ProgressLine, cancelOnSignals, connectionOption, lockTimeoutOption, oneLineUsageErrors, positiveInt } from './cli/common';
import { addDatasetsCommands } from './cli/datasets';

/** `Waiting for a lock on public.orders held by session 1234 (psql, idle in transaction)…`. */
function waitingText(w: LockWait): string {
  return `${describeLockWait(w)}…`;
}

/** Warehouse export progress: a bar and the table being read. */
function exportProgressText(p: ExportProgress): string {
  if (p.waiting) return waitingText(p.waiting);
  switch (p.phase) {
    case 'connecting':
      return 'Connecting…';
    case 'verifying':
      return `Verifying archive — ${formatBytes(p.bytes)} read`;
    case 'done':
      return 'Done';
    case 'exporting': {
      const barWidth = 20;
      const filled = p.tableCount > 0 ? Math.round((Math.max(0, p.tableIndex - 1) / p.tableCount) * barWidth) : 0;
      return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] Table ${p.tableIndex}/${p.tableCount} ${p.table ?? ''} — ${formatCount(p.rows)} rows, ${formatBytes(p.bytes)}`;
    }
  }
}

function buildProgram(): Command {
  const program = new Command('exit-plan').description('Take all of your data out, at any time.').version(TOOL_VERSION);

  const warehouse = program.command('warehouse').description('PostgreSQL warehouse: list tables, export everything as CSV in one zip.');
  const dbOption = () =>
    new Option('--db <url>', 'postgres://user@host:5432/database (password in PGPASSWORD; default: the PG* environment variables)');

  warehouse
    .command('tables')
    .description('List the tables that an export would include.')
    .addOption(dbOption())
    .option('--include-views', 'also list views and materialized views')
    .addOption(lockTimeoutOption('the table list'))
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts: { db?: string; includeViews?: boolean; lockTimeout: number; json?: boolean; quiet?: boolean }) => {
      const printer = new ProgressLine(!opts.quiet);
      const controller = cancelOnSignals();
      let tables;
      try {
        tables = await listWarehouseTables(connectionOption(opts.db), {
          includeViews: opts.includeViews,
          lockTimeoutSeconds: opts.lockTimeout,
          signal: controller.signal,
          onWaiting: (w) => (w ? printer.line(`waiting ${w.pid}`, waitingText(w)) : printer.end()),
        });
      } finally {
        printer.end();
        controller.dispose();
      }
      if (opts.json) {
        const rows = tables.map((t) => ({
          schema: t.schema,
          name: t.name,
          kind: t.kind,
          estimatedRows: t.estimatedRows,
          sizeBytes: t.sizeBytes,
          columns: t.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull })),
        }));
        process.stdout.write(`${jsonText({ tables: rows })}\n`);
        return;
      }
      for (const t of tables) {
        const rows = t.estimatedRows < 0 ? 'not analysed' : `~${formatCount(t.estimatedRows)} rows`;
        process.stdout.write(`${printable(`${t.schema}.${t.name}`)}\t${t.kind}\t${rows}\t${formatBytes(t.sizeBytes)}\n`);
      }
    });

  warehouse
    .command('export')
    .description('Export every table as CSV into one verified zip, from one consistent snapshot.')
    .addOption(dbOption())
    .option('--out <dir>', 'folder for the archive (default: the current folder, or none when uploading)')
    .option(
      '--upload [url]',
      'stream the archive into Azure Blob Storage: a container URL with a SAS that allows read, create and write (sp=rcw), or with --connection-string and --container',
    )
    .option('--connection-string <cs>', 'with --upload: storage account connection string (default: AZURE_STORAGE_CONNECTION_STRING)')
    .option('--container <name>', 'with --upload: the container to upload into')
    .option('--schemas <list>', 'only these schemas (comma-separated)')
    .option('--tables <globs>', 'only tables matching these globs (name or schema.name, comma-separated)')
    .option('--exclude-columns <patterns>', 'leave out columns matching these globs, e.g. password,*_token')
    .option('--include-views', 'also export views and materialized views')
    .option('--jobs <n>', `parallel connections sharing the snapshot (1-${MAX_JOBS})`, positiveInt(MAX_JOBS), 1)
    .option('--max-rows-per-file <n>', 'split larger tables into parts of this many rows', positiveInt(), DEFAULT_MAX_ROWS_PER_FILE)
    .option('--encoding <name>', 'for a SQL_ASCII database: the encoding its text is written in (e.g. LATIN1, WIN1252), converted to UTF-8')
    .addOption(lockTimeoutOption())
    .option('--json', 'print the result as JSON on stdout')
    .option('--quiet', 'no progress on stderr')
    .action(
      async (opts: {
        db?: string;
        out?: string;
        upload?: string | boolean;
        connectionString?: string;
        container?: string;
        schemas?: string;
        tables?: string;
        excludeColumns?: string;
        includeViews?: boolean;
        jobs: number;
        maxRowsPerFile: number;
        encoding?: string;
        lockTimeout: number;
        json?: boolean;
        quiet?: boolean;
      }) => {
        const printer = new ProgressLine(!opts.quiet);
        const controller = cancelOnSignals();
        try {
          const upload = uploadOption(opts);
          const result = await exportWarehouse({
            connection: connectionOption(opts.db),
            outDir: opts.out ?? (upload ? undefined : '.'),
            upload,
            schemas: splitList(opts.schemas),
            tables: splitList(opts.tables),
            excludeColumns: splitList(opts.excludeColumns),
            includeViews: opts.includeViews,
            jobs: opts.jobs,
            maxRowsPerFile: opts.maxRowsPerFile,
            encoding: opts.encoding,
            lockTimeoutSeconds: opts.lockTimeout,
            signal: controller.signal,
            onProgress: (p) => printer.line(`${p.phase} ${p.tableIndex} ${p.waiting?.pid ?? ''}`, exportProgressText(p)),
            // Progress and table lines stay off stderr; a removed leftover is said even with --quiet.
            log: (line) => {
              if (line.startsWith(LEFTOVER_REMOVED)) {
                printer.end();
                process.stderr.write(`${line}\n`);
              }
            },
          });
          printer.end();
          if (opts.json) {
            const tables = result.tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows, files: t.files.map((f) => f.name) }));
            const out = {
              archive: result.archive,
              ...(result.uploaded ? { uploaded: result.uploaded } : {}),
              tables,
              database: result.database,
              snapshotTime: result.snapshotTime,
              rows: result.rows,
              csvBytes: result.csvBytes,
              archiveBytes: result.archiveBytes,
              durationMs: result.durationMs,
            };
            process.stdout.write(`${jsonText(out)}\n`);
          } else {
            const shown = (t: { schema: string; name: string }) => printable(`${t.schema}.${t.name}`);
            const width = Math.max(...result.tables.map((t) => shown(t).length));
            const lines = result.tables.map(
              (t) =>
                `  ${shown(t).padEnd(width)}  ${formatCount(t.rows).padStart(12)} rows  ${formatBytes(t.bytes).padStart(8)}  ${t.files.length} file${t.files.length === 1 ? '' : 's'}`,
            );
            const uploaded =
              result.uploaded && result.uploaded.url !== result.archive ? `uploaded to ${printable(result.uploaded.url)}\n` : '';
            process.stdout.write(
              `${printable(result.archive)}\n${uploaded}${lines.join('\n')}\n${result.tables.length} tables, ${formatCount(result.rows)} rows, ` +
                `${formatBytes(result.csvBytes)} of CSV in a ${formatBytes(result.archiveBytes)} archive, verified, in ${(result.durationMs / 1000).toFixed(1)} s.\n`,
            );
          }
        } finally {
          printer.end();
        }
      },
    );
  addAzureCommands(program);
  addDatasetsCommands(program);
  addBackupsCommands(program);
  oneLineUsageErrors(program);
  return program;
}

/** `--upload URL`, or `--connection-string CS --container NAME` (with or without a bare `--upload`). */
function uploadOption(opts: { upload?: string | boolean; connectionString?: string; container?: string }): azure.UploadTarget | undefined {
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

function addAzureCommands(program: Command): void {
  const cmd = program
    .command('azure')
    .description('Azure Blob Storage: list containers, make read-only links and the commands that copy everything out.');
  const csOption = () =>
    new Option(
      '--connection-string <cs>',
      'storage account connection string (default: AZURE_STORAGE_CONNECTION_STRING; UseDevelopmentStorage=true for the emulator)',
    );

  cmd
    .command('containers')
    .description('List the containers of a storage account.')
    .addOption(csOption())
    .option('--json', 'print JSON')
    .action(async (opts: { connectionString?: string; json?: boolean }) => {
      const account = storageAccountOption(opts.connectionString);
      const containers: azure.ContainerItem[] = [];
      let continuation: string | undefined;
      do {
        const page = await azure.listContainers(account, continuation, 5000);
        containers.push(...page.items);
        continuation = page.continuation;
      } while (continuation);
      if (opts.json) {
        process.stdout.write(
          `${JSON.stringify({ containers: containers.map((c) => ({ name: c.name, lastModified: c.lastModified?.toISOString() })) }, null, 2)}\n`,
        );
      } else {
        for (const c of containers) process.stdout.write(`${c.name}\n`);
      }
    });

  cmd
    .command('size')
    .description('Count the blobs and bytes in a container or a folder of it (streams the listing; memory stays flat).')
    .addOption(csOption())
    .requiredOption('--container <name>', 'the container')
    .option('--folder <prefix>', 'a virtual folder inside the container')
    .option('--json', 'print { blobs, bytes }')
    .action(async (opts: { connectionString?: string; container: string; folder?: string; json?: boolean }) => {
      const account = storageAccountOption(opts.connectionString);
      const controller = cancelOnSignals();
      const tty = Boolean(process.stderr.isTTY);
      const size = await azure.computeSize(account, opts.container, azure.normaliseFolder(opts.folder), {
        signal: controller.signal,
        onProgress: (p) => {
          if (tty) process.stderr.write(`\r${formatCount(p.blobs)} blobs, ${formatBytes(p.bytes)}…`);
        },
      });
      if (tty) process.stderr.write('\n');
      process.stdout.write(opts.json ? `${JSON.stringify(size)}\n` : `${formatCount(size.blobs)} blobs, ${formatBytes(size.bytes)}\n`);
    });

  cmd
    .command('sas')
    .description('Make a time-limited, read + list SAS for a container (or a folder in it) and the commands that copy it out.')
    .addOption(csOption())
    .requiredOption('--container <name>', 'the container')
    .option('--folder <prefix>', 'a virtual folder inside the container')
    .option('--expiry-minutes <n>', `minutes the link works (1-${azure.SAS_EXPIRY_MAX_MINUTES})`, String(azure.SAS_EXPIRY_DEFAULT_MINUTES))
    .option('--json', 'print { url, expiresOn, commands: { local, azure, s3, gcs } }')
    .action(async (opts: { connectionString?: string; container: string; folder?: string; expiryMinutes: string; json?: boolean }) => {
      const expiryMinutes = azure.checkExpiryMinutes(opts.expiryMinutes);
      const account = storageAccountOption(opts.connectionString);
      const link = await azure.generateSas(account, { container: opts.container, folder: opts.folder, expiryMinutes });
      const plan = azure.transferCommands(link, { shell: 'posix', isEmulator: account.isEmulator });
      const commands = { local: plan.local.line, azure: plan.azure.line, s3: plan.s3.line, gcs: plan.gcs.line };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ url: link.url, expiresOn: link.expiresOn.toISOString(), commands }, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `${link.url}\n\nRead + list until ${link.expiresOn.toISOString()}. Anyone holding this link can read the data until then.\n\n` +
          `Copy to local disk:\n  ${commands.local}\nCopy to another Azure account:\n  ${commands.azure}\n` +
          `Copy to AWS S3 (rclone):\n  ${commands.s3}\n  or: ${plan.s3TwoStep}\nCopy to Google Cloud Storage (rclone):\n  ${commands.gcs}\n  or: ${plan.gcsTwoStep}\n`,
      );
    });
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    // A command may end with its own code (e.g. `datasets process`: 2 when a dataset failed).
    return Number(process.exitCode ?? 0);
  } catch (err) {
    // One line on stderr: the reason, as the core phrased it, with any secret masked and control characters
    // (a table name's ESC sequence or newline) shown as escapes.
    process.stderr.write(`exit-plan: ${printable(maskSecrets(errorMessage(err).trimEnd()))}\n`);
    return err instanceof CancelledError ? 130 : 1;
  }
}

if (require.main === module) {
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
