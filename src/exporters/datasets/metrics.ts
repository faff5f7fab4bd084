import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, errorMessage, systemCode } from '../shared/errors';
import { maskSecrets } from '../shared/mask';
import { writeFileAtomic } from '../shared/partialFile';
import { BASE_COLUMNS, type DatasetConfig } from './config';
import { formatCsv, readCsvRecord } from './csv';
import { datasetPaths } from './parcels';
import { runShell } from './shell';

/** One row of metrics.csv: column → text, exactly as written (numbers stay strings, failures are "ERROR"). */
export type MetricsRow = Record<string, string>;

/** metrics.csv: its columns in order, its rows by parcel id, and the line end it uses. */
export interface MetricsTable {
  columns: string[];
  rows: Map<string, MetricsRow>;
  /** export_manager (Python's csv module) writes CRLF; a file that has LF keeps LF. */
  eol: '\r\n' | '\n';
}

/** What a metric command that failed records. */
export const METRIC_ERROR = 'ERROR';
/** A metric's output is at most this long; more is a mistake (it goes into one CSV cell). */
const MAX_METRIC_OUTPUT = 64 * 1024;
/** Metric commands without a dataset timeout stop after this long. */
const DEFAULT_METRIC_TIMEOUT_MS = 60 * 60 * 1000;

/** Reads metrics.csv; a missing file is an empty table with the usual columns. */
export async function readMetrics(dir: string): Promise<MetricsTable> {
  const index = await readMetricsIndex(dir);
  const rows = new Map<string, MetricsRow>();
  for (let i = 0; i < index.ids.length; i++) rows.set(index.ids[i], index.row(i));
  return { columns: [...index.columns], rows, eol: index.eol };
}

/** Reads metrics.csv as an index (a missing file is an empty one with the usual columns). */
export async function readMetricsIndex(dir: string): Promise<MetricsIndex> {
  const file = datasetPaths(dir).metrics;
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return MetricsIndex.empty([...BASE_COLUMNS]);
    throw new ExitPlanError(`Cannot read ${file}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
  }
  return MetricsIndex.parse(text, file);
}

/**
 * metrics.csv as a report reads it: its columns, and its parcel ids sorted, each once with whether its row says
 * success = Y. A row is made into a MetricsRow only when asked for: a report over thousands of rows needs a few.
 * As in a map of rows, a later row of a parcel id replaces an earlier one, and rows without a parcel id are left out.
 */
export class MetricsIndex {
  constructor(
    /** The file's text (without a byte order mark); the rows are read from it when asked for. */
    private readonly text: string,
    readonly columns: readonly string[],
    /** Parcel ids, sorted, each once. */
    readonly ids: readonly string[],
    /** Where each id's row starts in the text. */
    private readonly starts: readonly number[],
    /** Whether each id's row has success = Y. */
    readonly success: readonly boolean[],
    /** export_manager (Python's csv module) writes CRLF; a file that has LF keeps LF. */
    readonly eol: '\r\n' | '\n',
  ) {}

  /** No rows (a missing file). */
  static empty(columns: string[]): MetricsIndex {
    return new MetricsIndex('', columns, [], [], [], '\r\n');
  }

  /** Reads the text of metrics.csv; `file` names it in errors. */
  static parse(raw: string, file: string): MetricsIndex {
    const eol = raw.includes('\r\n') || !raw.includes('\n') ? '\r\n' : '\n';
    const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    const header: string[] = [];
    let at = readCsvRecord(text, 0, header);
    if (at < 0) return new MetricsIndex('', [...BASE_COLUMNS], [], [], [], eol);
    if (!header.includes('parcel_id'))
      throw new ExitPlanError(`${file} has no parcel_id column: its first line must start with ${BASE_COLUMNS.join(',')}.`);
    // A row is an object keyed by the header: of two columns with the same name, the last one's value stays.
    const idColumn = header.lastIndexOf('parcel_id');
    const successColumn = header.lastIndexOf('success');
    const wanted: boolean[] = [];
    wanted[idColumn] = true;
    if (successColumn >= 0) wanted[successColumn] = true;

    const ids: string[] = [];
    const starts: number[] = [];
    const success: boolean[] = [];
    let sorted = true;
    const fields: string[] = [];
    for (;;) {
      const start = at;
      at = readCsvRecord(text, at, fields, wanted);
      if (at < 0) break;
      const id = fields[idColumn] ?? '';
      if (id === '') continue;
      if (ids.length > 0 && !(ids[ids.length - 1] < id)) sorted = false;
      ids.push(id);
      starts.push(start);
      success.push(successColumn >= 0 && fields[successColumn] === 'Y');
    }
    if (sorted) return new MetricsIndex(text, header, ids, starts, success, eol);
    // Out of order or an id twice (written by hand): the last row of each id, sorted by id.
    const last = new Map<string, number>();
    for (let i = 0; i < ids.length; i++) last.set(ids[i], i);
    const order = [...last.keys()].sort().map((id) => last.get(id)!);
    return new MetricsIndex(
      text,
      header,
      order.map((i) => ids[i]),
      order.map((i) => starts[i]),
      order.map((i) => success[i]),
      eol,
    );
  }

  /** The row of the i-th parcel id (its values do not keep the file's text in memory). */
  row(i: number): MetricsRow {
    const record: string[] = [];
    readCsvRecord(this.text, this.starts[i], record);
    const row: MetricsRow = {};
    for (let c = 0; c < this.columns.length; c++) row[this.columns[c]] = detached(record[c] ?? '');
    return row;
  }

  /** The position of a parcel id, or -1. */
  find(id: string): number {
    let lo = 0;
    let hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.ids[mid];
      if (at === id) return mid;
      if (at < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The row of a parcel id. */
  get(id: string): MetricsRow | undefined {
    const i = this.find(id);
    return i < 0 ? undefined : this.row(i);
  }
}

/**
 * Adds or replaces rows and writes metrics.csv as export_manager does (header, rows sorted by parcel id,
 * new columns appended), through a temporary file renamed over the old one.
 */
export async function updateMetrics(dir: string, updates: MetricsRow[]): Promise<void> {
  if (updates.length === 0) return;
  const table = await readMetrics(dir);
  for (const row of updates) {
    for (const column of Object.keys(row)) if (!table.columns.includes(column)) table.columns.push(column);
    table.rows.set(row.parcel_id, row);
  }
  const ids = [...table.rows.keys()].sort();
  const records = [table.columns, ...ids.map((id) => table.columns.map((c) => table.rows.get(id)![c] ?? ''))];
  await writeFileAtomic(datasetPaths(dir).metrics, formatCsv(records, table.eol));
}

/** Number of files and their total bytes under a file or folder (recursive; symbolic links followed to files). */
export async function measure(target: string): Promise<{ files: number; bytes: number }> {
  const stat = await fs.promises.stat(target);
  if (!stat.isDirectory()) return { files: 1, bytes: stat.size };
  let files = 0;
  let bytes = 0;
  const stack = [target];
  while (stack.length > 0) {
    const dir = stack.pop()!;
    for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        stack.push(full);
      } else if (entry.isFile()) {
        files++;
        bytes += (await fs.promises.stat(full)).size;
      } else if (entry.isSymbolicLink()) {
        const s = await fs.promises.stat(full).catch(() => undefined);
        if (s?.isFile()) {
          files++;
          bytes += s.size;
        }
      }
    }
  }
  return { files, bytes };
}

export interface CollectOptions {
  signal?: AbortSignal;
  /** A metric that failed: its name and one sentence (for the log; metrics.csv gets "ERROR"). */
  onMetricError?: (name: string, message: string) => void;
}

/**
 * The metrics of one parcel, as export_manager computes them: success Y/N, then (when it has data) files,
 * bytes and every custom metric (trimmed stdout of `sh -c cmd` with PARCEL_PATH = the data path with its
 * extension; "ERROR" when the command fails). `dataPath` is the parcel's data, complete or not.
 */
export async function collectMetrics(
  dir: string,
  config: DatasetConfig,
  parcelId: string,
  success: boolean,
  dataPath: string | undefined,
  options: CollectOptions = {},
): Promise<MetricsRow> {
  const row: MetricsRow = { parcel_id: parcelId, success: success ? 'Y' : 'N' };
  if (!dataPath) return row;
  const size = await measure(dataPath);
  row.files = String(size.files);
  row.bytes = String(size.bytes);
  for (const metric of config.metrics) {
    if (options.signal?.aborted) break;
    const result = await runShell(metric.cmd, {
      cwd: dir,
      env: { PARCEL_PATH: dataPath, DATASET_PATH: dir },
      stdout: 'capture',
      stderr: 'capture',
      maxCapture: MAX_METRIC_OUTPUT,
      timeoutMs: config.timeout?.ms ?? DEFAULT_METRIC_TIMEOUT_MS,
      signal: options.signal,
    });
    if (result.cancelled) break;
    if (result.code === 0 && !result.truncated) {
      row[metric.name] = result.stdout.trim();
    } else {
      row[metric.name] = METRIC_ERROR;
      const why = result.timedOut
        ? `timed out after ${Math.round((config.timeout?.ms ?? DEFAULT_METRIC_TIMEOUT_MS) / 1000)} s`
        : result.truncated
          ? `printed more than ${MAX_METRIC_OUTPUT / 1024} KB`
          : result.code !== null
            ? `exited with code ${result.code}`
            : `was killed by ${result.signal}`;
      const stderr = result.stderr.trim().split('\n').pop();
      options.onMetricError?.(metric.name, `The metric "${metric.name}" ${why}${stderr ? ` (${maskSecrets(stderr.slice(0, 200))})` : ''}.`);
    }
  }
  return row;
}

/**
 * A copy of a string cut from a larger one. V8 represents a cut of 13 characters or more (a parcel id) as a view
 * of the whole text, which would keep every metrics.csv a report read in memory as long as the report. Cutting a
 * joined string makes V8 copy the characters into a string of their own first.
 */
function detached(value: string): string {
  return value.length < 13 ? value : ` ${value}`.slice(1);
}
