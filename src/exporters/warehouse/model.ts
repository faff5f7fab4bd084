// The warehouse archive's data model: what an archive holds (its manifest, tables, files and columns) and the
// session settings its CSV files are read with. Export, manifest, schema.sql and verify all build on it; it
// imports none of them.
import type { RelationInfo } from './catalog';

/** Session settings for every export connection: output that reloads exactly, whatever the server's defaults. */
export const SESSION_SETTINGS = [
  "SET client_encoding = 'UTF8'",
  "SET TIME ZONE 'UTC'",
  "SET DateStyle = 'ISO, YMD'",
  "SET IntervalStyle = 'postgres'",
  "SET bytea_output = 'hex'",
  'SET extra_float_digits = 3',
  'SET statement_timeout = 0',
  'SET idle_in_transaction_session_timeout = 0',
].join('; ');

/** PostgreSQL's own CSV conventions: NULL is an unquoted empty field, the empty string is `""`. */
export const CSV_DIALECT = {
  format: 'csv',
  encoding: 'UTF-8',
  delimiter: ',',
  quote: '"',
  escape: '"',
  header: true,
  lineTerminator: '\n',
  null: 'unquoted empty field',
  emptyString: '""',
  timeZone: 'UTC',
  dateStyle: 'ISO, YMD',
  byteaOutput: 'hex',
} as const;

export interface ManifestTable {
  schema: string;
  name: string;
  kind: ExportedTable['kind'];
  rows: number;
  bytes: number;
  files: ExportedFile[];
  /** Every column schema.sql creates; `generated: true` ones are recreated by it and not in the CSV files. */
  columns: { name: string; type: string; notNull: boolean; generated?: true }[];
  excludedColumns: string[];
}

export interface Manifest {
  tool: { name: string; version: string };
  createdAt: string;
  database: string;
  serverVersion: string;
  snapshotTime: string;
  csv: typeof CSV_DIALECT;
  maxRowsPerFile: number;
  excludeColumnPatterns: string[];
  tables: ManifestTable[];
  /** Only in a subset export: what it was asked for, the rule, the foreign keys walked and the tables left out. */
  subset?: ManifestSubset;
}

/** A table named by schema and name, as the manifest and the CLI's JSON have them. */
export interface TableName {
  schema: string;
  name: string;
}

/**
 * One foreign key walked in one direction, and the rows that walk brought in. `from` is the referencing table
 * (the key's own, `schema.name`), `to` the referenced one, `columns` the key's columns in `from`. Down: rows of
 * `from` that reference included root-or-down rows of `to`. Up: rows of `to` that included rows of `from`
 * reference. A row reached by several keys counts once, under the first that brought it in (roots first, then
 * round by round, keys in order of table and name).
 */
export interface SubsetEdge {
  from: string;
  to: string;
  columns: string[];
  direction: 'down' | 'up';
  rows: number;
  /** The constraint's name. */
  constraint: string;
  /** The columns of `to` it references. */
  referencedColumns: string[];
}

export interface SubsetRootResult extends TableName {
  predicate: string;
  /** Rows of the root table that match the predicate. */
  rows: number;
}

export interface ManifestSubset {
  roots: SubsetRootResult[];
  /** The rule the rows were chosen by (SUBSET_RULE). */
  rule: string;
  includeUnrelated: boolean;
  /** Foreign keys cut from the downward walk (`--subset-skip`). */
  skip: { schema: string; name: string; columns: string[] }[];
  /** Every foreign key walked, per direction, with the rows it brought in. */
  edges: SubsetEdge[];
  /** Tables the walk cannot reach: exported whole (includeUnrelated) or left out. */
  unrelated: (TableName & { exported: 'whole' | 'left out' })[];
}

export interface ExportedFile {
  /** Path inside the archive. */
  name: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface ExportedTable {
  schema: string;
  name: string;
  kind: RelationInfo['kind'];
  rows: number;
  bytes: number;
  files: ExportedFile[];
}

/** A column as the archive has it. */
export interface ExportedColumn {
  name: string;
  type: string;
  notNull: boolean;
  /** Recreated by schema.sql as `GENERATED ALWAYS AS (expression) STORED`; not in the CSV files or load.sql. */
  generated?: string;
  /** Why this column differs from the source, as a comment in schema.sql. */
  note?: string;
}

/** A relation as exported: the columns kept (scrubbed ones removed). */
export interface ExportedRelation {
  relation: RelationInfo;
  /** The columns schema.sql creates, in order. */
  columns: ExportedColumn[];
  excludedColumns: string[];
}
