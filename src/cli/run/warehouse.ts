// `exit-plan warehouse …` as it runs: list the tables of a PostgreSQL warehouse, export them all as CSV in one verified zip.
// The commands, flags and help are in ../warehouse.ts.
import { ExitPlanError } from '../../exporters/shared/errors';
import { dryRunSubset, exportWarehouse, type ExportResult, type SubsetReport } from '../../exporters/warehouse/export';
import { describeSubsetEdge, parseSubsetRoot, parseSubsetSkip, type SubsetOptions } from '../../exporters/warehouse/subsetSpec';
import { describeExportProgress, describeTablesProgress, type ExportProgress } from '../../exporters/warehouse/progress';
import { listWarehouseTables } from '../../exporters/warehouse/tables';
import { formatBytes, formatCount, jsonText, plural, printable } from '../../exporters/shared/format';
import { splitList } from '../../exporters/shared/globs';
import { LEFTOVER_REMOVED } from '../../exporters/shared/partialFile';
import { ProgressLine, withCancelOnSignals } from './common';
import { connectionOption } from './db';

export interface TablesOptions {
  db?: string;
  includeViews?: boolean;
  lockTimeout: number;
  json?: boolean;
  quiet?: boolean;
}

export interface ExportOptions {
  db?: string;
  out?: string;
  upload?: string | boolean;
  connectionString?: string;
  container?: string;
  schemas?: string;
  tables?: string;
  excludeColumns?: string;
  includeViews?: boolean;
  jobs: number;
  threads?: number;
  maxRowsPerFile: number;
  encoding?: string;
  lockTimeout: number;
  subset?: string[];
  subsetIncludeUnrelated?: boolean;
  subsetSkip?: string[];
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export async function listTables(opts: TablesOptions): Promise<void> {
  const printer = new ProgressLine(!opts.quiet);
  let tables;
  try {
    tables = await withCancelOnSignals((signal) =>
      listWarehouseTables(connectionOption(opts.db), {
        includeViews: opts.includeViews,
        lockTimeoutSeconds: opts.lockTimeout,
        signal,
        onProgress: (p) => (p.waiting ? printer.line(`waiting ${p.waiting.pid}`, describeTablesProgress(p)) : printer.end()),
      }),
    );
  } finally {
    printer.end();
  }
  if (opts.json) {
    const rows = tables.map((t) => ({
      schema: t.schema,
      name: t.name,
      kind: t.kind,
      estimatedRows: t.estimatedRows,
      sizeBytes: t.sizeBytes,
      columns: t.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull })),
    }));
    process.stdout.write(`${jsonText({ tables: rows })}\n`);
    return;
  }
  for (const t of tables) {
    const rows = t.estimatedRows < 0 ? 'not analysed' : `~${formatCount(t.estimatedRows)} rows`;
    process.stdout.write(`${printable(`${t.schema}.${t.name}`)}\t${t.kind}\t${rows}\t${formatBytes(t.sizeBytes)}\n`);
  }
}

/** --subset, --subset-include-unrelated and --subset-skip as the core's SubsetOptions; the subset flags need --subset. */
function subsetOption(opts: ExportOptions): SubsetOptions | undefined {
  const roots = (opts.subset ?? []).map(parseSubsetRoot);
  if (roots.length === 0) {
    const needs = [
      opts.subsetIncludeUnrelated && '--subset-include-unrelated',
      opts.subsetSkip?.length && '--subset-skip',
      opts.dryRun && '--dry-run',
    ];
    const flag = needs.find(Boolean);
    if (flag) throw new ExitPlanError(`${flag} needs --subset 'schema.table: predicate'.`);
    return undefined;
  }
  return { roots, includeUnrelated: opts.subsetIncludeUnrelated === true, skip: (opts.subsetSkip ?? []).map(parseSubsetSkip) };
}

export async function exportTables(opts: ExportOptions): Promise<void> {
  const subset = subsetOption(opts);
  if (opts.dryRun) return dryRun(opts, subset!);
  const printer = new ProgressLine(!opts.quiet);
  let result: ExportResult;
  try {
    // The Azure part (and its SDK) is loaded only for an export that uploads.
    const upload =
      opts.upload !== undefined || opts.connectionString !== undefined || opts.container !== undefined
        ? (await import('./azure.js')).uploadOption(opts)
        : undefined;
    result = await withCancelOnSignals((signal) =>
      exportWarehouse({
        connection: connectionOption(opts.db),
        outDir: opts.out ?? (upload ? undefined : '.'),
        upload,
        schemas: splitList(opts.schemas),
        tables: splitList(opts.tables),
        excludeColumns: splitList(opts.excludeColumns),
        includeViews: opts.includeViews,
        jobs: opts.jobs,
        compressionThreads: opts.threads,
        maxRowsPerFile: opts.maxRowsPerFile,
        encoding: opts.encoding,
        lockTimeoutSeconds: opts.lockTimeout,
        subset,
        signal,
        onProgress: (p) => printer.line(progressKey(p), progressLine(p)),
        // Progress and table lines stay off stderr; a removed leftover is said even with --quiet.
        log: (line) => {
          if (line.startsWith(LEFTOVER_REMOVED)) {
            printer.end();
            process.stderr.write(`${line}\n`);
          }
        },
      }),
    );
  } finally {
    printer.end();
  }
  if (opts.json) {
    const tables = result.tables.map((t) => ({ schema: t.schema, name: t.name, rows: t.rows, files: t.files.map((f) => f.name) }));
    const out = {
      archive: result.archive,
      ...(result.uploaded ? { uploaded: result.uploaded } : {}),
      tables,
      database: result.database,
      snapshotTime: result.snapshotTime,
      rows: result.rows,
      csvBytes: result.csvBytes,
      archiveBytes: result.archiveBytes,
      durationMs: result.durationMs,
      timings: result.timings,
      ...(result.subset ? { subset: result.subset } : {}),
    };
    process.stdout.write(`${jsonText(out)}\n`);
    return;
  }
  const shown = (t: { schema: string; name: string }) => printable(`${t.schema}.${t.name}`);
  const width = Math.max(...result.tables.map((t) => shown(t).length));
  const lines = result.tables.map(
    (t) =>
      `  ${shown(t).padEnd(width)}  ${formatCount(t.rows).padStart(12)} rows  ${formatBytes(t.bytes).padStart(8)}  ` +
      `${t.files.length} file${t.files.length === 1 ? '' : 's'}`,
  );
  const uploaded = result.uploaded && result.uploaded.url !== result.archive ? `uploaded to ${printable(result.uploaded.url)}\n` : '';
  process.stdout.write(
    `${printable(result.archive)}\n${uploaded}${lines.join('\n')}\n${result.tables.length} tables, ${formatCount(result.rows)} rows, ` +
      `${formatBytes(result.csvBytes)} of CSV in a ${formatBytes(result.archiveBytes)} archive, verified, ` +
      `in ${(result.durationMs / 1000).toFixed(1)} s.\n`,
  );
}

/** A new plain progress line (not on a terminal) for each table, step of the walk, or lock wait. */
function progressKey(p: ExportProgress): string {
  const walk = p.subset ? `${p.subset.step} ${p.subset.round} ${p.subset.edge ?? ''}` : '';
  return `${p.phase} ${p.tableIndex} ${p.waiting?.pid ?? ''} ${walk}`;
}

/** `--dry-run`: the subset's rows per table and per foreign key, from one snapshot; nothing is written. */
async function dryRun(opts: ExportOptions, subset: SubsetOptions): Promise<void> {
  const printer = new ProgressLine(!opts.quiet);
  let report: SubsetReport;
  try {
    report = await withCancelOnSignals((signal) =>
      dryRunSubset({
        connection: connectionOption(opts.db),
        schemas: splitList(opts.schemas),
        tables: splitList(opts.tables),
        excludeColumns: splitList(opts.excludeColumns),
        includeViews: opts.includeViews,
        encoding: opts.encoding,
        lockTimeoutSeconds: opts.lockTimeout,
        subset,
        signal,
        onProgress: (p) => printer.line(progressKey(p), describeExportProgress(p)),
      }),
    );
  } finally {
    printer.end();
  }
  if (opts.json) {
    const out = {
      database: report.database,
      snapshotTime: report.snapshotTime,
      roots: report.roots,
      tables: report.tables,
      edges: report.edges,
      unrelated: report.unrelated,
      rows: report.rows,
      durationMs: report.durationMs,
    };
    process.stdout.write(`${jsonText(out)}\n`);
    return;
  }
  process.stdout.write(`${describeSubsetReport(report)}\n`);
}

/** The dry run as a person reads it: the roots, rows per table, the keys walked down and up, the tables left out. */
function describeSubsetReport(r: SubsetReport): string {
  const lines: string[] = [];
  const roots = r.roots.map((root) => `${root.schema}.${root.name}: ${root.predicate} (${plural(root.rows, 'row')})`);
  lines.push(
    printable(
      `Subset of ${r.database} at ${r.snapshotTime}: ${plural(r.rows, 'row')} in ${plural(r.tables.length, 'table')}; ` +
        `nothing was written (dry run). Roots: ${roots.join('; ')}.`,
    ),
  );
  const table = (rows: [string, string][]) => {
    const width = Math.max(0, ...rows.map(([a]) => a.length));
    return rows.map(([a, b]) => `  ${a.padEnd(width)}  ${b.padStart(12)}`);
  };
  lines.push('', 'Rows per table:', ...table(r.tables.map((t) => [printable(`${t.schema}.${t.name}`), formatCount(t.rows)])));
  for (const direction of ['down', 'up'] as const) {
    const edges = r.edges.filter((e) => e.direction === direction);
    const head =
      direction === 'down'
        ? 'Foreign keys followed down (rows of the first table they brought in; cut one with --subset-skip):'
        : 'Foreign keys followed up (rows of the referenced table they brought in):';
    lines.push('', head);
    if (edges.length === 0) lines.push('  (none)');
    else lines.push(...table(edges.map((e) => [printable(describeSubsetEdge(e)), formatCount(e.rows)])));
  }
  const whole = r.unrelated.filter((u) => u.exported === 'whole');
  const left = r.unrelated.filter((u) => u.exported === 'left out');
  if (left.length > 0) {
    lines.push('', 'Left out: no foreign-key path to the roots (--subset-include-unrelated exports them whole):');
    lines.push(...left.map((u) => `  ${printable(`${u.schema}.${u.name}`)}`));
  }
  if (whole.length > 0) {
    lines.push('', 'Exported whole: no foreign-key path to the roots (--subset-include-unrelated):');
    lines.push(...whole.map((u) => `  ${printable(`${u.schema}.${u.name}`)}`));
  }
  return lines.join('\n');
}

/** The core's progress text; while tables are read, a bar of the tables started before it (a terminal's decoration). */
function progressLine(p: ExportProgress): string {
  const text = describeExportProgress(p);
  if (p.waiting || p.phase !== 'exporting') return text;
  const barWidth = 20;
  const filled = p.tableCount > 0 ? Math.round((Math.max(0, p.tableIndex - 1) / p.tableCount) * barWidth) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${text}`;
}
