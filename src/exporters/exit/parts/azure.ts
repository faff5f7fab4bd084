// The azure part of an exit run: every blob of a container (or of a folder of it) copied under `blobs/<name>`,
// with files-manifest.csv (the listing taken at the start), copied by azcopy when there is one, else by the SDK,
// resumable, and verified blob by blob against the listing. See README "Exit runs".
import { once, setMaxListeners } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { StorageAccount } from '../../azure/connection';
import { describeAzureError } from '../../azure/listing';
import { generateSas, normaliseFolder } from '../../azure/sas';
import { CancelledError, ExitPlanError, errorMessage } from '../../shared/errors';
import { formatBytes, formatCount, plural, throttle } from '../../shared/format';
import { maskSecrets } from '../../shared/mask';
import { runPool } from '../../shared/pool';
import { runProcess } from '../../shared/process';
import type { AzurePart, PartContext, PartFile, PartOutcome, PartRunner } from '../types';
import {
  BLOBS_DIR,
  FILES_MANIFEST,
  ManifestWriter,
  blobFile,
  localFile,
  readManifest,
  unsafeBlobName,
  type ListedBlob,
} from './azureFiles';

/** Blobs downloaded at once by the SDK. */
const SDK_CONCURRENCY = 8;
/** Rows of files-manifest.csv handled as one page (checked, copied, verified): what is held in memory at once. */
const PAGE_ROWS = 1000;
/** Local files hashed at once. */
const HASH_CONCURRENCY = 4;
/** The read + list SAS made for azcopy: long enough for a large copy, gone soon after (a re-run makes a new one). */
const SAS_EXPIRY_MINUTES = 8 * 60;
/** The SDK's downloads in progress, outside `blobs/` so no blob name can meet them. */
const PARTIAL_DIR = '.partial';
/** azcopy's name for a file it is downloading: `.azDownload-<job id>-<name>`, renamed when complete. */
const AZCOPY_TEMPORARY = /^\.azDownload-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-/;
/** Names quoted in a failure sentence at most. */
const NAMES_SHOWN = 3;

export type AzurePartTool = 'azcopy' | 'SDK';

/** Progress of an azure part: the phase, blobs and bytes done of the listing's. */
export interface AzurePartProgress {
  phase: 'listing' | 'checking' | 'copying' | 'verifying';
  blobs: number;
  bytes: number;
  /** From the listing (absent while listing). */
  totalBlobs?: number;
  totalBytes?: number;
  tool?: AzurePartTool;
}

/** The one text of an azure part's progress, for the CLI's line and VS Code's notification. */
export function describeAzurePartProgress(p: AzurePartProgress): string {
  const of = (n: number, total: number | undefined) => (total === undefined ? formatCount(n) : `${formatCount(n)}/${formatCount(total)}`);
  const bytes = p.totalBytes === undefined ? formatBytes(p.bytes) : `${formatBytes(p.bytes)} of ${formatBytes(p.totalBytes)}`;
  switch (p.phase) {
    case 'listing':
      return `Listing blobs: ${plural(p.blobs, 'blob')}, ${formatBytes(p.bytes)} so far`;
    case 'checking':
      return `Checking blobs already copied: ${of(p.blobs, p.totalBlobs)}`;
    case 'copying':
      return `Copying blobs${p.tool ? ` with ${p.tool === 'azcopy' ? 'azcopy' : 'the SDK'}` : ''}: ${of(p.blobs, p.totalBlobs)}, ${bytes}`;
    case 'verifying':
      return `Verifying blobs: ${of(p.blobs, p.totalBlobs)}, ${bytes}`;
  }
}

/** Share of the part done: listing and checking count little, copying and verifying by bytes. */
export function azurePartProgressFraction(p: AzurePartProgress): number | undefined {
  const share = (done: number, total: number | undefined) => (total ? Math.min(1, done / total) : 1);
  switch (p.phase) {
    case 'listing':
      return undefined;
    case 'checking':
      return 0.05 * share(p.blobs, p.totalBlobs);
    case 'copying':
      return 0.05 + 0.75 * share(p.bytes, p.totalBytes);
    case 'verifying':
      return 0.8 + 0.2 * share(p.bytes, p.totalBytes);
  }
}

interface Failure {
  name: string;
  why: string;
}

/** What the copy tool found wrong, beyond what verification finds. */
/** The azure part of an exit run. */
export const runAzurePart: PartRunner<AzurePart> = async (part, ctx) => {
  const { signal } = ctx;
  const account = await ctx.resolvers.azure(part);
  const azcopy = await ctx.resolvers.azcopy?.();
  const tool: AzurePartTool = azcopy ? 'azcopy' : 'SDK';
  const prefix = normaliseFolder(part.prefix);
  const where = `container "${part.container}"${prefix ? ` (folder "${prefix}")` : ''} in ${account.accountName}`;
  const cancelled = () => new CancelledError(`The copy of ${where} was cancelled; a re-run keeps the blobs already copied.`);
  const report = throttle(
    (p: AzurePartProgress) => ctx.onProgress?.({ text: describeAzurePartProgress(p), fraction: azurePartProgressFraction(p) }),
    250,
  );
  const container = account.service.getContainerClient(part.container);
  await fs.promises.mkdir(path.join(ctx.dir, BLOBS_DIR), { recursive: true });
  await fs.promises.rm(path.join(ctx.dir, PARTIAL_DIR), { recursive: true, force: true });
  await removeAzcopyTemporaries(path.join(ctx.dir, BLOBS_DIR), AZCOPY_TEMPORARY, ctx.log);

  // 1. The listing, streamed to files-manifest.csv.
  const manifestFile = path.join(ctx.dir, FILES_MANIFEST);
  const total = { blobs: 0, bytes: 0, withMd5: 0 };
  const writer = new ManifestWriter(manifestFile);
  try {
    for await (const page of container.listBlobsFlat({ prefix: prefix || undefined, abortSignal: signal }).byPage({ maxPageSize: 1000 })) {
      for (const item of page.segment.blobItems) {
        const md5 = item.properties.contentMD5;
        const blob: ListedBlob = {
          name: item.name,
          bytes: item.properties.contentLength ?? 0,
          md5: md5 && md5.length > 0 ? Buffer.from(md5).toString('base64') : undefined,
          lastModified: item.properties.lastModified?.toISOString(),
        };
        await writer.add(blob);
        total.blobs++;
        total.bytes += blob.bytes;
        if (blob.md5) total.withMd5++;
      }
      report({ phase: 'listing', blobs: total.blobs, bytes: total.bytes });
    }
    await writer.finish();
  } catch (err) {
    await writer.discard();
    if (signal?.aborted) throw cancelled();
    throw describeAzureError(err, account, part.container);
  }
  ctx.log?.(`Listed ${plural(total.blobs, 'blob')} (${formatBytes(total.bytes)}) in ${where}.`);
  const totals = { totalBlobs: total.blobs, totalBytes: total.bytes, tool };

  // 2. What is already there (resume); the SDK copies the rest page by page, azcopy gets them as one list.
  const files: (PartFile | undefined)[] = new Array<PartFile | undefined>(total.blobs);
  const failures: Failure[] = [];
  const refused = new Set<string>();
  let alreadyPresent = 0;
  let copiedNow = 0;
  const listFile = azcopy ? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-azcopy-')), 'list-of-files.txt') : undefined;
  const list = listFile ? fs.createWriteStream(listFile) : undefined;
  /** Why a blob did not arrive, when the copy knows (few: only failed blobs). */
  const problems = new Map<string, string>();
  let toolError: string | undefined;
  try {
    let checked = 0;
    const copyBytes = { done: 0 };
    for await (const page of pages(manifestFile)) {
      const needed: { blob: ListedBlob; index: number }[] = [];
      await runPool(
        page,
        HASH_CONCURRENCY,
        async ({ blob, index }) => {
          const why = unsafeBlobName(blob.name);
          if (why) {
            refused.add(blob.name);
            failures.push({ name: blob.name, why: `its name is refused as a file name, having ${why}` });
            return;
          }
          const present = await matches(ctx.dir, blob);
          if (present) {
            files[index] = present;
            alreadyPresent++;
            copyBytes.done += blob.bytes;
          } else needed.push({ blob, index });
          report({ phase: 'checking', blobs: ++checked, bytes: 0, ...totals });
        },
        signal,
      );
      if (signal?.aborted) throw cancelled();
      needed.sort((a, b) => a.index - b.index);
      if (list) {
        for (const { blob } of needed) if (!list.write(`${blob.name}\n`)) await once(list, 'drain');
      } else if (needed.length > 0) {
        const result = await copyWithSdk(account, part.container, ctx, needed, (bytes, blobs) => {
          copyBytes.done += bytes;
          copiedNow += blobs;
          report({ phase: 'copying', blobs: alreadyPresent + copiedNow, bytes: copyBytes.done, ...totals });
        });
        for (const [name, why] of result.problems) problems.set(name, why);
        if (result.cancelled) throw cancelled();
      }
    }
    if (list && listFile && azcopy) {
      list.end();
      await once(list, 'close');
      const result = await copyWithAzcopy(azcopy, account, part.container, ctx, listFile, alreadyPresent, copyBytes.done, totals, report);
      copiedNow = result.copied;
      toolError = result.toolError;
      for (const [name, why] of result.problems) problems.set(name, why);
    }
  } finally {
    list?.destroy();
    if (listFile) await fs.promises.rm(path.dirname(listFile), { recursive: true, force: true });
    await fs.promises.rm(path.join(ctx.dir, PARTIAL_DIR), { recursive: true, force: true });
  }

  // 3. Verification of every blob of the listing not already checked, against the local file.
  let verifiedBytes = 0;
  let verifiedBlobs = 0;
  for await (const page of pages(manifestFile)) {
    await runPool(
      page,
      HASH_CONCURRENCY,
      async ({ blob, index }) => {
        if (!files[index] && !refused.has(blob.name)) {
          const local = await localFile(blobFile(ctx.dir, blob.name), true);
          const why = !local
            ? !(await container
                .getBlobClient(blob.name)
                .exists({ abortSignal: signal })
                .catch(() => true))
              ? 'it vanished from the container during the copy'
              : (problems.get(blob.name) ?? `it did not arrive${toolError ? ` (azcopy: ${toolError})` : ''}`)
            : local.bytes !== blob.bytes
              ? `${formatCount(local.bytes)} bytes on disk, ${formatCount(blob.bytes)} in the listing`
              : blob.md5 && blob.md5 !== local.md5
                ? 'its MD5 differs from its Content-MD5'
                : undefined;
          if (why) failures.push({ name: blob.name, why });
          else if (local) files[index] = partFile(blob, local);
        }
        verifiedBlobs++;
        verifiedBytes += blob.bytes;
        report({ phase: 'verifying', blobs: verifiedBlobs, bytes: verifiedBytes, ...totals });
      },
      signal,
    );
    if (signal?.aborted) throw cancelled();
  }
  report.flush();

  // 4. Blobs that appeared after the listing: named in the notes, not copied.
  const notes: string[] = [];
  const added = await blobsAddedSince(ctx.dir, container, prefix, refused, failures, signal).catch((err: unknown) => {
    if (signal?.aborted) throw cancelled();
    notes.push(
      `The container could not be listed again after the copy (${maskSecrets(errorMessage(err))}), so blobs added meanwhile are not known.`,
    );
    return { count: 0, names: [] as string[] };
  });
  if (added.count > 0) {
    notes.push(
      `${plural(added.count, 'blob')} appeared after the listing was taken and ${added.count === 1 ? 'was' : 'were'} not copied: ` +
        `${quoteNames(added.names, added.count)}.`,
    );
  }

  if (failures.length > 0) {
    failures.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const first = failures[0];
    const rest =
      failures.length > 1
        ? `; and ${plural(failures.length - 1, 'other blob')}: ${quoteNames(
            failures.slice(1).map((f) => f.name),
            failures.length - 1,
          )}`
        : '';
    throw new ExitPlanError(
      `${plural(failures.length, 'blob')} of ${where} ${failures.length === 1 ? 'is' : 'are'} not verified: ` +
        `"${first.name}": ${first.why}${rest}.`,
    );
  }

  const manifest = await localFile(manifestFile, true);
  const outFiles: PartFile[] = files.filter((f): f is PartFile => f !== undefined);
  outFiles.push({ path: FILES_MANIFEST, bytes: manifest?.bytes ?? 0, sha256: manifest?.sha256 });
  const outcome: PartOutcome = {
    files: outFiles,
    verification:
      `every blob of the listing taken at the start (${plural(total.blobs, 'blob')}, ${formatBytes(total.bytes)}) ` +
      'checked against its copy: ' +
      `size, and MD5 against Content-MD5 for the ${formatCount(total.withMd5)} that have one`,
    details: {
      container: part.container,
      prefix: prefix || undefined,
      account: account.accountName,
      blobs: total.blobs,
      bytes: total.bytes,
      blobsWithMd5: total.withMd5,
      copiedNow,
      alreadyPresent,
      tool,
    },
  };
  if (notes.length > 0) outcome.notes = notes;
  return outcome;
};

function quoteNames(names: string[], count: number): string {
  const shown = names.slice(0, NAMES_SHOWN).map((n) => `"${n}"`);
  return count > shown.length ? `${shown.join(', ')} and ${formatCount(count - shown.length)} more` : shown.join(', ');
}

function partFile(blob: ListedBlob, local: { bytes: number; sha256?: string }): PartFile {
  return { path: `${BLOBS_DIR}/${blob.name}`, bytes: local.bytes, sha256: local.sha256, ...(blob.md5 ? { md5: blob.md5 } : {}) };
}

/** The local copy of a blob when it is already right (size, and MD5 where the blob has one). */
async function matches(dir: string, blob: ListedBlob): Promise<PartFile | undefined> {
  const file = blobFile(dir, blob.name);
  const sized = await localFile(file, false);
  if (!sized || sized.bytes !== blob.bytes) return undefined;
  const local = await localFile(file, true);
  if (!local || local.bytes !== blob.bytes || (blob.md5 && blob.md5 !== local.md5)) return undefined;
  return partFile(blob, local);
}

/** files-manifest.csv in pages of PAGE_ROWS rows, each row with its index in the listing. */
async function* pages(file: string): AsyncGenerator<{ blob: ListedBlob; index: number }[]> {
  let page: { blob: ListedBlob; index: number }[] = [];
  let index = 0;
  for await (const blob of readManifest(file)) {
    page.push({ blob, index: index++ });
    if (page.length >= PAGE_ROWS) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/**
 * Downloads blobs with the SDK, SDK_CONCURRENCY at once, each streamed to `.partial/<n>` and renamed to its
 * place when complete. Cancel aborts the requests; what was renamed stays (a re-run keeps it).
 */
async function copyWithSdk(
  account: StorageAccount,
  containerName: string,
  ctx: PartContext,
  blobs: { blob: ListedBlob; index: number }[],
  onBytes: (bytes: number, blobs: number) => void,
): Promise<{ problems: Map<string, string>; cancelled: boolean }> {
  const { signal } = ctx;
  const container = account.service.getContainerClient(containerName);
  const partialDir = path.join(ctx.dir, PARTIAL_DIR);
  await fs.promises.mkdir(partialDir, { recursive: true });
  const problems = new Map<string, string>();
  // One listener on the run's signal; the downloads (two listeners each) listen to this one.
  const inner = new AbortController();
  setMaxListeners(4 * SDK_CONCURRENCY + 8, inner.signal);
  const stop = () => inner.abort();
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) inner.abort();
  try {
    await runPool(
      blobs,
      SDK_CONCURRENCY,
      async ({ blob, index }) => {
        const partial = path.join(partialDir, `${index}.partial`);
        const target = blobFile(ctx.dir, blob.name);
        try {
          const response = await container.getBlobClient(blob.name).download(0, undefined, { abortSignal: inner.signal });
          const body = response.readableStreamBody as Readable | undefined;
          if (!body) throw new Error('the download has no body');
          body.on('data', (chunk: Buffer) => onBytes(chunk.length, 0));
          await pipeline(body, fs.createWriteStream(partial), { signal: inner.signal });
          await fs.promises.mkdir(path.dirname(target), { recursive: true });
          await fs.promises.rename(partial, target);
          onBytes(0, 1);
        } catch (err) {
          await fs.promises.rm(partial, { force: true });
          if (signal?.aborted) throw err;
          const e = err as { statusCode?: number };
          const why =
            e.statusCode === 404
              ? 'it vanished from the container during the copy'
              : `its download failed (${maskSecrets(errorMessage(err)).split('\n')[0].replace(/\.$/, '')})`;
          problems.set(blob.name, why);
          ctx.log?.(`"${blob.name}" was not copied: ${why}.`);
          // Verification names it; the other blobs go on.
        }
      },
      signal,
    );
  } catch (err) {
    if (!signal?.aborted) throw err;
  } finally {
    signal?.removeEventListener('abort', stop);
  }
  return { problems, cancelled: signal?.aborted === true };
}

/**
 * Copies the blobs named in `listFile` with azcopy, from the container's URL with a read + list SAS made for this
 * copy (azcopy takes its source only as an argument; every line it prints is masked before it is logged), into
 * `blobs/`. azcopy writes each file under a temporary name and renames it when complete, and removes its
 * temporaries when stopped. Its logs and job plans go to a temporary folder that is removed afterwards.
 */
async function copyWithAzcopy(
  azcopy: string,
  account: StorageAccount,
  containerName: string,
  ctx: PartContext,
  listFile: string,
  alreadyPresent: number,
  presentBytes: number,
  totals: { totalBlobs: number; totalBytes: number; tool: AzurePartTool },
  report: (p: AzurePartProgress) => void,
): Promise<{ copied: number; toolError?: string; problems: Map<string, string> }> {
  const { signal } = ctx;
  const problems = new Map<string, string>();
  const blobsDir = path.join(ctx.dir, BLOBS_DIR);
  if ((await fs.promises.stat(listFile)).size === 0) return { copied: 0, problems };
  const link = await generateSas(account, { container: containerName, expiryMinutes: SAS_EXPIRY_MINUTES, signal });
  const work = path.dirname(listFile);
  let copied = 0;
  let toolError: string | undefined;
  let jobId: string | undefined;
  const result = await runProcess(
    azcopy,
    [
      'copy',
      link.containerUrl,
      path.join(ctx.dir, BLOBS_DIR),
      '--list-of-files',
      listFile,
      '--from-to',
      'BlobLocal',
      '--as-subdir=false',
      '--overwrite',
      'true',
      '--output-type',
      'json',
      '--log-level',
      'ERROR',
    ],
    {
      signal,
      envAdd: { AZCOPY_LOG_LOCATION: work, AZCOPY_JOB_PLAN_LOCATION: work, AZCOPY_DISABLE_SYSLOG: 'true' },
      startError: (err) => new ExitPlanError(`Cannot run azcopy (${azcopy}): ${err.message}.`, err.code, { cause: err }),
      onStdoutLine: (line) => {
        let message: { MessageType?: string; MessageContent?: string };
        try {
          message = JSON.parse(line) as typeof message;
        } catch {
          if (line.trim()) ctx.log?.(`azcopy: ${maskSecrets(line)}`);
          return;
        }
        if (message.MessageType === 'Init' || message.MessageType === 'Progress' || message.MessageType === 'EndOfJob') {
          try {
            const p = JSON.parse(message.MessageContent ?? '{}') as {
              JobID?: string;
              TransfersCompleted?: string;
              TotalBytesTransferred?: string;
              ErrorMsg?: string;
              FailedTransfers?: { Dst?: string; ErrorCode?: number }[] | null;
            };
            if (p.JobID && /^[0-9a-f-]{36}$/.test(p.JobID)) jobId = p.JobID;
            if (message.MessageType === 'Init') return;
            copied = Number(p.TransfersCompleted ?? 0);
            if (p.ErrorMsg) toolError = maskSecrets(p.ErrorMsg).split('\n')[0];
            for (const failed of p.FailedTransfers ?? []) {
              if (!failed.Dst) continue;
              const name = path.relative(blobsDir, failed.Dst).split(path.sep).join('/');
              problems.set(name, `azcopy could not copy it${failed.ErrorCode ? ` (HTTP ${failed.ErrorCode})` : ''}`);
            }
            report({
              phase: 'copying',
              blobs: alreadyPresent + copied,
              bytes: presentBytes + Number(p.TotalBytesTransferred ?? 0),
              ...totals,
            });
          } catch {
            // A progress line azcopy changed: the count stays as it was.
          }
        } else if (message.MessageType === 'Error') {
          toolError = maskSecrets(message.MessageContent ?? '').split('\n')[0];
          ctx.log?.(`azcopy: ${toolError}`);
        }
      },
      onStderrLine: (line) => {
        if (line.trim()) ctx.log?.(`azcopy: ${maskSecrets(line)}`);
      },
    },
  );
  // Stopped, azcopy may leave the files it was downloading under their temporary names: this job's are removed.
  if (jobId) await removeAzcopyTemporaries(path.join(ctx.dir, BLOBS_DIR), new RegExp(`^\\.azDownload-${jobId}-`), ctx.log);
  if (result.cancelled)
    throw new CancelledError(`The copy of container "${containerName}" was cancelled; a re-run keeps the blobs already copied.`);
  if (result.code !== 0) {
    toolError ??= `exited with code ${result.code ?? result.signal}`;
    ctx.log?.(`azcopy ${toolError}; verification names the blobs that did not arrive.`);
  }
  return { copied, toolError, problems };
}

/**
 * Blobs listed now under the prefix that were not in the listing taken at the start: those whose file is not
 * there (every blob of the listing is, except the refused and failed ones). Nothing is held but the few names shown.
 */
async function blobsAddedSince(
  dir: string,
  container: ReturnType<StorageAccount['service']['getContainerClient']>,
  prefix: string,
  refused: Set<string>,
  failures: Failure[],
  signal: AbortSignal | undefined,
): Promise<{ count: number; names: string[] }> {
  const failed = new Set(failures.map((f) => f.name));
  const names: string[] = [];
  let count = 0;
  for await (const page of container.listBlobsFlat({ prefix: prefix || undefined, abortSignal: signal }).byPage({ maxPageSize: 1000 })) {
    for (const item of page.segment.blobItems) {
      if (refused.has(item.name) || failed.has(item.name)) continue;
      const there = !unsafeBlobName(item.name) && (await localFile(blobFile(dir, item.name), false)) !== undefined;
      if (!there) {
        count++;
        if (names.length < NAMES_SHOWN) names.push(item.name);
      }
    }
  }
  return { count, names };
}

/**
 * Removes the temporary files a stopped azcopy left under `blobs/` (walked folder by folder, never listed whole).
 * A blob whose own name looks like one is removed too, and copied again by the run.
 */
async function removeAzcopyTemporaries(dir: string, pattern: RegExp, log: ((line: string) => void) | undefined): Promise<void> {
  let removed = 0;
  const walk = async (folder: string): Promise<void> => {
    let handle: fs.Dir;
    try {
      handle = await fs.promises.opendir(folder);
    } catch {
      return;
    }
    for await (const entry of handle) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && pattern.test(entry.name)) {
        await fs.promises.rm(full, { force: true });
        removed++;
      }
    }
  };
  await walk(dir);
  if (removed > 0) log?.(`Removed ${plural(removed, 'partial download')} azcopy left when it was stopped.`);
}
