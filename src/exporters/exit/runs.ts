// The run folders under a plan's `out`: their names, which are complete, their part records; and the one way a
// run writes its records (temp file, fsync, rename), so a record is either whole or absent.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, errorMessage, systemCode } from '../shared/errors';
import { PART_KINDS, RUN_FILES, type PartKind, type PartRecord } from './types';

/** exit_2026-11-30T023826Z */
const RUN_NAME = /^exit_(\d{4})-(\d{2})-(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** One run folder under `out`. */
export interface RunFolder {
  /** Absolute path. */
  folder: string;
  /** The folder's name, exit_<stamp>. */
  name: string;
  /** When the run was started (from its name). */
  startedAt: Date;
  /** exit-manifest.json is there. */
  complete: boolean;
}

/** The time in a run folder's name, or undefined when the name is not one of a run. */
export function runStartTime(name: string): Date | undefined {
  const m = RUN_NAME.exec(name);
  if (!m) return undefined;
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** The run folders under `out`, oldest first; none when `out` does not exist. */
export async function listRuns(out: string): Promise<RunFolder[]> {
  let names: string[];
  try {
    names = await fs.promises.readdir(out);
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return [];
    throw new ExitPlanError(`Cannot read the exit runs folder ${out}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
  }
  const runs: RunFolder[] = [];
  for (const name of names.sort()) {
    const startedAt = runStartTime(name);
    if (!startedAt) continue;
    const folder = path.join(out, name);
    const stat = await fs.promises.stat(folder).catch(() => undefined);
    if (!stat?.isDirectory()) continue;
    const complete = await fs.promises
      .stat(path.join(folder, RUN_FILES.manifest))
      .then((s) => s.isFile())
      .catch(() => false);
    runs.push({ folder, name, startedAt, complete });
  }
  return runs;
}

/** `<part dir>/part.json` when it is there and whole and says verified (of this name and kind); else undefined. */
export async function readPartRecord(partDir: string, expected?: { name: string; kind: PartKind }): Promise<PartRecord | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await fs.promises.readFile(path.join(partDir, RUN_FILES.part), 'utf8'));
  } catch {
    return undefined;
  }
  const r = value as Partial<PartRecord> | null;
  if (
    !r ||
    r.format !== 1 ||
    r.status !== 'verified' ||
    typeof r.name !== 'string' ||
    !(PART_KINDS as readonly unknown[]).includes(r.kind) ||
    !Array.isArray(r.files) ||
    typeof r.fileCount !== 'number' ||
    typeof r.bytes !== 'number' ||
    typeof r.finishedAt !== 'string'
  )
    return undefined;
  if (expected && (r.name !== expected.name || r.kind !== expected.kind)) return undefined;
  return r as PartRecord;
}
