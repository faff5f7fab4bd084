import type { Client } from 'pg';
import { FIRST_NORMAL_OID, RESOLVED_TYPES_SQL, TYPES_INSIDE, qualifiedName, withQualifiedNames, quoteIdent, quoteLiteral } from './catalog';
import { listForeignKeys } from './foreignKeys';
import type { ExportedRelation } from './model';

/** The columns the CSV files hold, in order: every kept column but the generated ones. */
export function csvColumns(exported: { columns: { name: string; generated?: unknown }[] }): string[] {
  return exported.columns.filter((c) => !c.generated).map((c) => c.name);
}

/** Text for a one-line `--` comment: line breaks and other control characters escaped. */
export function commentText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** What load.sql adds after the data: the foreign keys (and the unique indexes they need), and why any is left out. */
export interface ForeignKeysSql {
  /** Lines for the end of load.sql: CREATE UNIQUE INDEX, ALTER TABLE … ADD CONSTRAINT, and `-- left out:` comments. */
  lines: string[];
  /** Foreign keys load.sql adds. */
  added: number;
  /** Foreign keys left out, each with a `-- left out:` comment saying why. */
  leftOut: number;
}

export interface SchemaSql {
  /** schema.sql's text. */
  sql: string;
  /** The foreign keys, for the end of load.sql. */
  foreignKeys: ForeignKeysSql;
}

/**
 * CREATE statements that reload the exported data into an empty database: schemas, the enum, composite
 * and range types the columns use (in dependency order), and one table per exported relation with its kept
 * columns, generated columns, NOT NULL, primary key, unique and check constraints, and partitions. Views
 * are created as tables holding their rows at the snapshot. Defaults, indexes and privileges are left out;
 * so are check constraints that call functions or operators that are not built in (a comment says so), as
 * the archive does not carry functions. Foreign keys are not in schema.sql, so that tables load in any
 * order: they come back as `foreignKeys`, for load.sql to add after the data (see foreignKeyStatements).
 */
export async function buildSchemaSql(client: Client, exported: ExportedRelation[], header: string): Promise<SchemaSql> {
  return withQualifiedNames(client, () => schemaStatements(client, exported, header));
}

async function schemaStatements(client: Client, exported: ExportedRelation[], header: string): Promise<SchemaSql> {
  const out: string[] = [header, "SET client_encoding = 'UTF8';", 'SET standard_conforming_strings = on;', ''];
  const oids = exported.map((e) => e.relation.oid);
  const partitions = new Map<number, PartitionRow[]>();
  for (const e of exported) {
    if (e.relation.kind === 'partitioned table' && e.excludedColumns.length === 0)
      partitions.set(e.relation.oid, await listPartitions(client, e.relation.oid));
  }
  const types = await userTypes(client, exported);
  const schemas = [
    ...new Set([
      ...exported.map((e) => e.relation.schema),
      ...[...partitions.values()].flat().map((p) => p.schema),
      ...types.types.map((t) => t.schema),
    ]),
  ].sort();
  for (const schema of schemas) out.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};`);
  out.push('');

  const constraints = await client.query<{
    oid: number;
    name: string;
    def: string;
    columns: string[];
    user_objects: boolean;
    validated: boolean;
    index: number;
  }>(
    `SELECT c.conrelid::int AS oid, c.conname AS name, pg_get_constraintdef(c.oid) AS def, c.convalidated AS validated,
            c.conindid::int AS index,
            -- A primary key's or unique constraint's INCLUDE columns are in its index, not in conkey.
            ARRAY(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.conrelid
                     AND (a.attnum = ANY(c.conkey)
                          OR (c.contype IN ('p', 'u')
                              AND a.attnum = ANY(SELECT unnest(i.indkey::int2[]) FROM pg_index i WHERE i.indexrelid = c.conindid))))
              AS columns,
            EXISTS (SELECT 1 FROM pg_depend d
                     WHERE d.classid = 'pg_constraint'::regclass AND d.objid = c.oid
                       AND d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass, 'pg_collation'::regclass)
                       AND d.refobjid >= ${FIRST_NORMAL_OID}) AS user_objects
       FROM pg_constraint c
      WHERE c.conrelid = ANY($1::oid[]) AND c.contype IN ('p', 'u', 'c') AND c.conparentid = 0
      ORDER BY c.conrelid, c.contype DESC, c.conname`,
    [oids],
  );
  const partKeys = await client.query<{ oid: number; key: string }>(
    `SELECT c.oid::int AS oid, pg_get_partkeydef(c.oid) AS key FROM pg_class c WHERE c.oid = ANY($1::oid[]) AND c.relkind = 'p'`,
    [oids],
  );
  const partKey = new Map(partKeys.rows.map((r) => [r.oid, r.key]));
  // The unique indexes of the primary keys and unique constraints written: what foreign keys can reference.
  const uniqueIndexes = new Map<number, string>();

  const tableSql = (e: ExportedRelation): string => {
    const rel = e.relation;
    const name = qualifiedName(rel.schema, rel.name);
    const notes: string[] = [];
    const lines = e.columns.map((c) => {
      if (c.note) notes.push(`-- ${commentText(c.note)}`);
      const notNull = c.notNull && rel.kind !== 'view' ? ' NOT NULL' : '';
      return `  ${quoteIdent(c.name)} ${c.type}${notNull}${c.generated ? ` GENERATED ALWAYS AS (${c.generated}) STORED` : ''}`;
    });
    const excluded = new Set(e.excludedColumns);
    if (rel.kind === 'table' || rel.kind === 'partitioned table') {
      for (const con of constraints.rows) {
        if (con.oid !== rel.oid || con.columns.some((c) => excluded.has(c))) continue;
        if (con.user_objects) {
          notes.push(
            `-- left out: constraint ${commentText(quoteIdent(con.name))} ${commentText(con.def)} ` +
              `(it calls a function or operator that is not in this archive)`,
          );
        } else if (!con.validated) {
          // Rows from before a NOT VALID constraint may break it; pg_dump too adds these after the data.
          notes.push(
            `-- left out: constraint ${commentText(quoteIdent(con.name))} ${commentText(con.def)} ` +
              `(NOT VALID: existing rows may break it; after load.sql, ALTER TABLE ${commentText(name)} ` +
              `ADD CONSTRAINT ${commentText(quoteIdent(con.name))} ${commentText(con.def)};)`,
          );
        } else {
          lines.push(`  ${con.def}`);
          if (con.index !== 0) uniqueIndexes.set(con.index, con.name);
        }
      }
    }
    const partitioned = partitions.has(rel.oid) && partKey.has(rel.oid);
    if (rel.kind === 'view' || rel.kind === 'materialized view') notes.unshift(`-- ${rel.kind}: its rows at the snapshot, as a table`);
    const note = notes.map((n) => `${n}\n`).join('');
    const statements = [
      `${note}CREATE TABLE ${name} (\n${lines.join(',\n')}\n)${partitioned ? ` PARTITION BY ${partKey.get(rel.oid)}` : ''};`,
    ];
    if (partitioned) statements.push(...partitions.get(rel.oid)!.map(partitionStatement));
    return `${statements.join('\n')}\n`;
  };

  // Types first, tables in export order, each after what it needs: a type can hold an exported table's
  // row type, and a table's column can be another exported table's row type.
  const done = new Set<number>();
  const typeByOid = new Map(types.types.map((t) => [t.oid, t]));
  const tableByRowType = new Map(exported.map((e) => [types.rowTypes.get(e.relation.oid), e]));
  const visitNode = (oid: number) => {
    const table = tableByRowType.get(oid);
    const type = typeByOid.get(oid);
    if (table) visitTable(table);
    else if (type) visitType(type);
  };
  const visitType = (t: (typeof types.types)[number]) => {
    if (done.has(t.oid)) return;
    done.add(t.oid);
    for (const dep of t.deps) visitNode(dep);
    out.push(t.sql);
  };
  const visitTable = (e: ExportedRelation) => {
    const rowType = types.rowTypes.get(e.relation.oid) ?? -e.relation.oid;
    if (done.has(rowType)) return;
    done.add(rowType);
    for (const dep of types.columnDeps.get(e.relation.oid) ?? []) if (dep !== rowType) visitNode(dep);
    // A blank line after the types; each table ends with one.
    if (out[out.length - 1] !== '' && !out[out.length - 1].endsWith('\n')) out.push('');
    out.push(tableSql(e));
  };
  for (const t of types.types) visitType(t);
  for (const e of exported) visitTable(e);
  const foreignKeys = await foreignKeyStatements(client, exported, uniqueIndexes);
  const where =
    foreignKeys.added + foreignKeys.leftOut === 0
      ? '-- The tables have no foreign keys.'
      : `-- Foreign keys: ${foreignKeys.added} added at the end of load.sql, after the data, each validated` +
        (foreignKeys.leftOut > 0 ? `; ${foreignKeys.leftOut} left out (a "-- left out:" comment in load.sql says why each).` : '.');
  // Under the header: where the foreign keys are.
  out.splice(1, 0, where);
  return { sql: out.join('\n'), foreignKeys };
}

interface TypeRow {
  oid: number;
  schema: string;
  name: string;
  kind: string;
  relid: number;
  elem: number;
  base: number;
  formatted: string;
  user: boolean;
  labels: string[] | null;
  subtype: number | null;
  opclass: string | null;
  collation: string | null;
  subdiff: string | null;
  multirange_schema: string | null;
  multirange_name: string | null;
  range_of: number | null;
}

interface TypeGraph {
  /** CREATE TYPE statements, each with the types (or exported tables' row types) it needs first. */
  types: { oid: number; schema: string; sql: string; deps: Set<number> }[];
  /** Each exported relation's row type. */
  rowTypes: Map<number, number>;
  /** Per exported relation: the types (or other exported tables' row types) its columns need first. */
  columnDeps: Map<number, Set<number>>;
}

/**
 * CREATE TYPE statements for the user-defined enum, composite and range types the relations' columns
 * use, directly or inside arrays, domains, composites and ranges, with what each needs first. The row
 * type of a table that is not exported is created as a composite type. Types owned by extensions are
 * left to CREATE EXTENSION; domains are written as their base types.
 */
async function userTypes(client: Client, exported: ExportedRelation[]): Promise<TypeGraph> {
  const oids = exported.map((e) => e.relation.oid);
  const exportedOids = new Set(oids);
  const closure = await client.query<TypeRow>(
    `WITH RECURSIVE used(oid) AS (
       SELECT a.atttypid FROM pg_attribute a WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped
       -- Types that check constraints and generated columns name (e.g. a cast to an enum no column has).
       UNION
       SELECT d.refobjid FROM pg_depend d JOIN pg_constraint c ON c.oid = d.objid
        WHERE d.classid = 'pg_constraint'::regclass AND d.refclassid = 'pg_type'::regclass AND c.conrelid = ANY($1::oid[])
       UNION
       SELECT d.refobjid FROM pg_depend d JOIN pg_attrdef ad ON ad.oid = d.objid
        WHERE d.classid = 'pg_attrdef'::regclass AND d.refclassid = 'pg_type'::regclass AND ad.adrelid = ANY($1::oid[])
       UNION
       SELECT x.oid
         FROM used u
         JOIN pg_type t ON t.oid = u.oid
        CROSS JOIN ${TYPES_INSIDE} x(oid)
     )
     SELECT t.oid::int AS oid, n.nspname AS schema, t.typname AS name, t.typtype::text AS kind, t.typrelid::int AS relid,
            CASE WHEN t.typcategory = 'A' AND t.typlen = -1 THEN t.typelem ELSE 0 END::int AS elem,
            t.typbasetype::int AS base, format_type(t.oid, NULL) AS formatted,
            t.oid >= ${FIRST_NORMAL_OID} AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                              WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e') AS user,
            CASE WHEN t.typtype = 'e'
                 THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END AS labels,
            r.rngsubtype::int AS subtype,
            CASE WHEN NOT oc.opcdefault AND oc.oid < ${FIRST_NORMAL_OID}
                 THEN quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END AS opclass,
            CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation AND co.oid < ${FIRST_NORMAL_OID}
                 THEN quote_ident(con.nspname) || '.' || quote_ident(co.collname) END AS collation,
            CASE WHEN r.rngsubdiff <> 0 AND r.rngsubdiff < ${FIRST_NORMAL_OID} THEN r.rngsubdiff::regproc::text END AS subdiff,
            mn.nspname AS multirange_schema, mt.typname AS multirange_name,
            mr.rngtypid::int AS range_of
       FROM used
       JOIN pg_type t ON t.oid = used.oid
       JOIN pg_namespace n ON n.oid = t.typnamespace
       LEFT JOIN pg_range r ON r.rngtypid = t.oid
       LEFT JOIN pg_type st ON st.oid = r.rngsubtype
       LEFT JOIN pg_opclass oc ON oc.oid = r.rngsubopc
       LEFT JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
       LEFT JOIN pg_collation co ON co.oid = r.rngcollation
       LEFT JOIN pg_namespace con ON con.oid = co.collnamespace
       LEFT JOIN pg_type mt ON mt.oid = r.rngmultitypid
       LEFT JOIN pg_namespace mn ON mn.oid = mt.typnamespace
       LEFT JOIN pg_range mr ON mr.rngmultitypid = t.oid
      ORDER BY n.nspname, t.typname`,
    [oids],
  );
  const byOid = new Map(closure.rows.map((t) => [t.oid, t]));
  const rowTypes = new Map(
    (
      await client.query<{ oid: number; type: number }>(
        `SELECT oid::int AS oid, reltype::int AS type FROM pg_class WHERE oid = ANY($1::oid[])`,
        [oids],
      )
    ).rows.map((r) => [r.oid, r.type]),
  );
  const exportedRowType = (t: TypeRow) => t.kind === 'c' && exportedOids.has(t.relid);
  const creatable = (t: TypeRow) => t.user && (t.kind === 'e' || t.kind === 'r' || (t.kind === 'c' && !exportedRowType(t)));
  const wanted = closure.rows.filter(creatable);
  const composites = wanted.filter((t) => t.kind === 'c');
  const attributes = new Map<number, { attnum: number; name: string; typid: number; type: string }[]>();
  if (composites.length > 0) {
    const attrs = await client.query<{ typid: number; attnum: number; name: string; atttypid: number; type: string }>(
      `WITH types AS (${RESOLVED_TYPES_SQL})
       SELECT t.oid::int AS typid, a.attnum::int AS attnum, a.attname AS name, a.atttypid::int AS atttypid, types.type
         FROM pg_type t
         JOIN pg_attribute a ON a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped
         JOIN types ON types.attrelid = a.attrelid AND types.attnum = a.attnum
        WHERE t.typrelid = ANY($1::oid[])
        ORDER BY t.oid, a.attnum`,
      [composites.map((t) => t.relid)],
    );
    for (const a of attrs.rows) {
      let list = attributes.get(a.typid);
      if (!list) attributes.set(a.typid, (list = []));
      list.push({ attnum: a.attnum, name: a.name, typid: a.atttypid, type: a.type });
    }
  }

  // The user types a type needs first: through arrays and domains, a multirange by its range.
  const needs = (typid: number, found: Set<number>, seen = new Set<number>()): void => {
    const t = byOid.get(typid);
    if (!t || seen.has(typid)) return;
    seen.add(typid);
    if (t.kind === 'd') return needs(t.base, found, seen);
    if (t.elem !== 0) return needs(t.elem, found, seen);
    if (t.range_of !== null) return needs(t.range_of, found, seen);
    if (creatable(t) || exportedRowType(t)) found.add(t.oid);
  };
  // The name a type is written with: domains as their base types (as columns are).
  const typeName = (typid: number): string => {
    const t = byOid.get(typid)!;
    if (t.kind === 'd') return typeName(t.base);
    if (t.elem !== 0 && byOid.get(t.elem)?.kind === 'd') return `${typeName(t.elem)}[]`;
    return t.formatted;
  };

  const statement = (t: TypeRow): string => {
    const name = qualifiedName(t.schema, t.name);
    if (t.kind === 'e') return `CREATE TYPE ${name} AS ENUM (${(t.labels ?? []).map(quoteLiteral).join(', ')});`;
    if (t.kind === 'c') {
      const attrs = (attributes.get(t.oid) ?? []).map((a) => `  ${quoteIdent(a.name)} ${a.type}`);
      return `CREATE TYPE ${name} AS (${attrs.length > 0 ? `\n${attrs.join(',\n')}\n` : ''});`;
    }
    const options = [`SUBTYPE = ${typeName(t.subtype!)}`];
    if (t.opclass) options.push(`SUBTYPE_OPCLASS = ${t.opclass}`);
    if (t.collation) options.push(`COLLATION = ${t.collation}`);
    if (t.subdiff) options.push(`SUBTYPE_DIFF = ${t.subdiff}`);
    if (t.multirange_name !== null) options.push(`MULTIRANGE_TYPE_NAME = ${qualifiedName(t.multirange_schema!, t.multirange_name)}`);
    return `CREATE TYPE ${name} AS RANGE (${options.join(', ')});`;
  };

  const depsOf = (t: TypeRow) => {
    const deps = new Set<number>();
    if (t.kind === 'c') for (const a of attributes.get(t.oid) ?? []) needs(a.typid, deps);
    if (t.kind === 'r' && t.subtype !== null) needs(t.subtype, deps);
    deps.delete(t.oid);
    return deps;
  };
  const columnTypes = await client.query<{ relid: number; typid: number }>(
    `SELECT attrelid::int AS relid, atttypid::int AS typid FROM pg_attribute WHERE attrelid = ANY($1::oid[]) ` +
      `AND attnum > 0 AND NOT attisdropped`,
    [oids],
  );
  const columnDeps = new Map<number, Set<number>>();
  for (const c of columnTypes.rows) {
    let deps = columnDeps.get(c.relid);
    if (!deps) columnDeps.set(c.relid, (deps = new Set()));
    needs(c.typid, deps);
  }
  return { types: wanted.map((t) => ({ oid: t.oid, schema: t.schema, sql: statement(t), deps: depsOf(t) })), rowTypes, columnDeps };
}

interface PartitionRow {
  schema: string;
  name: string;
  parent_schema: string;
  parent_name: string;
  bound: string;
  key: string | null;
}

/** Every partition under a partitioned table, parents before their children. */
async function listPartitions(client: Client, root: number): Promise<PartitionRow[]> {
  const parts = await client.query<PartitionRow>(
    `SELECT n.nspname AS schema, c.relname AS name, pn.nspname AS parent_schema, p.relname AS parent_name,
            pg_get_expr(c.relpartbound, c.oid) AS bound,
            CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS key
       FROM pg_partition_tree($1::oid) t
       JOIN pg_class c ON c.oid = t.relid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_class p ON p.oid = t.parentrelid
       JOIN pg_namespace pn ON pn.oid = p.relnamespace
      WHERE t.level > 0 AND c.relkind IN ('r', 'p')
      ORDER BY t.level, n.nspname, c.relname`,
    [root],
  );
  return parts.rows;
}

function partitionStatement(p: PartitionRow): string {
  return (
    `CREATE TABLE ${qualifiedName(p.schema, p.name)} PARTITION OF ${qualifiedName(p.parent_schema, p.parent_name)} ${p.bound}` +
    `${p.key ? ` PARTITION BY ${p.key}` : ''};`
  );
}

interface UniqueIndexRow {
  oid: number;
  /** quote_ident of the index's name, as pg_get_indexdef writes it. */
  quoted: string;
  def: string;
  partial: boolean;
  expressions: boolean;
  /** Key and INCLUDE columns. */
  columns: string[];
  user_objects: boolean;
  /** The primary key, unique or exclusion constraint the index belongs to, if any. */
  constraint_name: string | null;
}

/**
 * The foreign keys of the exported tables, for the end of load.sql (after every \copy, in its transaction, so
 * each is validated against every row and the load is all or nothing). A key is added when its table and the
 * table it references are both in the archive with all the key's columns, it is validated, and the unique
 * constraint or index it references is created by schema.sql or can be created here: a plain unique index
 * (not a constraint's, which schema.sql does not write) comes first, once. Every other key gets a
 * `-- left out:` comment saying why; a NOT VALID one's comment holds the ALTER TABLE that adds it back.
 * DEFERRABLE, MATCH FULL and ON DELETE/UPDATE actions are kept as pg_get_constraintdef prints them.
 */
async function foreignKeyStatements(
  client: Client,
  exported: ExportedRelation[],
  uniqueIndexes: Map<number, string>,
): Promise<ForeignKeysSql> {
  const byOid = new Map(exported.map((e) => [e.relation.oid, e]));
  const tables = exported.filter((e) => e.relation.kind === 'table' || e.relation.kind === 'partitioned table').map((e) => e.relation.oid);
  // A key can be declared on one partition alone: listed too, so that it is not lost without a word.
  const partitionsOf = await client.query<{ oid: number; root_schema: string; root_name: string }>(
    `SELECT c.oid::int AS oid, rn.nspname AS root_schema, r.relname AS root_name
       FROM pg_class c
       JOIN pg_class r ON r.oid = pg_partition_root(c.oid)
       JOIN pg_namespace rn ON rn.oid = r.relnamespace
      WHERE c.relispartition AND r.oid = ANY($1::oid[])`,
    [exported.filter((e) => e.relation.kind === 'partitioned table').map((e) => e.relation.oid)],
  );
  const rootOf = new Map(partitionsOf.rows.map((r) => [r.oid, qualifiedName(r.root_schema, r.root_name)]));
  const keys = await listForeignKeys(client, [...tables, ...rootOf.keys()]);
  const result: ForeignKeysSql = { lines: [], added: 0, leftOut: 0 };
  if (keys.length === 0) return result;

  const missingRefs = [...new Set(keys.filter((k) => !byOid.has(k.refRelid)).map((k) => k.refRelid))];
  const partitions = new Set(
    (
      await client.query<{ oid: number }>(`SELECT oid::int AS oid FROM pg_class WHERE oid = ANY($1::oid[]) AND relispartition`, [
        missingRefs,
      ])
    ).rows.map((r) => r.oid),
  );
  const otherIndexes = [...new Set(keys.map((k) => k.refIndex).filter((oid) => oid !== 0 && !uniqueIndexes.has(oid)))];
  const indexes = new Map(
    (
      await client.query<UniqueIndexRow>(
        `SELECT i.indexrelid::int AS oid, quote_ident(ic.relname) AS quoted, pg_get_indexdef(i.indexrelid) AS def,
                i.indpred IS NOT NULL AS partial, i.indexprs IS NOT NULL AS expressions,
                ARRAY(SELECT a.attname::text FROM pg_attribute a
                       WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey::int2[])) AS columns,
                EXISTS (SELECT 1 FROM pg_depend d
                         WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
                           AND d.refclassid IN ('pg_proc'::regclass, 'pg_operator'::regclass, 'pg_collation'::regclass,
                                                'pg_opclass'::regclass)
                           AND d.refobjid >= ${FIRST_NORMAL_OID}) AS user_objects,
                (SELECT c.conname FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                    AND c.contype IN ('p', 'u', 'x') LIMIT 1) AS constraint_name
           FROM pg_index i
           JOIN pg_class ic ON ic.oid = i.indexrelid
          WHERE i.indexrelid = ANY($1::oid[])`,
        [otherIndexes],
      )
    ).rows.map((r) => [r.oid, r]),
  );

  const created = new Set<number>();
  const indexLines: string[] = [];
  const keyLines: string[] = [];
  for (const key of keys) {
    const table = qualifiedName(key.schema, key.table);
    const refTable = qualifiedName(key.refSchema, key.refTable);
    const add = `ALTER TABLE ${table} ADD CONSTRAINT ${quoteIdent(key.name)} ${key.definition};`;
    const leaveOut = (why: string) => {
      keyLines.push(
        `-- left out: foreign key ${commentText(quoteIdent(key.name))} on ${commentText(table)} ${commentText(key.definition)} (${why})`,
      );
      result.leftOut++;
    };
    const own = byOid.get(key.relid);
    const ref = byOid.get(key.refRelid);
    if (!own) {
      leaveOut(
        `it is declared on ${commentText(table)}, a partition of ${commentText(rootOf.get(key.relid) ?? '')}, and load.sql adds ` +
          `foreign keys between whole tables only; if schema.sql created that partition, after load.sql: ${commentText(add)}`,
      );
      continue;
    }
    const ownScrubbed = key.columns.find((c) => own.excludedColumns.includes(c));
    const refScrubbed = ref && key.refColumns.find((c) => ref.excludedColumns.includes(c));
    if (!ref && partitions.has(key.refRelid)) {
      leaveOut(
        `it references ${commentText(refTable)}, a partition, and load.sql adds foreign keys between whole tables only; ` +
          `if schema.sql created that partition, after load.sql: ${commentText(add)}`,
      );
    } else if (!ref) {
      leaveOut(`it references ${commentText(refTable)}, which is not in this archive`);
    } else if (ownScrubbed !== undefined || refScrubbed !== undefined) {
      const [column, of] = ownScrubbed !== undefined ? [ownScrubbed, table] : [refScrubbed!, refTable];
      leaveOut(`column ${commentText(quoteIdent(column))} of ${commentText(of)} is left out of this archive`);
    } else if (!key.validated) {
      // Rows from before a NOT VALID key may break it; as for NOT VALID checks in schema.sql.
      leaveOut(`NOT VALID: existing rows may break it; after load.sql, ${commentText(add)}`);
    } else {
      const index = uniqueIndexes.has(key.refIndex) ? undefined : indexes.get(key.refIndex);
      const missing = uniqueIndexes.has(key.refIndex) ? undefined : indexProblem(index, refTable, ref.excludedColumns);
      if (missing) {
        leaveOut(missing);
        continue;
      }
      if (index && !created.has(index.oid)) {
        created.add(index.oid);
        // pg_get_indexdef writes `ON ONLY` for a partitioned table's index: that would not build its partitions' indexes.
        const only = `CREATE UNIQUE INDEX ${index.quoted} ON ONLY `;
        const def = index.def.startsWith(only) ? `CREATE UNIQUE INDEX ${index.quoted} ON ${index.def.slice(only.length)}` : index.def;
        indexLines.push(
          `-- the unique index foreign keys to ${commentText(refTable)} need (schema.sql writes constraints only)`,
          `${def};`,
        );
      }
      keyLines.push(add);
      result.added++;
    }
  }
  result.lines = [...indexLines, ...keyLines];
  return result;
}

/** Why load.sql cannot create the unique index a foreign key references (schema.sql did not), or undefined if it can. */
function indexProblem(index: UniqueIndexRow | undefined, refTable: string, excludedColumns: string[]): string | undefined {
  if (!index) return `the unique index it references on ${commentText(refTable)} is not in schema.sql`;
  const name = commentText(index.quoted);
  if (index.constraint_name !== null) {
    const constraint = commentText(quoteIdent(index.constraint_name));
    return `the constraint ${constraint} of ${commentText(refTable)} it references is left out of schema.sql`;
  }
  if (index.partial || index.expressions) return `the unique index ${name} it references is partial or on expressions`;
  if (index.user_objects) return `the unique index ${name} it references uses a function, operator, class or collation not in this archive`;
  if (index.columns.some((c) => excludedColumns.includes(c)))
    return `the unique index ${name} it references holds a column left out of this archive`;
  return undefined;
}
