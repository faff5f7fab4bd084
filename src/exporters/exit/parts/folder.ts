import * as path from 'node:path';
import { createFilesBackup } from '../../backups/createFiles';
import { describeBackupProgress, type BackupProgress } from '../../backups/createPostgres';
import { sidecarPath } from '../../backups/sidecar';
import { describeVerifyProgress, verifyBackup, type VerifyProgress } from '../../backups/verify';
import { CancelledError, ExitPlanError, isCancelled, throwIfAborted } from '../../shared/errors';
import { formatBytes, formatCount } from '../../shared/format';
import type { FolderPart, PartRunner } from '../types';
import { clearPartDir, partFileOf, shareOf } from './files';

/** Where a folder part is: archiving the folder (as a files backup), or reading the archive back. */
export type FolderPartProgress = { phase: 'archiving'; backup: BackupProgress } | { phase: 'verifying'; verify: VerifyProgress };

/** The folder part's progress line: `Archiving — 1,204 entries, 3.1 MB written`, then `Verifying <tar> — 2 MB of 3.1 MB`. */
export function describeFolderPartProgress(p: FolderPartProgress): string {
  return p.phase === 'archiving' ? describeBackupProgress(p.backup) : describeVerifyProgress(p.verify);
}

/** Share done: unknown while archiving (the folder's size is not measured first), then half plus half the read-back. */
export function folderPartProgressFraction(p: FolderPartProgress): number | undefined {
  return p.phase === 'archiving' ? undefined : 0.5 + 0.5 * shareOf(p.verify.bytes, p.verify.total);
}

/**
 * The folder part of an exit run: the folder archived with tar as a files backup is (`createFilesBackup`:
 * `<name>_media__<time>.tar[.gz]` and its sidecar in the part's folder), then verified by `verifyBackup` (size and
 * SHA-256 against the sidecar, every entry read back). Files: the archive and its sidecar.
 */
export const runFolderPart: PartRunner<FolderPart> = async (part, ctx) => {
  const report = (p: FolderPartProgress) =>
    ctx.onProgress?.({ text: describeFolderPartProgress(p), fraction: folderPartProgressFraction(p) });
  const cancelled = `The folder part "${part.name}" was cancelled.`;
  throwIfAborted(ctx.signal, cancelled);
  await clearPartDir(ctx.dir);
  let backup;
  let verified;
  try {
    backup = await createFilesBackup({
      source: part.path,
      name: part.name,
      dir: ctx.dir,
      gzip: part.gzip,
      signal: ctx.signal,
      log: ctx.log,
      onProgress: (p) => report({ phase: 'archiving', backup: p }),
    });
    verified = await verifyBackup(backup.file, {
      signal: ctx.signal,
      onProgress: (p) => report({ phase: 'verifying', verify: p }),
    });
  } catch (err) {
    if (isCancelled(err)) throw new CancelledError(cancelled);
    throw err;
  }
  if (verified.state !== 'verified') {
    throw new ExitPlanError(`The archive of ${part.path} (${path.basename(backup.file)}) failed verification: ${verified.message}`);
  }
  // The sidecar now records the verification: hashed as it is kept.
  const sidecar = await partFileOf(ctx.dir, sidecarPath(backup.file), ctx.signal);
  const entries = backup.sidecar.files?.entries ?? 0;
  return {
    files: [{ path: path.basename(backup.file), bytes: backup.bytes, sha256: backup.sha256 }, sidecar],
    verification:
      `The tar archive's size and SHA-256 match its sidecar and all ${formatCount(entries)} entries ` +
      `(${formatBytes(backup.sidecar.files?.contentBytes ?? 0)}) were read back.`,
    details: {
      source: part.path,
      archive: path.basename(backup.file),
      entries,
      contentBytes: backup.sidecar.files?.contentBytes ?? 0,
      gzip: part.gzip === true,
      ...(backup.skipped ? { skipped: backup.skipped } : {}),
    },
    ...(backup.skipped ? { notes: backup.skipped.map((s) => `Not archived: ${s}, not a file, folder or symbolic link.`) } : {}),
  };
};
