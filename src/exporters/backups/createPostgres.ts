import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, describeWriteError, systemCode, throwIfAborted } from '../shared/errors';
import { formatBytes, formatCount, throttle } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../shared/lockTimeout';
import { SYSTEM_SCHEMA_FILTER } from '../warehouse/catalog';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from '../postgres/connection';
import { describeLockWait, findLockHolder, lockTimeoutText, watchApplication, type LockWait } from '../warehouse/locks';
import { postgresBackupName, type BackupKind } from './names';
import {
  checkPgDumpVersion,
  conninfo,
  conninfoValue,
  findPgTool,
  runTool,
  toolEnv,
  toolFailure,
  toolVersion,
  type PgToolsOptions,
} from './pgTools';
import { commitWithSidecar, createBackupFile } from './backupFile';
import { CommitError } from '../shared/partialFile';
import { hashFile } from '../shared/hashFile';
import { newSidecar, type Sidecar } from './sidecar';

export interface BackupProgress {
  /** `running`: a command backup's command is running (its name in `command`). */
  phase: 'connecting' | 'dumping' | 'archiving' | 'running' | 'checksum' | 'done';
  /** Bytes of the backup file written (or hashed, in `checksum`). */
  bytes: number;
  /** Command backups: the command's name (`mongo`). */
  command?: string;
  /** pg_dump: the table whose rows are being dumped, 1-based, of about `tableCount`. */
  tableIndex?: number;
  tableCount?: number;
  table?: string;
  /** Files: entries archived so far. */
  entries?: number;
  /** pg_dump is waiting for a table's lock, held by this session (until --lock-timeout). */
  waitingFor?: LockWait;
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
  /** Command backups: the command's name. */
  command?: string;
}

export interface PostgresBackupOptions extends PgToolsOptions, OperationOptions<BackupProgress> {
  connection: PgConnectionOptions;
  /** The backup folder; created if missing. */
  dir: string;
  /** How long pg_dump waits for a table's lock before it gives up (`--lock-wait-timeout`); 0 waits for ever. Default 60. */
  lockTimeoutSeconds?: number;
}

/**
 * The one line of progress of a backup (create and create-files), for the CLI's progress line and VS Code's
 * notification: `pg_dump: table 3/12 public.orders — 41 MB written`, `Archiving — 1,204 entries, 3.1 MB written`.
 */
export function describeBackupProgress(p: BackupProgress): string {
  switch (p.phase) {
    case 'connecting':
      return 'Connecting…';
    case 'dumping':
      if (p.waitingFor) return `pg_dump: ${describeLockWait(p.waitingFor)}…`;
      return `pg_dump: table ${p.tableIndex ?? 0}/${p.tableCount ?? '?'} ${p.table ?? ''} — ${formatBytes(p.bytes)} written`;
    case 'archiving':
      return `Archiving — ${formatCount(p.entries ?? 0)} entries, ${formatBytes(p.bytes)} written`;
    case 'running':
      return `Running ${p.command ?? 'the command'} — ${formatBytes(p.bytes)} written`;
    case 'checksum':
      return `Checksum — ${formatBytes(p.bytes)} read`;
    case 'done':
      return 'Done';
  }
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

  const partial = await createBackupFile(path.resolve(options.dir), postgresBackupName(facts.database, started), log);
  let poll: NodeJS.Timeout | undefined;
  let watch: { stop(): Promise<void> } | undefined;
  try {
    // pg_dump writes the file itself (a seekable file gets a table of contents with data offsets, which
    // pg_restore --list and parallel restores rely on); the partial file has reserved the name exclusively.
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
    const lockTimeout = checkLockTimeout(options.lockTimeoutSeconds ?? DEFAULT_LOCK_TIMEOUT_SECONDS);
    // An application name of its own (the later setting wins in a conninfo), so that the lock it waits for
    // (if any) can be found in pg_locks.
    const appName = `exit-plan pg_dump ${randomBytes(6).toString('hex')}`;
    const args = [
      '--format=custom',
      '--verbose',
      '--no-password',
      `--file=${partial.partialPath}`,
      `--dbname=${conninfo(conn)} application_name=${conninfoValue(appName)}`,
    ];
    if (lockTimeout > 0) args.push(`--lock-wait-timeout=${Math.round(lockTimeout * 1000)}`);
    let lastWait: LockWait | undefined;
    watch = watchApplication(conn, appName, (wait) => {
      // pg_dump takes its locks before it dumps the first table; later waits are not for a lock of its own.
      if ((progress.tableIndex ?? 0) > 0) return;
      progress.waitingFor = wait;
      if (wait) {
        lastWait = wait;
        log(`pg_dump: ${describeLockWait(wait)}`);
      }
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
      if (locked) throw new ExitPlanError(`${lockTimeoutText(lockTimeout, lastWait ?? (await findLockHolder(conn, locked)))}`, '55P03');
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
    const { file, sidecar } = await commitWithSidecar(partial, (target): Sidecar => ({
      ...newSidecar(target, 'postgres', { bytes, sha256, started }),
      postgres: {
        connection: describeConnection(conn),
        database: facts.database,
        serverVersion: facts.serverVersion,
        pgDumpVersion: dumpVersion.text,
      },
    }));
    progress.phase = 'done';
    progress.bytes = bytes;
    reportNow();
    log(`Backup written: ${file} (${bytes} bytes, sha256 ${sha256})`);
    return { file, kind: 'postgres', bytes, sha256, sidecar, durationMs: Date.now() - started.getTime() };
  } catch (err) {
    if (poll) clearInterval(poll);
    await watch?.stop();
    const removed = await partial.discard().then(
      () => true,
      () => false,
    );
    throw backupError(err, partial.partialPath, removed, options.signal);
  }
}

/** Server version, database name and a count of tables with rows to dump (for "table i of n"). */
async function serverFacts(
  conn: PgConnectionOptions,
): Promise<{ serverVersion: string; serverVersionNum: number; database: string; tables: number }> {
  const client = await connect(conn).catch((err: unknown) => {
    throw new ExitPlanError(`${describePgError(err, conn).message.replace(/\.$/, '')}; no backup was written.`, systemCode(err), {
      cause: err,
    });
  });
  try {
    const r = await client.query<{ v: string; n: string; db: string; tables: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n, current_database() AS db,
              (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind = 'r' AND ${SYSTEM_SCHEMA_FILTER}
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'))::text AS tables`,
    );
    const row = r.rows[0];
    return { serverVersion: row.v.split(' ')[0], serverVersionNum: Number(row.n), database: row.db, tables: Number(row.tables) };
  } catch (err) {
    throw describePgError(err, conn);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The table in pg_dump's lock wait timeout message (`Query was: LOCK TABLE public."t" IN ACCESS SHARE MODE`). */
function lockedTable(stderr: readonly string[]): string | undefined {
  const text = stderr.join('\n');
  if (!/due to (statement|lock) timeout|could not obtain lock/i.test(text)) return undefined;
  return /LOCK TABLE (?:ONLY )?(.+?) IN ACCESS SHARE MODE/.exec(text)?.[1] ?? /could not obtain lock on relation "(.*)"/.exec(text)?.[1];
}

/** Sentences for the pg_dump failures people meet most. */
function explainDumpFailure(message: string, conn: PgConnectionOptions): string {
  if (/no password supplied/i.test(message)) {
    return (
      `PostgreSQL asked pg_dump for a password for user "${conn.user}" and none was given ` +
      `(set PGPASSWORD, or save the password with the connection)`
    );
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
  const tail = removed
    ? 'no backup was written and the partial file was removed'
    : `no backup was written, but the partial file ${partialPath} could not be removed`;
  if (err instanceof CancelledError || signal?.aborted) return new CancelledError(`Backup cancelled; ${tail}.`);
  const sentence =
    (err instanceof ExitPlanError ? err.message : describeWriteError(err, partialPath)) ??
    (err instanceof Error ? err.message : String(err));
  return new ExitPlanError(`${sentence.replace(/[.;]\s*$/, '')}; ${tail}.`, systemCode(err), { cause: err });
}
