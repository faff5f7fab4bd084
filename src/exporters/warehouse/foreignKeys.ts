// Foreign keys as the catalog has them: what a subset export walks (down and up) and what load.sql adds back
// after the data, so that an archive reloads with every constraint validated.
import type { Client } from 'pg';
import { withQualifiedNames } from './catalog';

export interface ForeignKey {
  /** pg_constraint's oid. */
  oid: number;
  /** The constraint's name. */
  name: string;
  /** The referencing table (the constraint's own). */
  relid: number;
  schema: string;
  table: string;
  /** Its columns, in the constraint's order. */
  columns: string[];
  /** The referenced table. */
  refRelid: number;
  refSchema: string;
  refTable: string;
  /** The referenced columns, in the same order as `columns`. */
  refColumns: string[];
  /** `FOREIGN KEY (…) REFERENCES schema.table(…) …` as pg_get_constraintdef prints it (names qualified). */
  definition: string;
  /** False for a NOT VALID constraint: existing rows may break it. */
  validated: boolean;
  deferrable: boolean;
  /** DEFERRABLE INITIALLY DEFERRED. */
  deferred: boolean;
  /** `MATCH FULL` (f), `MATCH PARTIAL` (p) or `MATCH SIMPLE` (s, the default). */
  matchType: 'f' | 'p' | 's';
  /** The unique index on the referenced table that the constraint uses. */
  refIndex: number;
}

/**
 * Every foreign key whose referencing table is one of `relids` (top-level constraints only: those a partition
 * inherits from its partitioned parent, and the ones PostgreSQL adds for each partition of a referenced
 * partitioned table, are left out), ordered by table, then name. The referenced table may be any table.
 */
export async function listForeignKeys(client: Client, relids: number[]): Promise<ForeignKey[]> {
  if (relids.length === 0) return [];
  return withQualifiedNames(client, async () => {
    const r = await client.query<{
      oid: number;
      name: string;
      relid: number;
      schema: string;
      table: string;
      columns: string[];
      ref_relid: number;
      ref_schema: string;
      ref_table: string;
      ref_columns: string[];
      definition: string;
      validated: boolean;
      deferrable: boolean;
      deferred: boolean;
      match_type: 'f' | 'p' | 's';
      ref_index: number;
    }>(
      `SELECT c.oid::int AS oid, c.conname AS name, c.conrelid::int AS relid, n.nspname AS schema, t.relname AS table,
              ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(attnum, i)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum ORDER BY k.i) AS columns,
              c.confrelid::int AS ref_relid, rn.nspname AS ref_schema, rt.relname AS ref_table,
              ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(attnum, i)
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum ORDER BY k.i) AS ref_columns,
              pg_get_constraintdef(c.oid) AS definition, c.convalidated AS validated,
              c.condeferrable AS deferrable, c.condeferred AS deferred, c.confmatchtype::text AS match_type,
              c.conindid::int AS ref_index
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_class rt ON rt.oid = c.confrelid
         JOIN pg_namespace rn ON rn.oid = rt.relnamespace
        WHERE c.contype = 'f' AND c.conparentid = 0 AND c.conrelid = ANY($1::oid[])
        ORDER BY n.nspname, t.relname, c.conname`,
      [relids],
    );
    return r.rows.map((row) => ({
      oid: row.oid,
      name: row.name,
      relid: row.relid,
      schema: row.schema,
      table: row.table,
      columns: row.columns,
      refRelid: row.ref_relid,
      refSchema: row.ref_schema,
      refTable: row.ref_table,
      refColumns: row.ref_columns,
      definition: row.definition,
      validated: row.validated,
      deferrable: row.deferrable,
      deferred: row.deferred,
      matchType: row.match_type,
      refIndex: row.ref_index,
    }));
  });
}
