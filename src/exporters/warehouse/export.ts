import { createHash, type Hash } from 'node:crypto';
import * as path from 'node:path';
import type { PassThrough } from 'node:stream';
import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CancelledError, ExitPlanError, describeWriteError, systemCode, throwIfAborted } from '../shared/errors';
import { throttle, utcStamp } from '../shared/format';
import { globMatcher } from '../shared/globs';
import { PartialFile } from '../shared/partialFile';
import { ZipWriter, writeChunk } from '../shared/zipWriter';
import { BlobUpload, type UploadTarget } from '../azure/upload';
import { TOOL_NAME, TOOL_VERSION } from '../version';
import { listRelations, qualifiedName, quoteIdent, serverFacts, type RelationInfo } from './catalog';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from './connection';
import { CsvRowScanner } from './csvRows';
import { CSV_DIALECT, SESSION_SETTINGS, buildLoadSql, buildReadme, type Manifest, type ManifestTable } from './manifest';
import { buildSchemaSql, type ExportedRelation } from './schemaSql';
import { verifyArchive } from './verify';

export const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000;
export const MAX_JOBS = 16;

export interface WarehouseExportOptions {
  connection: PgConnectionOptions;
  /** Folder for the archive; created if missing. Optional when uploading. */
  outDir?: string;
  /** Also (or only) stream the archive into an Azure Blob Storage container as it is made. */
  upload?: UploadTarget;
  /** Only these schemas (exact names); all non-system schemas when empty. */
  schemas?: string[];
  /** Only tables whose `name` or `schema.name` matches one of these globs. */
  tables?: string[];
  /** Only these relations, by exact schema and name (e.g. one table picked in a tree). */
  relations?: { schema: string; name: string }[];
  /** Columns whose name matches one of these globs are left out and listed in the manifest. */
  excludeColumns?: string[];
  /** Also export views and materialized views. */
  includeViews?: boolean;
  /** Parallel connections sharing the snapshot (default 1). */
  jobs?: number;
  /** Split tables into parts of at most this many rows (default 1,000,000). */
  maxRowsPerFile?: number;
  /** zlib level 0 (store) … 9 (default 6). */
  compressionLevel?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ExportProgress) => void;
  /** Diagnostic lines (never secrets). */
  log?: (line: string) => void;
}

export interface ExportProgress {
  phase: 'connecting' | 'exporting' | 'verifying' | 'done';
  /** 1-based number of the table being exported. */
  tableIndex: number;
  tableCount: number;
  table?: string;
  rows: number;
  /** Bytes of CSV written so far (or verified, while verifying). */
  bytes: number;
}

export interface ExportedFile {
  /** Path inside the archive. */
  name: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface ExportedTable {
  schema: string;
  name: string;
  kind: RelationInfo['kind'];
  rows: number;
  bytes: number;
  files: ExportedFile[];
}

export interface ExportResult {
  /** The local archive's path; the blob's URL (without SAS) when only uploaded. */
  archive: string;
  uploaded?: { container: string; blob: string; url: string };
  database: string;
  serverVersion: string;
  snapshotTime: string;
  tables: ExportedTable[];
  rows: number;
  csvBytes: number;
  archiveBytes: number;
  durationMs: number;
}

interface Plan {
  exported: ExportedRelation;
  /** Archive path without `.csv`, e.g. `public/orders`. */
  base: string;
  copySql: string;
  /** SELECT that returns a row when the relation has more than the part limit. */
  overLimitSql: string;
  result?: ExportedTable;
}

/** Picks the relations the user asked for. */
export function selectRelations(
  relations: RelationInfo[],
  filter: Pick<WarehouseExportOptions, 'schemas' | 'tables' | 'relations'>,
): RelationInfo[] {
  const schemas = new Set(filter.schemas ?? []);
  const tableMatch = globMatcher(filter.tables ?? []);
  const anyTables = (filter.tables ?? []).some((t) => t.trim() !== '');
  const exact = filter.relations && new Set(filter.relations.map((r) => JSON.stringify([r.schema, r.name])));
  return relations.filter(
    (r) =>
      (schemas.size === 0 || schemas.has(r.schema)) &&
      (!anyTables || tableMatch(r.name) || tableMatch(`${r.schema}.${r.name}`)) &&
      (!exact || exact.has(JSON.stringify([r.schema, r.name]))),
  );
}

/** A name that is safe as one path segment in a zip on every OS (no separators, no `..`). */
export function safeSegment(name: string): string {
  let s = name.replace(/[/\\<>:"|?*\x00-\x1f\x7f]/g, '_').replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (s === '' || s === '.' || s === '..') s = `_${s}`;
  return s;
}

/** Archive paths for each relation, unique even on case-insensitive disks and beside split parts. */
function assignBases(relations: RelationInfo[]): string[] {
  const taken = new Set<string>();
  const wanted = relations.map((r) => `${safeSegment(r.schema)}/${safeSegment(r.name)}`);
  const wantedLower = new Set(wanted.map((w) => w.toLowerCase()));
  return wanted.map((w) => {
    // `t-00001` would clash with the first part of a split table `t`.
    const partLike = /^(.*)-\d{5,}$/.exec(w);
    let base = partLike && wantedLower.has(partLike[1].toLowerCase()) ? `${w}~` : w;
    for (let n = 2; taken.has(base.toLowerCase()); n++) base = `${w}~${n}`;
    taken.add(base.toLowerCase());
    return base;
  });
}

function planRelation(rel: RelationInfo, base: string, excludeColumn: (name: string) => boolean, limit: number): Plan {
  const columns = rel.columns.filter((c) => !excludeColumn(c.name));
  const excludedColumns = rel.columns.filter((c) => excludeColumn(c.name)).map((c) => c.name);
  const table = qualifiedName(rel.schema, rel.name);
  const list = columns.map((c) => quoteIdent(c.name)).join(', ');
  const source =
    rel.kind === 'table' && excludedColumns.length === 0
      ? table
      : rel.kind === 'table' && columns.length > 0
        ? `${table} (${list})`
        : `(SELECT ${list} FROM ${table})`;
  return {
    exported: { relation: rel, columns, excludedColumns },
    base,
    copySql: `COPY ${source} TO STDOUT WITH (FORMAT csv, HEADER)`,
    overLimitSql: `SELECT 1 FROM ${table} OFFSET ${limit} LIMIT 1`,
  };
}

/**
 * Exports every selected table of a PostgreSQL warehouse as CSV into one zip, from one snapshot,
 * streaming (COPY → zip entry, no temp files). The archive is written as `<name>.zip.partial`, verified,
 * and only then renamed; on error or cancel the partial file is removed and the error says so.
 */
export async function exportWarehouse(options: WarehouseExportOptions): Promise<ExportResult> {
  const started = Date.now();
  const limit = options.maxRowsPerFile ?? DEFAULT_MAX_ROWS_PER_FILE;
  if (!Number.isInteger(limit) || limit < 1) throw new ExitPlanError(`The rows per file limit must be a whole number of at least 1 (got ${limit}).`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS) throw new ExitPlanError(`Jobs must be a whole number from 1 to ${MAX_JOBS} (got ${jobs}).`);
  const level = options.compressionLevel ?? 6;
  const log = options.log ?? (() => undefined);
  const conn = options.connection;
  if (options.outDir === undefined && !options.upload) throw new ExitPlanError('Choose where the archive goes: a folder, an upload, or both.');
  throwIfAborted(options.signal, 'Export cancelled before it started; nothing was written.');

  // One controller stops everything: the user's cancel, or the first failure anywhere.
  const stop = new AbortController();
  const onUserAbort = () => stop.abort(new CancelledError());
  options.signal?.addEventListener('abort', onUserAbort, { once: true });

  const progress = { phase: 'connecting' as ExportProgress['phase'], tableIndex: 0, tableCount: 0, table: undefined as string | undefined, rows: 0, bytes: 0 };
  const report = throttle<void>(() => options.onProgress?.({ ...progress }), 200);
  const reportNow = () => {
    report();
    report.flush();
  };
  reportNow();

  const clients: Client[] = [];
  const activeCopies = new Set<NodeJS.ReadableStream & { destroy(err?: Error): void }>();
  let partial: PartialFile | undefined;
  let upload: BlobUpload | undefined;
  let zip: ZipWriter | undefined;
  let currentTable: string | undefined;

  const killConnections = () => {
    for (const copy of activeCopies) copy.destroy(new CancelledError());
    for (const client of clients) {
      // Closing the socket ends the server's COPY at once; a polite cancel could wait behind a full socket.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  };
  stop.signal.addEventListener('abort', killConnections, { once: true });

  try {
    log(`Connecting to ${describeConnection(conn)}`);
    const main = await connect(conn);
    clients.push(main);
    throwIfAborted(stop.signal);
    await main.query(SESSION_SETTINGS);
    await main.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await main.query<{ at: Date; id: string | null }>(
      `SELECT clock_timestamp() AS at, ${jobs > 1 ? 'pg_export_snapshot()' : 'NULL::text'} AS id`,
    );
    const snapshotTime = snap.rows[0].at;
    const facts = await serverFacts(main);
    const relations = selectRelations(await listRelations(main, { includeViews: options.includeViews }), options);
    if (relations.length === 0) {
      throw new ExitPlanError(`No tables to export in ${facts.database}${options.schemas?.length || options.tables?.length || options.relations ? ' match the chosen schemas and tables' : ''}.`);
    }
    const denied = relations.filter((r) => !r.canSelect);
    if (denied.length > 0) {
      const names = denied.map((r) => qualifiedName(r.schema, r.name));
      throw new ExitPlanError(
        `User "${conn.user}" has no SELECT permission on table ${names[0]}${names.length > 1 ? ` (and ${names.length - 1} more)` : ''}; nothing was exported.`,
        '42501',
      );
    }
    const excludeColumn = globMatcher(options.excludeColumns ?? []);
    const bases = assignBases(relations);
    const plans = relations.map((r, i) => planRelation(r, bases[i], excludeColumn, limit));
    progress.tableCount = plans.length;

    for (let i = 1; i < Math.min(jobs, plans.length); i++) {
      const worker = await connect(conn);
      clients.push(worker);
      await worker.query(SESSION_SETTINGS);
      await worker.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await worker.query(`SET TRANSACTION SNAPSHOT '${snap.rows[0].id}'`);
    }
    throwIfAborted(stop.signal);

    const archiveName = `${safeSegment(facts.database)}_${utcStamp(snapshotTime)}.zip`;
    if (options.outDir !== undefined) partial = await PartialFile.create(path.resolve(options.outDir, archiveName));
    if (options.upload) {
      upload = await BlobUpload.start(options.upload, partial ? path.basename(partial.finalPath) : archiveName);
      upload.failed.catch((err: unknown) => stop.abort(err));
    }
    zip = new ZipWriter([partial?.stream, upload?.stream].filter((s) => s !== undefined), level);
    zip.failed.catch((err: unknown) => stop.abort(err));
    const targets = [partial?.partialPath, upload && `${upload.publicUrl} (uncommitted until complete)`].filter(Boolean).join(' and ');
    log(`Writing ${targets} (${plans.length} tables, snapshot ${snapshotTime.toISOString()})`);
    progress.phase = 'exporting';

    let next = 0;
    const runWorker = async (client: Client) => {
      while (next < plans.length && !stop.signal.aborted) {
        const plan = plans[next++];
        const label = `${plan.exported.relation.schema}.${plan.exported.relation.name}`;
        currentTable = label;
        progress.tableIndex++;
        progress.table = label;
        reportNow();
        try {
          plan.result = await exportRelation(client, plan, zip!, snapshotTime, limit, stop.signal, activeCopies, (rows, bytes) => {
            progress.rows += rows;
            progress.bytes += bytes;
            report();
          });
        } catch (err) {
          if (!stop.signal.aborted) stop.abort(describePgError(err, conn, { table: qualifiedName(plan.exported.relation.schema, plan.exported.relation.name) }));
          throw stop.signal.reason;
        }
        log(`${label}: ${plan.result.rows} rows in ${plan.result.files.length} file(s)`);
      }
    };
    await Promise.all(clients.map((c) => runWorker(c)));
    throwIfAborted(stop.signal);
    currentTable = undefined;

    const tables = plans.map((p) => p.result!);
    const manifest: Manifest = {
      tool: { name: TOOL_NAME, version: TOOL_VERSION },
      createdAt: new Date().toISOString(),
      database: facts.database,
      serverVersion: facts.serverVersion,
      snapshotTime: snapshotTime.toISOString(),
      csv: CSV_DIALECT,
      maxRowsPerFile: limit,
      excludeColumnPatterns: options.excludeColumns ?? [],
      tables: plans.map((p): ManifestTable => ({
        schema: p.exported.relation.schema,
        name: p.exported.relation.name,
        kind: p.exported.relation.kind,
        rows: p.result!.rows,
        bytes: p.result!.bytes,
        files: p.result!.files,
        columns: p.exported.columns.map((c) => ({ name: c.name, type: c.type, notNull: c.notNull })),
        excludedColumns: p.exported.excludedColumns,
      })),
    };
    const header = `-- ${TOOL_NAME} ${TOOL_VERSION}: tables of "${facts.database}" at ${manifest.snapshotTime} (PostgreSQL ${facts.serverVersion})`;
    const schemaSql = await buildSchemaSql(main, plans.map((p) => p.exported), header);
    zip.text('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`, snapshotTime);
    zip.text('schema.sql', schemaSql, snapshotTime);
    zip.text('load.sql', buildLoadSql(manifest), snapshotTime);
    zip.text('README.txt', buildReadme(manifest), snapshotTime);
    const archiveBytes = await zip.finish();
    await partial?.closed();
    await upload?.finished();
    await main.query('COMMIT').catch(() => undefined);

    progress.phase = 'verifying';
    progress.bytes = 0;
    reportNow();
    const verifyOptions = {
      signal: stop.signal,
      onBytes: (n: number) => {
        progress.bytes += n;
        report();
      },
    };
    // The local file when there is one (the blob holds the same bytes); else the blob, read by ranges.
    if (partial) await verifyArchive(partial.partialPath, verifyOptions);
    else if (upload) await verifyArchive({ label: upload.publicUrl, open: () => upload!.openZip() }, verifyOptions);
    if (upload && (await upload.size()) !== archiveBytes) {
      throw new ExitPlanError(`The uploaded blob ${upload.publicUrl} is not the size of the archive (${archiveBytes} bytes).`);
    }
    const archive = partial ? await partial.commit() : upload!.publicUrl;
    progress.phase = 'done';
    reportNow();
    log(`Archive verified and saved: ${[partial && archive, upload?.publicUrl].filter(Boolean).join(' and ')}`);
    return {
      archive,
      uploaded: upload && { container: upload.blob.containerName, blob: upload.name, url: upload.publicUrl },
      database: facts.database,
      serverVersion: facts.serverVersion,
      snapshotTime: manifest.snapshotTime,
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      csvBytes: tables.reduce((n, t) => n + t.bytes, 0),
      archiveBytes,
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const reason = stop.signal.aborted ? stop.signal.reason : err;
    if (!stop.signal.aborted) stop.abort(reason);
    zip?.abort();
    const removed = partial ? await partial.discard().then(() => true, () => false) : true;
    await upload?.discard();
    throw finalError(reason, conn, partial, removed, currentTable, upload !== undefined);
  } finally {
    options.signal?.removeEventListener('abort', onUserAbort);
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** One sentence: what went wrong and that nothing half-written was left behind. */
function finalError(
  err: unknown,
  conn: PgConnectionOptions,
  partial: PartialFile | undefined,
  removed: boolean,
  table: string | undefined,
  uploading: boolean,
): ExitPlanError {
  const local = !partial
    ? 'no archive was written'
    : removed
      ? 'no archive was written and the partial file was removed'
      : `no archive was written, but the partial file ${partial.partialPath} could not be removed`;
  const tail = `${uploading ? `${local}, and no blob was left in the container` : local}.`;
  if (err instanceof CancelledError) {
    return new CancelledError(`Export cancelled${table ? ` during ${table}` : ''}; ${tail}`);
  }
  let sentence: string;
  const code = systemCode(err);
  const writeProblem = partial ? describeWriteError(err, partial.partialPath) : undefined;
  if (writeProblem) sentence = writeProblem;
  else if (err instanceof ExitPlanError) sentence = err.message;
  else sentence = describePgError(err, conn, table ? { table } : undefined).message;
  const body = sentence.replace(/\.$/, '');
  // Errors raised before anything was written already read as complete sentences.
  const text = /nothing was (written|exported)\.$/.test(sentence) ? sentence : `${body}; ${tail}`;
  return new ExitPlanError(text, code ?? (err instanceof ExitPlanError ? err.code : undefined), { cause: err });
}

/**
 * Streams one relation into one or more zip entries, counting rows and hashing each file, then checks
 * the row count against what the server reported for the COPY.
 */
async function exportRelation(
  client: Client,
  plan: Plan,
  zip: ZipWriter,
  date: Date,
  limit: number,
  signal: AbortSignal,
  activeCopies: Set<NodeJS.ReadableStream & { destroy(err?: Error): void }>,
  onData: (rows: number, bytes: number) => void,
): Promise<ExportedTable> {
  const rel = plan.exported.relation;
  const split = (await client.query(plan.overLimitSql)).rowCount! > 0;
  const files: ExportedFile[] = [];
  let part: { body: PassThrough; hash: Hash; file: ExportedFile } | undefined;
  let partNumber = 0;
  let header: Buffer | undefined;
  const headerChunks: Buffer[] = [];
  const scanner = new CsvRowScanner();

  const write = async (data: Buffer) => {
    if (data.length === 0) return;
    part!.hash.update(data);
    part!.file.bytes += data.length;
    await writeChunk(part!.body, data, signal);
  };
  const openPart = async () => {
    if (!split && partNumber > 0) {
      throw new ExitPlanError(`${qualifiedName(rel.schema, rel.name)} returned more rows than it held when the export began; the snapshot is not consistent.`);
    }
    partNumber++;
    const name = split ? `${plan.base}-${String(partNumber).padStart(5, '0')}.csv` : `${plan.base}.csv`;
    const file: ExportedFile = { name, rows: 0, bytes: 0, sha256: '' };
    part = { body: await zip.entry(name, date, signal), hash: createHash('sha256'), file };
    files.push(file);
    await write(header!);
  };
  const closePart = () => {
    if (!part) return;
    part.file.sha256 = part.hash.digest('hex');
    part.body.end();
    part = undefined;
  };

  const copy = client.query(copyTo(plan.copySql));
  activeCopies.add(copy);
  try {
    for await (const chunk of copy as AsyncIterable<Buffer>) {
      if (signal.aborted) throw signal.reason;
      let offset = 0;
      if (!header) {
        const { rows, end } = scanner.scan(chunk, 0, 1);
        headerChunks.push(chunk.subarray(0, end));
        if (rows === 0) continue;
        header = Buffer.concat(headerChunks);
        offset = end;
        await openPart();
      }
      while (offset < chunk.length) {
        if (!part) await openPart();
        const room = limit - part!.file.rows;
        const { rows, end } = scanner.scan(chunk, offset, room);
        part!.file.rows += rows;
        const before = part!.file.bytes;
        await write(chunk.subarray(offset, end));
        onData(rows, part!.file.bytes - before);
        offset = end;
        if (part!.file.rows >= limit) closePart();
      }
    }
  } finally {
    activeCopies.delete(copy);
  }
  if (!header) {
    // A relation without columns: COPY sends an empty header line only when there are columns.
    header = Buffer.concat(headerChunks);
  }
  if (files.length === 0) await openPart();
  closePart();
  // The server's own row count arrives with CommandComplete, just after the data; a round trip waits for it.
  await client.query('SELECT 1');
  const rows = files.reduce((n, f) => n + f.rows, 0);
  const serverRows = (copy as unknown as { rowCount: number }).rowCount;
  if (rows !== serverRows) {
    throw new ExitPlanError(`Row count check failed for ${qualifiedName(rel.schema, rel.name)}: the server sent ${serverRows} rows but ${rows} were written (the CSV framing is off).`);
  }
  return { schema: rel.schema, name: rel.name, kind: rel.kind, rows, bytes: files.reduce((n, f) => n + f.bytes, 0), files };
}
