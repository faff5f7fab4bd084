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
