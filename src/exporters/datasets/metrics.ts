import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExitPlanError, errorMessage, systemCode } from '../shared/errors';
import { maskSecrets } from '../shared/mask';
import { writeFileAtomic } from '../shared/partialFile';
import { BASE_COLUMNS, type DatasetConfig } from './config';
import { formatCsv, parseCsv } from './csv';
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
  const file = datasetPaths(dir).metrics;
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if (systemCode(err) === 'ENOENT') return { columns: [...BASE_COLUMNS], rows: new Map(), eol: '\r\n' };
    throw new ExitPlanError(`Cannot read ${file}: ${errorMessage(err)}.`, systemCode(err), { cause: err });
  }
  return parseMetrics(text, file);
}

function parseMetrics(text: string, file: string): MetricsTable {
  const eol = text.includes('\r\n') || !text.includes('\n') ? '\r\n' : '\n';
  const records = parseCsv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  const header = records[0] ?? [...BASE_COLUMNS];
  const idColumn = header.indexOf('parcel_id');
  if (idColumn < 0) throw new ExitPlanError(`${file} has no parcel_id column: its first line must start with ${BASE_COLUMNS.join(',')}.`);
  const rows = new Map<string, MetricsRow>();
  for (let r = 1; r < records.length; r++) {
    const record = records[r];
    const row: MetricsRow = {};
    for (let c = 0; c < header.length; c++) row[header[c]] = record[c] ?? '';
    if (row.parcel_id) rows.set(row.parcel_id, row);
  }
  return { columns: [...header], rows, eol };
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
