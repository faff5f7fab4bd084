import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Client } from 'pg';
import { CancelledError, ExitPlanError, errorMessage, systemCode, throwIfAborted } from '../shared/errors';
import { formatCount } from '../shared/format';
import { listRelations, qualifiedName, quoteIdent, quoteLiteral } from '../warehouse/catalog';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from '../postgres/connection';
import { describeLockWait, findLockHolder, lockTimeoutText, watchApplication, type LockWait } from '../warehouse/locks';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../shared/lockTimeout';
import type { OperationOptions } from '../shared/operation';
import { fileSafeName, parseBackupName, type BackupName } from './names';
import { conninfo, runTool, toolEnv, toolFailure, type PgToolsOptions } from './pgTools';
import { checkedPgRestore } from './restore';
import { updateFolderState, updateSidecar, type DrillSummary } from './sidecar';
import { verifyBackup } from './verify';

export interface DrillTable {
  schema: string;
  name: string;
  /** Rows in the restored copy; null when the table is not in the backup. */
  backupRows: number | null;
  /** Rows in the source now; null when the table is no longer there. */
  sourceRows: number | null;
  match: boolean;
}

export interface DrillReport {
  file: string;
  /** `user@host:port/database` the counts were compared with. */
  source: string;
  /** Empty when the backup was not restored (it failed verification). */
  scratchDatabase: string;
  startedAt: string;
  durationMs: number;
  tables: DrillTable[];
  /**
   * Whether the backup was restored into a scratch database; false when it failed verification (then
   * `tables` is empty and `message` says what verification found).
   */
  restored: boolean;
  /** Restored without error and every table has the source's row count. */
  ok: boolean;
  /** One sentence for the user. */
  message: string;
}

export interface DrillProgress {
  phase: 'verifying' | 'creating' | 'restoring' | 'counting' | 'dropping' | 'done';
  tables: number;
  table?: string;
  /** Counting the source waits for a table's lock, held by this session (until --lock-timeout). */
  waitingFor?: LockWait;
}

/** A drill's progress line: `Drill: restoring public.orders (3)`, `Drill: counting — Waiting for a lock on …`. */
export function describeDrillProgress(p: DrillProgress): string {
  if (p.waitingFor) return `Drill: counting — ${describeLockWait(p.waitingFor)}…`;
  return `Drill: ${p.phase}${p.table ? ` ${p.table}` : ''}${p.tables ? ` (${p.tables})` : ''}`;
}

export interface DrillOptions extends PgToolsOptions, OperationOptions<DrillProgress> {
  file: string;
  /** The source database: counts are compared with it, and the scratch database is made on its server. */
  connection: PgConnectionOptions;
  /** How long a query on the source waits for a table's lock (`lock_timeout`); 0 waits for ever. Default 60. */
  lockTimeoutSeconds?: number;
}

/** What one drill knows while it runs: its backup, its scratch database and how far it got. */
interface Drill {
  options: DrillOptions;
  file: string;
  backup: BackupName;
  conn: PgConnectionOptions;
  started: Date;
  scratch: string;
  lockTimeout: number;
  log: (line: string) => void;
  progress: (p: DrillProgress) => void;
  created: boolean;
  lockTimedOut: boolean;
  dropFailed: boolean;
}

/**
 * A restore drill: verifies the backup, restores it into a new scratch database on the source's server,
 * counts the rows of every table there and in the source, drops the scratch database (always, also on
 * failure or cancel), and records the outcome in the sidecar and the folder's record (the date of the
 * last successful drill per database). A backup that fails verification, or counts that differ, give a
 * report with `ok: false` (a partial outcome); it throws when it could not drill at all.
 */
export async function restoreDrill(options: DrillOptions): Promise<DrillReport> {
  const started = new Date();
  const file = path.resolve(options.file);
  const backup = postgresBackup(file);
  const conn = options.connection;
  const drill: Drill = {
    options,
    file,
    backup,
    conn,
    started,
    scratch: scratchName(conn.database, started),
    lockTimeout: 0,
    log: options.log ?? (() => undefined),
    progress: (p) => options.onProgress?.(p),
    created: false,
    lockTimedOut: false,
    dropFailed: false,
  };

  drill.progress({ phase: 'verifying', tables: 0 });
  const verification = await verifyBackup(file, { pgDumpPath: options.pgDumpPath, signal: options.signal });
  if (!verification.checked) throw new ExitPlanError(verification.message);
  if (verification.state !== 'verified') return notRestored(drill, verification.message);
  const pgRestore = await checkedPgRestore(file, options);
  throwIfAborted(options.signal, 'Drill cancelled; nothing was created.');
  drill.lockTimeout = checkLockTimeout(options.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS);

  const admin = await connect(conn);
  admin.on('error', () => undefined);
  // Counting the source's rows waits for each table's lock at most this long (a session may hold one).
  if (drill.lockTimeout > 0) await admin.query(`SET lock_timeout = ${Math.round(drill.lockTimeout * 1000)}`);
  let report: DrillReport;
  try {
    report = await inScratchDatabase(drill, admin, pgRestore);
  } catch (err) {
    const sentence = failureSentence(drill, err);
    await recordDrill(drill, { ok: false, message: sentence }, 0, 0).catch(() => undefined);
    throw new ExitPlanError(sentence, systemCode(err), { cause: err });
  }
  report.durationMs = Date.now() - started.getTime();
  await recordDrill(drill, report, report.tables.length, report.tables.filter((t) => !t.match).length);
  drill.progress({ phase: 'done', tables: report.tables.length });
  drill.log(`Drill of ${path.basename(file)}: ${report.message}`);
  return report;
}

/** The backup's name, checked to be a PostgreSQL backup's. */
function postgresBackup(file: string): BackupName {
  const parsed = parseBackupName(path.basename(file));
  if (!parsed || parsed.kind !== 'postgres') {
    throw new ExitPlanError(
      `${path.basename(file)} is not a PostgreSQL backup made by Exit Plan; ` +
        'a restore drill needs a postgres_backup_….pg_restore file.',
    );
  }
  return parsed;
}

/** The report of a drill whose backup failed verification: nothing restored, recorded as failed. */
async function notRestored(drill: Drill, why: string): Promise<DrillReport> {
  const message = `The backup failed verification, so the drill did not restore it: ${why.replace(/\.$/, '')}.`;
  await recordDrill(drill, { ok: false, message }, 0, 0).catch(() => undefined);
  drill.log(`Drill of ${path.basename(drill.file)}: ${message}`);
  return {
    file: drill.file,
    source: describeConnection(drill.conn),
    scratchDatabase: '',
    startedAt: drill.started.toISOString(),
    durationMs: Date.now() - drill.started.getTime(),
    tables: [],
    restored: false,
    ok: false,
    message,
  };
}

/** Creates the scratch database, restores into it and compares counts; drops it whatever happens and closes `admin`. */
async function inScratchDatabase(drill: Drill, admin: Client, pgRestore: string): Promise<DrillReport> {
  let failure: unknown;
  let report: DrillReport | undefined;
  try {
    await createScratch(drill, admin);
    await restoreIntoScratch(drill, pgRestore);
    report = await compareCounts(drill, admin);
  } catch (err) {
    failure = err;
  } finally {
    if (drill.created) {
      const dropFailure = await dropScratch(drill, admin);
      failure ??= dropFailure;
    }
    await admin.end().catch(() => undefined);
  }
  if (failure !== undefined || !report) throw failure ?? new ExitPlanError('The drill did not finish.');
  return report;
}

async function createScratch(drill: Drill, admin: Client): Promise<void> {
  const { conn, scratch } = drill;
  const facts = await admin.query<{ can: boolean; enc: string; collate: string; ctype: string; num: string }>(
    `SELECT (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can,
            pg_encoding_to_char(d.encoding) AS enc, d.datcollate AS collate, d.datctype AS ctype,
            current_setting('server_version_num') AS num
       FROM pg_database d WHERE d.datname = current_database()`,
  );
  const f = facts.rows[0];
  if (!f.can) {
    throw new ExitPlanError(
      `User "${conn.user}" may not create databases, which a restore drill needs ` +
        '(it restores into a scratch database on the same server): grant CREATEDB or run the drill as another user; nothing was changed.',
    );
  }
  drill.progress({ phase: 'creating', tables: 0 });
  drill.log(`Drill: creating the scratch database ${scratch} on ${conn.host}:${conn.port}`);
  await admin.query(
    `CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0 ENCODING ${quoteLiteral(f.enc)} ` +
      `LC_COLLATE ${quoteLiteral(f.collate)} LC_CTYPE ${quoteLiteral(f.ctype)}`,
  );
  drill.created = true;
  throwIfAborted(drill.options.signal);
}

async function restoreIntoScratch(drill: Drill, pgRestore: string): Promise<void> {
  let restored = 0;
  drill.progress({ phase: 'restoring', tables: 0 });
  const result = await runTool(
    pgRestore,
    [
      '--no-owner',
      '--no-acl',
      '--exit-on-error',
      '--no-password',
      '--verbose',
      `--dbname=${conninfo(drill.conn, drill.scratch)}`,
      drill.file,
    ],
    {
      env: toolEnv(drill.conn),
      signal: drill.options.signal,
      onStderrLine: (line) => {
        const m = /processing data for table "(.*)"$/.exec(line);
        if (m) drill.progress({ phase: 'restoring', tables: ++restored, table: m[1] });
      },
    },
  );
  if (result.code !== 0 || result.signal)
    throw new ExitPlanError(`The backup did not restore into a scratch database: ${toolFailure('pg_restore', result)}.`);
}

/** Counts the rows of every table in the scratch database and in the source (saying what it waits for). */
async function compareCounts(drill: Drill, admin: Client): Promise<DrillReport> {
  const { conn, options } = drill;
  drill.progress({ phase: 'counting', tables: 0 });
  const scratchClient = await connect({ ...conn, database: drill.scratch });
  let backupCounts: Map<string, number>;
  try {
    backupCounts = await countRows(scratchClient, options.signal);
  } finally {
    await scratchClient.end().catch(() => undefined);
  }
  // While counting, say which table and session it waits for, if any (found by this connection's name).
  const appName = `exit-plan drill ${randomBytes(6).toString('hex')}`;
  await admin.query(`SET application_name = ${quoteLiteral(appName)}`);
  let lastWait: LockWait | undefined;
  const watch = watchApplication(conn, appName, (wait) => {
    if (wait) {
      lastWait = wait;
      drill.log(`Drill: counting the source's rows: ${describeLockWait(wait)}`);
    }
    drill.progress({ phase: 'counting', tables: 0, ...(wait ? { waitingFor: wait } : {}) });
  });
  const sourceCounts = await countRows(admin, options.signal, true)
    .finally(() => watch.stop())
    .catch(async (err: unknown) => {
      // 55P03 lock_not_available: lock_timeout ran out (listing sizes or counting rows).
      if (systemCode(err) !== '55P03') throw err;
      drill.lockTimedOut = true;
      throw new ExitPlanError(
        `${lockTimeoutText(drill.lockTimeout, lastWait ?? (await findLockHolder(conn, undefined)))} while counting the source's rows`,
        '55P03',
        { cause: err },
      );
    });
  const keys = [...new Set([...backupCounts.keys(), ...sourceCounts.keys()])].sort();
  const tables: DrillTable[] = keys.map((key) => {
    const [schema, name] = JSON.parse(key) as [string, string];
    const backupRows = backupCounts.get(key) ?? null;
    const sourceRows = sourceCounts.get(key) ?? null;
    return { schema, name, backupRows, sourceRows, match: backupRows !== null && backupRows === sourceRows };
  });
  const ok = tables.every((t) => t.match);
  return {
    file: drill.file,
    source: describeConnection(conn),
    scratchDatabase: drill.scratch,
    startedAt: drill.started.toISOString(),
    durationMs: 0,
    tables,
    restored: true,
    ok,
    message: countsMessage(tables, drill.backup.time),
  };
}

/** One sentence on the counts: all the same, or how many differ and the first of them. */
function countsMessage(tables: DrillTable[], backupTime: Date): string {
  const differ = tables.filter((t) => !t.match);
  if (differ.length === 0) {
    const have = tables.length === 1 ? 'its one table has' : `all ${formatCount(tables.length)} tables have`;
    return `The backup restored into a scratch database and ${have} the source's row counts.`;
  }
  const first = differ[0];
  const when = backupTime.toISOString().replace('T', ' ').slice(0, 16);
  return (
    `The backup restored into a scratch database, but ${formatCount(differ.length)} of ${formatCount(tables.length)} tables ` +
    `differ from the source (first: ${first.schema}.${first.name}, ${first.backupRows ?? 'missing'} rows in the backup, ` +
    `${first.sourceRows ?? 'missing'} in the source); the source may have changed since the backup of ${when} UTC.`
  );
}

/** Drops the scratch database; the failure to do so (to report when nothing else failed), or undefined. */
async function dropScratch(drill: Drill, admin: Client): Promise<ExitPlanError | undefined> {
  const { scratch } = drill;
  drill.progress({ phase: 'dropping', tables: 0 });
  const dropped = await dropDatabase(admin, scratch).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!dropped) {
    drill.log(`Drill: dropped the scratch database ${scratch}`);
    return undefined;
  }
  drill.dropFailed = true;
  drill.log(`Drill: could not drop the scratch database ${scratch}: ${errorMessage(dropped)}`);
  return new ExitPlanError(
    `The drill could not drop its scratch database "${scratch}" (${errorMessage(dropped).replace(/\.$/, '')}): drop it by hand.`,
  );
}

/** The sentence a failed drill throws (and records); a cancelled one throws CancelledError at once. */
function failureSentence(drill: Drill, err: unknown): string {
  const { scratch } = drill;
  if (err instanceof CancelledError || drill.options.signal?.aborted) {
    throw new CancelledError(`Drill cancelled; ${drill.created ? `the scratch database ${scratch} was dropped` : 'nothing was created'}.`);
  }
  const sentence = err instanceof ExitPlanError ? err.message : describePgError(err, drill.conn).message;
  if (!drill.lockTimedOut) return sentence;
  const dropped = drill.dropFailed
    ? `the drill could not drop its scratch database "${scratch}": drop it by hand`
    : `the scratch database ${scratch} was dropped`;
  return `${sentence}; ${dropped}.`;
}

/** `exit_plan_drill_<db>_<yyyymmddhhmm>_<random>`, lower case, at most 63 bytes. */
function scratchName(database: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:T]/g, '').slice(0, 12);
  const db = fileSafeName(database)
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 24);
  return `exit_plan_drill_${db}_${stamp}_${randomBytes(3).toString('hex')}`;
}

/** Exact row counts of every table (partitioned ones through their parent), keyed `["schema","name"]`. */
async function countRows(client: Client, signal: AbortSignal | undefined, snapshot = false): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (snapshot) await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const relations = await listRelations(client);
    for (const r of relations) {
      throwIfAborted(signal);
      const q = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualifiedName(r.schema, r.name)}`);
      counts.set(JSON.stringify([r.schema, r.name]), Number(q.rows[0].n));
    }
  } finally {
    if (snapshot) await client.query('COMMIT').catch(() => undefined);
  }
  return counts;
}

async function dropDatabase(admin: Client, name: string): Promise<void> {
  const num = Number((await admin.query<{ n: string }>(`SELECT current_setting('server_version_num') AS n`)).rows[0].n);
  if (num >= 130000) {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    return;
  }
  await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
}

/** Records a drill's outcome in the backup's sidecar and the folder's record of drills per database. */
async function recordDrill(drill: Drill, outcome: { ok: boolean; message: string }, tables: number, mismatches: number): Promise<void> {
  const summary: DrillSummary = {
    at: drill.started.toISOString(),
    file: path.basename(drill.file),
    ok: outcome.ok,
    message: outcome.message,
  };
  await updateSidecar(drill.file, (s) => {
    s.drill = {
      at: summary.at,
      ok: summary.ok,
      comparedWith: describeConnection(drill.conn),
      tables,
      mismatches,
      message: summary.message,
    };
  });
  await updateFolderState(path.dirname(drill.file), (state) => {
    const entry = (state.drills[drill.backup.source] ??= {});
    entry.last = summary;
    if (summary.ok) entry.lastSuccessful = summary;
  });
}
