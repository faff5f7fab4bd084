import type { Client } from 'pg';
import { qualifiedName, quoteIdent, quoteLiteral, type RelationInfo } from './catalog';

/** A relation as exported: the columns kept (scrubbed ones removed). */
export interface ExportedRelation {
  relation: RelationInfo;
  columns: RelationInfo['columns'];
  excludedColumns: string[];
}

/**
 * CREATE statements that reload the exported data into an empty database: schemas, the enum types the
 * columns use, and one table per exported relation with its kept columns, NOT NULL, primary key, unique and
 * check constraints, and partitions. Views are created as tables holding their rows at the snapshot.
 * Foreign keys, defaults, indexes and privileges are left out so that tables load in any order.
 */
export async function buildSchemaSql(client: Client, exported: ExportedRelation[], header: string): Promise<string> {
  const out: string[] = [header, 'SET client_encoding = \'UTF8\';', 'SET standard_conforming_strings = on;', ''];
  const oids = exported.map((e) => e.relation.oid);
  const partitions = new Map<number, PartitionRow[]>();
  for (const e of exported) {
    if (e.relation.kind === 'partitioned table' && e.excludedColumns.length === 0) partitions.set(e.relation.oid, await listPartitions(client, e.relation.oid));
  }
  const schemas = [...new Set([...exported.map((e) => e.relation.schema), ...[...partitions.values()].flat().map((p) => p.schema)])].sort();
  for (const schema of schemas) out.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};`);
  out.push('');

  const enums = await client.query<{ schema: string; name: string; labels: string[] }>(
    `SELECT n.nspname AS schema, t.typname AS name,
            array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
       FROM pg_type t
       JOIN pg_namespace n ON n.oid = t.typnamespace
       JOIN pg_enum e ON e.enumtypid = t.oid
      WHERE t.oid IN (SELECT CASE WHEN et.typelem <> 0 AND et.typcategory = 'A' THEN et.typelem ELSE et.oid END
                        FROM pg_attribute a JOIN pg_type et ON et.oid = a.atttypid
                       WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped)
      GROUP BY n.nspname, t.typname
      ORDER BY 1, 2`,
    [oids],
  );
  for (const schema of [...new Set(enums.rows.map((e) => e.schema))]) {
    if (!schemas.includes(schema)) out.push(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)};`);
  }
  for (const e of enums.rows) {
    out.push(`CREATE TYPE ${qualifiedName(e.schema, e.name)} AS ENUM (${e.labels.map(quoteLiteral).join(', ')});`);
  }
  if (enums.rows.length > 0) out.push('');

  const constraints = await client.query<{ oid: number; def: string; columns: string[] }>(
    `SELECT c.conrelid::int AS oid, pg_get_constraintdef(c.oid) AS def,
            ARRAY(SELECT a.attname::text FROM pg_attribute a
                   WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)) AS columns
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

  for (const e of exported) {
    const rel = e.relation;
    const name = qualifiedName(rel.schema, rel.name);
    const lines = e.columns.map((c) => `  ${quoteIdent(c.name)} ${c.type}${c.notNull && rel.kind !== 'view' ? ' NOT NULL' : ''}`);
    const excluded = new Set(e.excludedColumns);
    if (rel.kind === 'table' || rel.kind === 'partitioned table') {
      for (const con of constraints.rows) {
        if (con.oid === rel.oid && !con.columns.some((c) => excluded.has(c))) lines.push(`  ${con.def}`);
      }
    }
    const partitioned = partitions.has(rel.oid) && partKey.has(rel.oid);
    const note = rel.kind === 'view' || rel.kind === 'materialized view' ? `-- ${rel.kind}: its rows at the snapshot, as a table\n` : '';
    out.push(`${note}CREATE TABLE ${name} (\n${lines.join(',\n')}\n)${partitioned ? ` PARTITION BY ${partKey.get(rel.oid)}` : ''};`);
    if (partitioned) out.push(...partitions.get(rel.oid)!.map(partitionStatement));
    out.push('');
  }
  return out.join('\n');
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
