import * as path from 'node:path';
import { CancelledError, ExitPlanError, systemCode, throwIfAborted } from '../shared/errors';
import { formatBytes, lowerFirst, plural } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { listRelations } from '../warehouse/catalog';
import { connect, describeConnection, describePgError, type PgConnectionOptions } from '../postgres/connection';
import { parseBackupName } from './names';
import {
  conninfo,
  findPgTool,
  majorKey,
  majorText,
  parseToolVersion,
  runTool,
  toolEnv,
  toolFailure,
  toolVersion,
  type PgToolsOptions,
} from './pgTools';
import { readSidecar } from './sidecar';
import { runBackupCommand } from './createCommand';
import { verifyBackup, type VerifyResult } from './verify';

export interface TargetTable {
  schema: string;
  name: string;
  kind: string;
  estimatedRows: number;
  sizeBytes: number;
}

/** What a restore would replace, and proof that the backup is sound. */
export interface RestorePreflight {
  file: string;
  verification: VerifyResult;
  target: {
    /** `user@host:port/database` */
    connection: string;
    database: string;
    serverVersion: string;
    sizeBytes: number;
    tables: TargetTable[];
  };
}

export interface RestoreProgress {
  phase: 'verifying' | 'inspecting' | 'restoring' | 'done';
  /** Tables whose rows have been loaded so far. */
  tables: number;
  table?: string;
  /** While verifying: bytes read of `total`. */
  bytes?: number;
  total?: number;
}

/** A restore's progress line (the CLI's): `Verifying — 41 MB`, `Restoring — 3 tables loaded, public.orders`. */
export function describeRestoreProgress(p: RestoreProgress): string {
  if (p.phase === 'verifying') return `Verifying — ${formatBytes(p.bytes ?? 0)}`;
  if (p.phase === 'restoring') return `Restoring — ${plural(p.tables, 'table')} loaded${p.table ? `, ${p.table}` : ''}`;
  return p.phase;
}

/** A pre-flight's progress line: `Verifying — 41 MB of 120 MB`, then `Listing the tables it would replace…`. */
export function describePreflightProgress(p: RestoreProgress): string {
  return p.phase === 'verifying'
    ? `Verifying — ${formatBytes(p.bytes ?? 0)} of ${formatBytes(p.total ?? 0)}`
    : 'Listing the tables it would replace…';
}

/** The share of a pre-flight's verification done (0..1), when its size is known. */
export function preflightProgressFraction(p: RestoreProgress): number | undefined {
  return p.phase === 'verifying' && p.total ? (p.bytes ?? 0) / p.total : undefined;
}

export interface PreflightOptions extends PgToolsOptions, OperationOptions<RestoreProgress> {}

/**
 * Before a restore: verifies the backup (refusing one that fails) and lists what the target database
 * holds now (its tables and size), which the restore would replace. Changes nothing but the sidecar's
 * verification record.
 */
export async function preflightRestore(
  file: string,
  connection: PgConnectionOptions,
  options: PreflightOptions = {},
): Promise<RestorePreflight> {
  const abs = path.resolve(file);
  const parsed = parseBackupName(path.basename(abs));
  if (parsed?.kind === 'files') {
    throw new ExitPlanError(
      `${path.basename(abs)} is an archive of files, not a database: extract it with tar -xf "${abs}" -C <folder>; nothing was changed.`,
    );
  }
  if (parsed?.kind === 'command') {
    throw new ExitPlanError(
      `${path.basename(abs)} was written by the command "${parsed.source}", not by pg_dump: ` +
        'restore it with its restore command (--restore-cmd); nothing was changed.',
    );
  }
  options.onProgress?.({ phase: 'verifying', tables: 0, bytes: 0 });
  const verification = await verifyBackup(abs, {
    ...options,
    onProgress: (p) => options.onProgress?.({ phase: 'verifying', tables: 0, bytes: p.bytes, total: p.total }),
  });
  if (!verification.checked) throw new ExitPlanError(verification.message);
  if (verification.state !== 'verified') {
    throw new ExitPlanError(
      `The backup ${verification.name} failed verification and will not be restored: ${verification.message.replace(/\.$/, '')}; nothing was changed.`,
    );
  }
  throwIfAborted(options.signal);
  options.onProgress?.({ phase: 'inspecting', tables: 0 });
  const client = await connect(connection).catch((err: unknown) => {
    throw new ExitPlanError(`${describePgError(err, connection).message.replace(/\.$/, '')}; nothing was changed.`, systemCode(err), {
      cause: err,
    });
  });
  try {
    const facts = await client.query<{ v: string; size: string }>(
      `SELECT current_setting('server_version') AS v, pg_database_size(current_database())::text AS size`,
    );
    const tables = (await listRelations(client, { includeViews: true })).map((r) => ({
      schema: r.schema,
      name: r.name,
      kind: r.kind,
      estimatedRows: r.estimatedRows,
      sizeBytes: r.sizeBytes,
    }));
    return {
      file: abs,
      verification,
      target: {
        connection: describeConnection(connection),
        database: connection.database,
        serverVersion: facts.rows[0].v.split(' ')[0],
        sizeBytes: Number(facts.rows[0].size),
        tables,
      },
    };
  } catch (err) {
    throw describePgError(err, connection);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export interface RestoreOptions extends PreflightOptions {
  file: string;
  connection: PgConnectionOptions;
  /**
   * The target database's name, typed (or given with --yes) by the user: a restore replaces its
   * contents, so without the exact name nothing happens.
   */
  confirmDatabase: string | undefined;
}

export interface RestoreResult {
  file: string;
  /** `user@host:port/database` */
  target: string;
  tables: number;
  durationMs: number;
  preflight: RestorePreflight;
}

/**
 * Restores a PostgreSQL backup over a database: pre-flight first (a backup that fails verification is
 * refused), then `pg_restore --clean --if-exists --no-owner --no-acl` in one transaction, so a failure
 * or cancel leaves the database as it was. Refuses, changing nothing, unless `confirmDatabase` is the
 * target database's exact name.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const { connection } = options;
  if (options.confirmDatabase !== connection.database) {
    throw new ExitPlanError(
      `Restoring replaces the contents of database "${connection.database}" on ${connection.host}:${connection.port}, ` +
        `so it needs that name as confirmation; nothing was changed.`,
      'NOT_CONFIRMED',
    );
  }
  const started = Date.now();
  const preflight = await preflightRestore(options.file, connection, options);
  throwIfAborted(options.signal, 'Restore cancelled; nothing was changed.');
  const pgRestore = await checkedPgRestore(preflight.file, options);
  const log = options.log ?? (() => undefined);
  log(
    `Restoring ${preflight.file} into ${describeConnection(connection)} (it holds ${preflight.target.tables.length} relation(s) now) ` +
      `with ${pgRestore}`,
  );
  let tables = 0;
  const report = (table?: string) => options.onProgress?.({ phase: 'restoring', tables, table });
  report();
  const args = [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--no-acl',
    '--single-transaction',
    '--exit-on-error',
    '--no-password',
    '--verbose',
    `--dbname=${conninfo(connection)}`,
    preflight.file,
  ];
  let result;
  try {
    result = await runTool(pgRestore, args, {
      env: toolEnv(connection),
      signal: options.signal,
      onStderrLine: (line) => {
        const m = /processing data for table "(.*)"$/.exec(line);
        if (m) {
          tables++;
          report(m[1]);
        }
      },
    });
  } catch (err) {
    if (err instanceof CancelledError)
      throw new CancelledError(`Restore cancelled; it ran in one transaction, so database "${connection.database}" was left as it was.`);
    throw err;
  }
  if (result.code !== 0 || result.signal) {
    throw new ExitPlanError(
      `${explainRestoreFailure(toolFailure('pg_restore', result))}; the restore ran in one transaction, ` +
        `so database "${connection.database}" was left as it was.`,
    );
  }
  options.onProgress?.({ phase: 'done', tables });
  log(`Restored ${tables} table(s) into ${describeConnection(connection)}`);
  return { file: preflight.file, target: describeConnection(connection), tables, durationMs: Date.now() - started, preflight };
}

/** pg_restore, checked to be at least as new as the pg_dump that wrote the backup. */
export async function checkedPgRestore(file: string, options: PgToolsOptions): Promise<string> {
  const pgRestore = findPgTool('pg_restore', options);
  const sidecar = await readSidecar(file).catch(() => undefined);
  const dumpedWith = sidecar?.postgres?.pgDumpVersion ? parseToolVersion(`(PostgreSQL) ${sidecar.postgres.pgDumpVersion}`) : undefined;
  if (dumpedWith) {
    const restoreVersion = await toolVersion(pgRestore);
    if (majorKey(restoreVersion.num) < majorKey(dumpedWith.num)) {
      throw new ExitPlanError(
        `pg_restore ${restoreVersion.text} (${pgRestore}) cannot read a backup written by pg_dump ${dumpedWith.text}: ` +
          `install the PostgreSQL ${majorText(dumpedWith.num)} client tools or newer; nothing was changed.`,
      );
    }
  }
  return pgRestore;
}

function explainRestoreFailure(message: string): string {
  if (/max_locks_per_transaction/i.test(message)) {
    return `${message} (the restore runs in one transaction and needs a lock per table: raise max_locks_per_transaction on the server)`;
  }
  if (/no password supplied/i.test(message))
    return 'PostgreSQL asked pg_restore for a password and none was given (set PGPASSWORD, or save the password with the connection)';
  return message;
}

const POSTGRES_HINT = 'a PostgreSQL backup: restore it with --db';
const FILES_HINT = 'an archive of files: extract it with tar';

export interface CommandRestoreOptions extends OperationOptions<RestoreProgress> {
  file: string;
  /**
   * Shell command (`sh -c`, own process group, `$BACKUP_PATH` set to the backup) that restores it, e.g.
   * `mongorestore --drop --archive="$BACKUP_PATH" --gzip`. From the target's definition or the CLI's flag,
   * never from the sidecar. The caller has asked for confirmation (the CLI's --yes, VS Code's typed one).
   */
  restoreCmd: string;
  /** Run after the checksum, before the restore (as `backups verify` does): a backup it rejects is not restored. */
  verifyCmd?: string;
  /** Stop the verify and the restore command's process group after this long. */
  timeoutMs?: number;
  /** Added to both commands' environment (their secrets). */
  env?: Record<string, string>;
  cwd?: string;
}

export interface CommandRestoreResult {
  file: string;
  /** The pre-flight's verification (checksum, then the verify command if given). */
  verification: VerifyResult;
  durationMs: number;
  message: string;
}

/**
 * Restores a command backup through its restore command, after the same pre-flight as a PostgreSQL restore:
 * the sidecar's checksum and the verify command (when given); a backup that fails either is refused and
 * nothing is run. What the restore command changes is its own business: if it fails, the sentence says so
 * and that the service may be partly restored (unlike pg_restore's single transaction, nothing rolls it back).
 */
export async function restoreCommandBackup(options: CommandRestoreOptions): Promise<CommandRestoreResult> {
  const started = Date.now();
  const abs = path.resolve(options.file);
  const name = path.basename(abs);
  const parsed = parseBackupName(name);
  if (!parsed || parsed.kind !== 'command') {
    throw new ExitPlanError(
      parsed
        ? `${name} is ${parsed.kind === 'postgres' ? POSTGRES_HINT : FILES_HINT}, ` + 'not with a restore command; nothing was changed.'
        : `${abs} is not a command backup made by Exit Plan (<name>_backup__<time>.<extension>); nothing was changed.`,
    );
  }
  const restoreCmd = options.restoreCmd.trim();
  if (restoreCmd === '') throw new ExitPlanError(`No restore command was given for ${name}; nothing was changed.`);
  options.onProgress?.({ phase: 'verifying', tables: 0, bytes: 0 });
  const verification = await verifyBackup(abs, {
    verifyCmd: options.verifyCmd,
    commandTimeoutMs: options.timeoutMs,
    commandEnv: options.env,
    signal: options.signal,
    log: options.log,
    onProgress: (p) => options.onProgress?.({ phase: 'verifying', tables: 0, bytes: p.bytes, total: p.total }),
  });
  if (!verification.checked) throw new ExitPlanError(`${verification.message.replace(/\.$/, '')}; nothing was changed.`);
  if (verification.state !== 'verified') {
    throw new ExitPlanError(
      `The backup ${name} failed verification and will not be restored: ${verification.message.replace(/\.$/, '')}; nothing was changed.`,
    );
  }
  throwIfAborted(options.signal, 'Restore cancelled; nothing was changed.');
  options.onProgress?.({ phase: 'restoring', tables: 0 });
  let run;
  try {
    run = await runBackupCommand('the restore command', restoreCmd, {
      backupPath: abs,
      env: options.env,
      cwd: options.cwd,
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      log: options.log,
    });
  } catch (err) {
    if (err instanceof CancelledError) {
      throw new CancelledError(`Restore of ${name} cancelled while its restore command ran (stopped): the service may be partly restored.`);
    }
    throw err;
  }
  if (!run.ok) throw new ExitPlanError(`${run.failure!} while restoring ${name}: the service may be partly restored.`);
  options.onProgress?.({ phase: 'done', tables: 0 });
  const message = `Restored ${name} with its restore command, after verification (${lowerFirst(verification.message.replace(/\.$/, ''))}).`;
  options.log?.(message);
  return { file: abs, verification, durationMs: Date.now() - started, message };
}
