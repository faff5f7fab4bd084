import * as fs from 'node:fs';
import { ExitPlanError, errorMessage } from '../shared/errors';
import { lowerFirst } from '../shared/format';
import { parseToml, tomlProblem } from '../shared/toml';
import { DAY, formatDuration, parseInterval } from './interval';
import { datasetPaths } from './parcels';

/** Columns every metrics.csv starts with; custom metrics cannot take these names. */
export const BASE_COLUMNS = ['parcel_id', 'success', 'files', 'bytes'] as const;

/** The keys export_manager reads, then the ones Exit Plan adds (export_manager ignores those). */
const TOP_KEYS = ['cmd', 'interval', 'keep', 'git', 'metrics', 'ingest', 'timeout', 'retries', 'retry_delay', 'shrink_alert'] as const;
const INGEST_KEYS = ['paths', 'time_source'] as const;
const METRIC_KEYS = ['cmd'] as const;
const TIME_SOURCES = ['mtime', 'now'] as const;
export type TimeSource = (typeof TIME_SOURCES)[number];

/** Defaults of the keys Exit Plan adds. */
const DEFAULT_RETRY_DELAY_MS = 60_000;
export const DEFAULT_SHRINK_ALERT = 0.2;
/** More retries than this is a typo, not a plan. */
const MAX_RETRIES = 10;
/** Node's timers hold at most 2^31 - 1 ms (24.8 days): a longer timeout would fire at once and kill the command. */
const MAX_TIMEOUT_MS = 24 * DAY;

/** A dataset's config.toml, checked. */
export interface DatasetConfig {
  /** Absolute path of config.toml, for messages. */
  file: string;
  /** Shell command that writes a parcel at $PARCEL_PATH; absent (or empty) means nothing to export. */
  cmd?: string;
  /** Time between exports; absent means never due. */
  interval?: { text: string; ms: number };
  /** Newest complete parcels to keep; absent (or 0) keeps all. */
  keep?: number;
  /** Commit data and metrics.csv after each change. */
  git: boolean;
  /** Custom metrics in the order config.toml lists them. */
  metrics: { name: string; cmd: string }[];
  ingest?: { paths: string[]; timeSource: TimeSource };
  /** Kill the command's process group after this long and record a failure. */
  timeout?: { text: string; ms: number };
  /** Extra attempts after a failed export. */
  retries: number;
  /** Wait before the first retry; doubled before each next one. */
  retryDelayMs: number;
  /** Alert when a metric drops by more than this share against the previous success (from the dataset). */
  shrinkAlert?: number;
}

/** Reads and checks `<dir>/config.toml`; every problem is one sentence naming the file (and line when known). */
export async function readConfig(dir: string): Promise<DatasetConfig> {
  const file = datasetPaths(dir).config;
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new ExitPlanError(`${dir} is not a dataset: it has no config.toml (make one with "exit-plan datasets init ${dir}").`, code);
    throw new ExitPlanError(`Cannot read ${file}: ${errorMessage(err)}.`, code, { cause: err });
  }
  return parseConfig(text, file);
}

/** Checks config.toml's text; `file` names it in errors. */
export function parseConfig(text: string, file: string): DatasetConfig {
  const raw = parseToml(text, file);
  const fail = tomlProblem(text, file);

  for (const key of Object.keys(raw)) {
    if (!(TOP_KEYS as readonly string[]).includes(key)) fail([key], `unknown key "${key}" (known keys: ${TOP_KEYS.join(', ')})`);
  }
  const config: DatasetConfig = { file, git: false, metrics: [], retries: 0, retryDelayMs: DEFAULT_RETRY_DELAY_MS };

  if (raw.cmd !== undefined) {
    if (typeof raw.cmd !== 'string') fail(['cmd'], '"cmd" must be a string (a shell command)');
    const cmd = raw.cmd as string;
    if (cmd.trim() !== '') config.cmd = cmd;
  }
  if (raw.interval !== undefined) {
    config.interval = duration(raw.interval, ['interval'], fail);
  }
  if (raw.keep !== undefined) {
    const keep = integer(raw.keep);
    if (keep === undefined || keep < 0) fail(['keep'], '"keep" must be a whole number of parcels (0 or absent keeps all)');
    if (keep! > 0) config.keep = keep;
  }
  if (raw.git !== undefined) {
    if (typeof raw.git !== 'boolean') fail(['git'], '"git" must be true or false');
    config.git = raw.git as boolean;
  }
  if (raw.metrics !== undefined) {
    if (!isTable(raw.metrics)) fail(['metrics'], '"metrics" must be a table such as metrics.lines.cmd = "wc -l < $PARCEL_PATH"');
    for (const [name, value] of Object.entries(raw.metrics as Record<string, unknown>)) {
      if ((BASE_COLUMNS as readonly string[]).includes(name))
        fail(['metrics', name], `the metric name "${name}" is taken by metrics.csv's own column`);
      if (!isTable(value)) fail(['metrics', name], `metrics.${name} must be a table with a cmd, e.g. metrics.${name}.cmd = "…"`);
      const metric = value as Record<string, unknown>;
      for (const key of Object.keys(metric)) {
        if (!(METRIC_KEYS as readonly string[]).includes(key))
          fail(['metrics', name, key], `unknown key "metrics.${name}.${key}" (a metric has only a cmd)`);
      }
      if (typeof metric.cmd !== 'string' || metric.cmd.trim() === '')
        fail(['metrics', name], `metrics.${name}.cmd must be a shell command`);
      config.metrics.push({ name, cmd: metric.cmd as string });
    }
  }
  if (raw.ingest !== undefined) {
    if (!isTable(raw.ingest)) fail(['ingest'], '"ingest" must be a table with paths (and time_source)');
    const ingest = raw.ingest as Record<string, unknown>;
    for (const key of Object.keys(ingest)) {
      if (!(INGEST_KEYS as readonly string[]).includes(key))
        fail(['ingest', key], `unknown key "ingest.${key}" (known keys: ${INGEST_KEYS.join(', ')})`);
    }
    const paths = typeof ingest.paths === 'string' ? [ingest.paths] : (ingest.paths ?? []);
    if (!Array.isArray(paths) || !paths.every((p) => typeof p === 'string'))
      fail(['ingest', 'paths'], '"ingest.paths" must be a glob or a list of globs');
    const timeSource = ingest.time_source ?? 'mtime';
    if (!(TIME_SOURCES as readonly unknown[]).includes(timeSource))
      fail(['ingest', 'time_source'], '"ingest.time_source" must be "mtime" or "now"');
    const cleaned = (paths as string[]).map((p) => p.trim()).filter((p) => p !== '');
    if (cleaned.length > 0) config.ingest = { paths: cleaned, timeSource: timeSource as TimeSource };
  }
  if (raw.timeout !== undefined) {
    const timeout =
      typeof raw.timeout === 'number' || typeof raw.timeout === 'bigint'
        ? secondsToDuration(raw.timeout)
        : duration(raw.timeout, ['timeout'], fail);
    if (!timeout || timeout.ms <= 0) fail(['timeout'], '"timeout" must be a duration such as "2 hours", or a number of seconds above 0');
    if (timeout!.ms > MAX_TIMEOUT_MS)
      fail(['timeout'], `"timeout" can be at most ${formatDuration(MAX_TIMEOUT_MS)} (got ${timeout!.text})`);
    config.timeout = timeout;
  }
  if (raw.retries !== undefined) {
    const retries = integer(raw.retries);
    if (retries === undefined || retries < 0 || retries > MAX_RETRIES)
      fail(['retries'], `"retries" must be a whole number from 0 to ${MAX_RETRIES}`);
    config.retries = retries!;
  }
  if (raw.retry_delay !== undefined) {
    config.retryDelayMs = duration(raw.retry_delay, ['retry_delay'], fail).ms;
  }
  if (raw.shrink_alert !== undefined) {
    const share = parseShare(raw.shrink_alert);
    if (share === undefined) fail(['shrink_alert'], '"shrink_alert" must be a share from 0 to 1 (e.g. 0.2) or a percentage (e.g. "20%")');
    config.shrinkAlert = share;
  }
  return config;
}

/** A share such as 0.2, "0.2" or "20%" (0 to 1), or undefined when it is not one. */
export function parseShare(value: unknown): number | undefined {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && /^\s*\d+(\.\d+)?\s*%\s*$/.test(value)) n = Number.parseFloat(value) / 100;
  else if (typeof value === 'string' && /^\s*\d*\.?\d+\s*$/.test(value)) n = Number(value);
  else return undefined;
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
}

function duration(value: unknown, keyPath: string[], fail: (keyPath: string[], problem: string) => never): { text: string; ms: number } {
  if (typeof value !== 'string') return fail(keyPath, `"${keyPath.join('.')}" must be a duration such as "1 day"`);
  try {
    return { text: value, ms: parseInterval(value) };
  } catch (err) {
    return fail(keyPath, `"${keyPath.join('.')}": ${lowerFirst(errorMessage(err)).replace(/\.$/, '')}`);
  }
}

function secondsToDuration(value: number | bigint): { text: string; ms: number } | undefined {
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds > 0 ? { text: `${seconds} seconds`, ms: seconds * 1000 } : undefined;
}

function integer(value: unknown): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
