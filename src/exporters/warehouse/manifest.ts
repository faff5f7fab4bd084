import { quoteIdent } from './catalog';
import { commentText, csvColumns } from './schemaSql';
import type { Manifest } from './model';

/** psql's \copy reads its arguments up to the end of the line, so a quoted name cannot hold a line break. */
const COPY_CANNOT_PARSE = /[\n\r]/;

/**
 * A psql script that loads every CSV file into the tables schema.sql created (run from the unzipped folder).
 * Generated columns are not in the files; the server computes them. A table whose schema, name or columns
 * hold a line break is loaded through a temporary table with plain names, as \copy cannot name it.
 */
export function buildLoadSql(manifest: Manifest): string {
  const lines = [
    '-- Load every CSV file. Run from the folder the archive was unzipped into:',
    '--   psql -d NEWDB -v ON_ERROR_STOP=1 -f schema.sql -f load.sql',
    '\\set ON_ERROR_STOP on',
    'BEGIN;',
  ];
  for (const t of manifest.tables) {
    const table = `${quoteIdent(t.schema)}.${quoteIdent(t.name)}`;
    const columns = csvColumns(t).map(quoteIdent);
    const list = columns.length > 0 ? ` (${columns.join(', ')})` : '';
    const staged = [t.schema, t.name, ...csvColumns(t)].some((n) => COPY_CANNOT_PARSE.test(n));
    if (staged) {
      lines.push(
        `-- ${commentText(t.schema)}.${commentText(t.name)}: \\copy cannot parse a name with a line break, ` +
          `so its files load through a temporary table.`,
      );
      lines.push(`CREATE TEMP TABLE exit_plan_load AS SELECT ${columns.join(', ')} FROM ${table} WITH NO DATA;`);
    }
    for (const f of t.files) {
      // `./` keeps psql from reading a leading `~` as a home folder.
      lines.push(
        `\\copy ${staged ? 'pg_temp.exit_plan_load' : `${table}${list}`} FROM './${f.name.replace(/'/g, "''")}' WITH (FORMAT csv, HEADER)`,
      );
    }
    if (staged) lines.push(`INSERT INTO ${table}${list} SELECT * FROM pg_temp.exit_plan_load;`, 'DROP TABLE pg_temp.exit_plan_load;');
  }
  lines.push('COMMIT;', '');
  return lines.join('\n');
}

export function buildReadme(manifest: Manifest): string {
  const files = manifest.tables.reduce((n, t) => n + t.files.length, 0);
  const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
  const excluded = manifest.tables.filter((t) => t.excludedColumns.length > 0);
  return `Export of the PostgreSQL database "${manifest.database}"
Made by ${manifest.tool.name} ${manifest.tool.version} from one consistent snapshot taken at ${manifest.snapshotTime}
(server PostgreSQL ${manifest.serverVersion}). ${manifest.tables.length} tables, ${rows} rows, ${files} CSV files.

WHAT IS HERE
  <schema>/<table>.csv   one file per table (tables above ${manifest.maxRowsPerFile} rows are split into
                         <table>-00001.csv, <table>-00002.csv, ..., each with the header row)
  manifest.json          every table: its files, rows, bytes, SHA-256 of each file, columns and types
  schema.sql             CREATE SCHEMA / CREATE TABLE statements for an empty database
  load.sql               psql \\copy commands that load every CSV file into those tables
  README.txt             this file
  The four files above are the only files at the top; every CSV file is one folder down. Names are made
  safe for every OS and unique even where case is ignored: a schema folder named like one of the four
  files gets "~" (e.g. manifest.json~/), and a table whose file could meet another's gets "~2", "~3", ...
  manifest.json has each table's real schema and name beside its files.

CSV FORMAT
  UTF-8, comma-separated, double quotes, header row, one row per line (values may contain quoted
  line breaks). NULL is an empty field without quotes; an empty string is "". Timestamps are ISO 8601
  in UTC, bytea is hex (\\x...), arrays and JSON are PostgreSQL's text forms.

RELOAD INTO A NEW DATABASE (with psql)
  1. Unzip the archive and open a terminal in the unzipped folder.
  2. createdb newdb
  3. psql -d newdb -v ON_ERROR_STOP=1 -f schema.sql
  4. psql -d newdb -v ON_ERROR_STOP=1 -f load.sql
  To load one table by hand:
     psql -d newdb -c "\\copy \\"public\\".\\"mytable\\" FROM 'public/mytable.csv' WITH (FORMAT csv, HEADER)"

  schema.sql keeps columns, types, NOT NULL, primary keys, unique and check constraints and partitions,
  and creates the enum, composite and range types the columns use (domains become their base types;
  a column holding a table's rows comes after that table, or gets its row type as a composite type).
  Generated columns (GENERATED ALWAYS AS ... STORED) are not in the CSV files: schema.sql recreates them
  and the server computes them while loading ("generated": true in manifest.json).
  It leaves out foreign keys, defaults, sequences, indexes and privileges, so tables load in any order;
  add them afterwards if you need them. The archive holds no functions, so a check constraint that calls
  a function or operator that is not built in is left out (a "-- left out:" comment in schema.sql shows
  it), and a generated column whose expression calls one becomes a plain column holding its values.
  A NOT VALID check constraint is left out too, as rows from before it may break it: its comment in
  schema.sql has the ALTER TABLE that adds it back after load.sql.
  Columns whose types come from an extension (e.g. PostGIS) need that extension in the new database
  first (CREATE EXTENSION ...).
${
  excluded.length > 0
    ? `
COLUMNS LEFT OUT ON PURPOSE (with generated columns computed from them, and columns whose composite
values hold a field of the same name)
${excluded.map((t) => `  ${t.schema}.${t.name}: ${t.excludedColumns.join(', ')}`).join('\n')}
`
    : ''
}
CHECK THE FILES
  sha256sum each CSV and compare with "sha256" in manifest.json.
`;
}
