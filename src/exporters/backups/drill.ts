import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import type { Client } from 'pg';
import { CancelledError, ExitPlanError, errorMessage, systemCode, throwIfAborted } from '../shared/errors';
import { formatCount } from '../shared/format';
import { listRelations, qualifiedName, quoteIdent, quoteLiteral } from '../warehouse/catalog';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from '../postgres/connection';
import { describeLockWait, findLockHolder, lockTimeoutText, watchApplication, type LockWait } from '../warehouse/locks';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../shared/lockTimeout';
import { fileSafeName, parseBackupName } from './names';
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
  scratchDatabase: string;
  startedAt: string;
  durationMs: number;
  tables: DrillTable[];
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

export interface DrillOptions extends PgToolsOptions {
  file: string;
  /** The source database: counts are compared with it, and the scratch database is made on its server. */
  connection: PgConnectionOptions;
  /** How long a query on the source waits for a table's lock (`lock_timeout`); 0 waits for ever. Default 60. */
  lockTimeoutSeconds?: number;
  signal?: AbortSignal;
  onProgress?: (p: DrillProgress) => void;
  log?: (line: string) => void;
}

/**
 * A restore drill: verifies the backup, restores it into a new scratch database on the source's server,
 * counts the rows of every table there and in the source, drops the scratch database (always, also on
 * failure or cancel), and records the outcome in the sidecar and the folder's record (the date of the
 * last successful drill per database).
 */
export async function restoreDrill(options: DrillOptions): Promise<DrillReport> {
  const started = new Date();
  const file = path.resolve(options.file);
  const parsed = parseBackupName(path.basename(file));
  if (!parsed || parsed.kind !== 'postgres') {
    throw new ExitPlanError(
      `${path.basename(file)} is not a PostgreSQL backup made by Exit Plan; a restore drill needs a postgres_backup_….pg_restore file.`,
    );
  }
  const conn = options.connection;
  const log = options.log ?? (() => undefined);
  const progress = (p: DrillProgress) => options.onProgress?.(p);

  progress({ phase: 'verifying', tables: 0 });
  const verification = await verifyBackup(file, { pgDumpPath: options.pgDumpPath, signal: options.signal });
  if (verification.state !== 'verified') {
    const message = `The backup failed verification, so the drill did not restore it: ${verification.message.replace(/\.$/, '')}.`;
    await record(file, parsed.source, { at: started.toISOString(), file: path.basename(file), ok: false, message }, conn, 0, 0).catch(
      () => undefined,
    );
    throw new ExitPlanError(message);
  }
  const pgRestore = await checkedPgRestore(file, options);
  throwIfAborted(options.signal, 'Drill cancelled; nothing was created.');

  const lockTimeout = checkLockTimeout(options.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS);
  const admin = await connect(conn);
  admin.on('error', () => undefined);
  // Counting the source's rows waits for each table's lock at most this long (a session may hold one).
  if (lockTimeout > 0) await admin.query(`SET lock_timeout = ${Math.round(lockTimeout * 1000)}`);
  const scratch = scratchName(conn.database, started);
  let created = false;
  let report: DrillReport | undefined;
  let failure: unknown;
  let lockTimedOut = false;
  let dropFailed = false;
  try {
    const facts = await admin.query<{ can: boolean; enc: string; collate: string; ctype: string; num: string }>(
      `SELECT (SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can,
              pg_encoding_to_char(d.encoding) AS enc, d.datcollate AS collate, d.datctype AS ctype,
              current_setting('server_version_num') AS num
         FROM pg_database d WHERE d.datname = current_database()`,
    );
    const f = facts.rows[0];
    if (!f.can) {
      throw new ExitPlanError(
        `User "${conn.user}" may not create databases, which a restore drill needs (it restores into a scratch database on the same server): grant CREATEDB or run the drill as another user; nothing was changed.`,
      );
    }
    progress({ phase: 'creating', tables: 0 });
    log(`Drill: creating the scratch database ${scratch} on ${conn.host}:${conn.port}`);
    await admin.query(
      `CREATE DATABASE ${quoteIdent(scratch)} TEMPLATE template0 ENCODING ${quoteLiteral(f.enc)} LC_COLLATE ${quoteLiteral(f.collate)} LC_CTYPE ${quoteLiteral(f.ctype)}`,
    );
    created = true;
    throwIfAborted(options.signal);

    let restored = 0;
    progress({ phase: 'restoring', tables: 0 });
    const result = await runTool(
      pgRestore,
      ['--no-owner', '--no-acl', '--exit-on-error', '--no-password', '--verbose', `--dbname=${conninfo(conn, scratch)}`, file],
      {
        env: toolEnv(conn),
        signal: options.signal,
        onStderrLine: (line) => {
          const m = /processing data for table "(.*)"$/.exec(line);
          if (m) progress({ phase: 'restoring', tables: ++restored, table: m[1] });
        },
      },
    );
    if (result.code !== 0 || result.signal)
      throw new ExitPlanError(`The backup did not restore into a scratch database: ${toolFailure('pg_restore', result)}.`);

    progress({ phase: 'counting', tables: 0 });
    const scratchClient = await connect({ ...conn, database: scratch });
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
        log(`Drill: counting the source's rows: ${describeLockWait(wait)}`);
      }
      progress({ phase: 'counting', tables: 0, ...(wait ? { waitingFor: wait } : {}) });
    });
    const sourceCounts = await countRows(admin, options.signal, true)
      .finally(() => watch.stop())
      .catch(async (err: unknown) => {
        // 55P03 lock_not_available: lock_timeout ran out (listing sizes or counting rows).
        if (systemCode(err) !== '55P03') throw err;
        lockTimedOut = true;
        throw new ExitPlanError(
          `${lockTimeoutText(lockTimeout, lastWait ?? (await findLockHolder(conn, undefined)))} while counting the source's rows`,
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
    const differ = tables.filter((t) => !t.match);
    const ok = differ.length === 0;
    const when = parsed.time.toISOString().replace('T', ' ').slice(0, 16);
    const message = ok
      ? `The backup restored into a scratch database and ${tables.length === 1 ? 'its one table has' : `all ${formatCount(tables.length)} tables have`} the source's row counts.`
      : `The backup restored into a scratch database, but ${formatCount(differ.length)} of ${formatCount(tables.length)} tables differ from the source (first: ${differ[0].schema}.${differ[0].name}, ${differ[0].backupRows ?? 'missing'} rows in the backup, ${differ[0].sourceRows ?? 'missing'} in the source); the source may have changed since the backup of ${when} UTC.`;
    report = {
      file,
      source: describeConnection(conn),
      scratchDatabase: scratch,
      startedAt: started.toISOString(),
      durationMs: 0,
      tables,
      ok,
      message,
    };
  } catch (err) {
    failure = err;
  } finally {
    if (created) {
      progress({ phase: 'dropping', tables: 0 });
      const dropped = await dropDatabase(admin, scratch).then(
        () => undefined,
        (err: unknown) => err,
      );
      if (dropped) {
        dropFailed = true;
        log(`Drill: could not drop the scratch database ${scratch}: ${errorMessage(dropped)}`);
        failure ??= new ExitPlanError(
          `The drill could not drop its scratch database "${scratch}" (${errorMessage(dropped).replace(/\.$/, '')}): drop it by hand.`,
        );
      } else {
        log(`Drill: dropped the scratch database ${scratch}`);
      }
    }
    await admin.end().catch(() => undefined);
  }

  if (failure || !report) {
    const err = failure;
    if (err instanceof CancelledError || options.signal?.aborted) {
      throw new CancelledError(`Drill cancelled; ${created ? `the scratch database ${scratch} was dropped` : 'nothing was created'}.`);
    }
    let sentence = err instanceof ExitPlanError ? err.message : describePgError(err, conn).message;
    if (lockTimedOut) {
      sentence = `${sentence}; ${dropFailed ? `the drill could not drop its scratch database "${scratch}": drop it by hand` : `the scratch database ${scratch} was dropped`}.`;
    }
    await record(
      file,
      parsed.source,
      { at: started.toISOString(), file: path.basename(file), ok: false, message: sentence },
      conn,
      0,
      0,
    ).catch(() => undefined);
    throw new ExitPlanError(sentence, systemCode(err), { cause: err });
  }
  report.durationMs = Date.now() - started.getTime();
  await record(
    file,
    parsed.source,
    { at: started.toISOString(), file: path.basename(file), ok: report.ok, message: report.message },
    conn,
    report.tables.length,
    report.tables.filter((t) => !t.match).length,
  );
  progress({ phase: 'done', tables: report.tables.length });
  log(`Drill of ${path.basename(file)}: ${report.message}`);
  return report;
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

async function record(
  file: string,
  source: string,
  summary: DrillSummary,
  conn: PgConnectionOptions,
  tables: number,
  mismatches: number,
): Promise<void> {
  await updateSidecar(file, (s) => {
    s.drill = { at: summary.at, ok: summary.ok, comparedWith: describeConnection(conn), tables, mismatches, message: summary.message };
  });
  await updateFolderState(path.dirname(file), (state) => {
    const entry = (state.drills[source] ??= {});
    entry.last = summary;
    if (summary.ok) entry.lastSuccessful = summary;
  });
}
