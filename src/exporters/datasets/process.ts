import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, errorMessage, isCancelled } from '../shared/errors';
import { formatBytes } from '../shared/format';
import { readConfig, type DatasetConfig } from './config';
import { commitChanges } from './git';
import { findIngestable, moveIntoDataset } from './ingest';
import { formatDuration } from './interval';
import { acquireLock, type LockInfo } from './lock';
import { collectMetrics, readMetrics, updateMetrics, type MetricsRow } from './metrics';
import { datasetPaths, isComplete, listParcels, parcelIdOf, parcelIdOfName, parseParcelId, type Parcel } from './parcels';
import { runShell } from './shell';

/** A dataset is due this much before its interval is over, so a daily cron job never misses a day by seconds. */
export const DUE_MARGIN_MS = 5 * 60 * 1000;

export type DatasetPhase = 'ingesting' | 'exporting' | 'waiting' | 'metrics' | 'committing' | 'cleaning' | 'done';

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
  /** A short line for a progress display. */
  message: string;
}

export interface ProcessOptions {
  /** The clock (tests simulate days); parcel ids and due times come from it. */
  now?: () => Date;
  /** Stops the running command (its whole process group) and cleans up what it half-wrote. */
  signal?: AbortSignal;
  onProgress?: (progress: DatasetProgress) => void;
  /** Notable events, one line each (never a command line or its output, which may hold secrets). */
  log?: (line: string) => void;
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
export async function processDatasets(dirs: readonly string[], options: ProcessOptions = {}): Promise<DatasetRunResult[]> {
  const results: DatasetRunResult[] = [];
  for (let i = 0; i < dirs.length; i++) {
    try {
      results.push(await processOne(dirs[i], options, { force: false, index: i + 1, count: dirs.length }));
    } catch (err) {
      if (isCancelled(err) && dirs.length > 1) {
        throw new CancelledError(`${err.message.replace(/\.$/, '')}; ${results.length} of ${dirs.length} datasets had been processed.`);
      }
      throw err;
    }
  }
  return results;
}

/** `process` for one dataset. */
export function processDataset(dir: string, options: ProcessOptions = {}): Promise<DatasetRunResult> {
  return processOne(dir, options, { force: false, index: 1, count: 1 });
}

/** Exports now, whatever the schedule, then metrics, git and clean as `process` does. */
export function exportDataset(dir: string, options: ProcessOptions = {}): Promise<DatasetRunResult> {
  return processOne(dir, options, { force: true, index: 1, count: 1 });
}

async function processOne(
  dirArg: string,
  options: ProcessOptions,
  run: { force: boolean; index: number; count: number },
): Promise<DatasetRunResult> {
  const dir = path.resolve(dirArg);
  const name = path.basename(dir);
  const now = options.now ?? (() => new Date());
  const result: DatasetRunResult = {
    dataset: dir,
    name,
    outcome: 'notDue',
    ok: true,
    message: '',
    ingested: [],
    removed: [],
    problems: [],
    warnings: [],
  };
  const progress = (phase: DatasetPhase, message: string, extra: Partial<DatasetProgress> = {}) =>
    options.onProgress?.({ dataset: dir, name, index: run.index, count: run.count, phase, message, ...extra });
  const fail = (outcome: DatasetOutcome, message: string) => Object.assign(result, { outcome, ok: false, message });

  let config: DatasetConfig;
  try {
    const stat = await fs.promises.stat(dir).catch(() => undefined);
    if (!stat?.isDirectory()) throw new ExitPlanError(`${dir} is not a folder.`);
    config = await readConfig(dir);
    if (run.force && !config.cmd) throw new ExitPlanError(`${config.file} has no cmd, so there is nothing to export.`);
  } catch (err) {
    return fail('error', errorMessage(err));
  }

  let locked: Awaited<ReturnType<typeof acquireLock>>;
  try {
    locked = await acquireLock(dir, new Date());
  } catch (err) {
    return fail('error', errorMessage(err));
  }
  if ('heldBy' in locked) {
    const by = locked.heldBy;
    result.outcome = 'busy';
    result.lockedBy = by;
    result.message = `skipped: another run (pid ${by.pid} on ${by.host}, since ${by.since}) is processing it.`;
    return result;
  }

  try {
    const parcels = await listParcels(dir);
    const known = new Set(parcels.map((p) => p.id));
    for (const id of (await readMetrics(dir)).rows.keys()) known.add(id);
    const freeId = (date: Date) => {
      let t = Math.floor(date.getTime() / 1000) * 1000;
      while (known.has(parcelIdOf(new Date(t)))) t += 1000;
      const id = parcelIdOf(new Date(t));
      known.add(id);
      return id;
    };
    const fresh: { id: string; success: boolean; dataPath?: string; dataName?: string; from?: string }[] = [];

    // 1. Ingest what the configured globs find (moved in as complete parcels).
    if (config.ingest) {
      const sources = await findIngestable(dir, config.ingest.paths);
      for (const source of sources) {
        if (options.signal?.aborted)
          throw new CancelledError(`Cancelled while ingesting into ${name}; the files moved so far are parcels now.`);
        progress('ingesting', `ingesting ${path.basename(source)}`);
        const time = config.ingest.timeSource === 'now' ? now() : (await fs.promises.stat(source)).mtime;
        const id = freeId(time);
        const dataName = await moveIntoDataset(dir, source, id);
        fresh.push({ id, success: true, dataName, dataPath: path.join(datasetPaths(dir).data, dataName), from: source });
        result.ingested.push({ parcelId: id, from: source });
        options.log?.(`${name}: ingested ${source} as ${id}`);
      }
    }

    // 2. Export when due (or forced).
    const current = result.ingested.length > 0 ? await listParcels(dir) : parcels;
    const due = run.force || (config.cmd !== undefined && isDue(config, current, now()));
    if (due && config.cmd) {
      const id = freeId(now());
      result.parcelId = id;
      const exported = await runExport(dir, name, config, id, options, progress);
      result.attempts = exported.attempts;
      fresh.push({ id, success: exported.success, dataName: exported.dataName, dataPath: exported.dataPath });
      if (exported.success) {
        result.outcome = 'exported';
        options.log?.(`${name}: exported ${id}${exported.attempts > 1 ? ` (attempt ${exported.attempts})` : ''}`);
      } else {
        fail('failed', exported.reason);
        options.log?.(`${name}: export ${id} failed: ${exported.reason}`);
      }
    }

    // 3. Metrics of the new parcels, then metrics.csv in one write. Cancelling here keeps the parcel.
    const rows: MetricsRow[] = [];
    for (const parcel of fresh) {
      progress('metrics', `measuring ${parcel.id}`, { parcelId: parcel.id });
      rows.push(
        await collectMetrics(dir, config, parcel.id, parcel.success, parcel.dataPath, {
          signal: options.signal,
          onMetricError: (_metric, message) => {
            result.warnings.push(message);
            options.log?.(`${name}: ${parcel.id}: ${message}`);
          },
        }),
      );
    }
    await updateMetrics(dir, rows);
    if (result.parcelId) result.metrics = rows.find((r) => r.parcel_id === result.parcelId);

    // 4. Commit the new data and metrics.csv.
    if (config.git && fresh.length > 0) {
      progress('committing', 'committing to git');
      const added = fresh.filter((f) => f.success && f.dataName).map((f) => `data/${f.dataName}`);
      const lines = result.ingested.map((i) => `${i.parcelId} was ingested from ${i.from}`);
      await commitChanges(dir, [`[exit-plan] process new parcels: ${fresh.map((f) => f.id).join(', ')}`, ...lines].join('\n'), {
        add: ['metrics.csv', ...added],
      });
    }

    if (options.signal?.aborted) {
      throw new CancelledError(
        result.outcome === 'exported'
          ? `Cancelled after ${name}'s export had finished: parcel ${result.parcelId} was kept, and any metric not computed yet is missing from metrics.csv.`
          : `Cancelled while processing ${name}.`,
      );
    }

    // 5. Clean: keep the newest complete parcels; incomplete ones go, except the newest parcel.
    if (config.keep) {
      progress('cleaning', 'removing old parcels');
      const removed = await clean(dir, config.keep);
      result.removed = removed.ids;
      if (removed.ids.length > 0) {
        options.log?.(
          `${name}: removed ${removed.ids.length} old parcel${removed.ids.length === 1 ? '' : 's'} (keep = ${config.keep}): ${removed.ids.join(', ')}`,
        );
        if (config.git && removed.data.length > 0) {
          await commitChanges(dir, `[exit-plan] clean (keep = ${config.keep}): ${removed.ids.join(', ')}`, { remove: removed.data });
        }
      }
    }
  } catch (err) {
    if (isCancelled(err)) throw err;
    result.ok = false;
    result.problems.push(errorMessage(err));
    if (result.outcome !== 'failed') result.outcome = 'error';
  } finally {
    await locked.lock.release();
  }

  const after = await listParcels(dir).catch(() => []);
  const next = nextDue(config, after);
  if (next && next.getTime() > 0) result.nextDue = next.toISOString();
  if (!result.message) result.message = summary(result, config, next, now());
  if (result.problems.length > 0 && result.outcome !== 'failed') result.message = result.problems.join(' ');
  else if (result.problems.length > 0) result.message = `${result.message} ${result.problems.join(' ')}`;
  progress('done', result.message);
  return result;
}

function summary(result: DatasetRunResult, config: DatasetConfig, next: Date | undefined, now: Date): string {
  const ingested = result.ingested.length > 0 ? `ingested ${result.ingested.length} parcel${result.ingested.length === 1 ? '' : 's'}` : '';
  if (result.outcome === 'exported') {
    const m = result.metrics;
    const size = m?.files !== undefined ? ` (${m.files} file${m.files === '1' ? '' : 's'}, ${formatBytes(Number(m.bytes))})` : '';
    const retried = result.attempts && result.attempts > 1 ? ` on attempt ${result.attempts}` : '';
    const removed =
      result.removed.length > 0 ? `; removed ${result.removed.length} old parcel${result.removed.length === 1 ? '' : 's'}` : '';
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
async function runExport(
  dir: string,
  name: string,
  config: DatasetConfig,
  id: string,
  options: ProcessOptions,
  progress: (phase: DatasetPhase, message: string, extra?: Partial<DatasetProgress>) => void,
): Promise<ExportOutcome> {
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
      progress('waiting', `attempt ${attempt - 1} failed; retrying in ${formatDuration(delay)}`, { parcelId: id, attempt, attempts });
      await note(`retrying in ${formatDuration(delay)} (attempt ${attempt} of ${attempts})`);
      if (!(await sleep(delay, options.signal))) return cancelled();
    }
    if (options.signal?.aborted) return cancelled();
    progress('exporting', attempts > 1 ? `exporting ${id} (attempt ${attempt} of ${attempts})` : `exporting ${id}`, {
      parcelId: id,
      attempt,
      attempts,
    });
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
