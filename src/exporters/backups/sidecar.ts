import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, describeWriteError, systemCode } from '../shared/errors';
import { writeSynced } from '../shared/partialFile';
import { TOOL_NAME, TOOL_VERSION } from '../version';
import type { BackupKind } from './names';

const SIDECAR_FORMAT = 'exit-plan-backup';

export type VerificationState = 'verified' | 'failed' | 'unverified';

export interface VerificationRecord {
  state: 'verified' | 'failed';
  /** ISO 8601. */
  at: string;
  /** What was checked, or why it failed: one sentence. */
  message: string;
}

export interface DrillRecord {
  /** ISO 8601. */
  at: string;
  ok: boolean;
  /** Where it was restored: `user@host:port/database` of the source it was compared with. */
  comparedWith: string;
  tables: number;
  mismatches: number;
  message: string;
}

/** `<backup>.json`: what was written, so that a later read can tell whether it is still the same. */
export interface Sidecar {
  format: typeof SIDECAR_FORMAT;
  version: 1;
  /** The backup's file name (no folder). */
  file: string;
  kind: BackupKind;
  bytes: number;
  sha256: string;
  /** ISO 8601, when the backup started. */
  createdAt: string;
  durationMs: number;
  /** `exit-plan 0.1.0` */
  tool: string;
  postgres?: {
    /** `user@host:port/database`, never a password. */
    connection: string;
    database: string;
    serverVersion: string;
    pgDumpVersion: string;
  };
  files?: {
    /** The folder that was archived (absolute). */
    source: string;
    entries: number;
    /** Bytes of file content inside the archive. */
    contentBytes: number;
    gzip: boolean;
    /** Special files (FIFOs, sockets, devices) left out, e.g. `./run/app.sock (socket)`. */
    skipped?: string[];
  };
  /**
   * Command backups. Information only: a verify or restore never runs a command read from a sidecar (it is
   * data in the backup folder, not configuration); those come from the target's definition or the CLI's flags.
   */
  command?: {
    name: string;
    /** The command as run (masked: no password of a URL or connection string). */
    cmd: string;
    extension: string;
    /** Where the command wrote the dump: its stdout, or the file `$OUTPUT_PATH`. */
    output: 'stdout' | 'file';
    verifyCmd?: string;
    restoreCmd?: string;
  };
  verification?: VerificationRecord;
  drill?: DrillRecord;
}

/** The facts every new backup's sidecar starts with; the caller adds its kind's own block. */
export function newSidecar(file: string, kind: BackupKind, facts: { bytes: number; sha256: string; started: Date }): Sidecar {
  return {
    format: SIDECAR_FORMAT,
    version: 1,
    file: path.basename(file),
    kind,
    bytes: facts.bytes,
    sha256: facts.sha256,
    createdAt: facts.started.toISOString(),
    durationMs: Date.now() - facts.started.getTime(),
    tool: `${TOOL_NAME} ${TOOL_VERSION}`,
  };
}

export function sidecarPath(backupFile: string): string {
  return `${backupFile}.json`;
}

/** The sidecar of a backup; undefined if there is none; an ExitPlanError if it is unreadable. */
export async function readSidecar(backupFile: string): Promise<Sidecar | undefined> {
  const file = sidecarPath(backupFile);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return undefined;
    throw new ExitPlanError(`Cannot read ${file}: ${(err as Error).message}.`, systemCode(err), { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ExitPlanError(`The sidecar ${file} is not valid JSON.`);
  }
  const s = value as Partial<Sidecar> | null;
  if (
    !s ||
    s.format !== SIDECAR_FORMAT ||
    typeof s.bytes !== 'number' ||
    typeof s.sha256 !== 'string' ||
    !/^[0-9a-f]{64}$/.test(s.sha256)
  ) {
    throw new ExitPlanError(`The sidecar ${file} is not an Exit Plan backup record.`);
  }
  return s as Sidecar;
}

/** A sidecar as it is written to disk. */
export function sidecarText(sidecar: Sidecar): string {
  return `${JSON.stringify(sidecar, null, 2)}\n`;
}

/** Writes the sidecar under a temporary name, fsyncs it and renames it into place (it is ours to replace). */
export async function writeSidecar(backupFile: string, sidecar: Sidecar): Promise<void> {
  const file = sidecarPath(backupFile);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeSynced(tmp, sidecarText(sidecar), file);
  try {
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new ExitPlanError(describeWriteError(err, file) ?? `Cannot write ${file}: ${(err as Error).message}.`, systemCode(err), {
      cause: err,
    });
  }
}

/** Reads, changes and writes back a sidecar (no-op when there is none). */
export async function updateSidecar(backupFile: string, change: (s: Sidecar) => void): Promise<Sidecar | undefined> {
  const sidecar = await readSidecar(backupFile);
  if (!sidecar) return undefined;
  change(sidecar);
  await writeSidecar(backupFile, sidecar);
  return sidecar;
}

/** Streamed SHA-256 of a file (src/exporters/shared/hashFile.ts), also offered here with the sidecars it fills. */
export { hashFile } from '../shared/hashFile';

/** The folder-level record `<dir>/.exit-plan-backups.json`: facts about the folder, not about one file. */
export interface FolderState {
  format: 'exit-plan-backups-folder';
  version: 1;
  /** Per source database (as in file names): the last drill and the last successful one. */
  drills: Record<string, { last?: DrillSummary; lastSuccessful?: DrillSummary }>;
}

export interface DrillSummary {
  at: string;
  file: string;
  ok: boolean;
  message: string;
}

const FOLDER_STATE_FILE = '.exit-plan-backups.json';

export async function readFolderState(dir: string): Promise<FolderState> {
  const empty: FolderState = { format: 'exit-plan-backups-folder', version: 1, drills: {} };
  try {
    const value = JSON.parse(await fs.promises.readFile(path.join(dir, FOLDER_STATE_FILE), 'utf8')) as Partial<FolderState>;
    if (value?.format !== empty.format || typeof value.drills !== 'object' || value.drills === null) return empty;
    return { ...empty, drills: value.drills };
  } catch {
    return empty;
  }
}

export async function updateFolderState(dir: string, change: (state: FolderState) => void): Promise<void> {
  const state = await readFolderState(dir);
  change(state);
  const file = path.join(dir, FOLDER_STATE_FILE);
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await fs.promises.writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`, { flag: 'wx' });
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true }).catch(() => undefined);
    throw new ExitPlanError(describeWriteError(err, file) ?? `Cannot write ${file}: ${(err as Error).message}.`, systemCode(err), {
      cause: err,
    });
  }
}
