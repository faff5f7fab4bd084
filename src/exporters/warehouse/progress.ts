// What a warehouse export and a table listing report while they run, and the one text for it that the CLI's
// progress line and VS Code's notification both show.
import { formatBytes, formatCount } from '../shared/format';
import { describeLockWait, type LockWait } from './locks';

/** While a subset is chosen: the walk's step and the rows included so far. */
export interface SubsetProgress {
  /** Roots first, then down until nothing more comes in, then up. */
  step: 'roots' | 'down' | 'up' | 'counting';
  /** 1-based round of the walk in that direction. */
  round: number;
  /** The foreign key being walked, e.g. `public.messages(channel_id) → public.channels`. */
  edge?: string;
  /** Rows in the subset so far. */
  rows: number;
}

export interface ExportProgress {
  /** `subset`: choosing a subset's rows (subset export or dry run), before any table is read. */
  phase: 'connecting' | 'subset' | 'exporting' | 'verifying' | 'done';
  subset?: SubsetProgress;
  /** 1-based number of the table being exported. */
  tableIndex: number;
  tableCount: number;
  table?: string;
  rows: number;
  /** Bytes of CSV written so far (or verified, while verifying). */
  bytes: number;
  /** While the export waits for a lock: the table, and the session that holds it. */
  waiting?: LockWait;
  /**
   * The share of the tables' data exported so far (0..1), weighted by each table's estimated size
   * (tableShare); absent until the sizes are known, when the count of tables stands in.
   */
  tableShare?: number;
}

/** One table of an export, for tableShare: its estimated size, the CSV bytes written so far, and whether it is done. */
export interface TableWeight {
  /** The catalog's estimate (pg_total_relation_size: table, indexes, TOAST), the size the Warehouse view shows. */
  estimatedBytes: number;
  writtenBytes: number;
  done: boolean;
}

/** The least weight of a table: an empty or unanalysed table (or a view, which has no size) still takes a moment. */
export const MIN_TABLE_WEIGHT = 64 * 1024;

/**
 * The share (0..1) of the export's tables done, each weighted by its estimated size, so that a table of 1 GB
 * moves the bar a thousand times more than one of 1 MB. A finished table counts whole; one being read counts
 * by the CSV bytes written against its estimate, short of whole until it is done (an estimate is only that).
 */
export function tableShare(tables: readonly TableWeight[]): number {
  let total = 0;
  let done = 0;
  for (const t of tables) {
    const weight = Math.max(MIN_TABLE_WEIGHT, t.estimatedBytes);
    total += weight;
    done += t.done ? weight : Math.min(0.95 * weight, t.writtenBytes);
  }
  return total > 0 ? done / total : 0;
}

/**
 * `Table 3/12 public.orders — 120,000 rows, 14.2 MB`, `Verifying archive — 3.1 MB read`, or
 * `Waiting for a lock on public.orders held by session 1234 (psql, idle in transaction)…`.
 */
export function describeExportProgress(p: ExportProgress): string {
  if (p.waiting) return describeTablesProgress(p);
  switch (p.phase) {
    case 'connecting':
      return 'Connecting…';
    case 'subset':
      return describeSubsetProgress(p.subset);
    case 'verifying':
      return `Verifying archive — ${formatBytes(p.bytes)} read`;
    case 'done':
      return 'Done';
    case 'exporting':
      return `Table ${p.tableIndex}/${p.tableCount} ${p.table ?? ''} — ${formatCount(p.rows)} rows, ${formatBytes(p.bytes)}`;
  }
}

/** `Choosing the subset: following foreign keys down, round 2, public.messages(channel_id) → public.channels — 1,234 rows`. */
function describeSubsetProgress(s: SubsetProgress | undefined): string {
  if (!s) return 'Choosing the subset…';
  const step =
    s.step === 'roots'
      ? 'finding the roots'
      : s.step === 'counting'
        ? 'counting rows per table'
        : `following foreign keys ${s.step}, round ${s.round}${s.edge ? `, ${s.edge}` : ''}`;
  return `Choosing the subset: ${step} — ${formatCount(s.rows)} rows`;
}

/**
 * Rough share of the work done (0..1): the tables' data count up to 90 % (weighted by their estimated sizes
 * when known, else by tables started), verifying is the rest.
 */
export function exportProgressFraction(p: ExportProgress): number {
  if (p.phase === 'exporting' && p.tableShare !== undefined) return 0.9 * Math.min(1, Math.max(0, p.tableShare));
  if (p.phase === 'exporting' && p.tableCount > 0) return (0.9 * Math.max(0, p.tableIndex - 1)) / p.tableCount;
  if (p.phase === 'verifying') return 0.9;
  return p.phase === 'done' ? 1 : 0;
}

/** What a table listing reports: the lock it waits for (the sizes need a brief one per table), if any. */
export interface TablesProgress {
  /** The table and the session that holds it; undefined once the listing no longer waits. */
  waiting?: LockWait;
}

/** `Waiting for a lock on public.orders held by session 1234 (psql, idle in transaction)…`, or `Listing tables…`. */
export function describeTablesProgress(p: TablesProgress): string {
  return p.waiting ? `${describeLockWait(p.waiting)}…` : 'Listing tables…';
}
