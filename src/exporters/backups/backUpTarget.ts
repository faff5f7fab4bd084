import * as path from 'node:path';
import { ExitPlanError, throwIfAborted } from '../shared/errors';
import { plural } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { describeConnection, type PgConnectionOptions } from '../postgres/connection';
import { createCommandBackup } from './createCommand';
import { createFilesBackup } from './createFiles';
import { createPostgresBackup, describeBackupProgress, type BackupProgress, type BackupResult } from './createPostgres';
import type { PgToolsOptions } from './pgTools';
import type { BackupTarget } from './targets';
import { describeVerifyProgress, verifyBackup, type VerifyProgress, type VerifyResult } from './verify';

/** Where a target's backup is: step `index` (1-based) of `count` (each backup, then each verification). */
export interface TargetBackupProgress {
  step: 'database' | 'folder' | 'command' | 'verifying';
  index: number;
  count: number;
  /** The database (`user@host:port/database`), the folder's path, the command's name, or the backup's file name (verifying). */
  label: string;
  /** The backup's own progress (pg_dump or tar), once it has started. */
  backup?: BackupProgress;
  /** The verification's progress, once it has started. */
  verify?: VerifyProgress;
}

export interface TargetBackupOptions extends PgToolsOptions, OperationOptions<TargetBackupProgress> {
  /** The target: its name (for messages), folder, folders of files, commands, gzip, and what stops it (`blocking`). */
  target: Pick<BackupTarget, 'name' | 'dir' | 'folders' | 'gzip' | 'blocking'> & Partial<Pick<BackupTarget, 'commands'>>;
  /** Added to the environment of the target's commands (their secrets; never in their `cmd`). */
  commandEnv?: Record<string, string>;
  /** The database to back up first, if any; called when its backup starts (a caller may read a password then). */
  database?: () => PgConnectionOptions | Promise<PgConnectionOptions>;
  /** How long pg_dump waits for a table's lock (`--lock-wait-timeout`); 0 waits for ever. */
  lockTimeoutSeconds?: number;
  /** Verify each backup once all are written (recorded in its sidecar). */
  verify?: boolean;
  /** Each backup as soon as it is written (before the next one starts). */
  onBackup?: (result: BackupResult) => void;
}

export interface TargetBackupResult {
  /** The backups written: the database's first, then one per folder, then one per command. */
  backups: BackupResult[];
  /** With `verify`: each backup's verification, in the same order. */
  verifications: VerifyResult[];
  /** Every backup was written and (with `verify`) verified. */
  ok: boolean;
  /** One sentence: what was written, or the first backup that failed verification and why. */
  message: string;
}

/**
 * Backs up everything a target holds: its database first (pg_dump), then each of its folders (tar), then each
 * of its commands (`sh -c`, e.g. mongodump), each into the target's folder with its sidecar; then, if asked,
 * verifies each (a command's backup with its `verifyCmd`, when it has one). A backup that fails verification
 * is a partial outcome (`ok: false`, the others stay); a backup that cannot be written throws, and what was
 * written before it stays.
 */
export async function backUpTarget(options: TargetBackupOptions): Promise<TargetBackupResult> {
  const { target, signal } = options;
  if (target.blocking.length > 0) throw new ExitPlanError(target.blocking[0]);
  const commands = target.commands ?? [];
  const made = (options.database ? 1 : 0) + target.folders.length + commands.length;
  const count = made * (options.verify ? 2 : 1);
  let index = 0;
  const progress = (step: TargetBackupProgress['step'], label: string) => {
    const at = ++index;
    options.onProgress?.({ step, index: at, count, label });
    return {
      backup: (p: BackupProgress) => options.onProgress?.({ step, index: at, count, label, backup: p }),
      verify: (p: VerifyProgress) => options.onProgress?.({ step, index: at, count, label, verify: p }),
    };
  };
  const backups: BackupResult[] = [];
  const done = (result: BackupResult) => {
    backups.push(result);
    options.onBackup?.(result);
  };

  if (options.database) {
    const connection = await options.database();
    const report = progress('database', describeConnection(connection));
    done(
      await createPostgresBackup({
        connection,
        dir: target.dir,
        pgDumpPath: options.pgDumpPath,
        lockTimeoutSeconds: options.lockTimeoutSeconds,
        signal,
        log: options.log,
        onProgress: report.backup,
      }),
    );
  }
  for (const folder of target.folders) {
    const report = progress('folder', folder.path);
    done(
      await createFilesBackup({
        source: folder.path,
        name: folder.name,
        dir: target.dir,
        gzip: target.gzip,
        signal,
        log: options.log,
        onProgress: report.backup,
      }),
    );
  }
  for (const command of commands) {
    const report = progress('command', command.name);
    done(
      await createCommandBackup({
        name: command.name,
        cmd: command.cmd,
        extension: command.extension,
        dir: target.dir,
        timeoutMs: command.timeout?.ms,
        env: options.commandEnv,
        verifyCmd: command.verifyCmd,
        restoreCmd: command.restoreCmd,
        signal,
        log: options.log,
        onProgress: report.backup,
      }),
    );
  }

  const verifications: VerifyResult[] = [];
  if (options.verify) {
    for (const result of backups) {
      throwIfAborted(signal);
      const report = progress('verifying', path.basename(result.file));
      const v = await verifyBackup(result.file, {
        pgDumpPath: options.pgDumpPath,
        commands,
        commandEnv: options.commandEnv,
        signal,
        log: options.log,
        onProgress: report.verify,
      });
      options.log?.(`Verified ${result.file}: ${v.state}, ${v.message}`);
      verifications.push(v);
    }
  }
  const failed = verifications.find((v) => v.state !== 'verified');
  return {
    backups,
    verifications,
    ok: !failed,
    message: failed
      ? `The backup ${failed.name} was written but failed verification: ${failed.message}`
      : `${plural(backups.length, 'backup')} written${options.verify ? ' and verified' : ''}.`,
  };
}

/** A target backup's progress line: the backup's or the verification's own, or the step it starts. */
export function describeTargetBackupProgress(p: TargetBackupProgress): string {
  if (p.backup) return describeBackupProgress(p.backup);
  if (p.verify) return describeVerifyProgress(p.verify);
  if (p.step === 'database') return `Connecting to ${p.label}…`;
  if (p.step === 'folder') return `Archiving ${p.label}…`;
  if (p.step === 'command') return `Running ${p.label}…`;
  return `Verifying ${p.label}…`;
}

/** The share of a target's backup done (0..1): steps done, plus the share of a verification read. */
export function targetBackupProgressFraction(p: TargetBackupProgress): number {
  const share = p.verify && p.verify.total > 0 ? p.verify.bytes / p.verify.total : 0;
  return Math.min(1, (p.index - 1 + share) / Math.max(1, p.count));
}
