import type { Client } from 'pg';

/** Quotes an SQL identifier: always double-quoted, embedded quotes doubled, so no name can inject SQL. */
export function quoteIdent(name: string): string {
  if (name.includes('\0')) throw new Error('An identifier cannot contain a NUL character.');
  return `"${name.replace(/"/g, '""')}"`;
}

/** Quotes an SQL string literal (standard_conforming_strings on). */
export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function qualifiedName(schema: string, name: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(name)}`;
}

export type RelationKind = 'table' | 'partitioned table' | 'view' | 'materialized view';

const KINDS: Record<string, RelationKind> = { r: 'table', p: 'partitioned table', v: 'view', m: 'materialized view' };

export interface ColumnInfo {
  name: string;
  /** The type as PostgreSQL spells it (format_type), e.g. `numeric(10,2)`, `text[]`. */
  type: string;
  notNull: boolean;
  /** The user may SELECT this column (a table-level grant, or a column-level one). */
  canSelect: boolean;
}

export interface RelationInfo {
  oid: number;
  schema: string;
  name: string;
  kind: RelationKind;
  /** The planner's estimate (pg_class.reltuples); -1 when never analysed. */
  estimatedRows: number;
  /** Table, index and TOAST size in bytes. */
  sizeBytes: number;
  /** Table-level SELECT (column-level grants are in `columns`). */
  canSelect: boolean;
  /** USAGE on the schema: without it no name in the schema can be used, whatever the table grants. */
  canUseSchema: boolean;
  /** Row-level security would filter this user's rows (enabled, and the user neither bypasses it nor owns the table without FORCE). */
  rowSecurity: boolean;
  columns: ColumnInfo[];
}

export const SYSTEM_SCHEMA_FILTER = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_'`;

/**
 * Ordinary, partitioned and (optionally) view relations in every non-system schema. Partitions are left
 * out (their rows are read through their partitioned parent), and so are tables owned by extensions.
 * Only the catalogs are read, so this never waits for a lock, except for the sizes (`sizes: false` leaves
 * them 0; see relationSizes).
 */
export async function listRelations(client: Client, options: { includeViews?: boolean; sizes?: boolean } = {}): Promise<RelationInfo[]> {
  const kinds = options.includeViews ? ['r', 'p', 'v', 'm'] : ['r', 'p'];
  const rels = await client.query<{
    oid: number; schema: string; name: string; relkind: string; estimated_rows: string; can_select: boolean; can_use_schema: boolean; row_security: boolean;
  }>(
    `SELECT c.oid::int AS oid, n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind,
            c.reltuples::bigint::text AS estimated_rows,
            has_table_privilege(c.oid, 'SELECT') AS can_select,
            has_schema_privilege(n.oid, 'USAGE') AS can_use_schema,
            c.relrowsecurity AND row_security_active(c.oid) AS row_security
       FROM pg_class c
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = ANY($1::"char"[])
        AND NOT c.relispartition
        AND ${SYSTEM_SCHEMA_FILTER}
        AND NOT EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY n.nspname, c.relname`,
    [kinds],
  );
  const columns = await listColumns(client, rels.rows.map((r) => r.oid));
  const sizes = options.sizes === false ? new Map<number, number>() : await relationSizes(client, rels.rows.map((r) => r.oid));
  return rels.rows.map((r) => ({
    oid: r.oid,
    schema: r.schema,
    name: r.name,
    kind: KINDS[r.relkind],
    estimatedRows: Number(r.estimated_rows),
    sizeBytes: sizes.get(r.oid) ?? 0,
    canSelect: r.can_select,
    canUseSchema: r.can_use_schema,
    rowSecurity: r.row_security,
    columns: columns.get(r.oid) ?? [],
  }));
}

/**
 * Table, index and TOAST sizes in bytes. pg_total_relation_size takes a brief ACCESS SHARE lock on each
 * relation, so this waits behind a session that holds an exclusive lock (bounded by lock_timeout).
 */
export async function relationSizes(client: Client, oids: number[]): Promise<Map<number, number>> {
  const r = await client.query<{ oid: number; size: string | null }>(
    `SELECT o::int AS oid, pg_total_relation_size(o)::text AS size FROM unnest($1::oid[]) AS o`,
    [oids],
  );
  return new Map(r.rows.map((row) => [row.oid, Number(row.size ?? 0)]));
}

async function listColumns(client: Client, oids: number[]): Promise<Map<number, ColumnInfo[]>> {
  const result = new Map<number, ColumnInfo[]>();
  if (oids.length === 0) return result;
  // Domains are written as their base type so schema.sql loads without re-creating them.
  const rows = await client.query<{ oid: number; name: string; type: string; not_null: boolean; can_select: boolean }>(
    `SELECT a.attrelid::int AS oid, a.attname AS name,
            CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod)
                 ELSE format_type(a.atttypid, a.atttypmod) END AS type,
            a.attnotnull AS not_null,
            has_column_privilege(a.attrelid, a.attnum, 'SELECT') AS can_select
       FROM pg_attribute a
       JOIN pg_type t ON t.oid = a.atttypid
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  for (const row of rows.rows) {
    let list = result.get(row.oid);
    if (!list) result.set(row.oid, (list = []));
    list.push({ name: row.name, type: row.type, notNull: row.not_null, canSelect: row.can_select });
  }
  return result;
}

/** Server facts recorded in the manifest. */
export async function serverFacts(client: Client): Promise<{ serverVersion: string; database: string }> {
  const r = await client.query<{ v: string; db: string }>(`SELECT current_setting('server_version') AS v, current_database() AS db`);
  return { serverVersion: r.rows[0].v, database: r.rows[0].db };
}
