// `exit-plan backups …`: PostgreSQL dumps, file archives and command backups. The commands, flags and help; what they do is in
// run/backups.ts, loaded when one of them runs.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { lockTimeoutOption } from './common';

const run = () => import('./run/backups.js');

export function addBackupsCommands(program: Command): void {
  const cmd = program
    .command('backups')
    .description(
      "Backups: PostgreSQL dumps, file archives and command backups (a service's own dump tool) with checksums, rotation, " +
        'verification, restore and restore drills.',
    );
  for (const add of [addCreate, addCreateFiles, addCreateCommand, addList, addRotate, addVerify, addRestore, addDrill, addCron]) add(cmd);
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
    .action(async (opts) => (await run()).create(opts));
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
    .action(async (opts) => (await run()).createFiles(opts));
}

const timeoutOption = (what: string) =>
  new Option('--timeout <duration>', `stop ${what} (with everything it started) after this long, e.g. "2 hours", "90m", or seconds`);

/** `backups create-command`: what a command writes (a service's own dump tool, e.g. mongodump). */
function addCreateCommand(cmd: Command): void {
  cmd
    .command('create-command')
    .description(
      'Back up what a shell command writes (to stdout, or to the file $OUTPUT_PATH) ' +
        'into DIR/<name>_backup__<YYYY.MM.DD.HH_MM>.<extension>, ' +
        "with a .json sidecar (size, SHA-256); e.g. --name mongo --extension mongorestore.tar.gz --cmd 'mongodump --archive --gzip'.",
    )
    .requiredOption('--name <name>', 'names the backup files (letters, digits, ".", "-", "_")')
    .requiredOption('--cmd <cmd>', 'shell command (sh -c) that writes the dump to stdout or to "$OUTPUT_PATH"; secrets in the environment')
    .requiredOption('--extension <ext>', "the backup file's extension, e.g. mongorestore.tar.gz")
    .requiredOption('--dir <dir>', 'backup folder (created if missing)')
    .option(
      '--verify-cmd <cmd>',
      'verify the backup right after writing it: the checksum, then this shell command with $BACKUP_PATH (exit 0 = verified)',
    )
    .option('--verify', 'verify the backup right after writing it (the checksum only, unless --verify-cmd is given)')
    .addOption(timeoutOption('the command (and the verify command)'))
    .option('--json', 'print { "file", "bytes", "sha256" } (and "verification" when verified)')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts) => (await run()).createCommand(opts));
}

/** `backups list`: the backups in a folder, newest first. */
function addList(cmd: Command): void {
  cmd
    .command('list')
    .description('List the backups in a folder, newest first, with size and verified state.')
    .requiredOption('--dir <dir>', 'backup folder')
    .option('--json', 'print JSON')
    .action(async (opts) => (await run()).list(opts));
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
    .action(async (opts) => (await run()).rotate(opts));
}

/** `backups verify`: every backup in a folder, or one; a failed one makes it exit 1. */
function addVerify(cmd: Command): void {
  cmd
    .command('verify')
    .description(
      'Verify every backup in a folder (sidecar checksum, plus pg_restore --list, a full read of the tar, ' +
        "or a command backup's --verify-cmd) and record the result in its sidecar.",
    )
    .requiredOption('--dir <dir>', 'backup folder')
    .option('--file <file>', 'only this backup')
    .addOption(pgDumpOption())
    .option('--verify-cmd <cmd>', 'command backups: after the checksum, run this shell command with $BACKUP_PATH (exit 0 = verified)')
    .addOption(timeoutOption('the verify command'))
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts) => (await run()).verify(opts));
}

/** `backups restore FILE`: over a database, with --yes. */
function addRestore(cmd: Command): void {
  cmd
    .command('restore')
    .description(
      'Restore a PostgreSQL backup over a database (pg_restore --clean --if-exists --no-owner --no-acl, in one transaction), ' +
        'or a command backup with --restore-cmd. Verifies it first. Refuses without --yes.',
    )
    .argument('<file>', 'a postgres_backup_….pg_restore file, or a command backup <name>_backup__….<extension>')
    .addOption(dbOption())
    .option('--yes', "confirm: replace the contents of the --db database (or let --restore-cmd replace the service's data)")
    .addOption(pgDumpOption())
    .option(
      '--restore-cmd <cmd>',
      'command backups: the shell command that restores it, with $BACKUP_PATH (e.g. mongorestore --archive="$BACKUP_PATH" --gzip --drop)',
    )
    .option(
      '--verify-cmd <cmd>',
      'command backups: after the checksum and before the restore, this shell command with $BACKUP_PATH must exit 0',
    )
    .addOption(timeoutOption('the verify and the restore command'))
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (file: string, opts) => (await run()).restore(file, opts));
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
    .action(async (file: string, opts) => (await run()).drill(file, opts));
}

/** `backups cron`: the crontab line for scheduled backups. */
function addCron(cmd: Command): void {
  withRotationOptions(
    cmd
      .command('cron')
      .description(
        'Print the crontab line that backs up a database (or, with --cmd, what a command writes) on a schedule ' +
          '(for servers where VS Code is not open).',
      )
      .addOption(dbOption())
      .requiredOption('--dir <dir>', 'backup folder')
      .requiredOption('--schedule <cron>', 'five-field cron expression, e.g. "0 2 * * 0" (Sundays at 02:00)')
      .addOption(pgDumpOption())
      .option('--cmd <cmd>', 'a command backup instead of the database: the line runs backups create-command with this --cmd')
      .option('--name <name>', 'with --cmd: names the backup files')
      .option('--extension <ext>', "with --cmd: the backup file's extension")
      .option('--verify-cmd <cmd>', 'with --cmd: verify each backup with this shell command')
      .addOption(timeoutOption('the command')),
    {
      keepWithin: 'also rotate after each backup: keep every backup within this duration of the newest',
      minSize: 'with rotation: backups smaller than this are suspect',
    },
  ).action(async (opts) => (await run()).cron(opts));
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
