import * as fs from 'node:fs';
import * as path from 'node:path';
import { listBackups, type BackupEntry } from '../../backups/list';
import { sidecarPath } from '../../backups/sidecar';
import { verifyBackup } from '../../backups/verify';
import { CancelledError, ExitPlanError, isCancelled, throwIfAborted } from '../../shared/errors';
import { formatBytes, formatCount, lowerFirst } from '../../shared/format';
import type { BackupsPart, PartFile, PartRunner } from '../types';
import { clearPartDir, copyFileSynced, partFileOf, shareOf } from './files';

/** Where a backups part is: copying or verifying the `index`-th backup (1-based) of `count`, and bytes of all of them. */
export interface BackupsPartProgress {
  phase: 'copying' | 'verifying';
  index: number;
  count: number;
  file: string;
  /** Bytes copied (and, verifying, read back) so far, of `total` (each backup is copied once and read back once). */
  bytes: number;
  total: number;
}

/** The backups part's progress line: `Copying 2/3 postgres_backup_app__….pg_restore — 41 MB of 120 MB`. */
export function describeBackupsPartProgress(p: BackupsPartProgress): string {
  const verb = p.phase === 'copying' ? 'Copying' : 'Verifying the copy of';
  return `${verb} ${p.index}/${p.count} ${p.file} — ${formatBytes(p.bytes)} of ${formatBytes(p.total)}`;
}

export function backupsPartProgressFraction(p: BackupsPartProgress): number {
  return shareOf(p.bytes, p.total);
}

/**
 * The backups part of an exit run: for each group of backups in `part.dir` (a database's dumps, a files
 * name's archives), the newest backup that passes verification now, copied with its sidecar into the
 * part's folder (temporary name, fsync, rename) and verified there: size and SHA-256 against the sidecar, and
 * `pg_restore --list` or a full read of the tar (`verifyBackup` on the copy, which records it in the copy's
 * sidecar; the source folder is only read). Backups whose sidecar is missing or records a failed verification
 * are passed over; when a copy fails verification, the next older backup of the group is tried. A group with
 * no backup that verifies fails the part, naming it.
 */
export const runBackupsPart: PartRunner<BackupsPart> = async (part, ctx) => {
  const cancelled = `The backups part "${part.name}" was cancelled; its unfinished copy was removed.`;
  throwIfAborted(ctx.signal, cancelled);
  const source = path.resolve(part.dir);
  const st = await fs.promises.stat(source).catch(() => undefined);
  if (!st?.isDirectory()) throw new ExitPlanError(`The backup folder ${source} of part "${part.name}" does not exist or is not a folder.`);
  const entries = await listBackups(source);
  if (entries.length === 0) throw new ExitPlanError(`The backup folder ${source} of part "${part.name}" holds no backups.`);
  const groups = new Map<string, BackupEntry[]>();
  for (const entry of entries) groups.set(entry.group, [...(groups.get(entry.group) ?? []), entry]);

  await clearPartDir(ctx.dir);
  const notes: string[] = [];
  const failures: { label: string; why: string }[] = [];
  const files: PartFile[] = [];
  const taken: { group: string; file: string; createdAt: string; bytes: number; message: string }[] = [];
  // Each group's newest candidate is counted up front, for progress; older ones only when it fails.
  const total0 = [...groups.values()].reduce((sum, list) => sum + 2 * (list.find(usable)?.bytes ?? 0), 0);
  let total = total0;
  let done = 0;
  const count = groups.size;
  let index = 0;
  try {
    for (const [group, list] of groups) {
      index++;
      let found = false;
      /** Why the group's newest backup was passed over, for the failure's sentence. */
      let firstProblem: string | undefined;
      const passOver = (note: string, name: string, why: string) => {
        notes.push(note);
        ctx.log?.(note);
        firstProblem ??= `${name}: ${lowerFirst(why).replace(/\.$/, '')}`;
      };
      for (const entry of list) {
        if (!usable(entry)) {
          passOver(`${entry.name} was passed over: ${entry.stateMessage}`, entry.name, entry.stateMessage);
          continue;
        }
        if (entry !== list.find(usable)) total += 2 * entry.bytes;
        const report = (phase: BackupsPartProgress['phase'], bytes: number) =>
          ctx.onProgress?.({
            text: describeBackupsPartProgress({ phase, index, count, file: entry.name, bytes: done + bytes, total }),
            fraction: backupsPartProgressFraction({ phase, index, count, file: entry.name, bytes: done + bytes, total }),
          });
        const copy = path.join(ctx.dir, entry.name);
        report('copying', 0);
        const copied = await copyFileSynced(entry.file, copy, { signal: ctx.signal, onBytes: (b) => report('copying', b) });
        await copyFileSynced(sidecarPath(entry.file), sidecarPath(copy), { signal: ctx.signal });
        done += copied.bytes;
        const sidecar = entry.sidecar!;
        let message: string;
        if (copied.bytes !== sidecar.bytes || copied.sha256 !== sidecar.sha256) {
          message = 'The size or SHA-256 of the copy does not match its sidecar: the backup is corrupt or was changed.';
        } else {
          const verified = await verifyBackup(copy, { signal: ctx.signal, onProgress: (p) => report('verifying', p.bytes) });
          message = verified.message;
          if (verified.state === 'verified') {
            done += copied.bytes;
            files.push(
              { path: entry.name, bytes: copied.bytes, sha256: copied.sha256 },
              await partFileOf(ctx.dir, sidecarPath(copy), ctx.signal),
            );
            taken.push({ group, file: entry.name, createdAt: sidecar.createdAt, bytes: copied.bytes, message });
            ctx.log?.(`Copied and verified ${entry.name}: ${message}`);
            found = true;
            break;
          }
        }
        // A bad backup: its copy goes, the next older one of the group is tried.
        passOver(`${entry.name} failed verification and was passed over: ${message.replace(/\.$/, '')}.`, entry.name, message);
        await fs.promises.rm(copy, { force: true });
        await fs.promises.rm(sidecarPath(copy), { force: true });
        done += copied.bytes;
      }
      if (!found) failures.push({ label: groupLabel(group), why: firstProblem ?? 'no backup' });
    }
  } catch (err) {
    if (isCancelled(err)) throw new CancelledError(cancelled);
    throw err;
  }
  if (failures.length > 0) {
    throw new ExitPlanError(
      `In the backup folder ${source}, no backup of ${failures.map((f) => f.label).join(' or of ')} passes verification ` +
        `(${failures.map((f) => `the newest, ${f.why}`).join('; ')}).`,
    );
  }
  return {
    files,
    verification: backupsVerification(taken.length, new Set(taken.map((t) => t.group.slice(0, t.group.indexOf(':'))))),
    details: { source, backups: taken },
    ...(notes.length > 0 ? { notes } : {}),
  };
};

/** One sentence: what was checked on the copies. */
function backupsVerification(count: number, kinds: Set<string>): string {
  const how = [
    ...(kinds.has('postgres') ? ['pg_restore lists each dump'] : []),
    ...(kinds.has('files') ? ['every entry of each tar archive was read back'] : []),
  ];
  const which = count === 1 ? 'The copied backup' : `Each of the ${formatCount(count)} copied backups`;
  // A command backup's contents are the service's own format: the plan has no verify command, so its checksum is what is checked.
  return `${which} matches the size and SHA-256 its sidecar records${how.length > 0 ? `, and ${how.join(', and ')}` : ''}.`;
}

/** A backup worth copying: its sidecar is there, matches its size and records no failed verification. */
function usable(entry: BackupEntry): boolean {
  return entry.recorded && entry.state !== 'failed';
}

/** `the database app`, `the files "media"`, `the command "mongo"` from a group key `kind:source`. */
function groupLabel(group: string): string {
  const at = group.indexOf(':');
  const kind = group.slice(0, at);
  const source = group.slice(at + 1);
  if (kind === 'command') return `the command "${source}"`;
  return kind === 'postgres' ? `the database ${source}` : `the files "${source}"`;
}
