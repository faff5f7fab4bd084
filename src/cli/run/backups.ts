import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ProgressLine, connectionOption, lockTimeoutOption, withCancelOnSignals } from './common';
import {
  ExitPlanError,
  backups,
  describeConnection,
  formatBytes,
  formatCount,
  jsonText,
  plural,
  printable,
  type PgConnectionOptions,
} from '../../exporters';

/** `exit-plan backups …`: a thin layer over src/exporters/backups, one function per command. */
export function addBackupsCommands(program: Command): void {
  const cmd = program
    .command('backups')
    .description('Backups: PostgreSQL dumps and file archives with checksums, rotation, verification, restore and restore drills.');
  for (const add of [addCreate, addCreateFiles, addList, addRotate, addVerify, addRestore, addDrill, addCron]) add(cmd);
}

const dbOption = () =>
  new Option('--db <url>', 'postgres://user@host:port/database (password in PGPASSWORD; default: the PG* environment variables)');
const pgDumpOption = () => new Option('--pg-dump <path>', 'pg_dump to use (pg_restore is taken from the same folder; default: PATH)');

/** `backups create`: one database with pg_dump. */
function addCreate(cmd: Command): void {
  cmd
    .command('create')
    .description(
      'Back up a database with pg_dump --format=custom into DIR/postgres_backup_<db>__<YYYY.MM.DD.HH_MM>.pg_restore, ' +
        'with a .json sidecar (size, SHA-256).',
    )
    .addOption(dbOption())
    .requiredOption('--dir <dir>', 'backup folder (created if missing)')
    .addOption(pgDumpOption())
    .addOption(lockTimeoutOption('pg_dump'))
    .option('--verify', 'verify the backup right after writing it')
    .option('--json', 'print { "file", "bytes", "sha256" }')
    .option('--quiet', 'no progress on stderr')
    .action((opts: { db?: string; dir: string; pgDump?: string; lockTimeout: number; verify?: boolean; json?: boolean; quiet?: boolean }) =>
      createAndPrint(opts, {
        target: { name: opts.dir, dir: opts.dir, folders: [], gzip: false, blocking: [] },
        database: () => connectionOption(opts.db),
        lockTimeoutSeconds: opts.lockTimeout,
      }),
    );
}

/** `backups create-files`: one folder as a tar. */
function addCreateFiles(cmd: Command): void {
  cmd
    .command('create-files')
    .description('Archive a folder into DIR/<name>_media__<YYYY.MM.DD.HH_MM>.tar (or .tar.gz with --gzip), with a .json sidecar.')
    .requiredOption('--source <dir>', 'the folder to back up')
    .requiredOption('--name <name>', 'names the backup files (letters, digits, ".", "-", "_")')
    .requiredOption('--dir <dir>', 'backup folder (created if missing)')
    .option('--gzip', 'compress the archive (.tar.gz)')
    .option('--verify', 'verify the backup right after writing it')
    .option('--json', 'print { "file", "bytes", "sha256" }')
    .option('--quiet', 'no progress on stderr')
    .action((opts: { source: string; name: string; dir: string; gzip?: boolean; verify?: boolean; json?: boolean; quiet?: boolean }) =>
      createAndPrint(opts, {
        target: {
          name: opts.dir,
          dir: opts.dir,
          folders: [{ name: opts.name, path: opts.source }],
          gzip: Boolean(opts.gzip),
          blocking: [],
        },
      }),
    );
}

/** `backups list`: the backups in a folder, newest first. */
function addList(cmd: Command): void {
  cmd
    .command('list')
    .description('List the backups in a folder, newest first, with size and verified state.')
    .requiredOption('--dir <dir>', 'backup folder')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const entries = await backups.listBackups(opts.dir);
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
    });
}

/** `backups rotate`: remove old backups by the rules given (or only show what would go). */
function addRotate(cmd: Command): void {
  withRotationOptions(
    cmd
      .command('rotate')
      .description(
        "Remove old backups with restic's forget rules (ORed; calendar periods in UTC, weeks Monday to Sunday). " +
          'The newest and the newest verified backup are never removed.',
      )
      .requiredOption('--dir <dir>', 'backup folder'),
    {
      keepWithin: 'keep every backup within this duration of the newest, e.g. 1y5m7d2h, 30d',
      minSize: 'backups smaller than this (e.g. 1MB) are suspect: kept, flagged and not counted',
    },
  )
    .option('--dry-run', 'only show what would be removed')
    .option('--json', 'print each file with "action" (keep/remove) and "reasons"')
    .action(async (opts: RotateOpts) => {
      const policy = policyOf(opts);
      backups.checkPolicy(policy);
      const plan = opts.dryRun
        ? { ...(await backups.previewRotation(opts.dir, policy)), removed: [] as string[] }
        : await backups.applyRotation(opts.dir, policy);
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
          policy: backups.describePolicy(policy),
          dryRun: Boolean(opts.dryRun),
          files,
          removed: plan.removed,
          summary: plan.summary,
        };
        process.stdout.write(`${jsonText(out)}\n`);
        return;
      }
      process.stdout.write(`Policy: ${backups.describePolicy(policy)}\n`);
      let group = '';
      for (const d of plan.decisions) {
        if (d.item.group !== group) {
          group = d.item.group;
          process.stdout.write(`\n${printable(backups.groupLabel(d.item.kind, d.item.source))}\n`);
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
    });
}

/** `backups verify`: every backup in a folder, or one; a failed one makes it exit 1. */
function addVerify(cmd: Command): void {
  cmd
    .command('verify')
    .description(
      'Verify every backup in a folder (sidecar checksum, plus pg_restore --list or a full read of the tar) ' +
        'and record the result in its sidecar.',
    )
    .requiredOption('--dir <dir>', 'backup folder')
    .option('--file <file>', 'only this backup')
    .addOption(pgDumpOption())
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts: { dir: string; file?: string; pgDump?: string; json?: boolean; quiet?: boolean }) => {
      const printer = new ProgressLine(!opts.quiet);
      const results = await withCancelOnSignals((signal) =>
        backups.verifyBackups(opts.dir, {
          files: opts.file ? [path.resolve(opts.dir, opts.file)] : undefined,
          pgDumpPath: opts.pgDump,
          signal,
          onProgress: (p) => printer.line(p.file, backups.describeVerifyProgress(p)),
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
    });
}

/** `backups restore FILE`: over a database, with --yes. */
function addRestore(cmd: Command): void {
  cmd
    .command('restore')
    .description(
      'Restore a PostgreSQL backup over a database (pg_restore --clean --if-exists --no-owner --no-acl, in one transaction). ' +
        'Verifies it first. Refuses without --yes.',
    )
    .argument('<file>', 'a postgres_backup_….pg_restore file')
    .addOption(dbOption())
    .option('--yes', 'confirm: replace the contents of the --db database')
    .addOption(pgDumpOption())
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (file: string, opts: { db?: string; yes?: boolean; pgDump?: string; json?: boolean; quiet?: boolean }) => {
      const connection = connectionOption(opts.db);
      if (!opts.yes) {
        throw new ExitPlanError(
          `Restoring replaces the contents of database "${connection.database}" on ${connection.host}:${connection.port}: ` +
            'run again with --yes to confirm ' +
            `(a restore drill, "exit-plan backups drill FILE --db URL", tries the backup without touching it); nothing was changed.`,
        );
      }
      const printer = new ProgressLine(!opts.quiet);
      const result = await withCancelOnSignals((signal) =>
        backups.restoreBackup({
          file,
          connection,
          confirmDatabase: connection.database,
          pgDumpPath: opts.pgDump,
          signal,
          onProgress: (p) => printer.line(p.phase, backups.describeRestoreProgress(p)),
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
    });
}

/** `backups drill FILE`: restore into a scratch database and compare row counts. */
function addDrill(cmd: Command): void {
  cmd
    .command('drill')
    .description(
      'Restore drill: restore a backup into a new scratch database on the same server, compare row counts with the --db database, ' +
        'report, drop the scratch database.',
    )
    .argument('<file>', 'a postgres_backup_….pg_restore file')
    .addOption(dbOption())
    .addOption(pgDumpOption())
    .addOption(lockTimeoutOption("the drill's count of the source's rows"))
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (file: string, opts: { db?: string; pgDump?: string; lockTimeout: number; json?: boolean; quiet?: boolean }) => {
      const printer = new ProgressLine(!opts.quiet);
      const report = await withCancelOnSignals((signal) =>
        backups.restoreDrill({
          file,
          connection: connectionOption(opts.db),
          pgDumpPath: opts.pgDump,
          lockTimeoutSeconds: opts.lockTimeout,
          signal,
          onProgress: (p) => printer.line(p.waitingFor ? 'waiting' : p.phase, backups.describeDrillProgress(p)),
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
    });
}

/** `backups cron`: the crontab line for scheduled backups. */
function addCron(cmd: Command): void {
  withRotationOptions(
    cmd
      .command('cron')
      .description('Print the crontab line that backs up a database on a schedule (for servers where VS Code is not open).')
      .addOption(dbOption())
      .requiredOption('--dir <dir>', 'backup folder')
      .requiredOption('--schedule <cron>', 'five-field cron expression, e.g. "0 2 * * 0" (Sundays at 02:00)')
      .addOption(pgDumpOption()),
    {
      keepWithin: 'also rotate after each backup: keep every backup within this duration of the newest',
      minSize: 'with rotation: backups smaller than this are suspect',
    },
  ).action((opts: RotateOpts & { db?: string; dir: string; schedule: string; pgDump?: string }) => {
    const schedule = backups.validateSchedule(opts.schedule);
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
    const rotating = backups.COUNT_RULES.some((r) => policy[r]) || Boolean(policy.keepWithin);
    if (rotating) backups.checkPolicy(policy);
    const rotateArgs = rotating ? ['backups', 'rotate', '--dir', dir, ...policyArgs(policy)] : undefined;
    const line = backups.cronLine({ schedule, command: [...db.env, process.execPath, cliPath()], createArgs, rotateArgs });
    const next = backups.nextRun(schedule);
    process.stdout.write(
      `# Exit Plan: back up ${describeConnection(connection)} into ${dir} on "${schedule}"${next ? ` (next: ${next.toString()})` : ''}.\n` +
        `# The password is not in this line: put it in ~${path.sep}.pgpass of the crontab's user ` +
        `(${connection.host}:${connection.port}:${connection.database}:${connection.user}:PASSWORD, chmod 600).\n` +
        (rotating ? `# After a successful backup, rotation removes what "${backups.describePolicy(policy)}" does not keep.\n` : '') +
        `${line}\n`,
    );
  });
}

/** Adds --keep-last … --keep-yearly, --keep-within and --min-size (rotate, and cron's rotation after each backup). */
function withRotationOptions(command: Command, help: { keepWithin: string; minSize: string }): Command {
  const periods: Record<string, string> = { hourly: 'hours', daily: 'days', weekly: 'weeks', monthly: 'months', yearly: 'years' };
  for (const period of ['last', ...Object.keys(periods)]) {
    const what =
      period === 'last' ? 'keep the n newest backups' : `keep the newest backup of each of the last n ${periods[period]} that have one`;
    command.addOption(new Option(`--keep-${period} <n>`, `${what} ("unlimited": all)`).argParser(countArg));
  }
  return command.option('--keep-within <duration>', help.keepWithin).option('--min-size <bytes>', help.minSize, sizeArg);
}

/** The rotate flags: the policy's rules under their own names, plus the CLI's `--min-size`. */
interface RotateOpts extends Omit<backups.RotationPolicy, 'minSizeBytes'> {
  minSize?: number;
  dryRun?: boolean;
  json?: boolean;
  dir: string;
}

function policyOf(opts: RotateOpts): backups.RotationPolicy {
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

function policyArgs(policy: backups.RotationPolicy): string[] {
  const args: string[] = [];
  for (const rule of backups.COUNT_RULES) {
    const n = policy[rule];
    if (n) args.push(`--${backups.ruleFlag(rule)}`, n === -1 ? 'unlimited' : String(n));
  }
  if (policy.keepWithin) args.push('--keep-within', policy.keepWithin);
  if (policy.minSizeBytes) args.push('--min-size', String(policy.minSizeBytes));
  return args;
}

function countArg(value: string): number {
  if (value === 'unlimited') return -1;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected a whole number from 0 up, or "unlimited".');
  return n;
}

/** `1048576`, `10MB`, `1.5GB`, `512KB` (1000-based, as sizes are shown). */
function sizeArg(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('expected a size such as 1048576, 512KB, 10MB or 1GB.');
  const unit = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12 }[(m[2] ?? 'B').toUpperCase() as 'B'];
  return Math.round(Number(m[1]) * unit);
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
  const script = process.argv[1] ?? __filename;
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
  what: Pick<backups.TargetBackupOptions, 'target' | 'database' | 'lockTimeoutSeconds'>,
): Promise<void> {
  const printer = new ProgressLine(!opts.quiet);
  const result = await withCancelOnSignals((signal) =>
    backups.backUpTarget({
      ...what,
      pgDumpPath: opts.pgDump,
      verify: opts.verify,
      signal,
      onProgress: (p) =>
        p.backup && printer.line(p.backup.waitingFor ? 'waiting' : p.backup.phase, backups.describeBackupProgress(p.backup)),
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
  if (failed) throw new ExitPlanError(`The backup ${backup.file} was written but failed verification: ${failed.message}`);
  if (opts.json) process.stdout.write(`${jsonText({ file: backup.file, bytes: backup.bytes, sha256: backup.sha256 })}\n`);
  else process.stdout.write(`${printable(backup.file)}\n`);
}

function stamp(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
