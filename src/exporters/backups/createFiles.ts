import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { ExitPlanError, throwIfAborted } from '../shared/errors';
import { throttle } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { endStream, writeChunk } from '../shared/streams';
import { backupError, type BackupProgress, type BackupResult } from './createPostgres';
import { checkFilesName, filesBackupName } from './names';
import { commitWithSidecar, createBackupFile } from './backupFile';
import { newSidecar, type Sidecar } from './sidecar';

export interface FilesBackupOptions extends OperationOptions<BackupProgress> {
  /** The folder to archive; its contents go into the tar as `./…` (extract with `tar -xf FILE -C FOLDER`). */
  source: string;
  /** Names the backup: `<name>_media__<YYYY.MM.DD.HH_MM>.tar`. */
  name: string;
  dir: string;
  gzip?: boolean;
}

/**
 * Archives a folder into `<dir>/<name>_media__<YYYY.MM.DD.HH_MM>.tar[.gz]` with node-tar: streamed
 * (hashed as it is written), under `….partial` until complete, with a sidecar of size, SHA-256, entries
 * and content bytes. Any warning (a file that vanished or cannot be read) fails the backup; special files
 * (FIFOs, sockets, devices) are skipped and listed in `skipped`, the sidecar and the log.
 */
export async function createFilesBackup(options: FilesBackupOptions): Promise<BackupResult> {
  const started = new Date();
  const name = checkFilesName(options.name);
  const source = path.resolve(options.source);
  const dir = path.resolve(options.dir);
  const log = options.log ?? (() => undefined);
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(source);
  } catch {
    throw new ExitPlanError(`The folder ${source} does not exist or cannot be read; no backup was written.`);
  }
  if (!stat.isDirectory()) throw new ExitPlanError(`${source} is not a folder; no backup was written.`);
  // Real paths: a backup folder reached through a symbolic link into the source would archive itself.
  const [realSource, realDir] = await Promise.all([fs.promises.realpath(source), realPathOfNew(dir)]);
  const inside = path.relative(realSource, realDir);
  if (inside === '' || (!inside.startsWith('..') && !path.isAbsolute(inside))) {
    const really = (given: string, real: string) => (real !== given ? `${given} (really ${real})` : given);
    throw new ExitPlanError(
      `The backup folder ${really(dir, realDir)} is inside the folder being backed up (${really(source, realSource)}): ` +
        `choose a backup folder outside it; no backup was written.`,
    );
  }
  throwIfAborted(options.signal, 'Backup cancelled; no backup was written.');

  const gzip = options.gzip === true;
  const progress: BackupProgress = { phase: 'archiving', bytes: 0, entries: 0 };
  const report = throttle(() => options.onProgress?.({ ...progress }), 200);
  const reportNow = () => {
    report(undefined);
    report.flush();
  };
  reportNow();
  const partial = await createBackupFile(dir, filesBackupName(name, started, gzip), log);
  const stop = new AbortController();
  const onUserAbort = () => stop.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onUserAbort, { once: true });
  let entries = 0;
  let contentBytes = 0;
  const problems: string[] = [];
  const skipped: string[] = [];
  // A write error (a full disk) stops the archive; after a cancel, the destroyed stream's late errors are expected.
  let streamError: unknown;
  partial.stream.on('error', (err) => {
    streamError ??= err;
    if (!stop.signal.aborted) stop.abort(err);
  });
  try {
    log(`Archiving ${source} into ${partial.partialPath}`);
    const pack = tar.c(
      {
        cwd: source,
        gzip: gzip ? { level: 6 } : false,
        // No uid/gid/dev/inode: GNU tar reads it without warnings, and a restore on a new server gives the
        // files to whoever extracts them (modes and modification times are kept).
        portable: true,
        onwarn: (code, message) => problems.push(`${message} (${code})`),
        // As tar skips a socket ("socket ignored"): FIFOs, sockets and devices are left out with a warning
        // (node-tar cannot archive them: its pack stream stalled on one, and node exited 0 without a backup).
        filter: (entryPath, st) => {
          const kind = specialKind(st as fs.Stats);
          if (!kind) return true;
          skipped.push(`${entryPath} (${kind})`);
          log(`Skipped ${entryPath}: a ${kind} is not a file, folder or symbolic link.`);
          return false;
        },
        onWriteEntry: (entry) => {
          entries++;
          if (entry.type === 'File' && entry.stat) contentBytes += entry.stat.size;
        },
      },
      ['.'],
    );
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      for await (const chunk of pack as AsyncIterable<Buffer>) {
        if (problems.length > 0) break;
        throwIfAborted(stop.signal);
        hash.update(chunk);
        bytes += chunk.length;
        await writeChunk(partial.stream, chunk, stop.signal);
        progress.bytes = bytes;
        progress.entries = entries;
        report(undefined);
      }
    } finally {
      (pack as unknown as { destroy?: () => void }).destroy?.();
    }
    if (problems.length > 0) {
      throw new ExitPlanError(
        `Cannot archive ${source}: ${problems[0].replace(/\.$/, '')}${problems.length > 1 ? ` (and ${problems.length - 1} more problems)` : ''}`,
      );
    }
    throwIfAborted(stop.signal);
    await endStream(partial.stream, stop.signal);
    await partial.closed();
    const sha256 = hash.digest('hex');
    const { file, sidecar } = await commitWithSidecar(partial, (target): Sidecar => ({
      ...newSidecar(target, 'files', { bytes, sha256, started }),
      files: { source, entries, contentBytes, gzip, ...(skipped.length > 0 ? { skipped } : {}) },
    }));
    progress.phase = 'done';
    progress.entries = entries;
    reportNow();
    log(`Backup written: ${file} (${entries} entries, ${bytes} bytes, sha256 ${sha256})`);
    return {
      file,
      kind: 'files',
      bytes,
      sha256,
      sidecar,
      durationMs: Date.now() - started.getTime(),
      ...(skipped.length > 0 ? { skipped } : {}),
    };
  } catch (err) {
    if (!stop.signal.aborted) stop.abort(err);
    const removed = await partial.discard().then(
      () => true,
      () => false,
    );
    throw backupError(streamError ?? err, partial.partialPath, removed, options.signal);
  } finally {
    options.signal?.removeEventListener('abort', onUserAbort);
  }
}

/** `FIFO`, `socket`, `device` for special files; undefined for files, folders and symbolic links. */
function specialKind(st: fs.Stats | undefined): string | undefined {
  if (!st || typeof st.isFIFO !== 'function') return undefined;
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  if (st.isBlockDevice() || st.isCharacterDevice()) return 'device';
  return undefined;
}

/** The real path of a folder that may not exist yet: its nearest existing ancestor's real path, plus the rest. */
async function realPathOfNew(dir: string): Promise<string> {
  let existing = dir;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.promises.realpath(existing), ...rest);
    } catch {
      const parent = path.dirname(existing);
      if (parent === existing) return dir;
      rest.unshift(path.basename(existing));
      existing = parent;
    }
  }
}
