import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, errorMessage, systemCode } from '../shared/errors';
import { compareNewestFirst, datedInFuture, decodeFileSafeName, groupKey, parseBackupName, type BackupKind } from './names';
import { readSidecar, type Sidecar, type VerificationState } from './sidecar';

/** One backup file in a backup folder, with what its sidecar says. */
export interface BackupEntry {
  /** Absolute path. */
  file: string;
  /** File name. */
  name: string;
  kind: BackupKind;
  /** The database (from the sidecar, else decoded from the file name) or the files name. */
  source: string;
  /** `kind:source`: backups that rotate together. */
  group: string;
  /** When it started (from the name, to the minute, UTC). */
  time: Date;
  /** When it started, to the millisecond, from its sidecar (when that agrees with the name's minute). */
  createdAt?: Date;
  /** A sidecar records it (readable, and the size still matches). */
  recorded: boolean;
  /** Size on disk now. */
  bytes: number;
  gzip: boolean;
  sidecar?: Sidecar;
  /** verified / failed / unverified, from the sidecar; `failed` too when the size no longer matches it. */
  state: VerificationState;
  /** Why it is in that state: the last verification's sentence, or what is wrong with the sidecar. */
  stateMessage: string;
  /** When it was last verified (ISO), if ever. */
  verifiedAt?: string;
}

/**
 * The backups in a folder (files named as Exit Plan names them; `.partial` files and anything else are
 * ignored), newest first. A folder that does not exist holds no backups.
 */
export async function listBackups(dir: string): Promise<BackupEntry[]> {
  const folder = path.resolve(dir);
  let names: string[];
  try {
    names = await fs.promises.readdir(folder);
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return [];
    throw new ExitPlanError(`Cannot read the backup folder ${folder}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
  }
  const entries: BackupEntry[] = [];
  for (const name of names) {
    const parsed = parseBackupName(name);
    if (!parsed) continue;
    const file = path.join(folder, name);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(file);
    } catch {
      continue; // removed meanwhile
    }
    if (!st.isFile()) continue;
    let sidecar: Sidecar | undefined;
    let sidecarProblem: string | undefined;
    try {
      sidecar = await readSidecar(file);
    } catch (err) {
      sidecarProblem = errorMessage(err);
    }
    // The database's own name from the sidecar: file names of older versions replaced other characters by `_`.
    const source =
      (parsed.kind === 'postgres' && typeof sidecar?.postgres?.database === 'string' && sidecar.postgres.database) ||
      decodeFileSafeName(parsed.source);
    const createdAt = sidecar ? new Date(sidecar.createdAt) : undefined;
    const sameMinute = createdAt && Math.floor(createdAt.getTime() / 60_000) * 60_000 === parsed.time.getTime();
    const entry: BackupEntry = {
      file,
      name,
      kind: parsed.kind,
      source,
      group: groupKey(parsed.kind, source),
      time: parsed.time,
      ...(sameMinute ? { createdAt } : {}),
      recorded: Boolean(sidecar && !sidecarProblem && sidecar.bytes === st.size),
      bytes: st.size,
      gzip: parsed.gzip,
      sidecar,
      ...stateOf(sidecar, sidecarProblem, st.size),
    };
    entries.push(entry);
  }
  return sortNewestFirst(entries);
}

function stateOf(
  sidecar: Sidecar | undefined,
  problem: string | undefined,
  bytes: number,
): Pick<BackupEntry, 'state' | 'stateMessage' | 'verifiedAt'> {
  if (problem) return { state: 'failed', stateMessage: problem };
  if (!sidecar) return { state: 'unverified', stateMessage: 'No sidecar (.json) records its size and checksum, so it cannot be verified.' };
  if (sidecar.bytes !== bytes) {
    return {
      state: 'failed',
      stateMessage: `The file is ${bytes} bytes but was ${sidecar.bytes} bytes when written: it was truncated or changed.`,
    };
  }
  if (!sidecar.verification) return { state: 'unverified', stateMessage: 'Not verified yet.' };
  return { state: sidecar.verification.state, stateMessage: sidecar.verification.message, verifiedAt: sidecar.verification.at };
}

/** Newest first; within the same minute by the sidecars' precise times, else the later copy (`-2`) first. */
function sortNewestFirst<T extends { time: Date; name: string; createdAt?: Date }>(entries: T[]): T[] {
  return entries.sort(compareNewestFirst);
}

/**
 * The newest backup that counts as one (as rotation's "newest backup" guard): not dated in the future, and
 * recorded by a sidecar when any backup in the list is. A stray file never makes a schedule look done.
 */
export function newestBackup<T extends { time: Date; createdAt?: Date; recorded: boolean }>(
  entries: readonly T[],
  now: Date = new Date(),
): T | undefined {
  const anyRecorded = entries.some((e) => e.recorded);
  return entries.find((e) => !datedInFuture(e, now) && (e.recorded || !anyRecorded));
}
