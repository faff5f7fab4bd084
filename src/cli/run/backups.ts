// `exit-plan backups …` as it runs: a thin layer over src/exporters/backups, one function per command.
// The commands, flags and help are in ../backups.ts. Each command imports the parts of the core it uses when it
// runs (pg for a database, tar for files, croner for a schedule), so `backups list` and `backups rotate`, which
// cron runs after every backup, load none of them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TargetBackupOptions } from '../../exporters/backups/backUpTarget';
import { listBackups } from '../../exporters/backups/list';
import { groupLabel } from '../../exporters/backups/names';
import { applyRotation, previewRotation } from '../../exporters/backups/rotate';
import { COUNT_RULES, checkPolicy, describePolicy, ruleFlag, type RotationPolicy } from '../../exporters/backups/rotation';
import type { PgConnectionOptions } from '../../exporters/postgres/connection';
import { ExitPlanError } from '../../exporters/shared/errors';
import { formatBytes, formatCount, jsonText, plural, printable } from '../../exporters/shared/format';
import { ProgressLine, withCancelOnSignals } from './common';

/** `backups create`: one database with pg_dump. */
export async function create(opts: {
  db?: string;
  dir: string;
  pgDump?: string;
  lockTimeout: number;
  verify?: boolean;
  json?: boolean;
  quiet?: boolean;
}): Promise<void> {
  const { connectionOption } = await import('./db.js');
  return createAndPrint(opts, {
    target: { name: opts.dir, dir: opts.dir, folders: [], gzip: false, blocking: [] },
    database: () => connectionOption(opts.db),
    lockTimeoutSeconds: opts.lockTimeout,
  });
}

/** `backups create-files`: one folder as a tar. */
export function createFiles(opts: {
  source: string;
  name: string;
  dir: string;
  gzip?: boolean;
  verify?: boolean;
  json?: boolean;
  quiet?: boolean;
}): Promise<void> {
  return createAndPrint(opts, {
    target: {
      name: opts.dir,
      dir: opts.dir,
      folders: [{ name: opts.name, path: opts.source }],
      gzip: Boolean(opts.gzip),
      blocking: [],
    },
  });
}

/** `backups create-command`: what a shell command writes (to stdout or to $OUTPUT_PATH). */
export async function createCommand(opts: {
  name: string;
  cmd: string;
  extension: string;
  dir: string;
  verifyCmd?: string;
  verify?: boolean;
  timeout?: string;
  json?: boolean;
  quiet?: boolean;
}): Promise<void> {
  const { parseCommandTimeout } = await import('../../exporters/backups/targets.js');
  const timeout = opts.timeout !== undefined ? parseCommandTimeout(opts.timeout) : undefined;
  return createAndPrint(
    { ...opts, verify: opts.verify || opts.verifyCmd !== undefined },
    {
      target: {
        name: opts.dir,
        dir: opts.dir,
        folders: [],
        commands: [{ name: opts.name, cmd: opts.cmd, extension: opts.extension, verifyCmd: opts.verifyCmd, timeout }],
        gzip: false,
        blocking: [],
      },
      logCommands: true,
    },
  );
}

/** `backups list`: the backups in a folder, newest first. */
export async function list(opts: { dir: string; json?: boolean }): Promise<void> {
  const entries = await listBackups(opts.dir);
  if (opts.json) {
    const out = entries.map((e) => ({
      file: e.file,
      name: e.name,
      kind: e.kind,
      source: e.source,
      time: e.time.toISOString(),
      bytes: e.bytes,
      sha256: e.sidecar?.sha256 ?? null,
      state: e.state,
      message: e.stateMessage,
      verifiedAt: e.verifiedAt ?? null,
      drill: e.sidecar?.drill ?? null,
    }));
    process.stdout.write(`${jsonText({ dir: path.resolve(opts.dir), backups: out })}\n`);
    return;
  }
  if (entries.length === 0) {
    process.stdout.write(`No backups in ${path.resolve(opts.dir)}.\n`);
    return;
  }
  for (const e of entries) {
    process.stdout.write(`${stamp(e.time)}  ${formatBytes(e.bytes).padStart(8)}  ${e.state.padEnd(10)}  ${printable(e.name)}\n`);
  }
}

/** `backups rotate`: remove old backups by the rules given (or only show what would go). */
export async function rotate(opts: RotateOpts): Promise<void> {
  const policy = policyOf(opts);
  checkPolicy(policy);
  const plan = opts.dryRun
    ? { ...(await previewRotation(opts.dir, policy)), removed: [] as string[] }
    : await applyRotation(opts.dir, policy);
  if (opts.json) {
    const files = plan.decisions.map((d) => ({
      file: d.item.file,
      name: d.item.name,
      kind: d.item.kind,
      source: d.item.source,
      time: d.item.time.toISOString(),
      bytes: d.item.bytes,
      state: d.item.state,
      action: d.action,
      reasons: d.reasons,
      ...(d.suspect ? { suspect: d.suspect } : {}),
    }));
    const out = {
      dir: path.resolve(opts.dir),
      policy: describePolicy(policy),
      dryRun: Boolean(opts.dryRun),
      files,
      removed: plan.removed,
      summary: plan.summary,
    };
    process.stdout.write(`${jsonText(out)}\n`);
    return;
  }
  process.stdout.write(`Policy: ${describePolicy(policy)}\n`);
  let group = '';
  for (const d of plan.decisions) {
    if (d.item.group !== group) {
      group = d.item.group;
      process.stdout.write(`\n${printable(groupLabel(d.item.kind, d.item.source))}\n`);
    }
    const why = d.action === 'keep' ? `  (${d.reasons.join(', ')})` : '';
    process.stdout.write(
      `  ${d.action.padEnd(6)} ${stamp(d.item.time)}  ${formatBytes(d.item.bytes).padStart(8)}  ${printable(d.item.name)}${why}\n`,
    );
  }
  const s = plan.summary;
  const verb = opts.dryRun ? 'Would remove' : 'Removed';
  const removedCount = opts.dryRun ? s.remove : plan.removed.length;
  process.stdout.write(
    `\n${verb} ${plural(removedCount, 'backup')} (${formatBytes(s.removeBytes)}), keeping ${formatCount(s.keep)}` +
      `${s.suspects ? `, ${plural(s.suspects, 'suspect backup')} flagged` : ''}.\n`,
  );
}

/** `backups verify`: every backup in a folder, or one; a failed one makes it exit 1. */
export async function verify(opts: {
  dir: string;
  file?: string;
  pgDump?: string;
  verifyCmd?: string;
  timeout?: string;
  json?: boolean;
  quiet?: boolean;
}): Promise<void> {
  const { describeVerifyProgress, verifyBackups } = await import('../../exporters/backups/verify.js');
  const { parseCommandTimeout } = await import('../../exporters/backups/targets.js');
  const timeout = opts.timeout !== undefined ? parseCommandTimeout(opts.timeout) : undefined;
  const printer = new ProgressLine(!opts.quiet);
  const results = await withCancelOnSignals((signal) =>
    verifyBackups(opts.dir, {
      files: opts.file ? [path.resolve(opts.dir, opts.file)] : undefined,
      pgDumpPath: opts.pgDump,
      verifyCmd: opts.verifyCmd,
      commandTimeoutMs: timeout?.ms,
      log: opts.quiet || !opts.verifyCmd ? undefined : (line) => logLine(printer, line),
      signal,
      onProgress: (p) => printer.line(p.file, describeVerifyProgress(p)),
    }),
  ).finally(() => printer.end());
  // A --file it could not check at all (not a backup's name, missing) is an error, as it always was.
  if (opts.file && !results[0].checked) throw new ExitPlanError(results[0].message);
  const failed = results.filter((r) => r.state === 'failed');
  if (opts.json) {
    const out = results.map((r) => ({
      file: r.file,
      name: r.name,
      kind: r.kind,
      state: r.state,
      message: r.message,
      bytes: r.bytes,
      at: r.at,
    }));
    process.stdout.write(
      `${jsonText({ dir: path.resolve(opts.dir), results: out, verified: results.length - failed.length, failed: failed.length })}\n`,
    );
  } else {
    if (results.length === 0) process.stdout.write(`No backups in ${path.resolve(opts.dir)}.\n`);
    for (const r of results) process.stdout.write(`${r.state.padEnd(8)}  ${printable(`${r.name}  ${r.message}`)}\n`);
  }
  if (failed.length > 0) {
    throw new ExitPlanError(
      `${formatCount(failed.length)} of ${plural(results.length, 'backup')} failed verification (first: ${failed[0].name}).`,
    );
  }
}

/** `backups restore FILE`: over a database, or (a command backup) through --restore-cmd, with --yes. */
export async function restore(
  file: string,
  opts: {
    db?: string;
    yes?: boolean;
    pgDump?: string;
    restoreCmd?: string;
    verifyCmd?: string;
    timeout?: string;
    json?: boolean;
    quiet?: boolean;
  },
): Promise<void> {
  const { parseBackupName } = await import('../../exporters/backups/names.js');
  const parsed = parseBackupName(path.basename(file));
  if (parsed?.kind === 'command') return restoreCommand(file, opts);
  if (opts.restoreCmd !== undefined || opts.verifyCmd !== undefined) {
    throw new ExitPlanError(
      `${path.basename(file)} is not a command backup: --restore-cmd and --verify-cmd are for <name>_backup__<time>.<extension> files; ` +
        'nothing was changed.',
    );
  }
  const { connectionOption } = await import('./db.js');
  const connection = connectionOption(opts.db);
  if (!opts.yes) {
    throw new ExitPlanError(
      `Restoring replaces the contents of database "${connection.database}" on ${connection.host}:${connection.port}: ` +
        'run again with --yes to confirm ' +
        `(a restore drill, "exit-plan backups drill FILE --db URL", tries the backup without touching it); nothing was changed.`,
    );
  }
  const { describeRestoreProgress, restoreBackup } = await import('../../exporters/backups/restore.js');
  const printer = new ProgressLine(!opts.quiet);
  const result = await withCancelOnSignals((signal) =>
    restoreBackup({
      file,
      connection,
      confirmDatabase: connection.database,
      pgDumpPath: opts.pgDump,
      signal,
      onProgress: (p) => printer.line(p.phase, describeRestoreProgress(p)),
    }),
  ).finally(() => printer.end());
  const before = result.preflight.target;
  if (opts.json) {
    const replaced = { relations: before.tables.length, bytes: before.sizeBytes };
    process.stdout.write(
      `${jsonText({ file: result.file, target: result.target, tables: result.tables, replaced, durationMs: result.durationMs })}\n`,
    );
  } else {
    process.stdout.write(
      `${printable(`Restored ${result.file} into ${result.target}`)} (${plural(result.tables, 'table')} loaded; ` +
        `it held ${plural(before.tables.length, 'relation')}, ${formatBytes(before.sizeBytes)} before) ` +
        `in ${(result.durationMs / 1000).toFixed(1)} s.\n`,
    );
  }
}

/** `backups restore FILE --restore-cmd CMD --yes`: a command backup, checked first, through its restore command. */
async function restoreCommand(
  file: string,
  opts: { db?: string; yes?: boolean; restoreCmd?: string; verifyCmd?: string; timeout?: string; json?: boolean; quiet?: boolean },
): Promise<void> {
  const name = path.basename(file);
  if (opts.db !== undefined)
    throw new ExitPlanError(`${name} is not restored into a database: give --restore-cmd, not --db; nothing was changed.`);
  if (!opts.restoreCmd) {
    throw new ExitPlanError(
      `${name} is a command backup: give the command that restores it with --restore-cmd ` +
        `(it gets the backup in $BACKUP_PATH, e.g. mongorestore --archive="$BACKUP_PATH" --gzip --drop); nothing was changed.`,
    );
  }
  if (!opts.yes) {
    throw new ExitPlanError(
      `Restoring ${name} runs --restore-cmd, which replaces the service's data with the backup's: ` +
        'run again with --yes to confirm; nothing was changed.',
    );
  }
  const { parseCommandTimeout } = await import('../../exporters/backups/targets.js');
  const timeout = opts.timeout !== undefined ? parseCommandTimeout(opts.timeout) : undefined;
  const { describeRestoreProgress, restoreCommandBackup } = await import('../../exporters/backups/restore.js');
  const printer = new ProgressLine(!opts.quiet);
  const result = await withCancelOnSignals((signal) =>
    restoreCommandBackup({
      file,
      restoreCmd: opts.restoreCmd!,
      verifyCmd: opts.verifyCmd,
      timeoutMs: timeout?.ms,
      signal,
      log: opts.quiet ? undefined : (line) => logLine(printer, line),
      onProgress: (p) => printer.line(p.phase, describeRestoreProgress(p)),
    }),
  ).finally(() => printer.end());
  if (opts.json) {
    const verification = { state: result.verification.state, message: result.verification.message };
    process.stdout.write(`${jsonText({ file: result.file, verification, durationMs: result.durationMs, message: result.message })}\n`);
  } else {
    process.stdout.write(`${printable(result.message)}\n`);
  }
}

/** `backups drill FILE`: restore into a scratch database and compare row counts. */
export async function drill(
  file: string,
  opts: { db?: string; pgDump?: string; lockTimeout: number; json?: boolean; quiet?: boolean },
): Promise<void> {
  const { connectionOption } = await import('./db.js');
  const { describeDrillProgress, restoreDrill } = await import('../../exporters/backups/drill.js');
  const printer = new ProgressLine(!opts.quiet);
  const report = await withCancelOnSignals((signal) =>
    restoreDrill({
      file,
      connection: connectionOption(opts.db),
      pgDumpPath: opts.pgDump,
      lockTimeoutSeconds: opts.lockTimeout,
      signal,
      onProgress: (p) => printer.line(p.waitingFor ? 'waiting' : p.phase, describeDrillProgress(p)),
    }),
  ).finally(() => printer.end());
  // A backup that failed verification was not restored: its one sentence, as an error (as it always was).
  if (!report.restored) throw new ExitPlanError(report.message);
  if (opts.json) {
    process.stdout.write(`${jsonText(report)}\n`);
  } else {
    const shown = (t: { schema: string; name: string }) => printable(`${t.schema}.${t.name}`);
    const width = Math.max(5, ...report.tables.map((t) => shown(t).length));
    const rows = (n: number | null) => (n === null ? 'missing' : formatCount(n));
    const lines = report.tables.map(
      (t) =>
        `  ${shown(t).padEnd(width)}  ${rows(t.backupRows).padStart(12)}  ${rows(t.sourceRows).padStart(12)}  ` +
        (t.match ? 'same' : 'DIFFERENT'),
    );
    process.stdout.write(
      `${printable(`Drill of ${report.file} against ${report.source} (scratch database ${report.scratchDatabase}, dropped)`)}\n` +
        `  ${'table'.padEnd(width)}  ${'backup rows'.padStart(12)}  ${'source rows'.padStart(12)}\n` +
        `${lines.join('\n')}\n${printable(report.message)}\n`,
    );
  }
  if (!report.ok) throw new ExitPlanError(report.message);
}

/** `backups cron`: the crontab line for scheduled backups. */
/** The options of `backups cron`: a database's line (`--db`), or a command backup's (`--cmd`). */
type CronOpts = RotateOpts & {
  db?: string;
  dir: string;
  schedule: string;
  pgDump?: string;
  cmd?: string;
  name?: string;
  extension?: string;
  verifyCmd?: string;
  timeout?: string;
};

export async function cron(opts: CronOpts): Promise<void> {
  if (opts.cmd !== undefined) return commandCron(opts);
  const { cronLine, nextRun, validateSchedule } = await import('../../exporters/backups/schedule.js');
  const { connectionOption } = await import('./db.js');
  const { describeConnection } = await import('../../exporters/postgres/connection.js');
  const schedule = validateSchedule(opts.schedule);
  const connection = connectionOption(opts.db);
  const dir = path.resolve(opts.dir);
  const db = dbUrl(connection);
  const createArgs = [
    'backups',
    'create',
    '--db',
    db.url,
    '--dir',
    dir,
    '--quiet',
    ...(opts.pgDump ? ['--pg-dump', path.resolve(opts.pgDump)] : []),
  ];
  const policy = policyOf(opts);
  const rotating = COUNT_RULES.some((r) => policy[r]) || Boolean(policy.keepWithin);
  if (rotating) checkPolicy(policy);
  const rotateArgs = rotating ? ['backups', 'rotate', '--dir', dir, ...policyArgs(policy)] : undefined;
  const line = cronLine({ schedule, command: [...db.env, process.execPath, cliPath()], createArgs, rotateArgs });
  const next = nextRun(schedule);
  process.stdout.write(
    `# Exit Plan: back up ${describeConnection(connection)} into ${dir} on "${schedule}"${next ? ` (next: ${next.toString()})` : ''}.\n` +
      `# The password is not in this line: put it in ~${path.sep}.pgpass of the crontab's user ` +
      `(${connection.host}:${connection.port}:${connection.database}:${connection.user}:PASSWORD, chmod 600).\n` +
      (rotating ? `# After a successful backup, rotation removes what "${describePolicy(policy)}" does not keep.\n` : '') +
      `${line}\n`,
  );
}

/** `backups cron --cmd …`: the crontab line for a command backup (its checks made now, not at 2 in the morning). */
async function commandCron(opts: CronOpts): Promise<void> {
  const { cronLine, nextRun, validateSchedule } = await import('../../exporters/backups/schedule.js');
  const { checkExtension, checkFilesName } = await import('../../exporters/backups/names.js');
  const { parseCommandTimeout } = await import('../../exporters/backups/targets.js');
  if (opts.db !== undefined) throw new ExitPlanError('--cmd and --db are two different backups: print a line for each.');
  if (!opts.name || !opts.extension) throw new ExitPlanError('A command backup needs --name and --extension with --cmd.');
  const schedule = validateSchedule(opts.schedule);
  const name = checkFilesName(opts.name);
  const extension = checkExtension(opts.extension);
  const cmd = opts.cmd!.trim();
  if (cmd === '') throw new ExitPlanError('--cmd is empty.');
  if (opts.timeout !== undefined) parseCommandTimeout(opts.timeout);
  const dir = path.resolve(opts.dir);
  const createArgs = ['backups', 'create-command', '--name', name, '--cmd', cmd, '--extension', extension, '--dir', dir, '--quiet'];
  if (opts.verifyCmd) createArgs.push('--verify-cmd', opts.verifyCmd);
  if (opts.timeout !== undefined) createArgs.push('--timeout', opts.timeout.trim());
  const policy = policyOf(opts);
  const rotating = COUNT_RULES.some((r) => policy[r]) || Boolean(policy.keepWithin);
  if (rotating) checkPolicy(policy);
  const rotateArgs = rotating ? ['backups', 'rotate', '--dir', dir, ...policyArgs(policy)] : undefined;
  const line = cronLine({ schedule, command: [process.execPath, cliPath()], createArgs, rotateArgs });
  const next = nextRun(schedule);
  process.stdout.write(
    `# Exit Plan: back up what the command "${name}" writes into ${dir} on "${schedule}"${next ? ` (next: ${next.toString()})` : ''}.\n` +
      "# Secrets for the command belong in the crontab user's environment or the tool's own config, not in this line.\n" +
      (rotating ? `# After a successful backup, rotation removes what "${describePolicy(policy)}" does not keep.\n` : '') +
      `${line}\n`,
  );
}

/** The rotate flags: the policy's rules under their own names, plus the CLI's `--min-size`. */
export interface RotateOpts extends Omit<RotationPolicy, 'minSizeBytes'> {
  minSize?: number;
  dryRun?: boolean;
  json?: boolean;
  dir: string;
}

function policyOf(opts: RotateOpts): RotationPolicy {
  return {
    keepLast: opts.keepLast,
    keepHourly: opts.keepHourly,
    keepDaily: opts.keepDaily,
    keepWeekly: opts.keepWeekly,
    keepMonthly: opts.keepMonthly,
    keepYearly: opts.keepYearly,
    keepWithin: opts.keepWithin,
    minSizeBytes: opts.minSize,
  };
}

function policyArgs(policy: RotationPolicy): string[] {
  const args: string[] = [];
  for (const rule of COUNT_RULES) {
    const n = policy[rule];
    if (n) args.push(`--${ruleFlag(rule)}`, n === -1 ? 'unlimited' : String(n));
  }
  if (policy.keepWithin) args.push('--keep-within', policy.keepWithin);
  if (policy.minSizeBytes) args.push('--min-size', String(policy.minSizeBytes));
  return args;
}

/**
 * The connection as a URL without its password (which belongs in PGPASSWORD or ~/.pgpass), as the CLI's
 * own --db parser reads it. A Unix socket folder (a host starting with `/`) goes in `?host=` with no host
 * part (libpq's form), and then the user and port, which such a URL cannot hold, are set by an `env` prefix.
 */
function dbUrl(c: PgConnectionOptions): { url: string; env: string[] } {
  const ssl = c.sslmode ? `sslmode=${c.sslmode}` : '';
  if (c.host.startsWith('/')) {
    const query = [`host=${encodeURIComponent(c.host)}`, ssl].filter(Boolean).join('&');
    return { url: `postgres:///${encodeURIComponent(c.database)}?${query}`, env: ['env', `PGUSER=${c.user}`, `PGPORT=${c.port}`] };
  }
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return {
    url: `postgres://${encodeURIComponent(c.user)}@${host}:${c.port}/${encodeURIComponent(c.database)}${ssl ? `?${ssl}` : ''}`,
    env: [],
  };
}

/** This CLI's own script, for crontab lines. */
function cliPath(): string {
  const script = process.argv[1] ?? 'exit-plan';
  try {
    return fs.realpathSync(script);
  } catch {
    return path.resolve(script);
  }
}

/**
 * Runs one backup (the core's backUpTarget, verifying it with --verify) with progress on stderr and Ctrl-C to
 * cancel, then prints what it made.
 */
async function createAndPrint(
  opts: { json?: boolean; verify?: boolean; pgDump?: string; quiet?: boolean },
  what: Pick<TargetBackupOptions, 'target' | 'database' | 'lockTimeoutSeconds'> & { logCommands?: boolean },
): Promise<void> {
  const { backUpTarget } = await import('../../exporters/backups/backUpTarget.js');
  const { describeBackupProgress } = await import('../../exporters/backups/createPostgres.js');
  const printer = new ProgressLine(!opts.quiet);
  const result = await withCancelOnSignals((signal) =>
    backUpTarget({
      ...what,
      pgDumpPath: opts.pgDump,
      verify: opts.verify,
      signal,
      log: what.logCommands && !opts.quiet ? (line) => logLine(printer, line) : undefined,
      onProgress: (p) => p.backup && printer.line(p.backup.waitingFor ? 'waiting' : p.backup.phase, describeBackupProgress(p.backup)),
    }),
  ).finally(() => printer.end());
  const backup = result.backups[0];
  if (backup.skipped?.length) {
    const shown = backup.skipped.slice(0, 10).join(', ');
    const more = backup.skipped.length > 10 ? `, and ${backup.skipped.length - 10} more` : '';
    process.stderr.write(
      `Warning: skipped ${plural(backup.skipped.length, 'special file')} that tar does not archive as files: ${shown}${more}.\n`,
    );
  }
  const failed = result.verifications.find((v) => v.state !== 'verified');
  if (opts.json && backup.kind === 'command') {
    // A command backup's JSON says what verification found, also when it failed (and then it exits 1).
    const v = result.verifications[0];
    const verification = v ? { verification: { state: v.state, message: v.message } } : {};
    process.stdout.write(`${jsonText({ file: backup.file, bytes: backup.bytes, sha256: backup.sha256, ...verification })}\n`);
  }
  if (failed) throw new ExitPlanError(`The backup ${backup.file} was written but failed verification: ${failed.message}`);
  if (opts.json) {
    if (backup.kind !== 'command') process.stdout.write(`${jsonText({ file: backup.file, bytes: backup.bytes, sha256: backup.sha256 })}\n`);
  } else process.stdout.write(`${printable(backup.file)}\n`);
}

/** A log line (a command's stderr) on stderr, between progress lines. */
function logLine(printer: ProgressLine, line: string): void {
  printer.end();
  process.stderr.write(`${printable(line)}\n`);
}

function stamp(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
