import * as fs from 'node:fs';
import * as path from 'node:path';
import { plural, printable } from '../shared/format';
import { datasetPaths } from './parcels';
import type { DatasetReport, WarningKind } from './report';

/*
 * One state per dataset, so that every summary (the report's line, the status bar, the tree) counts each dataset
 * once: a dataset that is failing and overdue is failing (also overdue), not one failing and one overdue.
 */

/** What a dataset needs, the worst first: its config.toml cannot be read, its newest parcel failed, … */
export type DatasetState = 'error' | 'failing' | 'overdue' | 'running' | 'neverRun' | 'ok';

const ORDER: readonly DatasetState[] = ['error', 'failing', 'overdue', 'running', 'neverRun', 'ok'];

/** The fields of a dataset's report the state depends on. */
export type StateFields = Pick<DatasetReport, 'error' | 'failing' | 'overdue' | 'running' | 'lastParcel'>;

/**
 * The one state of a dataset. A dataset that has never run (no parcel at all) is "never run", not overdue: it
 * was just made, or its cmd is not set yet. `active`: this process is exporting it now.
 */
export function datasetState(d: StateFields, active = false): DatasetState {
  if (d.error !== undefined) return 'error';
  if (active || d.running) return 'running';
  if (d.failing) return 'failing';
  if (!d.lastParcel) return 'neverRun';
  if (d.overdue) return 'overdue';
  return 'ok';
}

/**
 * A dataset's warnings without those its state already says, so nothing is said twice where the state is shown:
 * "no complete parcel" of a failing dataset, and "no complete parcel" and "overdue: never exported" of one that
 * never ran.
 */
export function distinctWarnings<W extends { kind: WarningKind }>(
  d: StateFields & { warnings: readonly W[] },
  state = datasetState(d),
): W[] {
  const implied: WarningKind[] = state === 'failing' ? ['noComplete'] : state === 'neverRun' ? ['noComplete', 'overdue'] : [];
  return d.warnings.filter((w) => !implied.includes(w.kind));
}

/** Whether the state asks for the user's attention (a warning in the status bar and the tree). */
export function needsAction(state: DatasetState): boolean {
  return state === 'error' || state === 'failing' || state === 'overdue';
}

export interface DatasetsSummary {
  total: number;
  counts: Record<DatasetState, number>;
  /** Failing datasets that are overdue as well (counted once, as failing). */
  failingAlsoOverdue: number;
}

/** Counts each dataset once, in its state. */
export function summarizeDatasets(list: readonly StateFields[], isActive: (d: StateFields) => boolean = () => false): DatasetsSummary {
  const counts = Object.fromEntries(ORDER.map((s) => [s, 0])) as Record<DatasetState, number>;
  let failingAlsoOverdue = 0;
  for (const d of list) {
    const state = datasetState(d, isActive(d));
    counts[state]++;
    if (state === 'failing' && d.overdue) failingAlsoOverdue++;
  }
  return { total: list.length, counts, failingAlsoOverdue };
}

const WORDS: Record<DatasetState, string> = {
  error: 'with a config error',
  failing: 'failing',
  overdue: 'overdue',
  running: 'exporting',
  neverRun: 'never run',
  ok: 'ok',
};

/** "1 failing (also overdue)", "2 failing (1 also overdue)". */
function part(s: DatasetsSummary, state: DatasetState): string {
  const n = s.counts[state];
  const text = `${n} ${WORDS[state]}`;
  if (state !== 'failing' || s.failingAlsoOverdue === 0) return text;
  return s.failingAlsoOverdue === n ? `${text} (also overdue)` : `${text} (${s.failingAlsoOverdue} also overdue)`;
}

/** The report's line: "2 datasets: 1 failing (also overdue), 1 ok". Each dataset is counted once. */
export function describeDatasetsSummary(s: DatasetsSummary): string {
  if (s.total === 0) return 'No datasets.';
  const parts = ORDER.filter((state) => s.counts[state] > 0).map((state) => part(s, state));
  return `${plural(s.total, 'dataset')}: ${parts.join(', ')}`;
}

/** The status bar's text (without its icon) and whether it warns. */
export interface StatusText {
  icon: 'warning' | 'pass' | 'sync' | 'circle';
  text: string;
  warning: boolean;
}

/**
 * The status bar names the state: "1 dataset failing", "2 datasets overdue", "Datasets: 1 failing, 2 overdue",
 * "1 dataset: never run", "3 datasets ok", "3 datasets: 1 never run".
 */
export function datasetsStatusText(s: DatasetsSummary): StatusText {
  const bad = (['error', 'failing', 'overdue'] as const).filter((state) => s.counts[state] > 0);
  if (bad.length === 1) {
    const state = bad[0];
    return { icon: 'warning', text: `${plural(s.counts[state], 'dataset')} ${WORDS[state]}`, warning: true };
  }
  if (bad.length > 1) return { icon: 'warning', text: `Datasets: ${bad.map((state) => part(s, state)).join(', ')}`, warning: true };
  if (s.counts.running > 0) return { icon: 'sync', text: `${plural(s.total, 'dataset')}: ${s.counts.running} exporting`, warning: false };
  if (s.counts.neverRun === s.total) return { icon: 'circle', text: `${plural(s.total, 'dataset')}: never run`, warning: false };
  if (s.counts.neverRun > 0) return { icon: 'pass', text: `${plural(s.total, 'dataset')}: ${s.counts.neverRun} never run`, warning: false };
  return { icon: 'pass', text: `${plural(s.total, 'dataset')} ok`, warning: false };
}

/** How much of a log's end is read for its last line. */
const TAIL_BYTES = 8192;
/** A last line longer than this is cut (with an ellipsis). */
const MAX_LINE = 300;
/** Exit Plan's own notes in log/<id>.err start with this. */
const NOTE_PREFIX = '[exit-plan] ';

/**
 * The line that says why a parcel's export failed: the last line the command wrote to stderr (log/<id>.err),
 * else Exit Plan's own last note there ("attempt 1 of 1 failed: the command exited with code 6"), else the last
 * line of stdout. Control characters escaped, cut at 300 characters; undefined when the logs are empty or gone.
 */
export async function lastErrorLine(dir: string, parcelId: string): Promise<string | undefined> {
  const log = datasetPaths(dir).log;
  const err = await tailLines(path.join(log, `${parcelId}.err`));
  const own = err.filter((l) => !l.startsWith(NOTE_PREFIX));
  const line =
    own[own.length - 1] ?? err[err.length - 1]?.slice(NOTE_PREFIX.length) ?? (await tailLines(path.join(log, `${parcelId}.out`))).pop();
  if (line === undefined) return undefined;
  const text = printable(line.trim());
  return text.length > MAX_LINE ? `${text.slice(0, MAX_LINE - 1)}…` : text;
}

/** The non-empty lines of the end of a file (none when it is missing). */
async function tailLines(file: string): Promise<string[]> {
  let handle: fs.promises.FileHandle | undefined;
  try {
    handle = await fs.promises.open(file, 'r');
    const { size } = await handle.stat();
    const start = Math.max(0, size - TAIL_BYTES);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split(/\r?\n/);
    if (start > 0) lines.shift(); // cut mid-line
    return lines.filter((l) => l.trim() !== '');
  } catch {
    return [];
  } finally {
    await handle?.close();
  }
}
