// What a warehouse export and a table listing report while they run, and the one text for it that the CLI's
// progress line and VS Code's notification both show.
import { formatBytes, formatCount } from '../shared/format';
import { describeLockWait, type LockWait } from './locks';

export interface ExportProgress {
  phase: 'connecting' | 'exporting' | 'verifying' | 'done';
  /** 1-based number of the table being exported. */
  tableIndex: number;
  tableCount: number;
  table?: string;
  rows: number;
  /** Bytes of CSV written so far (or verified, while verifying). */
  bytes: number;
  /** While the export waits for a lock: the table, and the session that holds it. */
  waiting?: LockWait;
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
    case 'verifying':
      return `Verifying archive — ${formatBytes(p.bytes)} read`;
    case 'done':
      return 'Done';
    case 'exporting':
      return `Table ${p.tableIndex}/${p.tableCount} ${p.table ?? ''} — ${formatCount(p.rows)} rows, ${formatBytes(p.bytes)}`;
  }
}

/** Rough share of the work done (0..1): tables started count up to 90 %, verifying is the rest. */
export function exportProgressFraction(p: ExportProgress): number {
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
