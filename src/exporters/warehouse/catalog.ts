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
  /** The type as PostgreSQL spells it (format_type), e.g. `numeric(10,2)`, `text[]`; domains as their base type. */
  type: string;
  notNull: boolean;
  /** The user may SELECT this column (a table-level grant, or a column-level one). */
  canSelect: boolean;
  /** A `GENERATED ALWAYS AS (…) STORED` column: COPY leaves it out, schema.sql recreates it. */
  generated?: GeneratedColumn;
  /** Names of the fields inside its composite values (row types, at any depth), e.g. `password` in a `users` column. */
  fields?: string[];
}

export interface GeneratedColumn {
  /** The expression as pg_get_expr prints it. */
  expression: string;
  /** The columns of the same table the expression reads. */
  columns: string[];
  /** The expression calls a function, operator or collation that is not built in, so it may not load elsewhere. */
  usesUserObjects: boolean;
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
    oid: number;
    schema: string;
    name: string;
    relkind: string;
    estimated_rows: string;
    can_select: boolean;
    can_use_schema: boolean;
    row_security: boolean;
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
  const columns = await listColumns(
    client,
    rels.rows.map((r) => r.oid),
  );
  const sizes =
    options.sizes === false
      ? new Map<number, number>()
      : await relationSizes(
          client,
          rels.rows.map((r) => r.oid),
        );
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

/**
 * A LATERAL subquery for the types directly inside the pg_type row `t`: an array's element, a domain's base,
 * a composite's fields, a range's subtype and a multirange's range. Joined recursively, it reaches every
 * type a value of `t` can hold.
 */
export const TYPES_INSIDE = `LATERAL (
          SELECT t.typelem WHERE t.typelem <> 0
          UNION ALL SELECT t.typbasetype WHERE t.typtype = 'd'
          UNION ALL SELECT fa.atttypid FROM pg_attribute fa
                     WHERE t.typrelid <> 0 AND fa.attrelid = t.typrelid AND fa.attnum > 0 AND NOT fa.attisdropped
          UNION ALL SELECT r.rngsubtype FROM pg_range r WHERE r.rngtypid = t.oid
          UNION ALL SELECT r.rngtypid FROM pg_range r WHERE r.rngmultitypid = t.oid
        )`;

/** The first OID of objects made after initdb: anything at or above it is user- or extension-defined. */
export const FIRST_NORMAL_OID = 16384;

/**
 * SQL for the type of each attribute of the relations (or composite types) `$1`, with domains written as
 * their base types, also inside arrays (`d[]` → `integer[]`), so schema.sql loads without the domains.
 * Returns attrelid, attnum, type.
 */
export const RESOLVED_TYPES_SQL = `
  WITH RECURSIVE r(attrelid, attnum, typid, typmod, dims, depth) AS (
    SELECT a.attrelid, a.attnum, a.atttypid, a.atttypmod, 0, 0
      FROM pg_attribute a
     WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT r.attrelid, r.attnum,
           CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.typelem END,
           CASE WHEN t.typtype = 'd' AND t.typtypmod <> -1 THEN t.typtypmod ELSE r.typmod END,
           r.dims + CASE WHEN t.typtype = 'd' THEN 0 ELSE 1 END,
           r.depth + 1
      FROM r JOIN pg_type t ON t.oid = r.typid
     WHERE t.typtype = 'd'
        OR (t.typcategory = 'A' AND t.typelem <> 0 AND t.typlen = -1 AND t.oid NOT IN ('int2vector'::regtype, 'oidvector'::regtype))
  )
  SELECT DISTINCT ON (attrelid, attnum) attrelid::int AS attrelid, attnum::int AS attnum,
         format_type(typid, typmod) || repeat('[]', dims) AS type
    FROM r
   ORDER BY attrelid, attnum, depth DESC`;

/**
 * Runs catalog queries with an empty search_path (as pg_dump does), so that format_type, pg_get_expr and
 * pg_get_constraintdef qualify every name that is not built in and schema.sql means the same objects
 * whatever the search_path of the role that reloads it. The change is local to the transaction (the
 * export's snapshot; outside a transaction it has no effect), so no pooled session keeps it, and the
 * search_path is set back after.
 */
export async function withQualifiedNames<T>(client: Client, run: () => Promise<T>): Promise<T> {
  const before = (await client.query<{ path: string }>(`SELECT pg_catalog.current_setting('search_path') AS path`)).rows[0].path;
  await client.query(`SELECT pg_catalog.set_config('search_path', '', true)`);
  try {
    return await run();
  } finally {
    // In a failed transaction this fails too; the transaction and its settings are discarded anyway.
    await client.query(`SELECT pg_catalog.set_config('search_path', $1, true)`, [before]).catch(() => undefined);
  }
}

async function listColumns(client: Client, oids: number[]): Promise<Map<number, ColumnInfo[]>> {
  const result = new Map<number, ColumnInfo[]>();
  if (oids.length === 0) return result;
  return withQualifiedNames(client, () => readColumns(client, oids, result));
}

async function readColumns(client: Client, oids: number[], result: Map<number, ColumnInfo[]>): Promise<Map<number, ColumnInfo[]>> {
  // Domains are written as their base type so schema.sql loads without re-creating them.
  const rows = await client.query<{
    oid: number;
    name: string;
    type: string;
    not_null: boolean;
    generated: string | null;
    can_select: boolean;
    generated_from: string[] | null;
    user_objects: boolean;
    fields: string[] | null;
  }>(
    `WITH RECURSIVE types AS (${RESOLVED_TYPES_SQL}),
     -- Every type inside each column's values: through arrays, domains, ranges and composites.
     inside(attrelid, attnum, typid) AS (
       SELECT a.attrelid, a.attnum, a.atttypid FROM pg_attribute a
        WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
       UNION
       SELECT i.attrelid, i.attnum, x.typid
         FROM inside i
         JOIN pg_type t ON t.oid = i.typid
        CROSS JOIN ${TYPES_INSIDE} x(typid)
     ),
     fields AS (
       SELECT i.attrelid, i.attnum, array_agg(DISTINCT fa.attname::text) AS names
         FROM inside i
         JOIN pg_type t ON t.oid = i.typid AND t.typrelid <> 0
         JOIN pg_attribute fa ON fa.attrelid = t.typrelid AND fa.attnum > 0 AND NOT fa.attisdropped
        GROUP BY i.attrelid, i.attnum
     )
     SELECT a.attrelid::int AS oid, a.attname AS name, types.type, a.attnotnull AS not_null, fields.names AS fields,
            has_column_privilege(a.attrelid, a.attnum, 'SELECT') AS can_select,
            CASE WHEN a.attgenerated = 's' THEN pg_get_expr(d.adbin, d.adrelid) END AS generated,
            CASE WHEN a.attgenerated = 's' THEN
              ARRAY(SELECT ra.attname::text FROM pg_depend dep
                      JOIN pg_attribute ra ON ra.attrelid = dep.refobjid AND ra.attnum = dep.refobjsubid
                     WHERE dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
                       AND dep.refclassid = 'pg_class'::regclass AND dep.refobjid = a.attrelid
                       AND dep.refobjsubid > 0 AND dep.refobjsubid <> a.attnum
                     ORDER BY ra.attnum)
            END AS generated_from,
            a.attgenerated = 's' AND EXISTS (
              SELECT 1 FROM pg_depend dep
               WHERE dep.classid = 'pg_attrdef'::regclass AND dep.objid = d.oid
                 AND dep.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass, 'pg_collation'::regclass)
                 AND dep.refobjid >= ${FIRST_NORMAL_OID}) AS user_objects
       FROM pg_attribute a
       JOIN types ON types.attrelid = a.attrelid AND types.attnum = a.attnum
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
       LEFT JOIN fields ON fields.attrelid = a.attrelid AND fields.attnum = a.attnum
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  for (const row of rows.rows) {
    let list = result.get(row.oid);
    if (!list) result.set(row.oid, (list = []));
    const column: ColumnInfo = { name: row.name, type: row.type, notNull: row.not_null, canSelect: row.can_select };
    if (row.generated !== null)
      column.generated = { expression: row.generated, columns: row.generated_from ?? [], usesUserObjects: row.user_objects };
    if (row.fields !== null) column.fields = row.fields;
    list.push(column);
  }
  return result;
}

/** Server facts recorded in the manifest. */
/** The database's name and the server's version, as the manifest has them. */
export interface ServerFacts {
  serverVersion: string;
  database: string;
}

export async function serverFacts(client: Client): Promise<ServerFacts> {
  const r = await client.query<{ v: string; db: string }>(`SELECT current_setting('server_version') AS v, current_database() AS db`);
  return { serverVersion: r.rows[0].v, database: r.rows[0].db };
}
