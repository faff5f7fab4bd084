import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, errorMessage, isCancelled } from '../shared/errors';
import { formatBytes, plural } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { readConfig, type DatasetConfig } from './config';
import { commitChanges } from './git';
import { findIngestable, moveIntoDataset } from './ingest';
import { formatDuration } from './interval';
import { withDatasetLock, type LockInfo } from './lock';
import { collectMetrics, readMetrics, updateMetrics, type MetricsRow } from './metrics';
import { datasetPaths, isComplete, listParcels, parcelIdOf, parcelIdOfName, parseParcelId, type Parcel } from './parcels';
import { runShell } from './shell';

/** A dataset is due this much before its interval is over, so a daily cron job never misses a day by seconds. */
export const DUE_MARGIN_MS = 5 * 60 * 1000;

export type DatasetPhase = 'ingesting' | 'exporting' | 'waiting' | 'metrics' | 'committing' | 'cleaning' | 'done';

/** Where a dataset run is: structured, turned into text by `describeDatasetProgress`. */
export interface DatasetProgress {
  /** Absolute path and folder name of the dataset. */
  dataset: string;
  name: string;
  /** Position in a batch (1-based) and its size. */
  index: number;
  count: number;
  phase: DatasetPhase;
  parcelId?: string;
  attempt?: number;
  attempts?: number;
  /** ingesting: the file or folder being moved in. */
  source?: string;
  /** waiting: how long until the next attempt. */
  retryInMs?: number;
  /** done: the run's one sentence (its result's message). */
  message?: string;
}

/** What a dataset run is doing, in a few words: `exporting 2025-03-01T021500Z (attempt 2 of 3)`. */
function describeDatasetStep(p: DatasetProgress): string {
  switch (p.phase) {
    case 'ingesting':
      return `ingesting ${path.basename(p.source ?? '')}`;
    case 'exporting':
      return (p.attempts ?? 1) > 1 ? `exporting ${p.parcelId} (attempt ${p.attempt} of ${p.attempts})` : `exporting ${p.parcelId}`;
    case 'waiting':
      return `attempt ${(p.attempt ?? 2) - 1} failed; retrying in ${formatDuration(p.retryInMs ?? 0)}`;
    case 'metrics':
      return `measuring ${p.parcelId}`;
    case 'committing':
      return 'committing to git';
    case 'cleaning':
      return 'removing old parcels';
    case 'done':
      return p.message ?? 'done';
  }
}

/**
 * The progress line of a dataset run, the same for the CLI and VS Code: `[2/5] todoist: exporting …` (the
 * position only in a batch of several).
 */
export function describeDatasetProgress(p: DatasetProgress): string {
  return `${p.count > 1 ? `[${p.index}/${p.count}] ` : ''}${p.name}: ${describeDatasetStep(p)}`;
}

/** The share of a batch done (0..1): datasets finished, out of all. */
export function datasetProgressFraction(p: DatasetProgress): number {
  return (p.index - (p.phase === 'done' ? 0 : 1)) / Math.max(1, p.count);
}

export interface ProcessOptions extends OperationOptions<DatasetProgress> {
  /** The clock (tests simulate days); parcel ids and due times come from it. */
  now?: () => Date;
  /** Between SIGTERM and SIGKILL when a command is stopped. */
  killGraceMs?: number;
}

/**
 * exported: a new complete parcel. failed: the export failed (after its retries). notDue: nothing to export
 * now (files may have been ingested). busy: another run holds the dataset's lock. error: the dataset could
 * not be processed (config.toml, git, clean…).
 */
export type DatasetOutcome = 'exported' | 'failed' | 'notDue' | 'busy' | 'error';

export interface DatasetRunResult {
  dataset: string;
  name: string;
  outcome: DatasetOutcome;
  /** False when anything went wrong: the CLI exits 2. */
  ok: boolean;
  /** One sentence for the user. */
  message: string;
  /** The exported parcel (complete or not). */
  parcelId?: string;
  attempts?: number;
  /** Its metrics row as written to metrics.csv. */
  metrics?: MetricsRow;
  ingested: { parcelId: string; from: string }[];
  /** Parcel ids that clean removed. */
  removed: string[];
  /** Problems that make the run fail (git, clean, metrics.csv), one sentence each. */
  problems: string[];
  /** Metric commands that failed (recorded as ERROR), one sentence each. */
  warnings: string[];
  /** When the next export is due, if there is an interval. */
  nextDue?: string;
  lockedBy?: LockInfo;
}

/** Whether an export is due: an interval is set, and there is no complete parcel or the newest is old enough. */
export function isDue(config: DatasetConfig, parcels: readonly Parcel[], now: Date, marginMs = DUE_MARGIN_MS): boolean {
  const next = nextDue(config, parcels, marginMs);
  return next !== undefined && now.getTime() >= next.getTime();
}

/** When the dataset is next due (the epoch when it has no complete parcel), or undefined without an interval. */
export function nextDue(config: DatasetConfig, parcels: readonly Parcel[], marginMs = DUE_MARGIN_MS): Date | undefined {
  if (!config.interval) return undefined;
  const last = lastComplete(parcels);
  if (!last) return new Date(0);
  return new Date(parseParcelId(last.id)!.getTime() + config.interval.ms - marginMs);
}

export function lastComplete(parcels: readonly Parcel[]): Parcel | undefined {
  for (let i = parcels.length - 1; i >= 0; i--) if (isComplete(parcels[i])) return parcels[i];
  return undefined;
}

/** Runs `process` on each dataset in turn (ingest, export if due, metrics, git, clean). */
export function processDatasets(dirs: readonly string[], options: ProcessOptions = {}): Promise<DatasetRunResult[]> {
  return runEach(dirs, options, false);
}

/** Runs `export` on each dataset in turn: exports now, whatever the schedule, then metrics, git and clean. */
export function exportDatasets(dirs: readonly string[], options: ProcessOptions = {}): Promise<DatasetRunResult[]> {
  return runEach(dirs, options, true);
}

/** `process` for one dataset. */
export function processDataset(dir: string, options: ProcessOptions = {}): Promise<DatasetRunResult> {
  return processOne(dir, options, { force: false, index: 1, count: 1 });
}

/** Exports now, whatever the schedule, then metrics, git and clean as `process` does. */
export function exportDataset(dir: string, options: ProcessOptions = {}): Promise<DatasetRunResult> {
  return processOne(dir, options, { force: true, index: 1, count: 1 });
}

async function runEach(dirs: readonly string[], options: ProcessOptions, force: boolean): Promise<DatasetRunResult[]> {
  const results: DatasetRunResult[] = [];
  for (let i = 0; i < dirs.length; i++) {
    try {
      results.push(await processOne(dirs[i], options, { force, index: i + 1, count: dirs.length }));
    } catch (err) {
      if (isCancelled(err) && dirs.length > 1) {
        throw new CancelledError(`${err.message.replace(/\.$/, '')}; ${results.length} of ${dirs.length} datasets had been processed.`);
      }
      throw err;
    }
  }
  return results;
}

/** One dataset's run: what every step reads and adds to. */
interface Run {
  dir: string;
  name: string;
  force: boolean;
  options: ProcessOptions;
  now: () => Date;
  result: DatasetRunResult;
  /** Parcels this run added (ingested or exported), in order. */
  fresh: FreshParcel[];
  progress: (phase: DatasetPhase, extra?: Partial<DatasetProgress>) => void;
}

interface FreshParcel {
  id: string;
  success: boolean;
  dataPath?: string;
  dataName?: string;
  from?: string;
}

/** Ingest, export (if due or forced), metrics, git, clean: one dataset, under its lock. */
async function processOne(
  dirArg: string,
  options: ProcessOptions,
  position: { force: boolean; index: number; count: number },
): Promise<DatasetRunResult> {
  const run = startRun(dirArg, options, position);
  const config = await loadConfig(run);
  if (!config) return run.result;
  let locked: { value: void } | { heldBy: LockInfo };
  try {
    locked = await withDatasetLock(run.dir, () => runSteps(run, config));
  } catch (err) {
    if (isCancelled(err)) throw err;
    fail(run, 'error', errorMessage(err));
    return run.result;
  }
  if ('heldBy' in locked) {
    const by = locked.heldBy;
    run.result.outcome = 'busy';
    run.result.lockedBy = by;
    run.result.message = `skipped: another run (pid ${by.pid} on ${by.host}, since ${by.since}) is processing it.`;
    return run.result;
  }
  return finish(run, config);
}

/** The steps under the lock. A failure of one is a problem of the result; only a cancel throws. */
async function runSteps(run: Run, config: DatasetConfig): Promise<void> {
  try {
    const freeId = await parcelIdAllocator(run.dir);
    await ingest(run, config, freeId);
    await exportIfDue(run, config, freeId);
    await recordMetrics(run, config);
    const committed = await commitFresh(run, config);
    stopIfCancelled(run, committed);
    await cleanOld(run, config);
  } catch (err) {
    if (isCancelled(err)) throw err;
    run.result.ok = false;
    run.result.problems.push(errorMessage(err));
    if (run.result.outcome !== 'failed') run.result.outcome = 'error';
  }
}

function startRun(dirArg: string, options: ProcessOptions, position: { force: boolean; index: number; count: number }): Run {
  const dir = path.resolve(dirArg);
  const name = path.basename(dir);
  return {
    dir,
    name,
    force: position.force,
    options,
    now: options.now ?? (() => new Date()),
    result: { dataset: dir, name, outcome: 'notDue', ok: true, message: '', ingested: [], removed: [], problems: [], warnings: [] },
    fresh: [],
    progress: (phase, extra = {}) =>
      options.onProgress?.({ dataset: dir, name, index: position.index, count: position.count, phase, ...extra }),
  };
}

function fail(run: Run, outcome: DatasetOutcome, message: string): void {
  Object.assign(run.result, { outcome, ok: false, message });
}

/** config.toml of a folder that exists; undefined (the result says why) when it cannot be read. */
async function loadConfig(run: Run): Promise<DatasetConfig | undefined> {
  try {
    const stat = await fs.promises.stat(run.dir).catch(() => undefined);
    if (!stat?.isDirectory()) throw new ExitPlanError(`${run.dir} is not a folder.`);
    const config = await readConfig(run.dir);
    if (run.force && !config.cmd) throw new ExitPlanError(`${config.file} has no cmd, so there is nothing to export.`);
    return config;
  } catch (err) {
    fail(run, 'error', errorMessage(err));
    return undefined;
  }
}

/** A parcel id for a time, moved on by seconds past any id in use (parcels, metrics.csv, or given out by this run). */
async function parcelIdAllocator(dir: string): Promise<(date: Date) => string> {
  const known = new Set((await listParcels(dir)).map((p) => p.id));
  for (const id of (await readMetrics(dir)).rows.keys()) known.add(id);
  return (date) => {
    let t = Math.floor(date.getTime() / 1000) * 1000;
    while (known.has(parcelIdOf(new Date(t)))) t += 1000;
    const id = parcelIdOf(new Date(t));
    known.add(id);
    return id;
  };
}

/** 1. Moves in what the configured globs find, as complete parcels. */
async function ingest(run: Run, config: DatasetConfig, freeId: (date: Date) => string): Promise<void> {
  if (!config.ingest) return;
  for (const source of await findIngestable(run.dir, config.ingest.paths)) {
    if (run.options.signal?.aborted)
      throw new CancelledError(`Cancelled while ingesting into ${run.name}; the files moved so far are parcels now.`);
    run.progress('ingesting', { source });
    const time = config.ingest.timeSource === 'now' ? run.now() : (await fs.promises.stat(source)).mtime;
    const id = freeId(time);
    const dataName = await moveIntoDataset(run.dir, source, id);
    run.fresh.push({ id, success: true, dataName, dataPath: path.join(datasetPaths(run.dir).data, dataName), from: source });
    run.result.ingested.push({ parcelId: id, from: source });
    run.options.log?.(`${run.name}: ingested ${source} as ${id}`);
  }
}

/** 2. Runs the export when it is due (or forced). */
async function exportIfDue(run: Run, config: DatasetConfig, freeId: (date: Date) => string): Promise<void> {
  if (!config.cmd) return;
  const parcels = await listParcels(run.dir);
  if (!run.force && !isDue(config, parcels, run.now())) return;
  const id = freeId(run.now());
  run.result.parcelId = id;
  const exported = await runExport(run, config, id);
  run.result.attempts = exported.attempts;
  run.fresh.push({ id, success: exported.success, dataName: exported.dataName, dataPath: exported.dataPath });
  if (exported.success) {
    run.result.outcome = 'exported';
    run.options.log?.(`${run.name}: exported ${id}${exported.attempts > 1 ? ` (attempt ${exported.attempts})` : ''}`);
  } else {
    fail(run, 'failed', exported.reason);
    run.options.log?.(`${run.name}: export ${id} failed: ${exported.reason}`);
  }
}

/** 3. Metrics of the new parcels, then metrics.csv in one write. Cancelling here keeps the parcel. */
async function recordMetrics(run: Run, config: DatasetConfig): Promise<void> {
  const rows: MetricsRow[] = [];
  for (const parcel of run.fresh) {
    run.progress('metrics', { parcelId: parcel.id });
    rows.push(
      await collectMetrics(run.dir, config, parcel.id, parcel.success, parcel.dataPath, {
        signal: run.options.signal,
        onMetricError: (_metric, message) => {
          run.result.warnings.push(message);
          run.options.log?.(`${run.name}: ${parcel.id}: ${message}`);
        },
      }),
    );
  }
  await updateMetrics(run.dir, rows);
  if (run.result.parcelId) run.result.metrics = rows.find((r) => r.parcel_id === run.result.parcelId);
}

/** 4. Commits the new data and metrics.csv (git = true). False when a cancel stopped git before it committed. */
async function commitFresh(run: Run, config: DatasetConfig): Promise<boolean> {
  if (!config.git || run.fresh.length === 0) return true;
  run.progress('committing');
  const added = run.fresh.filter((f) => f.success && f.dataName).map((f) => `data/${f.dataName}`);
  const lines = run.result.ingested.map((i) => `${i.parcelId} was ingested from ${i.from}`);
  const message = [`[exit-plan] process new parcels: ${run.fresh.map((f) => f.id).join(', ')}`, ...lines].join('\n');
  try {
    await commitChanges(run.dir, message, { add: ['metrics.csv', ...added] }, { signal: run.options.signal });
    return true;
  } catch (err) {
    if (isCancelled(err)) return false;
    throw err;
  }
}

/** After the new parcels are recorded, a cancel stops the run before clean, keeping what was exported. */
function stopIfCancelled(run: Run, committed: boolean): void {
  if (!run.options.signal?.aborted) return;
  const { name, result } = run;
  const uncommitted = committed ? '' : ' It was not committed to git.';
  throw new CancelledError(
    result.outcome === 'exported'
      ? `Cancelled after ${name}'s export had finished: parcel ${result.parcelId} was kept, ` +
          `and any metric not computed yet is missing from metrics.csv.${uncommitted}`
      : `Cancelled while processing ${name}.`,
  );
}

/** 5. Clean: keep the newest complete parcels; incomplete ones go, except the newest parcel. */
async function cleanOld(run: Run, config: DatasetConfig): Promise<void> {
  if (!config.keep) return;
  run.progress('cleaning');
  const removed = await clean(run.dir, config.keep);
  run.result.removed = removed.ids;
  if (removed.ids.length === 0) return;
  run.options.log?.(`${run.name}: removed ${plural(removed.ids.length, 'old parcel')} (keep = ${config.keep}): ${removed.ids.join(', ')}`);
  if (config.git && removed.data.length > 0) {
    await commitChanges(
      run.dir,
      `[exit-plan] clean (keep = ${config.keep}): ${removed.ids.join(', ')}`,
      { remove: removed.data },
      { signal: run.options.signal },
    );
  }
}

/** The next due time and the result's one sentence; the last progress (`done`). */
async function finish(run: Run, config: DatasetConfig): Promise<DatasetRunResult> {
  const { result } = run;
  const after = await listParcels(run.dir).catch(() => []);
  const next = nextDue(config, after);
  if (next && next.getTime() > 0) result.nextDue = next.toISOString();
  if (!result.message) result.message = summary(result, config, next, run.now());
  if (result.problems.length > 0 && result.outcome !== 'failed') result.message = result.problems.join(' ');
  else if (result.problems.length > 0) result.message = `${result.message} ${result.problems.join(' ')}`;
  run.progress('done', { message: result.message });
  return result;
}

function summary(result: DatasetRunResult, config: DatasetConfig, next: Date | undefined, now: Date): string {
  const ingested = result.ingested.length > 0 ? `ingested ${plural(result.ingested.length, 'parcel')}` : '';
  if (result.outcome === 'exported') {
    const m = result.metrics;
    const size = m?.files !== undefined ? ` (${m.files} file${m.files === '1' ? '' : 's'}, ${formatBytes(Number(m.bytes))})` : '';
    const retried = result.attempts && result.attempts > 1 ? ` on attempt ${result.attempts}` : '';
    const removed = result.removed.length > 0 ? `; removed ${plural(result.removed.length, 'old parcel')}` : '';
    return `${ingested ? `${ingested}; ` : ''}exported ${result.parcelId}${size}${retried}${removed}.`;
  }
  const why = !config.cmd
    ? 'no cmd in config.toml'
    : !config.interval
      ? 'no interval in config.toml, so never due'
      : next
        ? `not due for ${formatDuration(next.getTime() - now.getTime())}`
        : 'not due';
  return ingested ? `${ingested}; ${why}.` : `${why}.`;
}

interface ExportOutcome {
  success: boolean;
  attempts: number;
  dataName?: string;
  dataPath?: string;
  reason: string;
}

/**
 * Runs the dataset's cmd for one parcel, with retries: stdout and stderr to log/<id>.out and .err; on exit 0
 * with exactly one file or folder at $PARCEL_PATH(.ext) it is moved from incomplete/ to data/. A failure leaves
 * it in incomplete/ (a retry first removes what the failed attempt wrote). A cancel kills the process group and
 * removes the parcel's data and logs.
 */
async function runExport(run: Run, config: DatasetConfig, id: string): Promise<ExportOutcome> {
  const { dir, name, options } = run;
  const p = datasetPaths(dir);
  await Promise.all([p.data, p.incomplete, p.log].map((d) => fs.promises.mkdir(d, { recursive: true })));
  const parcelPath = path.join(p.incomplete, id);
  const outFile = path.join(p.log, `${id}.out`);
  const errFile = path.join(p.log, `${id}.err`);
  const attempts = 1 + config.retries;
  const produced = async () => (await fs.promises.readdir(p.incomplete)).filter((n) => parcelIdOfName(n) === id);
  const removeProduced = async () => {
    for (const n of await produced()) await fs.promises.rm(path.join(p.incomplete, n), { recursive: true, force: true });
  };
  const cancelled = async (): Promise<never> => {
    await removeProduced();
    await Promise.all([outFile, errFile].map((f) => fs.promises.rm(f, { force: true })));
    throw new CancelledError(`Cancelled: the export of ${name} was stopped and its half-written parcel ${id} and logs were removed.`);
  };
  const note = (line: string) => fs.promises.appendFile(errFile, `[exit-plan] ${line}\n`);

  let reason = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) {
      await removeProduced();
      const delay = config.retryDelayMs * 2 ** (attempt - 2);
      run.progress('waiting', { parcelId: id, attempt, attempts, retryInMs: delay });
      await note(`retrying in ${formatDuration(delay)} (attempt ${attempt} of ${attempts})`);
      if (!(await sleep(delay, options.signal))) return cancelled();
    }
    if (options.signal?.aborted) return cancelled();
    run.progress('exporting', { parcelId: id, attempt, attempts });
    const flags = attempt === 1 ? 'w' : 'a';
    const [out, err] = await Promise.all([fs.promises.open(outFile, flags), fs.promises.open(errFile, flags)]);
    let r;
    try {
      r = await runShell(config.cmd!, {
        cwd: dir,
        env: { PARCEL_PATH: parcelPath, DATASET_PATH: dir },
        stdout: out.fd,
        stderr: err.fd,
        timeoutMs: config.timeout?.ms,
        signal: options.signal,
        killGraceMs: options.killGraceMs,
      });
    } finally {
      await Promise.all([out.close(), err.close()]);
    }
    if (r.cancelled) return cancelled();
    const names = await produced();
    if (r.code === 0 && names.length === 1) {
      const dataName = names[0];
      const dataPath = path.join(p.data, dataName);
      await fs.promises.rename(path.join(p.incomplete, dataName), dataPath);
      return { success: true, attempts: attempt, dataName, dataPath, reason: '' };
    }
    reason = r.timedOut
      ? `the command timed out after ${config.timeout!.text} and was killed with everything it started`
      : r.code !== null && r.code !== 0
        ? `the command exited with code ${r.code}`
        : r.code === null
          ? `the command was killed by ${r.signal}`
          : names.length === 0
            ? `the command exited 0 but wrote nothing at $PARCEL_PATH (${parcelPath}, with or without an extension)`
            : `the command wrote ${names.length} files or folders for one parcel (${names.join(', ')}) instead of one`;
    await note(`attempt ${attempt} of ${attempts} failed: ${reason}`);
  }
  const left = await produced();
  const kept = left.length > 0 ? `what it wrote stays in incomplete/${left.length === 1 ? left[0] : ''}` : 'nothing was kept';
  const attemptsText = attempts > 1 ? ` (${attempts} attempts)` : '';
  return {
    success: false,
    attempts,
    dataName: left.length === 1 ? left[0] : undefined,
    dataPath: left.length === 1 ? path.join(p.incomplete, left[0]) : undefined,
    reason: `export ${id} failed${attemptsText}: ${reason}; ${kept}, and its output is in log/${id}.out and log/${id}.err.`,
  };
}

/** Waits `ms`; false when the signal fired first. */
function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Keeps the `keep` newest complete parcels and removes older complete ones; removes incomplete parcels
 * (data in incomplete/ and logs) except the newest parcel of all, so a failure stays visible until the next
 * success. Never touches metrics.csv. Returns the removed ids and their data paths (for git).
 */
export async function clean(dir: string, keep: number): Promise<{ ids: string[]; data: string[] }> {
  const p = datasetPaths(dir);
  const parcels = await listParcels(dir);
  const complete = parcels.filter(isComplete);
  const kept = new Set(complete.slice(-keep).map((c) => c.id));
  const newest = parcels[parcels.length - 1]?.id;
  const ids: string[] = [];
  const data: string[] = [];
  for (const parcel of parcels) {
    if (isComplete(parcel) ? kept.has(parcel.id) : parcel.id === newest) continue;
    for (const n of parcel.data) {
      await fs.promises.rm(path.join(p.data, n), { recursive: true, force: true });
      data.push(`data/${n}`);
    }
    for (const n of parcel.incomplete) await fs.promises.rm(path.join(p.incomplete, n), { recursive: true, force: true });
    if (parcel.out) await fs.promises.rm(path.join(p.log, `${parcel.id}.out`), { force: true });
    if (parcel.err) await fs.promises.rm(path.join(p.log, `${parcel.id}.err`), { force: true });
    ids.push(parcel.id);
  }
  return { ids, data };
}
