import { createHash, type Hash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { CancelledError, ExitPlanError, describeWriteError, errorMessage, systemCode, throwIfAborted } from '../shared/errors';
import { throttle, utcStamp } from '../shared/format';
import { globMatcher } from '../shared/globs';
import { PartialFile } from '../shared/partialFile';
import { ZipWriter, type ZipEntryWriter } from '../shared/zip/writer';
// Type only: the Azure SDK is loaded when an export uploads, not by every export.
import type { BlobUpload, UploadTarget } from '../azure/upload';
import { ArchiveCheck } from './archiveCheck';
import { TOOL_NAME, TOOL_VERSION } from '../version';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../shared/lockTimeout';
import { listRelations, qualifiedName, quoteIdent, relationSizes, serverFacts, type RelationInfo, type ServerFacts } from './catalog';
import { runPool } from '../shared/pool';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from '../postgres/connection';
import { CopyOutReader, growTo, type CopyBatch } from './copyOut';
import { CsvRowScanner } from './csvRows';
import { LockWatcher, SelfBlockedError, backendPid, describeLockWait, lockSql, lockTimeoutSql } from './locks';
import { buildLoadSql, buildReadme } from './manifest';
import {
  CSV_DIALECT,
  SESSION_SETTINGS,
  type ExportedColumn,
  type ExportedFile,
  type ExportedRelation,
  type ExportedTable,
  type Manifest,
  type ManifestSubset,
  type ManifestTable,
  type SubsetEdge,
  type SubsetRootResult,
  type TableName,
} from './model';
import { copySubsetKeys, createSubsetKeys, fromClause, subsetSelect, walkSubset, type SubsetMode, type SubsetWalk } from './subset';
import { subsetLabel, type SubsetOptions } from './subsetSpec';
import { buildSchemaSql, commentText, csvColumns } from './schemaSql';
import { RAW_CLIENT_ENCODING, UTF8_CLIENT_ENCODING, checkSqlAscii, sourceEncoding, toUtf8, type SourceEncoding } from './textEncoding';
import { verifyArchive } from './verify';
import type { OperationOptions } from '../shared/operation';
import { tableShare, type ExportProgress, type TableWeight } from './progress';

export const DEFAULT_MAX_ROWS_PER_FILE = 1_000_000;
export const MAX_JOBS = 16;
export const MAX_COMPRESSION_THREADS = 64;
/** Times the export lists, locks and re-lists when tables are created, dropped or renamed meanwhile. */
const LOCK_ATTEMPTS = 3;

/** The operation contract's signal, onProgress and log (diagnostic lines, never secrets), and what to export. */
export interface WarehouseExportOptions extends OperationOptions<ExportProgress> {
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
  /**
   * For a SQL_ASCII database only: the encoding its text is written in (PostgreSQL's name, e.g. LATIN1, WIN1252),
   * converted to UTF-8 in the CSV files, as pg_dump's --encoding. Without it, text that is not valid UTF-8 fails.
   */
  encoding?: string;
  /** zlib level 0 (store) … 9 (default 6). */
  compressionLevel?: number;
  /** Blocks deflated at once, one core each (default: defaultCompressionThreads()). */
  compressionThreads?: number;
  /** Seconds to wait for a lock another session holds on a table (default 60); 0 waits as long as it takes. */
  lockTimeoutSeconds?: number;
  /**
   * Only a subset of the rows: the roots and the rows foreign keys tie to them (the rule: SUBSET_RULE). The
   * archive is `<database>_<subset label>_<stamp>.zip` and its manifest has `subset`.
   */
  subset?: SubsetOptions;
}

/** What a subset dry run needs: the export's options without an archive. */
export type SubsetDryRunOptions = Omit<WarehouseExportOptions, 'outDir' | 'upload' | 'subset'> & { subset: SubsetOptions };

/** A subset's rows per table and per foreign key, from one snapshot, without writing anything. */
export interface SubsetReport {
  database: string;
  serverVersion: string;
  snapshotTime: string;
  roots: SubsetRootResult[];
  /** Every table the subset exports (related ones, and unrelated ones when exported whole), with its rows. */
  tables: (TableName & { rows: number })[];
  edges: SubsetEdge[];
  unrelated: ManifestSubset['unrelated'];
  rows: number;
  durationMs: number;
}

export interface ExportResult {
  /** The local archive's path; the blob's URL (without SAS) when only uploaded. */
  archive: string;
  /** A subset export's roots, foreign keys walked and tables left out (as in its manifest). */
  subset?: ManifestSubset;
  uploaded?: { container: string; blob: string; url: string };
  database: string;
  serverVersion: string;
  snapshotTime: string;
  tables: ExportedTable[];
  rows: number;
  csvBytes: number;
  archiveBytes: number;
  durationMs: number;
  timings: ExportTimings;
}

/** Where the export's time went, in milliseconds of wall time. */
export interface ExportTimings {
  /** Connecting, locking, the snapshot and the plan, until the first table is read. */
  prepareMs: number;
  /** From the first table read until the archive's last byte is written. */
  writeMs: number;
  /** Verification still running after the last byte was written: what it adds to the wall time. */
  verifyTailMs: number;
  /** Wall time during which some part of the archive was being verified (mostly while tables were exported). */
  verifyMs: number;
}

/**
 * Compression threads by default: every core, as far as libuv's thread pool has threads for them with one left
 * for file I/O (Node.js runs zlib and fs there; 4 threads unless UV_THREADPOOL_SIZE says more, which the CLI sets
 * from the number of cores; in VS Code's extension host the pool is shared with every extension's file access).
 */
export function defaultCompressionThreads(): number {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  return Math.max(1, Math.min(os.availableParallelism(), pool - 1, MAX_COMPRESSION_THREADS));
}

interface Plan {
  exported: ExportedRelation;
  /** Archive path without `.csv`, e.g. `public/orders`. */
  base: string;
  copySql: string;
  /** SELECT that returns a row when the relation has more than the part limit. */
  overLimitSql: string;
  /** A SQL_ASCII database's text encoding: COPY is read raw and converted to UTF-8. */
  encoding?: SourceEncoding;
  result?: ExportedTable;
  /** The relation's estimated size and the CSV bytes written so far: its weight in the progress (tableShare). */
  weight: TableWeight;
  /** Rows known before the COPY (a subset's key set counted them), so the split needs no query. */
  knownRows?: number;
}

/** Picks the relations the user asked for. */
function selectRelations(
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

/** A name that is safe as one path segment in a zip on every OS (no separators, no `..`, no device names). */
function safeSegment(name: string): string {
  let s = name.replace(/[/\\<>:"|?*\x00-\x1f\x7f]/g, '_').replace(/[. ]+$/, (m) => '_'.repeat(m.length));
  if (s === '' || s === '.' || s === '..') s = `_${s}`;
  // Windows opens a device for these names, with or without an extension.
  if (/^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i.test(s)) s = `_${s}`;
  return s;
}

/** The archive's own files, beside the schema folders at the top level. */
export const ARCHIVE_FILES = ['manifest.json', 'schema.sql', 'load.sql', 'README.txt'] as const;

/** How a file system that ignores case and Unicode normalisation (Windows, macOS) sees a name. */
export function pathKey(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase();
}

/** A split table's parts are `<base>-00001.csv`, `<base>-00002.csv`, …: a dash and at least five digits. */
const PART_SUFFIX = /^(.*)-[0-9]{5,}$/s;

/**
 * Archive paths (without `.csv`) for relations given as [schema, name]: `<schema>/<name>`, each segment
 * made safe. Every file any of them can become (`<base>.csv` and its parts `<base>-NNNNN.csv`) differs from
 * every other's and from the archive's own files, also where case and Unicode normalisation are ignored:
 * a schema folder named like one of the archive's own files gets `~`, and a base whose files could meet
 * another's (the same name, or one that looks like a part of another) gets `~2`, `~3`, …. Bases that do
 * not look like parts are placed first, so a table keeps its plain name and the look-alike is renamed.
 */
export function assignBases(relations: readonly (readonly [schema: string, name: string])[]): string[] {
  const reserved = new Set(ARCHIVE_FILES.map(pathKey));
  const wanted = relations.map(([schema, name]) => {
    const folder = safeSegment(schema);
    return `${reserved.has(pathKey(folder)) ? `${folder}~` : folder}/${safeSegment(name)}`;
  });
  const taken = new Set<string>();
  // Bases `X` for which some taken base looks like a part of `X`.
  const partOf = new Set<string>();
  const free = (base: string) => {
    const key = pathKey(base);
    const part = PART_SUFFIX.exec(key);
    return !taken.has(key) && !partOf.has(key) && !(part && taken.has(part[1]));
  };
  const take = (base: string) => {
    const key = pathKey(base);
    taken.add(key);
    const part = PART_SUFFIX.exec(key);
    if (part) partOf.add(part[1]);
  };
  const order = wanted.map((_, i) => i);
  const looksLikePart = (i: number) => (PART_SUFFIX.test(pathKey(wanted[i])) ? 1 : 0);
  order.sort((a, b) => looksLikePart(a) - looksLikePart(b) || a - b);
  const bases: string[] = new Array<string>(wanted.length);
  for (const i of order) {
    let base = wanted[i];
    for (let n = 2; !free(base); n++) base = `${wanted[i]}~${n}`;
    take(base);
    bases[i] = base;
  }
  return bases;
}

/**
 * The columns of a relation as the archive has them. Scrubbed columns are left out, and so are columns
 * whose composite values hold a field of a scrubbed name and generated columns computed from a scrubbed one.
 * Generated columns are recreated by schema.sql and not copied;
 * those whose expression calls a function or operator that is not built in become plain columns holding
 * their values, so that schema.sql loads without that function.
 */
function exportedColumns(rel: RelationInfo, excludeColumn: (name: string) => boolean): ExportedRelation {
  // A column whose composite values hold a scrubbed field (e.g. a `users` row with its password) goes too.
  const scrubbed = new Set(rel.columns.filter((c) => excludeColumn(c.name) || (c.fields ?? []).some(excludeColumn)).map((c) => c.name));
  for (const c of rel.columns) {
    if (c.generated && c.generated.columns.some((from) => scrubbed.has(from))) scrubbed.add(c.name);
  }
  const columns: ExportedColumn[] = rel.columns
    .filter((c) => !scrubbed.has(c.name))
    .map((c) => {
      const column: ExportedColumn = { name: c.name, type: c.type, notNull: c.notNull };
      if (c.generated && !c.generated.usesUserObjects) column.generated = c.generated.expression;
      if (c.generated?.usesUserObjects) {
        column.note =
          `${quoteIdent(c.name)} is GENERATED ALWAYS AS (${c.generated.expression}) STORED in the source; ` +
          `it calls a function or operator that is not in this archive, so here it is a plain column holding the exported values.`;
      }
      return column;
    });
  return { relation: rel, columns, excludedColumns: rel.columns.filter((c) => scrubbed.has(c.name)).map((c) => c.name) };
}

/**
 * The COPY that reads a relation: the table itself when it can, else a SELECT (scrubbed or computed columns, a
 * view, a partitioned table); in a subset (`mode` 'keys') only the rows in the session's key set.
 */
function planRelation(rel: RelationInfo, base: string, excludeColumn: (name: string) => boolean, limit: number, mode?: SubsetMode): Plan {
  const exported = exportedColumns(rel, excludeColumn);
  const table = qualifiedName(rel.schema, rel.name);
  const copied = csvColumns(exported);
  const list = copied.map(quoteIdent).join(', ');
  // COPY of a table leaves out generated columns by itself and refuses them in a column list; a SELECT
  // reads the values of those kept as plain columns.
  const generatedValues = rel.columns.some((c) => c.generated?.usesUserObjects && !exported.excludedColumns.includes(c.name));
  let source = `(SELECT ${list} FROM ${fromClause(rel)})`;
  if (mode === 'keys') source = `(${subsetSelect(rel, list)})`;
  else if (rel.kind === 'table' && !generatedValues && exported.excludedColumns.length === 0) source = table;
  else if (rel.kind === 'table' && !generatedValues && copied.length > 0) source = `${table} (${list})`;
  return {
    exported,
    base,
    copySql: `COPY ${source} TO STDOUT WITH (FORMAT csv, HEADER)`,
    overLimitSql: `SELECT 1 FROM ${fromClause(rel)} OFFSET ${limit} LIMIT 1`,
    weight: { estimatedBytes: rel.sizeBytes, writtenBytes: 0, done: false },
  };
}

/** The options, checked before anything is opened. */
interface ExportSettings {
  limit: number;
  jobs: number;
  level: number;
  threads: number;
  lockTimeout: number;
  /** A SQL_ASCII database's text encoding (`--encoding`). */
  encoding?: SourceEncoding;
}

function checkOptions(options: WarehouseExportOptions, dryRun = false): ExportSettings {
  const limit = options.maxRowsPerFile ?? DEFAULT_MAX_ROWS_PER_FILE;
  if (!Number.isInteger(limit) || limit < 1)
    throw new ExitPlanError(`The rows per file limit must be a whole number of at least 1 (got ${limit}).`);
  const jobs = options.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > MAX_JOBS)
    throw new ExitPlanError(`Jobs must be a whole number from 1 to ${MAX_JOBS} (got ${jobs}).`);
  const level = options.compressionLevel ?? 6;
  if (!Number.isInteger(level) || level < 0 || level > 9)
    throw new ExitPlanError(`The compression level must be a whole number from 0 to 9 (got ${level}).`);
  const threads = options.compressionThreads ?? defaultCompressionThreads();
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_COMPRESSION_THREADS)
    throw new ExitPlanError(`Compression threads must be a whole number from 1 to ${MAX_COMPRESSION_THREADS} (got ${threads}).`);
  const lockTimeout = checkLockTimeout(options.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS);
  if (!dryRun && options.outDir === undefined && !options.upload)
    throw new ExitPlanError('Choose where the archive goes: a folder, an upload, or both.');
  const encoding = options.encoding ? sourceEncoding(options.encoding) : undefined;
  return { limit, jobs, level, threads, lockTimeout, encoding };
}

/**
 * Exports every selected table of a PostgreSQL warehouse as CSV into one zip, from one snapshot,
 * streaming (COPY → zip entry, no temp files). The archive is written as `<name>.zip.partial`, verified,
 * and only then renamed; on error or cancel the partial file is removed and the error says so.
 */
export async function exportWarehouse(options: WarehouseExportOptions): Promise<ExportResult> {
  const started = Date.now();
  const settings = checkOptions(options);
  throwIfAborted(options.signal, 'Export cancelled before it started; nothing was written.');
  const run = new ExportRun(options, settings);
  try {
    const { main, facts } = await run.openSession();
    const { relations, snapshotTime } = await run.lockAndSnapshot(main, facts.database);
    const subset = await run.chooseSubset(main, relations, facts.database);
    const plans = run.planTables(relations, subset);
    await run.estimateSizes(main, plans);
    await run.shareSubsetKeys(main);
    const label = options.subset ? `_${safeSegment(subsetLabel(options.subset.roots, sha256))}` : '';
    await run.openOutputs(`${safeSegment(facts.database)}${label}_${utcStamp(snapshotTime)}.zip`, plans.length, snapshotTime);
    const writing = Date.now();
    await run.exportTables(plans, snapshotTime);
    const manifest = buildManifest(facts, snapshotTime, plans, settings.limit, options.excludeColumns ?? [], subset?.manifest);
    const archiveBytes = await run.finishArchive(main, manifest, plans, snapshotTime);
    const written = Date.now();
    const archive = await run.verifyAndCommit(archiveBytes, manifest);
    const verified = Date.now();
    const tables = plans.map((p) => p.result!);
    return {
      archive,
      ...(subset ? { subset: subset.manifest } : {}),
      uploaded: run.upload && { container: run.upload.blob.containerName, blob: run.upload.name, url: run.upload.publicUrl },
      database: facts.database,
      serverVersion: facts.serverVersion,
      snapshotTime: manifest.snapshotTime,
      tables,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      csvBytes: tables.reduce((n, t) => n + t.bytes, 0),
      archiveBytes,
      durationMs: Date.now() - started,
      timings: {
        prepareMs: writing - started,
        writeMs: written - writing,
        verifyTailMs: verified - written,
        verifyMs: Math.round(run.verifyMs),
      },
    };
  } catch (err) {
    throw await run.fail(err);
  } finally {
    await run.close();
  }
}

/**
 * Counts a subset's rows per table and per foreign key from one snapshot (the same walk as the export), and
 * writes nothing: an operator sees where the subset spills into other tenants and can cut that key.
 */
export async function dryRunSubset(options: SubsetDryRunOptions): Promise<SubsetReport> {
  const started = Date.now();
  // One connection: the walk runs in the main session.
  const settings = checkOptions({ ...options, jobs: 1 }, true);
  throwIfAborted(options.signal, 'Dry run cancelled before it started; nothing was read.');
  const run = new ExportRun({ ...options, jobs: 1 }, settings);
  try {
    const { main, facts } = await run.openSession();
    const { relations, snapshotTime } = await run.lockAndSnapshot(main, facts.database);
    const subset = (await run.chooseSubset(main, relations, facts.database))!;
    const tables: SubsetReport['tables'] = [];
    for (const r of relations) {
      const mode = subset.modes.get(r.oid);
      if (!mode) continue;
      let rows = subset.rows.get(r.oid) ?? 0;
      if (mode === 'whole') {
        throwIfAborted(run.signal);
        rows = Number((await main.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${fromClause(r)}`)).rows[0].n);
      }
      tables.push({ schema: r.schema, name: r.name, rows });
    }
    await main.query('ROLLBACK');
    return {
      database: facts.database,
      serverVersion: facts.serverVersion,
      snapshotTime: snapshotTime.toISOString(),
      roots: subset.manifest.roots,
      tables,
      edges: subset.manifest.edges,
      unrelated: subset.manifest.unrelated,
      rows: tables.reduce((n, t) => n + t.rows, 0),
      durationMs: Date.now() - started,
    };
  } catch (err) {
    const failed = await run.fail(err);
    // Nothing is written by a dry run: its cancel says so in its own words.
    throw failed instanceof CancelledError ? new CancelledError('Dry run cancelled; nothing was written.') : failed;
  } finally {
    await run.close();
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

type CopyStream = { destroy(err?: Error): void };

/**
 * One export under way: its connections, outputs and progress, and the steps `exportWarehouse` takes in turn.
 * One controller (`stop`) stops everything: the user's cancel, or the first failure anywhere.
 */
class ExportRun {
  private readonly stop = new AbortController();
  private readonly onUserAbort = () => this.stop.abort(new CancelledError());
  private readonly log: (line: string) => void;
  private readonly conn: PgConnectionOptions;
  /** As pg_dump: every lock wait is bounded, and row-level security makes PostgreSQL refuse rather than filter. */
  private readonly sessionSql: string[];
  private readonly excludeColumn: (name: string) => boolean;
  private readonly progress: ExportProgress = {
    phase: 'connecting',
    tableIndex: 0,
    tableCount: 0,
    table: undefined,
    rows: 0,
    bytes: 0,
    waiting: undefined,
  };
  // The weighted share is worked out only when progress is reported (at most every 200 ms), not per chunk.
  private readonly report = throttle<void>(() => this.options.onProgress?.({ ...this.progress, tableShare: this.share() }), 200);
  /** The tables being exported, once planned and sized: their weights make progress.tableShare. */
  private plans: Plan[] = [];
  private readonly clients: Client[] = [];
  private readonly activeCopies = new Set<CopyStream>();
  private partial: PartialFile | undefined;
  upload: BlobUpload | undefined;
  private zip: ZipWriter | undefined;
  /** Checks each entry from the local file as soon as it is written (none when only uploading). */
  private check: ArchiveCheck | undefined;
  /** Wall time during which verification ran. */
  verifyMs = 0;
  /** The table being read, named in the error. */
  private currentTable: string | undefined;
  private watcher: LockWatcher | undefined;

  constructor(
    private readonly options: WarehouseExportOptions,
    private readonly settings: ExportSettings,
  ) {
    this.log = options.log ?? (() => undefined);
    this.conn = options.connection;
    this.sessionSql = [SESSION_SETTINGS, lockTimeoutSql(settings.lockTimeout), 'SET row_security = off'];
    this.excludeColumn = globMatcher(options.excludeColumns ?? []);
    options.signal?.addEventListener('abort', this.onUserAbort, { once: true });
    this.reportNow();
    this.stop.signal.addEventListener('abort', () => this.killConnections(), { once: true });
  }

  private reportNow(): void {
    this.report();
    this.report.flush();
  }

  private killConnections(): void {
    for (const copy of this.activeCopies) copy.destroy(new CancelledError());
    for (const client of this.clients) {
      // Closing the socket ends the server's COPY at once; a polite cancel could wait behind a full socket.
      (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
    }
  }

  /**
   * The export's settings in a new session; for a subset, its key set (a temporary table, created before the
   * read-only snapshot transaction, which could not create it), and the server checks every second whether the
   * client is still there, so that a cancel also stops the walk's long statements (PostgreSQL 14 and later).
   */
  private async prepareSession(client: Client): Promise<void> {
    for (const sql of this.sessionSql) await client.query(sql);
    if (!this.options.subset) return;
    await createSubsetKeys(client);
    const version = await client.query<{ n: string }>(`SELECT current_setting('server_version_num') AS n`);
    if (Number(version.rows[0].n) >= 140000) await client.query(`SET client_connection_check_interval = 1000`);
  }

  /** The signal that stops everything (the user's cancel or the first failure). */
  get signal(): AbortSignal {
    return this.stop.signal;
  }

  /** Connects the main session with the export's settings, and learns the database's name and version. */
  async openSession(): Promise<{ main: Client; facts: ServerFacts }> {
    this.log(`Connecting to ${describeConnection(this.conn)}`);
    const main = await connect(this.conn);
    this.clients.push(main);
    throwIfAborted(this.stop.signal);
    await this.prepareSession(main);
    const facts = await serverFacts(main);
    if (this.settings.encoding) await checkSqlAscii(main, facts.database);
    return { main, facts };
  }

  /**
   * Locks every relation (ACCESS SHARE, as pg_dump) before the snapshot: LOCK takes no snapshot, so the
   * transaction's first query comes after the locks, and no TRUNCATE, rewriting ALTER TABLE or new column
   * can slip in between the snapshot and the COPY. The catalog is then read again under the locks; when the
   * tables changed meanwhile, it starts over (up to LOCK_ATTEMPTS times).
   */
  async lockAndSnapshot(main: Client, database: string): Promise<{ relations: RelationInfo[]; snapshotTime: Date }> {
    let locked: { relations: RelationInfo[]; snapshotTime: Date } | undefined;
    this.watcher = await LockWatcher.open(this.conn);
    for (let attempt = 1; !locked; attempt++) {
      const listed = await this.listTables(main, database);
      await this.openWorkers(listed.length);
      throwIfAborted(this.stop.signal);
      try {
        locked = await this.lockOnce(main, listed, database);
      } catch (err) {
        await Promise.all(this.clients.map((c) => c.query('ROLLBACK').catch(() => undefined)));
        if (this.stop.signal.aborted) throw this.stop.signal.reason;
        const code = systemCode(err);
        const retry = err instanceof SelfBlockedError || code === '42P01' || code === 'RELIST';
        if (!retry || attempt >= LOCK_ATTEMPTS) throw err;
        this.log(`Starting over: ${errorMessage(err)}`);
      }
    }
    await this.watcher.close();
    this.watcher = undefined;
    return locked;
  }

  /** The relations the user asked for, refused up front when any cannot be read in full. */
  private async listTables(main: Client, database: string): Promise<RelationInfo[]> {
    const { options } = this;
    const listed = selectRelations(await listRelations(main, { includeViews: options.includeViews, sizes: false }), options);
    if (listed.length === 0) {
      const chosen = options.schemas?.length || options.tables?.length || options.relations;
      throw new ExitPlanError(`No tables to export in ${database}${chosen ? ' match the chosen schemas and tables' : ''}.`);
    }
    checkAccess(listed, this.conn.user, this.excludeColumn);
    return listed;
  }

  /** Connects the workers (`jobs`, no more than there are tables), with the export's settings. */
  private async openWorkers(tableCount: number): Promise<void> {
    while (this.clients.length < Math.min(this.settings.jobs, tableCount)) {
      const worker = await connect(this.conn);
      this.clients.push(worker);
      await this.prepareSession(worker);
    }
  }

  /** Runs a statement that may wait for a lock, telling who holds it and stopping after the lock timeout. */
  private watch(client: Client, sql: string, candidates: number[]): Promise<unknown> {
    return this.watcher!.run(client, () => client.query(sql), {
      timeoutSeconds: this.settings.lockTimeout,
      signal: this.stop.signal,
      candidates,
      ownPids: this.clients.map(backendPid),
      tail: 'nothing was exported',
      onWaiting: (wait) => {
        this.progress.waiting = wait;
        if (wait) this.log(describeLockWait(wait));
        this.reportNow();
      },
    });
  }

  /** One attempt: begin, lock, take the snapshot (shared with the workers), and check the list did not change. */
  private async lockOnce(
    main: Client,
    listed: RelationInfo[],
    database: string,
  ): Promise<{ relations: RelationInfo[]; snapshotTime: Date }> {
    const { clients, conn, excludeColumn } = this;
    // LOCK TABLE takes tables and views, with table-level SELECT; a materialized view, or a table readable
    // through column grants, gets the same lock from a read of no rows, just after the snapshot.
    const lockable = listed.filter((r) => r.canSelect && r.kind !== 'materialized view');
    const oids = listed.map((r) => r.oid);
    // A refusal must name the relation: PostgreSQL's message names the table a view reads, not the view.
    const named = async (r: RelationInfo, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (err) {
        throw systemCode(err) === '42501' ? describePgError(err, conn, { table: qualifiedName(r.schema, r.name), kind: r.kind }) : err;
      }
    };
    const tablesToLock = lockable.filter((r) => r.kind !== 'view');
    const lockAll = async (client: Client) => {
      if (tablesToLock.length > 0) await this.watch(client, lockSql(tablesToLock), oids);
      // A view one at a time: LOCK on a view locks the tables it reads, with its owner's rights.
      for (const view of lockable.filter((r) => r.kind === 'view')) await named(view, () => this.watch(client, lockSql([view]), oids));
    };
    await main.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await lockAll(main);
    const snap = await main.query<{ at: Date; id: string | null }>(
      `SELECT clock_timestamp() AS at, ${clients.length > 1 ? 'pg_export_snapshot()' : 'NULL::text'} AS id`,
    );
    // Workers hold the locks too: a worker's first COPY would otherwise queue behind a DDL that waits for us.
    for (const worker of clients.slice(1)) {
      await worker.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await lockAll(worker);
      await worker.query(`SET TRANSACTION SNAPSHOT '${snap.rows[0].id}'`);
    }
    const byLock = new Set(lockable);
    for (const r of listed.filter((rel) => !byLock.has(rel))) {
      const kept = r.columns.filter((c) => !excludeColumn(c.name)).map((c) => quoteIdent(c.name));
      await named(r, () => this.watch(main, `SELECT ${kept.join(', ')} FROM ${qualifiedName(r.schema, r.name)} LIMIT 0`, [r.oid]));
    }
    const current = selectRelations(await listRelations(main, { includeViews: this.options.includeViews, sizes: false }), this.options);
    const key = (rels: RelationInfo[]) => JSON.stringify(rels.map((r) => [r.oid, r.schema, r.name]));
    if (key(current) !== key(listed)) {
      throw new ExitPlanError(
        `The tables of ${database} changed while the export was locking them (created, dropped or renamed each time it tried); ` +
          'nothing was exported.',
        'RELIST',
      );
    }
    checkAccess(current, conn.user, excludeColumn);
    return { relations: current, snapshotTime: snap.rows[0].at };
  }

  /** A subset's rows, walked in the main session's key set (none without a subset). */
  async chooseSubset(main: Client, relations: RelationInfo[], database: string): Promise<SubsetWalk | undefined> {
    const { options, progress } = this;
    if (!options.subset) return undefined;
    progress.phase = 'subset';
    this.reportNow();
    const walk = await walkSubset(main, relations, options.subset, {
      signal: this.stop.signal,
      log: this.log,
      database,
      filtered: Boolean(options.schemas?.length || options.tables?.length || options.relations),
      // Once per statement of the walk, each of which may take long: said at once, not held back by the throttle.
      onProgress: (p) => {
        progress.subset = p;
        this.reportNow();
      },
    });
    progress.subset = undefined;
    throwIfAborted(this.stop.signal);
    return walk;
  }

  /** With --jobs, each worker gets the main session's key set (a temporary table is its session's own). */
  async shareSubsetKeys(main: Client): Promise<void> {
    if (!this.options.subset) return;
    for (const worker of this.clients.slice(1)) {
      throwIfAborted(this.stop.signal);
      await copySubsetKeys(main, worker);
    }
  }

  /** Where each relation goes in the archive, and the COPY that reads it; a subset's relations only, read by their keys. */
  planTables(all: RelationInfo[], subset?: SubsetWalk): Plan[] {
    const relations = subset ? all.filter((r) => subset.modes.has(r.oid)) : all;
    const bases = assignBases(relations.map((r) => [r.schema, r.name] as const));
    const plans = relations.map((r, i) => {
      const mode = subset?.modes.get(r.oid);
      const plan = planRelation(r, bases[i], this.excludeColumn, this.settings.limit, mode);
      if (mode === 'keys') plan.knownRows = subset!.rows.get(r.oid) ?? 0;
      return plan;
    });
    if (this.settings.encoding) for (const plan of plans) plan.encoding = this.settings.encoding;
    this.progress.tableCount = plans.length;
    throwIfAborted(this.stop.signal);
    return plans;
  }

  /**
   * Each relation's estimated size (as the Warehouse view shows it), so that the progress weighs tables by
   * their data rather than counting them. The relations are locked by now, so the sizes wait for no one.
   */
  async estimateSizes(main: Client, plans: Plan[]): Promise<void> {
    this.plans = plans;
    if (plans.length === 0) return;
    const sizes = await relationSizes(
      main,
      plans.map((p) => p.exported.relation.oid),
    );
    for (const plan of plans) {
      const bytes = sizes.get(plan.exported.relation.oid) ?? 0;
      // A subset's table weighs its share of the rows (the planner's estimate of the whole, when it has one).
      const rows = plan.exported.relation.estimatedRows;
      const share = plan.knownRows !== undefined && rows > 0 ? Math.min(1, plan.knownRows / rows) : 1;
      plan.weight.estimatedBytes = bytes * share;
    }
    this.progress.tableShare = 0; // from now on, share() weighs the tables
    throwIfAborted(this.stop.signal);
  }

  /** The partial file and/or the blob upload, and the zip writing into both. */
  async openOutputs(archiveName: string, tableCount: number, snapshotTime: Date): Promise<void> {
    const { options, log } = this;
    if (options.outDir !== undefined) this.partial = await PartialFile.create(path.resolve(options.outDir, archiveName), { log });
    const partial = this.partial;
    if (options.upload) {
      const { BlobUpload } = await import('../azure/upload.js');
      const upload = await BlobUpload.start(options.upload, partial ? path.basename(partial.finalPath) : archiveName, {
        signal: this.stop.signal,
        log,
      });
      this.upload = upload;
      upload.failed.catch((err: unknown) => this.stop.abort(err));
    }
    const upload = this.upload;
    const zip = new ZipWriter(
      [partial?.stream, upload?.stream].filter((s) => s !== undefined),
      {
        level: this.settings.level,
        threads: this.settings.threads,
        // With --jobs, a table read while another one is being written waits its turn beside the archive.
        spoolDir: partial && path.dirname(partial.partialPath),
        onEntryWritten: (entry) => this.check?.add(entry),
      },
    );
    this.zip = zip;
    zip.failed.catch((err: unknown) => this.stop.abort(err));
    this.stop.signal.addEventListener('abort', () => zip.abort(), { once: true });
    if (partial) this.check = new ArchiveCheck(partial.partialPath, zip, this.stop.signal);
    const targets = [partial?.partialPath, upload && `${upload.publicUrl} (uncommitted until complete)`].filter(Boolean).join(' and ');
    log(`Writing ${targets} (${tableCount} tables, snapshot ${snapshotTime.toISOString()})`);
    this.progress.phase = 'exporting';
  }

  /** Every table into the zip, one worker per connection, tables taken in order. */
  async exportTables(plans: Plan[], snapshotTime: Date): Promise<void> {
    await runPool(
      plans,
      this.clients.length,
      (plan, _, worker) => this.exportTable(plan, this.clients[worker], snapshotTime),
      this.stop.signal,
    );
    throwIfAborted(this.stop.signal);
    this.currentTable = undefined;
  }

  private async exportTable(plan: Plan, client: Client, snapshotTime: Date): Promise<void> {
    const { progress, stop } = this;
    const rel = plan.exported.relation;
    const label = `${rel.schema}.${rel.name}`;
    this.currentTable = label;
    progress.tableIndex++;
    progress.table = label;
    this.reportNow();
    try {
      plan.result = await exportRelation({
        client,
        plan,
        zip: this.zip!,
        check: this.check,
        date: snapshotTime,
        limit: this.settings.limit,
        signal: stop.signal,
        activeCopies: this.activeCopies,
        onData: (rows, bytes) => {
          progress.rows += rows;
          progress.bytes += bytes;
          plan.weight.writtenBytes += bytes;
          this.report();
        },
      });
      plan.weight.done = true;
      if (plan.knownRows !== undefined && plan.result.rows !== plan.knownRows) {
        throw new ExitPlanError(
          `${label} returned ${plan.result.rows} rows where the subset's key set holds ${plan.knownRows}; the snapshot is not consistent.`,
        );
      }
    } catch (err) {
      if (!stop.signal.aborted) stop.abort(this.tableError(err, rel));
      throw stop.signal.reason;
    }
    this.log(`${label}: ${plan.result.rows} rows in ${plan.result.files.length} file(s)`);
  }

  /** The weighted share of the tables' data exported (undefined until the sizes are known). */
  private share(): number | undefined {
    return this.progress.tableShare === undefined ? undefined : tableShare(this.plans.map((p) => p.weight));
  }

  /** One sentence for a failure while reading a relation. */
  private tableError(err: unknown, rel: RelationInfo): ExitPlanError {
    // A view that reads a table whose row-level security filters this user: PostgreSQL refuses (row_security = off).
    const rls = systemCode(err) === '42501' && /row-level security policy for table "(.*)"$/.exec(errorMessage(err));
    const table = qualifiedName(rel.schema, rel.name);
    if (rls) return rowSecurityError(`${quoteIdent(rls[1])} (read by ${table})`, this.conn.user, false);
    // Locks the export did not take up front (e.g. a table a view's function reads) are bounded by lock_timeout too.
    if (systemCode(err) === '55P03') {
      return new ExitPlanError(`Timed out after ${this.settings.lockTimeout} s waiting for a lock while reading ${table}.`, '55P03', {
        cause: err,
      });
    }
    return describePgError(err, this.conn, { table, kind: rel.kind });
  }

  /** The archive's own files (manifest.json, schema.sql, load.sql, README.txt), then the zip's end; returns its size. */
  async finishArchive(main: Client, manifest: Manifest, plans: Plan[], date: Date): Promise<number> {
    const zip = this.zip!;
    const header =
      `-- ${TOOL_NAME} ${TOOL_VERSION}: tables of "${commentText(manifest.database)}" at ${manifest.snapshotTime} ` +
      `(PostgreSQL ${manifest.serverVersion})`;
    const schema = await buildSchemaSql(
      main,
      plans.map((p) => p.exported),
      header,
    );
    // Each made when its turn comes and let go once written: with many parts manifest.json is megabytes.
    const own: [string, () => string][] = [
      ['manifest.json', () => `${JSON.stringify(manifest, null, 2)}\n`],
      ['schema.sql', () => schema.sql],
      ['load.sql', () => buildLoadSql(manifest, schema.foreignKeys)],
      ['README.txt', () => buildReadme(manifest, schema.foreignKeys)],
    ];
    for (const [name, text] of own) {
      const bytes = Buffer.from(text(), 'utf8');
      // Read back, each must be this text: manifest.json is then the manifest whose files were all read back.
      this.check?.expect(name, { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
      await zip.text(name, bytes, date);
    }
    const archiveBytes = await zip.finish();
    await this.partial?.closed();
    await this.upload?.finished();
    await main.query('COMMIT').catch(() => undefined);
    return archiveBytes;
  }

  /**
   * Finishes checking the archive (a local one was checked entry by entry as it was written; an upload alone
   * is read back now); only then is the partial file renamed. Returns the archive's path (or URL).
   */
  async verifyAndCommit(archiveBytes: number, manifest: Manifest): Promise<string> {
    const { progress, partial, upload, check } = this;
    progress.phase = 'verifying';
    progress.bytes = 0;
    this.reportNow();
    const verifyOptions = {
      signal: this.stop.signal,
      onBytes: (n: number) => {
        progress.bytes += n;
        this.report();
      },
    };
    // The local file when there is one (the blob holds the same bytes); else the blob, read by ranges.
    const tail = performance.now();
    if (check) await check.finish(manifest);
    else if (upload) await verifyArchive({ label: upload.publicUrl, open: () => upload.openZip() }, verifyOptions);
    this.verifyMs = (check?.busyMs ?? 0) + (performance.now() - tail);
    if (upload && (await upload.size()) !== archiveBytes) {
      throw new ExitPlanError(`The uploaded blob ${upload.publicUrl} is not the size of the archive (${archiveBytes} bytes).`);
    }
    const archive = partial ? await partial.commit() : upload!.publicUrl;
    progress.phase = 'done';
    this.reportNow();
    this.log(`Archive verified and saved: ${[partial && archive, upload?.publicUrl].filter(Boolean).join(' and ')}`);
    return archive;
  }

  /** Stops everything, removes what was half-written, and returns the one sentence to throw. */
  async fail(err: unknown): Promise<ExitPlanError> {
    const { stop, partial, upload } = this;
    const reason: unknown = stop.signal.aborted ? stop.signal.reason : err;
    if (!stop.signal.aborted) stop.abort(reason);
    this.zip?.abort();
    await this.check?.close();
    const removed = partial
      ? await partial.discard().then(
          () => true,
          () => false,
        )
      : true;
    await upload?.discard();
    return finalError(reason, this.conn, partial, removed, this.currentTable, upload !== undefined);
  }

  async close(): Promise<void> {
    this.options.signal?.removeEventListener('abort', this.onUserAbort);
    await this.watcher?.close();
    await Promise.all(this.clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** manifest.json: what the archive holds, table by table, file by file. */
function buildManifest(
  facts: ServerFacts,
  snapshotTime: Date,
  plans: Plan[],
  maxRowsPerFile: number,
  excludeColumnPatterns: string[],
  subset: ManifestSubset | undefined,
): Manifest {
  return {
    tool: { name: TOOL_NAME, version: TOOL_VERSION },
    createdAt: new Date().toISOString(),
    database: facts.database,
    serverVersion: facts.serverVersion,
    snapshotTime: snapshotTime.toISOString(),
    csv: CSV_DIALECT,
    maxRowsPerFile,
    excludeColumnPatterns,
    tables: plans.map((p): ManifestTable => ({
      schema: p.exported.relation.schema,
      name: p.exported.relation.name,
      kind: p.exported.relation.kind,
      rows: p.result!.rows,
      bytes: p.result!.bytes,
      files: p.result!.files,
      columns: p.exported.columns.map((c) => ({
        name: c.name,
        type: c.type,
        notNull: c.notNull,
        ...(c.generated ? { generated: true as const } : {}),
      })),
      excludedColumns: p.exported.excludedColumns,
    })),
    ...(subset ? { subset } : {}),
  };
}

/**
 * Refuses, before anything is read, what could only be exported wrongly or not at all: a schema without
 * USAGE, a table without SELECT (table-level, or column-level on every column kept), and a table whose
 * row-level security would hide rows from this user (pg_dump refuses too, with row_security = off).
 */
function checkAccess(relations: RelationInfo[], user: string, excludeColumn: (name: string) => boolean): void {
  const noUsage = relations.find((r) => !r.canUseSchema);
  if (noUsage) {
    throw new ExitPlanError(
      `User "${user}" has no USAGE permission on schema ${quoteIdent(noUsage.schema)}, ` +
        `which it needs to read table ${qualifiedName(noUsage.schema, noUsage.name)}; nothing was exported.`,
      '42501',
    );
  }
  const readable = (r: RelationInfo) => {
    const kept = r.columns.filter((c) => !excludeColumn(c.name));
    return r.canSelect || (kept.length > 0 && kept.every((c) => c.canSelect));
  };
  const denied = relations.filter((r) => !readable(r));
  if (denied.length > 0) {
    const first = denied[0];
    const some = first.columns.filter((c) => c.canSelect).length > 0;
    const hidden = first.columns.filter((c) => !c.canSelect && !excludeColumn(c.name)).map((c) => quoteIdent(c.name));
    const more = denied.length > 1 ? ` (and ${denied.length - 1} more)` : '';
    throw new ExitPlanError(
      some
        ? `User "${user}" may read only some columns of table ${qualifiedName(first.schema, first.name)}${more}, ` +
            `not ${hidden.join(', ')}: leave those out with --exclude-columns (exitPlan.export.excludeColumns) ` +
            `or grant SELECT; nothing was exported.`
        : `User "${user}" has no SELECT permission on table ${qualifiedName(first.schema, first.name)}${more}; nothing was exported.`,
      '42501',
    );
  }
  const filtered = relations.find((r) => r.rowSecurity);
  if (filtered) throw rowSecurityError(qualifiedName(filtered.schema, filtered.name), user);
}

/** Up front it ends `nothing was exported`; while exporting, finalError adds what was left instead. */
function rowSecurityError(table: string, user: string, upFront = true): ExitPlanError {
  return new ExitPlanError(
    `Table ${table} has row-level security and user "${user}" cannot bypass it, ` +
      `so only part of its rows would be exported; ` +
      `export as the table owner or a role with BYPASSRLS${upFront ? '; nothing was exported' : ''}.`,
    '42501',
  );
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

/** What `exportRelation` reads, where it writes, and whom it tells. */
interface RelationJob {
  /** A connection inside the export's snapshot. */
  client: Client;
  plan: Plan;
  zip: ZipWriter;
  /** Told what each file must read back as, when the archive is checked as it is written. */
  check: ArchiveCheck | undefined;
  /** The zip entries' date: the snapshot's time. */
  date: Date;
  /** Rows per file. */
  limit: number;
  signal: AbortSignal;
  /** The COPY streams under way, which a cancel destroys. */
  activeCopies: Set<CopyStream>;
  /** Rows and bytes written since the last call. */
  onData: (rows: number, bytes: number) => void;
}

/**
 * Streams one relation into one or more zip entries, counting rows and hashing each file, then checks
 * the row count against what the server reported for the COPY.
 */
async function exportRelation({
  client,
  plan,
  zip,
  check,
  date,
  limit,
  signal,
  activeCopies,
  onData,
}: RelationJob): Promise<ExportedTable> {
  const rel = plan.exported.relation;
  const split = plan.knownRows !== undefined ? plan.knownRows > limit : (await client.query(plan.overLimitSql)).rowCount! > 0;
  const files: ExportedFile[] = [];
  let part: { body: ZipEntryWriter; hash: Hash; file: ExportedFile } | undefined;
  let partNumber = 0;
  let header: Buffer | undefined;
  const headerChunks: Buffer[] = [];

  const write = async (data: Buffer) => {
    if (data.length === 0) return;
    part!.hash.update(data);
    part!.file.bytes += data.length;
    await part!.body.write(data);
  };
  const openPart = async () => {
    if (!split && partNumber > 0) {
      throw new ExitPlanError(
        `${qualifiedName(rel.schema, rel.name)} returned more rows than it held when the export began; the snapshot is not consistent.`,
      );
    }
    partNumber++;
    await check?.room();
    const name = split ? `${plan.base}-${String(partNumber).padStart(5, '0')}.csv` : `${plan.base}.csv`;
    const file: ExportedFile = { name, rows: 0, bytes: 0, sha256: '' };
    part = { body: zip.entry(name, date), hash: createHash('sha256'), file };
    files.push(file);
    await write(header!);
  };
  const closePart = async () => {
    if (!part) return;
    const { body, hash, file } = part;
    part = undefined;
    file.sha256 = hash.digest('hex');
    check?.expect(file.name, file);
    await body.end();
  };

  // Rows as PostgreSQL sends them, one CopyData message each. A SQL_ASCII database's text is read raw, converted
  // to UTF-8, and its rows found by scanning the CSV.
  let copy: CopyOutReader | ReturnType<typeof copyTo>;
  let batches: AsyncIterable<CopyBatch>;
  if (plan.encoding) {
    await client.query(RAW_CLIENT_ENCODING);
    const raw = client.query(copyTo(plan.copySql));
    const what = `${rel.kind === 'view' ? 'The view' : 'Table'} ${qualifiedName(rel.schema, rel.name)}`;
    batches = scannedBatches(toUtf8(raw as AsyncIterable<Buffer>, plan.encoding, what));
    copy = raw;
  } else {
    const reader = CopyOutReader.start(client, plan.copySql);
    batches = reader;
    copy = reader;
  }
  activeCopies.add(copy);
  try {
    for await (const batch of batches) {
      if (signal.aborted) throw signal.reason;
      let offset = 0;
      let row = 0;
      if (!header) {
        // The first row is the header line.
        if (batch.rows === 0) {
          headerChunks.push(Buffer.from(batch.data));
          continue;
        }
        headerChunks.push(Buffer.from(batch.data.subarray(0, batch.ends[0])));
        header = Buffer.concat(headerChunks);
        offset = batch.ends[0];
        row = 1;
        await openPart();
      }
      while (offset < batch.data.length) {
        if (!part) await openPart();
        // Whole rows up to the part's limit; else the start of a row that ends in a later batch.
        const whole = Math.min(limit - part!.file.rows, batch.rows - row);
        const end = whole > 0 ? batch.ends[row + whole - 1] : batch.data.length;
        row += whole;
        const before = part!.file.bytes;
        await write(batch.data.subarray(offset, end));
        part!.file.rows += whole;
        onData(whole, part!.file.bytes - before);
        offset = end;
        if (part!.file.rows >= limit) await closePart();
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
  await closePart();
  // The server's own row count arrives with CommandComplete, just after the data.
  if (copy instanceof CopyOutReader) await copy.finished();
  else await client.query(UTF8_CLIENT_ENCODING);
  const rows = files.reduce((n, f) => n + f.rows, 0);
  const serverRows = (copy as unknown as { rowCount: number }).rowCount;
  if (rows !== serverRows) {
    throw new ExitPlanError(
      `Row count check failed for ${qualifiedName(rel.schema, rel.name)}: the server sent ${serverRows} rows ` +
        `but ${rows} were written (the CSV framing is off).`,
    );
  }
  return { schema: rel.schema, name: rel.name, kind: rel.kind, rows, bytes: files.reduce((n, f) => n + f.bytes, 0), files };
}

/** Converted COPY data as batches of rows, their ends found by scanning the CSV (quoted newlines are not row ends). */
async function* scannedBatches(chunks: AsyncIterable<Buffer>): AsyncGenerator<CopyBatch> {
  const scanner = new CsvRowScanner();
  let ends: Uint32Array = new Uint32Array(1024);
  for await (const data of chunks) {
    let rows = 0;
    for (let at = 0; ;) {
      const found = scanner.scan(data, at, 1);
      if (found.rows === 0) break;
      if (rows === ends.length) ends = growTo(ends, rows * 2);
      ends[rows++] = found.end;
      at = found.end;
    }
    yield { data, rows, ends };
  }
}
