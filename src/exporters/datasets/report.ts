import * as path from 'node:path';
import { errorMessage } from '../shared/errors';
import { formatBytes, plural, printable } from '../shared/format';
import { runPool } from '../shared/pool';
import { DEFAULT_SHRINK_ALERT, readConfig, type DatasetConfig } from './config';
import { formatDuration } from './interval';
import { lockHolder, type LockInfo } from './lock';
import { METRIC_ERROR, MetricsIndex, readMetricsIndex, type MetricsRow } from './metrics';
import {
  hasCompleteParcel,
  isComplete,
  parcelTime,
  parseParcelId,
  readParcelListing,
  scanParcels,
  type DiskSummary,
  type ParcelListing,
} from './parcels';
import { lastErrorLine } from './status';

const DAY_MS = 24 * 60 * 60 * 1000;
/** The report puts the newest success beside the values about this long before it. */
export const HIGHLIGHT_DAYS = [7, 180] as const;
/** How much less than 7 (or 180) days still counts as "about 7 days earlier". */
const HIGHLIGHT_SLACK_MS = DAY_MS / 2;
/**
 * Datasets read at once. Each asks for ~7 file operations at a time, so 4 keep libuv's 4 file threads busy (more
 * wait in its queue); what a dataset holds meanwhile (its listings, metrics.csv) is what a report's memory grows by.
 */
const CONCURRENCY = 4;

export type WarningKind = 'config' | 'noComplete' | 'overdue' | 'failing' | 'gone' | 'metrics' | 'shrank';

export interface ReportWarning {
  kind: WarningKind;
  /** One sentence, naming the dataset. */
  message: string;
}

/** A metric of the newest success that dropped by more than the alert share against the previous success. */
export interface ShrinkAlert {
  metric: string;
  previousParcelId: string;
  previous: number;
  current: number;
  /** The drop as a share of the previous value (0.75 = 75 % smaller). */
  drop: number;
}

/** A success whose metrics the report shows: the newest, and about 7 and 180 days before it. */
export interface Highlight {
  parcelId: string;
  /** Whole days between the parcel and the report's time. */
  daysAgo: number;
  values: Record<string, string>;
}

export interface ParcelSummary {
  id: string;
  complete: boolean;
  /** Names in data/ (complete) or incomplete/. */
  names: string[];
  out: boolean;
  err: boolean;
  metrics?: MetricsRow;
}

export interface HistoryPoint {
  parcelId: string;
  /** Milliseconds since the epoch. */
  time: number;
  success: boolean;
  /** Numeric value per metric column; null when missing, ERROR or not a number. */
  values: Record<string, number | null>;
}

export interface DatasetReport {
  name: string;
  path: string;
  /** config.toml could not be read: this sentence. The rest is reported from what is on disk. */
  error?: string;
  interval?: string;
  keep?: number;
  lastParcel?: { id: string; complete: boolean };
  /** Newest complete parcel on disk. */
  lastComplete?: string;
  /** Newest success recorded in metrics.csv, and whether its data is missing on disk. */
  lastSuccess?: string;
  lastSuccessGone: boolean;
  overdue: boolean;
  failing: boolean;
  /** Why the newest parcel failed (when failing): the last line of its log, and the parcel. */
  lastError?: { parcelId: string; line?: string };
  /** A run holds the dataset's lock right now. */
  running?: LockInfo;
  nextDue?: string;
  /** Metric columns of metrics.csv (files, bytes, custom), in file order. */
  columns: string[];
  highlights: Highlight[];
  alerts: ShrinkAlert[];
  /** The share the alerts used (config.toml's shrink_alert, else the report's). */
  shrinkAlert: number;
  warnings: ReportWarning[];
  /** Every parcel on disk, newest first (with `parcels: true`). */
  parcels?: ParcelSummary[];
  /** Every row of metrics.csv, oldest first (with `history: true`). */
  history?: HistoryPoint[];
}

export interface DatasetsReport {
  generatedAt: string;
  /** The default alert share (a dataset's shrink_alert overrides it). */
  shrinkAlert: number;
  datasets: DatasetReport[];
  /** Datasets that are overdue, failing, or cannot be read: what the status bar counts. */
  attention: number;
  warnings: (ReportWarning & { dataset: string })[];
}

export interface ReportOptions {
  now?: () => Date;
  /** Alert share for datasets whose config.toml has no shrink_alert (default 0.2). */
  shrinkAlert?: number;
  /** Include every parcel (for the tree). */
  parcels?: boolean;
  /** Include metrics.csv as numbers (for the charts). */
  history?: boolean;
}

/** Reports on datasets as export_manager's `report` does, plus shrink alerts. Never throws for one dataset. */
export async function buildReport(dirs: readonly string[], options: ReportOptions = {}): Promise<DatasetsReport> {
  const now = (options.now ?? (() => new Date()))();
  const share = options.shrinkAlert ?? DEFAULT_SHRINK_ALERT;
  const datasets: DatasetReport[] = new Array(dirs.length);
  await runPool(dirs, CONCURRENCY, async (raw, i) => {
    const dir = path.resolve(raw);
    // One dataset that cannot be reported on is reported as such; the others are still shown.
    datasets[i] = await reportDataset(dir, now, share, options).catch((err: unknown) => unreadable(dir, share, err));
  });
  return {
    generatedAt: now.toISOString(),
    shrinkAlert: share,
    datasets,
    attention: datasets.filter(needsAttention).length,
    warnings: datasets.flatMap((d) => d.warnings.map((w) => ({ dataset: d.path, ...w }))),
  };
}

function unreadable(dir: string, share: number, err: unknown): DatasetReport {
  const name = path.basename(dir);
  const error = `Cannot report on ${dir}: ${errorMessage(err).replace(/\.$/, '')}.`;
  return {
    name,
    path: dir,
    error,
    lastSuccessGone: false,
    overdue: false,
    failing: false,
    columns: [],
    highlights: [],
    alerts: [],
    shrinkAlert: share,
    warnings: [{ kind: 'config', message: `${name}: ${error}` }],
  };
}

export function needsAttention(d: DatasetReport): boolean {
  return d.overdue || d.failing || d.error !== undefined;
}

async function reportDataset(dir: string, now: Date, defaultShare: number, options: ReportOptions): Promise<DatasetReport> {
  const name = path.basename(dir);
  const report: DatasetReport = {
    name,
    path: dir,
    lastSuccessGone: false,
    overdue: false,
    failing: false,
    columns: [],
    highlights: [],
    alerts: [],
    shrinkAlert: defaultShare,
    warnings: [],
  };
  const warn = (kind: WarningKind, message: string) => report.warnings.push({ kind, message });

  // The folders first, each listing scanned as it arrives and dropped; then metrics.csv, read and used without
  // waiting for anything else (but in the rare case below), so no dataset holds its rows while others are read.
  let config: DatasetConfig | undefined;
  let listing: ParcelListing | undefined;
  let disk: DiskSummary = {};
  const [c, p, lock] = await Promise.allSettled([
    readConfig(dir),
    options.parcels ? readParcelListing(dir).then((l) => (listing = l).summary()) : scanParcels(dir),
    lockHolder(dir),
  ]);
  if (c.status === 'fulfilled') config = c.value;
  if (p.status === 'fulfilled') disk = p.value;
  if (lock.status === 'fulfilled' && lock.value) report.running = lock.value;
  const newest = disk.newest;
  const failing = newest !== undefined && !newest.complete && !report.running;
  const lastError = failing ? await lastErrorLine(dir, newest.id) : undefined;

  let metrics: MetricsIndex | undefined;
  let metricsError: unknown;
  try {
    metrics = await readMetricsIndex(dir);
  } catch (err) {
    metricsError = err;
  }
  const rows = metrics ?? MetricsIndex.empty([]);
  // Positions of the successes among the rows, oldest first (the ids are sorted).
  const successes: number[] = [];
  for (let i = 0; i < rows.ids.length; i++) if (rows.success[i]) successes.push(i);
  const lastSuccess = successes.length > 0 ? rows.ids[successes[successes.length - 1]] : undefined;
  // Whether the newest success is on disk: it is when it is the newest complete parcel, else data/ is looked at again.
  let lastSuccessOnDisk = lastSuccess !== undefined && lastSuccess === disk.newestComplete;
  if (lastSuccess !== undefined && !lastSuccessOnDisk && p.status === 'fulfilled') {
    lastSuccessOnDisk = listing ? listing.isComplete(lastSuccess) : await hasCompleteParcel(dir, lastSuccess).catch(() => false);
  }

  if (c.status === 'rejected') report.error = errorMessage(c.reason);
  if (p.status === 'rejected') report.error ??= `Cannot list the parcels of ${dir}: ${errorMessage(p.reason)}.`;
  if (metricsError !== undefined) report.error ??= errorMessage(metricsError);
  if (report.error) warn('config', `${name}: ${report.error}`);

  if (config) {
    report.interval = config.interval?.text;
    report.keep = config.keep;
    if (config.shrinkAlert !== undefined) report.shrinkAlert = config.shrinkAlert;
  }
  report.columns = (metrics?.columns ?? []).filter((col) => col !== 'parcel_id' && col !== 'success');

  // What is on disk.
  const complete = disk.newestComplete;
  if (newest) report.lastParcel = newest;
  report.lastComplete = complete;
  if (!complete) warn('noComplete', `${name}: no complete parcel.`);
  if (config?.interval) {
    const due = complete ? parseParcelId(complete)!.getTime() + config.interval.ms : now.getTime();
    report.nextDue = new Date(due).toISOString();
    if (now.getTime() >= due) {
      report.overdue = true;
      warn(
        'overdue',
        complete
          ? `${name}: overdue: the newest complete parcel, ${complete}, ` +
              `is ${formatDuration(now.getTime() - parseParcelId(complete)!.getTime())} old (interval ${config.interval.text}).`
          : newest
            ? `${name}: overdue: no export has succeeded yet (interval ${config.interval.text}).`
            : `${name}: overdue: it has never been exported (interval ${config.interval.text}).`,
      );
    }
  }
  if (failing) {
    report.failing = true;
    report.lastError = { parcelId: newest.id, line: lastError };
    warn('failing', `${name}: the newest parcel, ${newest.id}, is incomplete (the export failed; see log/${newest.id}.err).`);
  }

  // What metrics.csv says.
  if (complete) {
    const row = rows.get(complete);
    const expected = ['files', 'bytes', ...(config?.metrics.map((x) => x.name) ?? [])];
    if (!row) {
      warn('metrics', `${name}: metrics.csv has no row for the newest complete parcel, ${complete}.`);
    } else {
      const failed = Object.keys(row).filter((k) => row[k] === METRIC_ERROR);
      const missing = expected.filter((k) => (row[k] ?? '') === '' && !failed.includes(k));
      if (failed.length > 0 || missing.length > 0) {
        const parts = [...failed.map((k) => `${k} is ERROR`), ...missing.map((k) => `${k} is missing`)];
        warn('metrics', `${name}: metrics of ${complete}: ${parts.join(', ')}.`);
      }
    }
  }
  if (successes.length > 0) {
    const last = rows.row(successes[successes.length - 1]);
    report.lastSuccess = last.parcel_id;
    if (!lastSuccessOnDisk) {
      report.lastSuccessGone = true;
      warn('gone', `${name}: the newest successful parcel in metrics.csv, ${last.parcel_id}, is missing from data/.`);
    }
    report.highlights = highlights(rows, successes, report.columns, now);
    if (successes.length > 1) {
      report.alerts = shrinkAlerts(rows.row(successes[successes.length - 2]), last, report.columns, report.shrinkAlert);
      for (const a of report.alerts) {
        warn(
          'shrank',
          `${name}: ${a.metric} shrank by ${percent(a.drop)} from ${formatMetric(a.metric, a.previous)} (${a.previousParcelId}) ` +
            `to ${formatMetric(a.metric, a.current)} (${last.parcel_id}).`,
        );
      }
    }
  }

  // Every row, made once, for the tree (a parcel's metrics) and the charts (the history).
  const all = options.parcels || options.history ? rows.ids.map((_, i) => rows.row(i)) : [];
  if (options.parcels) {
    // Parcels and rows are both sorted by id: each parcel's row is found walking both once.
    let j = 0;
    report.parcels = (listing?.parcels() ?? [])
      .map((x) => {
        while (j < rows.ids.length && rows.ids[j] < x.id) j++;
        return {
          id: x.id,
          complete: isComplete(x),
          names: isComplete(x) ? x.data : x.incomplete,
          out: x.out,
          err: x.err,
          metrics: rows.ids[j] === x.id ? all[j] : undefined,
        };
      })
      .reverse();
  }
  if (options.history) {
    report.history = all
      .filter((r) => !Number.isNaN(parcelTime(r.parcel_id)))
      .map((r) => ({
        parcelId: r.parcel_id,
        time: parcelTime(r.parcel_id),
        success: r.success === 'Y',
        values: Object.fromEntries(report.columns.map((col) => [col, toNumber(r[col])])),
      }));
  }
  return report;
}

/**
 * The newest success, then the newest one about 7 days older, then about 180 days older ("about": up to half a
 * day less, so a daily job that ran a few minutes earlier each day still counts as 7 days).
 */
function highlights(rows: MetricsIndex, successes: readonly number[], columns: string[], now: Date): Highlight[] {
  const newest = successes[successes.length - 1];
  const newestTime = parcelTime(rows.ids[newest]);
  const picked: number[] = [newest];
  if (!Number.isNaN(newestTime)) {
    for (const days of HIGHLIGHT_DAYS) {
      const limit = newestTime - days * DAY_MS + HIGHLIGHT_SLACK_MS;
      for (let i = successes.length - 2; i >= 0; i--) {
        if (parcelTime(rows.ids[successes[i]]) <= limit) {
          if (!picked.includes(successes[i])) picked.push(successes[i]);
          break;
        }
      }
    }
  }
  return picked
    .map((i) => rows.row(i))
    .map((row) => ({
      parcelId: row.parcel_id,
      // A parcel id can be a second or two ahead of the clock (ids are bumped to stay unique): still 0 days.
      daysAgo: Math.max(0, Math.floor((now.getTime() - (parseParcelId(row.parcel_id)?.getTime() ?? now.getTime())) / DAY_MS)),
      values: Object.fromEntries(columns.map((c) => [c, row[c] ?? ''])),
    }));
}

function shrinkAlerts(previous: MetricsRow, current: MetricsRow, columns: string[], share: number): ShrinkAlert[] {
  const alerts: ShrinkAlert[] = [];
  for (const metric of columns) {
    const before = toNumber(previous[metric]);
    const after = toNumber(current[metric]);
    if (before === null || after === null || before <= 0 || after >= before) continue;
    const drop = (before - after) / before;
    if (drop > share) alerts.push({ metric, previousParcelId: previous.parcel_id, previous: before, current: after, drop });
  }
  return alerts;
}

function toNumber(value: string | undefined): number | null {
  if (value === undefined || !/^\s*-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(value)) return null;
  return Number(value);
}

function percent(share: number): string {
  return `${(share * 100).toFixed(share >= 0.1 ? 0 : 1)} %`;
}

function formatMetric(metric: string, value: number): string {
  return metric === 'bytes' ? `${formatBytes(value)}` : String(value);
}

/**
 * The report as text, laid out like export_manager's: warnings, newest successes, metrics per dataset. Control
 * characters in names, messages and metric values (all from disk) are shown as escapes.
 */
export function formatReport(report: DatasetsReport): string {
  if (report.datasets.length === 0) return 'No datasets were given.\n';
  const lines: string[] = [];
  const names = (pick: (d: DatasetReport) => boolean) => report.datasets.filter(pick).map((d) => d.name);
  const group = (label: string, list: string[]) => {
    if (list.length > 0) lines.push(`WARNING: ${label}: ${list.join(', ')}`);
  };
  for (const d of report.datasets) if (d.error) lines.push(`ERROR: ${d.name}: ${d.error}`);
  group(
    'no complete parcel for',
    names((d) => !d.error && !d.lastComplete),
  );
  group(
    'overdue',
    names((d) => d.overdue),
  );
  group(
    'most recent parcel is incomplete (failing) for',
    names((d) => d.failing),
  );
  group(
    'most recent successful parcel is missing for',
    names((d) => d.lastSuccessGone),
  );
  group(
    'missing metrics in last complete parcel for',
    names((d) => d.warnings.some((w) => w.kind === 'metrics')),
  );
  for (const d of report.datasets) {
    for (const w of d.warnings) if (w.kind === 'shrank') lines.push(`ALERT: ${w.message}`);
  }
  lines.push(...(report.warnings.length > 0 ? [''] : ['No warnings!', '']));

  // Escaped before padding (printable is idempotent), so a name with control characters still lines up.
  const width = Math.max(...report.datasets.map((d) => printable(d.name).length));
  lines.push('Newest successes:', '-'.repeat(width + 27));
  for (const d of report.datasets) {
    const running = d.running ? ` (running since ${d.running.since})` : '';
    lines.push(`${printable(d.name).padEnd(width)}  ${d.lastSuccess ?? 'NONE'}${d.lastSuccessGone ? ' (GONE)' : ''}${running}`);
  }
  // "7 days ago" once per number of days, not once per dataset (a number in words goes through Intl).
  const ago = new Map<number, string>();
  const daysAgo = (n: number) => ago.get(n) ?? ago.set(n, `${plural(n, 'day')} ago`).get(n)!;
  for (const d of report.datasets) {
    if (d.highlights.length === 0) continue;
    const header = ['name', ...d.highlights.map((h) => daysAgo(h.daysAgo))];
    const rows = d.columns.map((c) => [c, ...d.highlights.map((h) => h.values[c] ?? '')]);
    lines.push('', `Metrics for ${d.name}:`, '', ...textTable(header, rows, '  '));
  }
  return `${lines.map(printable).join('\n')}\n`;
}

function textTable(header: string[], rows: string[][], indent: string): string[] {
  const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => `${indent}${r.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`.trimEnd();
  const head = fmt(header);
  return [head, `${indent}${'-'.repeat(head.length - indent.length)}`, ...rows.map(fmt)];
}
