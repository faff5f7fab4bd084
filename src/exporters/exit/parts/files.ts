// What the folder, command, backups and datasets parts share: copying a file verifiably, walking a folder,
// hashing what a part wrote, and clearing what an interrupted attempt left.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, errorMessage, systemCode, throwIfAborted } from '../../shared/errors';
import { hashFile } from '../../shared/hashFile';
import { RUN_FILES, type PartFile } from '../types';

/** The end of a temporary copy's name (a cancelled or failed copy removes its own; a killed run's go with clearPartDir). */
const TEMP_SUFFIX = '.exit-tmp';

/**
 * Empties a part's folder of what an interrupted attempt left (the run keeps a part only once its part.json
 * is written, so anything else in the folder is unfinished work), and creates it when it is missing.
 */
export async function clearPartDir(dir: string): Promise<void> {
  await fs.promises.mkdir(dir, { recursive: true });
  for (const name of await fs.promises.readdir(dir)) {
    if (name === RUN_FILES.part) continue;
    await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

/**
 * Copies `from` to `to`: written under a temporary name beside it, hashed as it is written, fsynced, then
 * renamed into place (never over an existing file). A cancel or a failure removes the temporary file.
 */
export async function copyFileSynced(
  from: string,
  to: string,
  options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<{ bytes: number; sha256: string }> {
  const tmp = path.join(path.dirname(to), `.${path.basename(to)}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  const hash = createHash('sha256');
  let bytes = 0;
  let fd: fs.promises.FileHandle | undefined;
  try {
    await fs.promises.mkdir(path.dirname(to), { recursive: true });
    fd = await fs.promises.open(tmp, 'wx', 0o644);
    const stream = fs.createReadStream(from, { highWaterMark: 1 << 20 });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        throwIfAborted(options.signal);
        hash.update(chunk);
        await fd.write(chunk);
        bytes += chunk.length;
        options.onBytes?.(bytes);
      }
    } finally {
      stream.destroy();
    }
    throwIfAborted(options.signal);
    await fd.sync();
    await fd.close();
    fd = undefined;
    if (fs.existsSync(to)) throw new ExitPlanError(`Cannot copy ${from} to ${to}: a file of that name is there already.`);
    await fs.promises.rename(tmp, to);
    return { bytes, sha256: hash.digest('hex') };
  } catch (err) {
    await fd?.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    if (err instanceof ExitPlanError) throw err;
    if (systemCode(err) === 'ENOENT' && !fs.existsSync(from)) {
      throw new ExitPlanError(`Cannot copy ${from}: it was removed while it was being copied.`, 'ENOENT', { cause: err });
    }
    throw new ExitPlanError(describeWriteError(err, to) ?? `Cannot copy ${from} to ${to}: ${errorMessage(err)}.`, systemCode(err), {
      cause: err,
    });
  }
}

/** One entry found by `walkFiles`. */
export interface WalkedFile {
  /** Absolute path. */
  abs: string;
  /** Relative to the walked folder, forward slashes. */
  rel: string;
  bytes: number;
}

/**
 * The regular files under `root`, sorted by relative path; symbolic links are followed to files when
 * `followLinks` (as export_manager counts a parcel's files), otherwise listed in `others` with FIFOs, sockets
 * and devices (never read: a FIFO would block).
 */
export async function walkFiles(root: string, options: { followLinks?: boolean } = {}): Promise<{ files: WalkedFile[]; others: string[] }> {
  const files: WalkedFile[] = [];
  const others: string[] = [];
  const visit = async (dir: string, prefix: string): Promise<void> => {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    for (const entry of entries) {
      const abs = path.join(dir, entry.name);
      const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        await visit(abs, rel);
      } else if (entry.isFile()) {
        files.push({ abs, rel, bytes: (await fs.promises.stat(abs)).size });
      } else if (entry.isSymbolicLink() && options.followLinks) {
        const st = await fs.promises.stat(abs).catch(() => undefined);
        if (st?.isFile()) files.push({ abs, rel, bytes: st.size });
        else others.push(rel);
      } else {
        others.push(rel);
      }
    }
  };
  await visit(root, '');
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, others: others.sort() };
}

/** A file of the part's folder as part.json records it: its path relative to the folder, size and SHA-256 (streamed). */
export async function partFileOf(
  partDir: string,
  file: string,
  signal?: AbortSignal,
  onBytes?: (bytes: number) => void,
): Promise<PartFile> {
  const { sha256, bytes } = await hashFile(file, { signal, onBytes });
  return { path: toRel(partDir, file), bytes, sha256 };
}

/** `file` relative to `dir`, with forward slashes. */
export function toRel(dir: string, file: string): string {
  return path.relative(dir, file).split(path.sep).join('/');
}

/** Sum of the files' bytes. */
export function totalBytes(files: readonly { bytes: number }[]): number {
  return files.reduce((sum, f) => sum + f.bytes, 0);
}

/** Share done (0..1) from bytes done of a total; 1 when the total is 0. */
export function shareOf(done: number, total: number): number {
  return total > 0 ? Math.min(1, done / total) : 1;
}
