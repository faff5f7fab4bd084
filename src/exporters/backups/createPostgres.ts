import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, describeWriteError, systemCode, throwIfAborted } from '../shared/errors';
import { throttle } from '../shared/format';
import { DEFAULT_LOCK_TIMEOUT_SECONDS } from '../shared/lockTimeout';
import { SYSTEM_SCHEMA_FILTER } from '../warehouse/catalog';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from '../warehouse/connection';
import { postgresBackupName, type BackupKind } from './names';
import { checkPgDumpVersion, conninfo, conninfoValue, findPgTool, runTool, toolEnv, toolFailure, toolVersion, type PgToolsOptions } from './pgTools';
import { BackupFile, CommitError } from './backupFile';
import { hashFile, newSidecar, type Sidecar } from './sidecar';

export interface BackupProgress {
  phase: 'connecting' | 'dumping' | 'archiving' | 'checksum' | 'done';
  /** Bytes of the backup file written (or hashed, in `checksum`). */
  bytes: number;
  /** pg_dump: the table whose rows are being dumped, 1-based, of about `tableCount`. */
  tableIndex?: number;
  tableCount?: number;
  table?: string;
  /** Files: entries archived so far. */
  entries?: number;
  /** pg_dump is waiting for a table's lock, held by this session (until --lock-timeout). */
  waitingFor?: LockWait;
}

/** A lock wait: the table, and the session that holds the lock. */
export interface LockWait {
  table: string;
  pid: number;
  application: string;
  /** pg_stat_activity's state, e.g. `idle in transaction`. */
  state: string;
}

export interface BackupResult {
  /** Absolute path of the finished backup. */
  file: string;
  kind: BackupKind;
  bytes: number;
  sha256: string;
  sidecar: Sidecar;
  durationMs: number;
  /** Files: special files (FIFOs, sockets, devices) that were left out, as tar skips a socket: `./path (FIFO)`. */
  skipped?: string[];
}

export interface PostgresBackupOptions extends PgToolsOptions {
  connection: PgConnectionOptions;
  /** The backup folder; created if missing. */
  dir: string;
  /** How long pg_dump waits for a table's lock before it gives up (`--lock-wait-timeout`); 0 waits for ever. Default 60. */
  lockTimeoutSeconds?: number;
  signal?: AbortSignal;
  onProgress?: (progress: BackupProgress) => void;
  /** Diagnostic lines (never secrets). */
  log?: (line: string) => void;
}

const PROGRESS_MS = 200;
const POLL_MS = 250;

/**
 * Backs up one database with `pg_dump --format=custom` into
 * `<dir>/postgres_backup_<db>__<YYYY.MM.DD.HH_MM>.pg_restore`: written as `….partial`, fsynced, hashed,
 * its `<file>.json` sidecar of size and SHA-256 written, then linked to its final name (never over another file).
 * The password reaches pg_dump only through PGPASSWORD. Abort kills pg_dump and removes the partial file.
 */
export async function createPostgresBackup(options: PostgresBackupOptions): Promise<BackupResult> {
  const started = new Date();
  const conn = options.connection;
  const log = options.log ?? (() => undefined);
  const progress: BackupProgress = { phase: 'connecting', bytes: 0 };
  const report = throttle(() => options.onProgress?.({ ...progress }), PROGRESS_MS);
  const reportNow = () => {
    report(undefined);
    report.flush();
  };
  reportNow();
  throwIfAborted(options.signal, 'Backup cancelled; no backup was written.');

  const pgDump = findPgTool('pg_dump', options);
  const [dumpVersion, facts] = await Promise.all([toolVersion(pgDump), serverFacts(conn)]);
  throwIfAborted(options.signal, 'Backup cancelled; no backup was written.');
  checkPgDumpVersion(dumpVersion, { text: facts.serverVersion, num: facts.serverVersionNum, where: `${conn.host}:${conn.port}` });
  log(`Backing up ${describeConnection(conn)} (PostgreSQL ${facts.serverVersion}) with ${pgDump} ${dumpVersion.text}`);

  const partial = await BackupFile.create(path.resolve(options.dir), postgresBackupName(facts.database, started));
  let poll: NodeJS.Timeout | undefined;
  let watch: { stop(): Promise<void> } | undefined;
  try {
    // pg_dump writes the file itself (a seekable file gets a table of contents with data offsets, which
    // pg_restore --list and parallel restores rely on); BackupFile has reserved the name exclusively.
    await closeStream(partial.stream);
    progress.phase = 'dumping';
    progress.tableCount = facts.tables;
    progress.tableIndex = 0;
    reportNow();
    poll = setInterval(() => {
      fs.stat(partial.partialPath, (err, st) => {
        if (!err && st.size !== progress.bytes) {
          progress.bytes = st.size;
          report(undefined);
        }
      });
    }, POLL_MS);
    const lockTimeout = checkLockTimeout(options.lockTimeoutSeconds);
    // An application name of its own (the later setting wins in a conninfo), so that the lock it waits for
    // (if any) can be found in pg_locks.
    const appName = `exit-plan pg_dump ${randomBytes(6).toString('hex')}`;
    const args = ['--format=custom', '--verbose', '--no-password', `--file=${partial.partialPath}`, `--dbname=${conninfo(conn)} application_name=${conninfoValue(appName)}`];
    if (lockTimeout > 0) args.push(`--lock-wait-timeout=${Math.round(lockTimeout * 1000)}`);
    watch = watchLockWait(conn, appName, () => (progress.tableIndex ?? 0) === 0, (wait) => {
      if (wait?.table === progress.waitingFor?.table && wait?.pid === progress.waitingFor?.pid) return;
      progress.waitingFor = wait;
      if (wait) log(`pg_dump is waiting for a lock on ${wait.table}, held by session ${wait.pid} (${wait.application || 'no application name'}, ${wait.state})`);
      reportNow();
    });
    const result = await runTool(pgDump, args, {
      env: toolEnv(conn),
      signal: options.signal,
      onStderrLine: (line) => {
        const m = /dumping contents of table "(.*)"$/.exec(line);
        if (m) {
          progress.waitingFor = undefined;
          progress.tableIndex = (progress.tableIndex ?? 0) + 1;
          progress.tableCount = Math.max(progress.tableCount ?? 0, progress.tableIndex);
          progress.table = m[1];
          report(undefined);
        }
      },
    });
    clearInterval(poll);
    await watch.stop();
    progress.waitingFor = undefined;
    if (result.code !== 0 || result.signal) {
      const locked = lockedTable(result.stderrTail);
      if (locked) throw new ExitPlanError(await lockTimeoutSentence(conn, locked, lockTimeout, 'pg_dump'));
      throw new ExitPlanError(explainDumpFailure(toolFailure('pg_dump', result), conn));
    }
    throwIfAborted(options.signal);
    await partial.closed();

    progress.phase = 'checksum';
    progress.bytes = 0;
    reportNow();
    const { sha256, bytes } = await hashFile(partial.partialPath, {
      signal: options.signal,
      onBytes: (b) => {
        progress.bytes = b;
        report(undefined);
      },
    });
    throwIfAborted(options.signal);
    const { file, sidecar } = await partial.commit(
      (target): Sidecar => ({
        ...newSidecar(target, 'postgres', { bytes, sha256, started }),
        postgres: {
          connection: describeConnection(conn),
          database: facts.database,
          serverVersion: facts.serverVersion,
          pgDumpVersion: dumpVersion.text,
        },
      }),
    );
    progress.phase = 'done';
    progress.bytes = bytes;
    reportNow();
    log(`Backup written: ${file} (${bytes} bytes, sha256 ${sha256})`);
    return { file, kind: 'postgres', bytes, sha256, sidecar, durationMs: Date.now() - started.getTime() };
  } catch (err) {
    if (poll) clearInterval(poll);
    await watch?.stop();
    const removed = await partial.discard().then(() => true, () => false);
    throw backupError(err, partial.partialPath, removed, options.signal);
  }
}

/** Server version, database name and a count of tables with rows to dump (for "table i of n"). */
async function serverFacts(conn: PgConnectionOptions): Promise<{ serverVersion: string; serverVersionNum: number; database: string; tables: number }> {
  const client = await connect(conn).catch((err: unknown) => {
    throw new ExitPlanError(`${describePgError(err, conn).message.replace(/\.$/, '')}; no backup was written.`, systemCode(err), { cause: err });
  });
  try {
    const r = await client.query<{ v: string; n: string; db: string; tables: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, current_database() AS db,
              (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'r' AND ${SYSTEM_SCHEMA_FILTER}
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))::text AS tables`,
    );
    const row = r.rows[0];
    return { serverVersion: row.v.split(' ')[0], serverVersionNum: Number(row.n), database: row.db, tables: Number(row.tables) };
  } catch (err) {
    throw describePgError(err, conn);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const LOCK_POLL_MS = 1000;

/**
 * While `active()`, asks the server every second (on a connection of its own, opened on first use) whether
 * the session named `appName` waits for a table's lock, and which session holds it. Best effort: a failing
 * query only ends the watch.
 */
export function watchLockWait(conn: PgConnectionOptions, appName: string, active: () => boolean, onChange: (wait: LockWait | undefined) => void): { stop(): Promise<void> } {
  let stopped = false;
  let client: Awaited<ReturnType<typeof connect>> | undefined;
  let running: Promise<void> = Promise.resolve();
  const check = async () => {
    if (stopped || !active()) return;
    client ??= await connect(conn);
    const r = await client.query<{ rel: string; pid: number; app: string; state: string }>(
      `SELECT format('%I.%I', n.nspname, c.relname) AS rel, b.pid, b.application_name AS app, coalesce(b.state, '') AS state
         FROM pg_stat_activity w
         JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted AND l.locktype = 'relation'
         JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
         CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid)
         JOIN pg_stat_activity b ON b.pid = blocker.pid
        WHERE w.application_name = $1
        ORDER BY b.pid LIMIT 1`,
      [appName],
    );
    const row = r.rows[0];
    if (!stopped) onChange(row ? { table: row.rel, pid: row.pid, application: row.app, state: row.state } : undefined);
  };
  const timer = setInterval(() => {
    running = running.then(check).catch(() => {
      clearInterval(timer);
    });
  }, LOCK_POLL_MS);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}

/** Seconds from `--lock-timeout` (default 60; 0: no limit), or one sentence. */
export function checkLockTimeout(seconds: number | undefined): number {
  const value = seconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS;
  if (!Number.isFinite(value) || value < 0) throw new ExitPlanError(`The lock timeout must be a number of seconds from 0 up (0: wait for ever), not ${seconds}.`);
  return value;
}

/** The table in pg_dump's lock wait timeout message (`Query was: LOCK TABLE public."t" IN ACCESS SHARE MODE`). */
function lockedTable(stderr: readonly string[]): string | undefined {
  const text = stderr.join('\n');
  if (!/due to (statement|lock) timeout|could not obtain lock/i.test(text)) return undefined;
  return /LOCK TABLE (?:ONLY )?(.+?) IN ACCESS SHARE MODE/.exec(text)?.[1] ?? /could not obtain lock on relation "(.*)"/.exec(text)?.[1];
}

/**
 * One sentence for a lock wait that timed out: the table (when not known, the table another session holds
 * ACCESS EXCLUSIVE, which blocks any read) and that session, asked on a new connection (best effort).
 */
export async function lockTimeoutSentence(conn: PgConnectionOptions, table: string | undefined, seconds: number, who: string): Promise<string> {
  let holder = '';
  let name = table;
  const client = await connect(conn).catch(() => undefined);
  if (client) {
    try {
      const r = await client.query<{ pid: number; app: string; state: string; rel: string }>(
        `SELECT a.pid, a.application_name AS app, a.state, format('%I.%I', n.nspname, c.relname) AS rel
           FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
           JOIN pg_class c ON c.oid = l.relation JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock' AND a.pid <> pg_backend_pid()
            AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND ($1::text IS NULL OR l.relation = to_regclass($1))
          ORDER BY a.pid LIMIT 1`,
        [table ?? null],
      );
      const h = r.rows[0];
      if (h) {
        name ??= h.rel;
        holder = ` by session ${h.pid}${h.app ? ` (${h.app})` : ''}${h.state ? `, ${h.state}` : ''}`;
      }
    } catch {
      // Only a detail of the sentence.
    } finally {
      await client.end().catch(() => undefined);
    }
  }
  return `${name ? `Table ${name} is` : 'A table is'} locked${holder}: ${who} waited ${seconds} s for it (--lock-timeout) and gave up`;
}

/** Sentences for the pg_dump failures people meet most. */
function explainDumpFailure(message: string, conn: PgConnectionOptions): string {
  if (/no password supplied/i.test(message)) {
    return `PostgreSQL asked pg_dump for a password for user "${conn.user}" and none was given (set PGPASSWORD, or save the password with the connection)`;
  }
  if (/permission denied/i.test(message)) {
    return `${message} (user "${conn.user}" needs to read every table, sequence and schema to back up the whole database)`;
  }
  return message;
}

function closeStream(stream: fs.WriteStream): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end(() => resolve());
  });
}

/** One sentence: what went wrong and that nothing half-written was left under a final name. */
export function backupError(err: unknown, partialPath: string, removed: boolean, signal?: AbortSignal): ExitPlanError {
  if (err instanceof CommitError) return err;
  const tail = removed ? 'no backup was written and the partial file was removed' : `no backup was written, but the partial file ${partialPath} could not be removed`;
  if (err instanceof CancelledError || signal?.aborted) return new CancelledError(`Backup cancelled; ${tail}.`);
  const sentence = (err instanceof ExitPlanError ? err.message : describeWriteError(err, partialPath)) ?? (err instanceof Error ? err.message : String(err));
  return new ExitPlanError(`${sentence.replace(/[.;]\s*$/, '')}; ${tail}.`, systemCode(err), { cause: err });
}
