import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError } from '../shared/errors';

/**
 * What a backup file holds: a PostgreSQL custom-format dump, a tar of a folder of files, or what a command
 * (a service's own dump tool, e.g. mongodump) wrote.
 */
export type BackupKind = 'postgres' | 'files' | 'command';

/** The parts of a backup's file name. */
export interface BackupName {
  kind: BackupKind;
  /**
   * The database name (postgres), the folder's name (files) or the command's name (command), as written in the
   * file name (see `decodeFileSafeName`).
   */
  source: string;
  /** When the backup started, to the minute (UTC). */
  time: Date;
  /** Files only: `.tar.gz` rather than `.tar`. */
  gzip: boolean;
  /** 1, or n for a `-n` suffix (two backups in the same minute). */
  copy: number;
  /** Command only: the extension after the time (`mongorestore.tar.gz`), without its leading dot. */
  extension?: string;
}

const STAMP = String.raw`(\d{4})\.(\d{2})\.(\d{2})\.(\d{2})_(\d{2})`;
const PG_RE = new RegExp(String.raw`^postgres_backup_(.+)__${STAMP}(?:-(\d+))?\.pg_restore$`);
const FILES_RE = new RegExp(String.raw`^(.+)_media__${STAMP}(?:-(\d+))?\.(tar|tar\.gz)$`);
const COMMAND_RE = new RegExp(String.raw`^([A-Za-z0-9][A-Za-z0-9._-]*)_backup__${STAMP}(?:-(\d+))?\.([A-Za-z0-9][A-Za-z0-9._-]*)$`);
/** The time in a backup name, with its copy suffix if any: where the stem ends and the extension starts. */
const STEM_RE = new RegExp(String.raw`^(.*__\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2})(?:-(\d+))?(\..+)$`);

/** `YYYY.MM.DD.HH_MM` in UTC, as in KoboToolbox's backup names. */
function backupStamp(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const day = `${date.getUTCFullYear()}.${p(date.getUTCMonth() + 1)}.${p(date.getUTCDate())}`;
  return `${day}.${p(date.getUTCHours())}_${p(date.getUTCMinutes())}`;
}

/**
 * A database or folder name as it may appear in a file name, reversibly: letters and digits of any script,
 * `.`, `-` and `_` stay as they are (so plain names are KoboToolbox's), and every other character (and a
 * leading dot) becomes `%XX` per UTF-8 byte, as in URLs. No name can reach outside the backup folder, and
 * two different names never give the same file name (`decodeFileSafeName` gives the name back).
 */
export function fileSafeName(name: string): string {
  const escape = (ch: string) => [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  const safe = [...name].map((ch) => (/^[\p{L}\p{M}\p{N}._-]$/u.test(ch) ? ch : escape(ch))).join('');
  return safe.replace(/^\.+/, (m) => '%2E'.repeat(m.length));
}

/** The name `fileSafeName` encoded (names written before the encoding, with `_` for other characters, read as they are). */
export function decodeFileSafeName(safe: string): string {
  try {
    return decodeURIComponent(safe);
  } catch {
    return safe;
  }
}

/** `postgres_backup_<db>__<YYYY.MM.DD.HH_MM>.pg_restore` */
export function postgresBackupName(database: string, date: Date): string {
  return `postgres_backup_${fileSafeName(database)}__${backupStamp(date)}.pg_restore`;
}

/** `<name>_media__<YYYY.MM.DD.HH_MM>.tar` (or `.tar.gz`) */
export function filesBackupName(name: string, date: Date, gzip: boolean): string {
  return `${name}_media__${backupStamp(date)}.${gzip ? 'tar.gz' : 'tar'}`;
}

/** `<name>_backup__<YYYY.MM.DD.HH_MM>.<extension>`: Kobo's `mongo_backup__….mongorestore.tar.gz` for `mongo`. */
export function commandBackupName(name: string, date: Date, extension: string): string {
  return `${name}_backup__${backupStamp(date)}.${extension}`;
}

/**
 * A command backup's extension, checked (a leading dot dropped): letters, digits, `.`, `-` and `_`, starting
 * with a letter or digit, at most 50. So that every backup name parses back to exactly one kind (and no
 * sidecar, partial or temporary file of ours is taken for a backup), it may not be `pg_restore` (PostgreSQL's),
 * contain `__` (the separator before the time) or `..`, end with `.`, or have a part `json` or `partial`
 * (`<backup>.json` is the sidecar, `<backup>.partial` the file being written).
 */
export function checkExtension(extension: string): string {
  const e = extension.trim().replace(/^\./, '');
  const bad = (why: string) => new ExitPlanError(`The extension "${extension}" cannot be used for a command backup: ${why}.`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(e) || e.length > 50) {
    throw bad('use letters, digits, ".", "-" and "_" (at most 50, starting with a letter or digit, e.g. "mongorestore.tar.gz")');
  }
  if (e === 'pg_restore') throw bad('"pg_restore" is the extension of PostgreSQL backups (use the database, or another extension)');
  if (e.includes('__') || e.includes('..') || e.endsWith('.')) throw bad('it may not contain "__" or "..", nor end with "."');
  if (e.split('.').some((part) => part === 'json' || part === 'partial')) {
    throw bad('"json" and "partial" are the endings of the backups\' sidecars and unfinished files');
  }
  return e;
}

/** A name given to a folder of files: used as is in file names, so it must be plain. */
export function checkFilesName(name: string): string {
  const trimmed = name.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(trimmed) || trimmed.length > 100) {
    throw new ExitPlanError(
      `The name "${name}" cannot be used in a backup file name: use letters, digits, ".", "-" and "_" ` +
        `(at most 100, starting with a letter or digit).`,
    );
  }
  return trimmed;
}

/** The parts of a backup file name, or undefined for any other file. */
export function parseBackupName(fileName: string): BackupName | undefined {
  const pg = PG_RE.exec(fileName);
  if (pg) return build('postgres', pg[1], pg.slice(2, 7), pg[7], false);
  const files = FILES_RE.exec(fileName);
  if (files) return build('files', files[1], files.slice(2, 7), files[7], files[8] === 'tar.gz');
  const command = COMMAND_RE.exec(fileName);
  if (command && validExtension(command[8]) && command[1].length <= 100) {
    const parsed = build('command', command[1], command.slice(2, 7), command[7], false);
    return parsed && { ...parsed, extension: command[8] };
  }
  return undefined;
}

function validExtension(extension: string): boolean {
  try {
    return checkExtension(extension) === extension;
  } catch {
    return false;
  }
}

function build(kind: BackupKind, source: string, stamp: string[], copy: string | undefined, gzip: boolean): BackupName | undefined {
  const [y, mo, d, h, mi] = stamp.map(Number);
  const time = new Date(Date.UTC(y, mo - 1, d, h, mi));
  // Reject impossible dates such as 2024.02.30 rather than silently moving them.
  if (time.getUTCMonth() !== mo - 1 || time.getUTCDate() !== d || h > 23 || mi > 59) return undefined;
  return { kind, source, time, gzip, copy: copy ? Number(copy) : 1 };
}

/** 1 for a plain name, n for a `-n` copy (a later backup in the same minute). */
function copyNumber(fileName: string): number {
  return Number(STEM_RE.exec(fileName)?.[2] ?? 1);
}

/** A backup dated after `now`, by the minute in its name or the start time in its sidecar: a stray, not a real newest backup. */
export function datedInFuture(item: { time: Date; createdAt?: Date }, now: Date): Date | undefined {
  const latest = Math.max(item.time.getTime(), item.createdAt?.getTime() ?? 0);
  return latest > now.getTime() ? new Date(latest) : undefined;
}

/**
 * Newest first: by the minute in the name, then within a minute by the precise start time in the sidecars
 * (when both have one), then by copy number (copies are numbered in creation order), then by name.
 */
export function compareNewestFirst(
  a: { time: Date; name: string; createdAt?: Date },
  b: { time: Date; name: string; createdAt?: Date },
): number {
  return (
    b.time.getTime() - a.time.getTime() ||
    (a.createdAt && b.createdAt ? b.createdAt.getTime() - a.createdAt.getTime() : 0) ||
    copyNumber(b.name) - copyNumber(a.name) ||
    b.name.localeCompare(a.name)
  );
}

/**
 * The name for a new backup in `dir`: the plain name, or, when a backup of the same source in the same
 * minute exists (or existed: its sidecar or partial file is there), the copy after the highest one, so
 * that names within a minute sort in creation order even after rotation removed the plain one.
 */
export async function nextCopyName(dir: string, fileName: string): Promise<{ name: string; copy: number }> {
  const { stem, ext } = splitExtension(fileName);
  let names: string[] = [];
  try {
    names = await fs.promises.readdir(dir);
  } catch {
    // A new folder: the plain name.
  }
  let highest = 0;
  for (const n of names) {
    if (!n.startsWith(stem)) continue;
    const m = /^(?:-(\d+))?(.*)$/.exec(n.slice(stem.length))!;
    if (!m[2].startsWith(ext)) continue;
    const rest = m[2].slice(ext.length);
    if (rest !== '' && !rest.startsWith('.json') && !rest.startsWith('.partial')) continue;
    highest = Math.max(highest, m[1] ? Number(m[1]) : 1);
  }
  return { name: copyName(fileName, highest + 1), copy: highest + 1 };
}

/** `…__2024.03.05.07_09.pg_restore` with copy n: `…__2024.03.05.07_09-n.pg_restore` (n = 1: unchanged). */
export function copyName(fileName: string, copy: number): string {
  if (copy <= 1) return fileName;
  const { stem, ext } = splitExtension(fileName);
  return `${stem}-${copy}${ext}`;
}

/**
 * A backup file name's stem (up to the time) and extension (everything after it: `.pg_restore`, `.tar.gz`,
 * `.mongorestore.tar.gz`); for other names `.pg_restore`, `.tar`, `.tar.gz`, else the last one.
 */
function splitExtension(fileName: string): { stem: string; ext: string } {
  const m = STEM_RE.exec(fileName);
  if (m && !m[2]) return { stem: m[1], ext: m[3] };
  const ext = /\.(?:pg_restore|tar\.gz|tar)$/.exec(fileName)?.[0] ?? path.extname(fileName);
  return { stem: fileName.slice(0, fileName.length - ext.length), ext };
}

/** `PostgreSQL mydb`, `Files media` or `Command mongo`: how a group of backups is named to the user. */
export function groupLabel(kind: BackupKind, source: string): string {
  return `${kind === 'postgres' ? 'PostgreSQL' : kind === 'files' ? 'Files' : 'Command'} ${source}`;
}

/** The key that groups backups for rotation: same kind and same source (a command's backups: by its name). */
export function groupKey(kind: BackupKind, source: string): string {
  return `${kind}:${source}`;
}
