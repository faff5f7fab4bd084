import { quoteIdent } from './catalog';
import { commentText, csvColumns, type ForeignKeysSql } from './schemaSql';
import type { Manifest } from './model';

const NO_FOREIGN_KEYS: ForeignKeysSql = { lines: [], added: 0, leftOut: 0 };

/** psql's \copy reads its arguments up to the end of the line, so a quoted name cannot hold a line break. */
const COPY_CANNOT_PARSE = /[\n\r]/;

/**
 * A psql script that loads every CSV file into the tables schema.sql created (run from the unzipped folder),
 * then adds the foreign keys (schemaSql's foreignKeyStatements), all in one transaction: each key is validated
 * against every row, and a row that breaks one loads nothing. Generated columns are not in the files; the
 * server computes them. A table whose schema, name or columns hold a line break is loaded through a temporary
 * table with plain names, as \copy cannot name it.
 */
export function buildLoadSql(manifest: Manifest, foreignKeys: ForeignKeysSql = NO_FOREIGN_KEYS): string {
  const lines = [
    '-- Load every CSV file, then add the foreign keys. Run from the folder the archive was unzipped into:',
    '--   psql -d NEWDB -v ON_ERROR_STOP=1 -f schema.sql -f load.sql',
    '-- One transaction: if a row breaks a foreign key, nothing is loaded.',
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
  if (foreignKeys.lines.length > 0) {
    lines.push(
      `-- Foreign keys, after the data so that tables load in any order: ${foreignKeys.added} added, each validated against every row` +
        `${foreignKeys.leftOut > 0 ? `; ${foreignKeys.leftOut} left out, each with the reason` : ''}.`,
      ...foreignKeys.lines,
    );
  }
  lines.push('COMMIT;', '');
  return lines.join('\n');
}

/** Text wrapped to lines of at most `width` characters, each indented. */
function wrap(text: string, indent: string, width = 104): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line !== '' && indent.length + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `${indent}${l}`).join('\n');
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** README.txt's paragraph on the foreign keys load.sql adds and leaves out. */
function foreignKeysText(fk: ForeignKeysSql): string {
  if (fk.added + fk.leftOut === 0) return '  The tables have no foreign keys.';
  const added =
    `load.sql adds the foreign keys (${fk.added} here) after the data, in the same transaction: each is checked ` +
    `against every row, and if one row breaks one, nothing is loaded. DEFERRABLE, MATCH FULL and ON DELETE / ON ` +
    `UPDATE are kept; a unique index that a foreign key references (not a constraint) is created there first. ` +
    `If rows of the source already break a key (written while its triggers were off, e.g. with ` +
    `session_replication_role = replica), psql stops at that key and loads nothing: delete that key's ALTER TABLE ` +
    `line from load.sql to load without it.`;
  const leftOut =
    fk.leftOut === 0
      ? ''
      : ` ${plural(fk.leftOut, 'foreign key is', 'foreign keys are')} left out, each with a "-- left out:" comment in ` +
        `load.sql saying why: the table it references is not in this archive, a column of it (or of the unique ` +
        `constraint it references) was left out, it is declared on or references one partition rather than a whole ` +
        `table, or it is NOT VALID in the source (rows from before it may break it). The comment of a key left out ` +
        `for one of the last two reasons has the ALTER TABLE that adds it back.`;
  return wrap(added + leftOut, '  ');
}

/** README.txt's SUBSET section: what part of the database this archive holds, and by which rule. */
function subsetText(manifest: Manifest): string {
  const subset = manifest.subset;
  if (!subset) return '';
  const down = subset.edges.filter((e) => e.direction === 'down').length;
  const up = subset.edges.length - down;
  // Names as they are, with a line break or other control character escaped.
  const skip = subset.skip.map((k) => commentText(`${k.schema}.${k.name}(${k.columns.join(', ')})`));
  const unrelated = (how: 'whole' | 'left out') =>
    subset.unrelated.filter((t) => t.exported === how).map((t) => commentText(`${t.schema}.${t.name}`));
  const root = (r: (typeof subset.roots)[number]) => commentText(`${r.schema}.${r.name}: ${r.predicate.replace(/\s+/g, ' ')}`);
  const leftOut = unrelated('left out');
  const whole = unrelated('whole');
  const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
  return `
SUBSET: PART OF THE DATABASE
  This archive holds only the rows of a subset, chosen in the same snapshot from these roots:
${subset.roots.map((r) => `    ${root(r)}   (${plural(r.rows, 'row')})`).join('\n')}
  and this rule:
${wrap(subset.rule, '    ')}
${wrap(`Foreign keys cut from the downward walk (--subset-skip): ${list(skip)}.`, '  ')}
  Foreign keys followed: ${down} down, ${up} up; manifest.json ("subset", "edges") has the rows each brought in.
${wrap(`Tables no foreign key ties to the roots, left out: ${list(leftOut)}.`, '  ')}
${wrap(`Tables no foreign key ties to the roots, exported whole (--subset-include-unrelated): ${list(whole)}.`, '  ')}
`;
}

export function buildReadme(manifest: Manifest, foreignKeys: ForeignKeysSql = NO_FOREIGN_KEYS): string {
  const files = manifest.tables.reduce((n, t) => n + t.files.length, 0);
  const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
  const excluded = manifest.tables.filter((t) => t.excludedColumns.length > 0);
  return `Export of the PostgreSQL database "${manifest.database}"
Made by ${manifest.tool.name} ${manifest.tool.version} from one consistent snapshot taken at ${manifest.snapshotTime}
(server PostgreSQL ${manifest.serverVersion}). ${manifest.tables.length} tables, ${rows} rows, ${files} CSV files.${
    manifest.subset ? '\nA subset: only the rows foreign keys tie to the roots (see SUBSET below), not the whole database.' : ''
  }

WHAT IS HERE
  <schema>/<table>.csv   one file per table (tables above ${manifest.maxRowsPerFile} rows are split into
                         <table>-00001.csv, <table>-00002.csv, ..., each with the header row)
  manifest.json          every table: its files, rows, bytes, SHA-256 of each file, columns and types
  schema.sql             CREATE SCHEMA / CREATE TABLE statements for an empty database
  load.sql               psql \\copy commands that load every CSV file into those tables, then the
                         foreign keys (ALTER TABLE ... ADD CONSTRAINT), in one transaction
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
${foreignKeysText(foreignKeys)}
  To load one table by hand:
     psql -d newdb -c "\\copy \\"public\\".\\"mytable\\" FROM 'public/mytable.csv' WITH (FORMAT csv, HEADER)"

  schema.sql keeps columns, types, NOT NULL, primary keys, unique and check constraints and partitions,
  and creates the enum, composite and range types the columns use (domains become their base types;
  a column holding a table's rows comes after that table, or gets its row type as a composite type).
  Generated columns (GENERATED ALWAYS AS ... STORED) are not in the CSV files: schema.sql recreates them
  and the server computes them while loading ("generated": true in manifest.json).
  It leaves out defaults, sequences, indexes and privileges; add them afterwards if you need them.
  Foreign keys are not in schema.sql, so that tables load in any order: load.sql adds them (above).
  The archive holds no functions, so a check constraint that calls a function or operator that is not
  built in is left out (a "-- left out:" comment in schema.sql shows it), and a generated column whose
  expression calls one becomes a plain column holding its values.
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
}${subsetText(manifest)}
CHECK THE FILES
  sha256sum each CSV and compare with "sha256" in manifest.json.
`;
}
