// `exit-plan warehouse …`: list the tables of a PostgreSQL warehouse, export them all as CSV in one verified zip.
// The commands, flags and help; what they do is in run/warehouse.ts, loaded when one of them runs.
import { Option, type Command } from 'commander';
import { DEFAULT_MAX_ROWS_PER_FILE, MAX_COMPRESSION_THREADS, MAX_JOBS, defaultCompressionThreads } from '../exporters/warehouse/export';
import { collect, lockTimeoutOption, positiveInt } from './common';
import type { ExportOptions, TablesOptions } from './run/warehouse';

const run = () => import('./run/warehouse.js');

export function addWarehouseCommands(program: Command): void {
  const warehouse = program.command('warehouse').description('PostgreSQL warehouse: list tables, export everything as CSV in one zip.');
  const dbOption = () =>
    new Option('--db <url>', 'postgres://user@host:5432/database (password in PGPASSWORD; default: the PG* environment variables)');

  warehouse
    .command('tables')
    .description('List the tables that an export would include.')
    .addOption(dbOption())
    .option('--include-views', 'also list views and materialized views')
    .addOption(lockTimeoutOption('the table list'))
    .option('--json', 'print JSON')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts: TablesOptions) => (await run()).listTables(opts));

  warehouse
    .command('export')
    .description('Export every table as CSV into one verified zip, from one consistent snapshot.')
    .addOption(dbOption())
    .option('--out <dir>', 'folder for the archive (default: the current folder, or none when uploading)')
    .option(
      '--upload [url]',
      'stream the archive into Azure Blob Storage: a container URL with a SAS that allows read, create and write (sp=rcw), ' +
        'or with --connection-string and --container',
    )
    .option('--connection-string <cs>', 'with --upload: storage account connection string (default: AZURE_STORAGE_CONNECTION_STRING)')
    .option('--container <name>', 'with --upload: the container to upload into')
    .option('--schemas <list>', 'only these schemas (comma-separated)')
    .option('--tables <globs>', 'only tables matching these globs (name or schema.name, comma-separated)')
    .option('--exclude-columns <patterns>', 'leave out columns matching these globs, e.g. password,*_token')
    .option('--include-views', 'also export views and materialized views')
    .option('--jobs <n>', `parallel connections sharing the snapshot (1-${MAX_JOBS})`, positiveInt(MAX_JOBS), 1)
    .option(
      '--threads <n>',
      `compression threads, one core each (1-${MAX_COMPRESSION_THREADS}; default: every core, here ${defaultCompressionThreads()})`,
      positiveInt(MAX_COMPRESSION_THREADS),
    )
    .option('--max-rows-per-file <n>', 'split larger tables into parts of this many rows', positiveInt(), DEFAULT_MAX_ROWS_PER_FILE)
    .option('--encoding <name>', 'for a SQL_ASCII database: the encoding its text is written in (e.g. LATIN1, WIN1252), converted to UTF-8')
    .addOption(lockTimeoutOption())
    .option(
      '--subset <spec>',
      "only one organisation's rows: 'schema.table: predicate' (SQL over that table), and the rows foreign keys tie to them; " +
        'repeat it for more roots',
      collect,
    )
    .option('--subset-include-unrelated', 'with --subset: export tables with no foreign-key path to the roots whole (else left out)')
    .option('--subset-skip <fk>', "with --subset: do not follow the foreign key 'schema.table(col, …)' down; repeat it for more", collect)
    .option('--dry-run', 'with --subset: print the rows per table and per foreign key, and write nothing')
    .option('--json', 'print the result as JSON on stdout')
    .option('--quiet', 'no progress on stderr')
    .action(async (opts: ExportOptions) => (await run()).exportTables(opts));
}
