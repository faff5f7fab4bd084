import * as path from 'node:path';
import { errorMessage } from '../shared/errors';
import { expandHome } from '../shared/paths';
import { checkFilesName } from './names';
import { checkPolicy, type RotationPolicy } from './rotation';
import { validateSchedule } from './schedule';

/** A backup target: a folder and what goes into it (a database, folders of files). No secrets here. */
export interface BackupTarget {
  name: string;
  /** Absolute backup folder (`~` expanded). */
  dir: string;
  /** The saved warehouse connection to back up with pg_dump (its password is kept elsewhere). */
  warehouseConnection?: string;
  /** Folders of files to archive, each as `<name>_media__….tar`. */
  folders: { name: string; path: string }[];
  /** Cron expression (local time) for scheduled backups. */
  schedule?: string;
  /** When the target was added (`addedAt`): scheduled times before it were never missed. */
  addedAt?: Date;
  gzip: boolean;
  /** Rotation policy (with minSizeBytes), when set. */
  rotation?: RotationPolicy;
  /** Backups smaller than this are flagged as suspect. */
  minSizeBytes?: number;
  /** What is wrong with this entry (a bad schedule, policy or path), in sentences, shown in the views. */
  problems: string[];
  /** The problems that stop a backup (no usable folder, nothing to back up). */
  blocking: string[];
}

/** A trimmed, non-empty string, or undefined. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/**
 * A target definition as plain data (an entry of `exitPlan.backups.targets`, as the user wrote it) read into a
 * target, with what is wrong noted in `problems` (and in `blocking` when it stops a backup); undefined when it
 * has no name. A bad schedule or rotation policy is left out, with its problem noted.
 */
export function parseBackupTarget(entry: unknown): BackupTarget | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const name = text(e.name);
  if (!name) return undefined;
  const problems: string[] = [];
  const blocking: string[] = [];
  const block = (sentence: string) => {
    problems.push(sentence);
    blocking.push(sentence);
  };
  const dir = targetDir(name, text(e.dir), block);
  const folders = targetFolders(name, e.folders, block);
  const schedule = text(e.schedule);
  if (schedule) {
    try {
      validateSchedule(schedule);
    } catch (err) {
      problems.push(`Backup target "${name}": ${errorMessage(err)}`);
    }
  }
  const minSizeBytes = typeof e.minSizeBytes === 'number' && e.minSizeBytes > 0 ? e.minSizeBytes : undefined;
  const rotation = targetRotation(name, e.rotation, minSizeBytes, (sentence) => problems.push(sentence));
  const warehouseConnection = text(e.warehouseConnection);
  if (!warehouseConnection && folders.length === 0) {
    block(`Backup target "${name}" has nothing to back up: set "warehouseConnection" and/or "folders".`);
  }
  const added = typeof e.addedAt === 'string' ? new Date(e.addedAt) : undefined;
  const addedAt = added && !Number.isNaN(added.getTime()) ? added : undefined;
  return { name, dir, warehouseConnection, folders, schedule, addedAt, gzip: e.gzip === true, rotation, minSizeBytes, problems, blocking };
}

/** The absolute backup folder (`~` expanded), or '' with a blocking problem. */
function targetDir(name: string, rawDir: string | undefined, block: (sentence: string) => void): string {
  if (!rawDir) {
    block(`Backup target "${name}" has no folder: set "dir" to an absolute path.`);
    return '';
  }
  const dir = expandHome(rawDir);
  if (!path.isAbsolute(dir)) block(`Backup target "${name}": the folder "${rawDir}" must be an absolute path (or start with ~).`);
  return dir;
}

/** The usable entries of "folders"; each unusable one is a blocking problem. */
function targetFolders(name: string, raw: unknown, block: (sentence: string) => void): BackupTarget['folders'] {
  const folders: BackupTarget['folders'] = [];
  if (!Array.isArray(raw)) return folders;
  for (const f of raw) {
    const fname = text((f as Record<string, unknown> | null)?.name);
    const fpath = text((f as Record<string, unknown> | null)?.path);
    if (!fname || !fpath) {
      block(`Backup target "${name}": every entry of "folders" needs a name and a path.`);
      continue;
    }
    try {
      checkFilesName(fname);
    } catch (err) {
      block(`Backup target "${name}": ${errorMessage(err)}`);
      continue;
    }
    const abs = expandHome(fpath);
    if (!path.isAbsolute(abs)) block(`Backup target "${name}": the folder "${fpath}" must be an absolute path.`);
    else folders.push({ name: fname, path: abs });
  }
  return folders;
}

/** The rotation policy, when set and valid; an invalid one is a problem (not blocking: backups still run). */
function targetRotation(
  name: string,
  raw: unknown,
  minSizeBytes: number | undefined,
  problem: (sentence: string) => void,
): RotationPolicy | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
  const rotation: RotationPolicy = {
    keepLast: count(r.keepLast),
    keepHourly: count(r.keepHourly),
    keepDaily: count(r.keepDaily),
    keepWeekly: count(r.keepWeekly),
    keepMonthly: count(r.keepMonthly),
    keepYearly: count(r.keepYearly),
    keepWithin: text(r.keepWithin),
    minSizeBytes,
  };
  try {
    checkPolicy(rotation);
  } catch (err) {
    problem(`Backup target "${name}": ${errorMessage(err)}`);
    return undefined;
  }
  return rotation;
}
