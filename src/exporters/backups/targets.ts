import * as path from 'node:path';
import { ExitPlanError, errorMessage } from '../shared/errors';
import { expandHome } from '../shared/paths';
import { parseInterval } from '../datasets/interval';
import { checkExtension, checkFilesName } from './names';
import { checkPolicy, type RotationPolicy } from './rotation';
import { validateSchedule } from './schedule';

/**
 * A command that writes a backup (a service's own dump tool): run as `sh -c cmd` in its own process group,
 * writing the dump to stdout or to `$OUTPUT_PATH`; the backup is `<name>_backup__<YYYY.MM.DD.HH_MM>.<extension>`.
 */
export interface CommandSource {
  /** Plain (checkFilesName): `mongo` gives Kobo's `mongo_backup__….mongorestore.tar.gz`. */
  name: string;
  /** Shell command; writes the dump to stdout, or to the file `$OUTPUT_PATH`. */
  cmd: string;
  /** Checked by checkExtension, without a leading dot: `mongorestore.tar.gz`. */
  extension: string;
  /** Shell command run with `$BACKUP_PATH` after the checksum: exit 0 = verified. */
  verifyCmd?: string;
  /** Shell command run with `$BACKUP_PATH` by a restore (after the same checks as verify, and a confirmation). */
  restoreCmd?: string;
  /** Stop the command's whole process group after this long (a backup, a verification or a restore). */
  timeout?: { text: string; ms: number };
}

/** Node's timers hold at most 2^31 - 1 ms (24.8 days): a longer timeout would fire at once. */
const MAX_COMMAND_TIMEOUT_MS = 24 * 24 * 3_600_000;

/**
 * A command's timeout: a duration as datasets write it ("2 hours", "90m", "1h30m") or a number of seconds;
 * throws one sentence otherwise.
 */
export function parseCommandTimeout(value: unknown): { text: string; ms: number } {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) {
    if (value * 1000 > MAX_COMMAND_TIMEOUT_MS) throw new ExitPlanError(`The timeout ${value} seconds is too long: at most 24 days.`);
    return { text: `${value} seconds`, ms: Math.round(value * 1000) };
  }
  const t = typeof value === 'string' ? value.trim() : '';
  if (/^\d+$/.test(t)) return parseCommandTimeout(Number(t));
  let ms: number;
  try {
    ms = parseInterval(t);
  } catch (err) {
    throw new ExitPlanError(
      `The timeout "${String(value)}" is not a duration: write it like "2 hours", "90m" or "1h30m", or a number of seconds.`,
      undefined,
      { cause: err },
    );
  }
  if (ms <= 0) throw new ExitPlanError(`The timeout "${t}" must be longer than 0.`);
  if (ms > MAX_COMMAND_TIMEOUT_MS) throw new ExitPlanError(`The timeout "${t}" is too long: at most 24 days.`);
  return { text: t, ms };
}

/** A backup target: a folder and what goes into it (a database, folders of files, commands). No secrets here. */
export interface BackupTarget {
  name: string;
  /** Absolute backup folder (`~` expanded). */
  dir: string;
  /** The saved warehouse connection to back up with pg_dump (its password is kept elsewhere). */
  warehouseConnection?: string;
  /** Folders of files to archive, each as `<name>_media__….tar`. */
  folders: { name: string; path: string }[];
  /** Commands whose output is backed up (after the database and the folders), each as `<name>_backup__….<extension>`. */
  commands: CommandSource[];
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
  /** The problems that stop a backup (no usable folder, a bad command, nothing to back up). */
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
  const commands = targetCommands(name, e.commands, block);
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
  if (!warehouseConnection && folders.length === 0 && commands.length === 0) {
    block(`Backup target "${name}" has nothing to back up: set "warehouseConnection", "folders" and/or "commands".`);
  }
  const added = typeof e.addedAt === 'string' ? new Date(e.addedAt) : undefined;
  const addedAt = added && !Number.isNaN(added.getTime()) ? added : undefined;
  return {
    name,
    dir,
    warehouseConnection,
    folders,
    commands,
    schedule,
    addedAt,
    gzip: e.gzip === true,
    rotation,
    minSizeBytes,
    problems,
    blocking,
  };
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

/** The usable entries of "commands"; each unusable one is a blocking problem (a target never runs half a definition). */
function targetCommands(name: string, raw: unknown, block: (sentence: string) => void): CommandSource[] {
  const commands: CommandSource[] = [];
  if (raw === undefined) return commands;
  if (!Array.isArray(raw)) {
    block(`Backup target "${name}": "commands" must be a list of { name, cmd, extension } entries.`);
    return commands;
  }
  const seen = new Set<string>();
  for (const c of raw) {
    const entry = (typeof c === 'object' && c !== null ? c : {}) as Record<string, unknown>;
    const cname = text(entry.name);
    const cmd = text(entry.cmd);
    const extension = text(entry.extension);
    if (!cname || !cmd || !extension) {
      block(`Backup target "${name}": every entry of "commands" needs a name, a cmd and an extension.`);
      continue;
    }
    const problem = (sentence: string) => block(`Backup target "${name}", command "${cname}": ${sentence}`);
    let checked: { name: string; extension: string };
    try {
      checked = { name: checkFilesName(cname), extension: checkExtension(extension) };
    } catch (err) {
      problem(errorMessage(err));
      continue;
    }
    if (seen.has(checked.name)) {
      problem(`another command of this target has the same name (their backups would rotate as one).`);
      continue;
    }
    seen.add(checked.name);
    const source: CommandSource = { name: checked.name, cmd, extension: checked.extension };
    const verifyCmd = text(entry.verifyCmd);
    const restoreCmd = text(entry.restoreCmd);
    if (verifyCmd) source.verifyCmd = verifyCmd;
    if (restoreCmd) source.restoreCmd = restoreCmd;
    if (entry.timeout !== undefined && entry.timeout !== null && entry.timeout !== '') {
      try {
        source.timeout = parseCommandTimeout(entry.timeout);
      } catch (err) {
        problem(errorMessage(err));
        continue;
      }
    }
    commands.push(source);
  }
  return commands;
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
