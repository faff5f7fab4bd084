// A subset export's rows: the roots, then the foreign keys walked down and up (the rule: SUBSET_RULE), all inside the
// export's read-only snapshot transaction.
//
// Where the key sets live: in one temporary table per session, `pg_temp.exit_plan_subset (rel, row_id)`, which holds the
// table (tableoid: a partition for a partitioned table) and the row's ctid of every row in the subset. A ctid names one
// row version for as long as the snapshot lasts, so it needs no primary key and works for every table. The walk is
// SQL run by the server (INSERT … SELECT … WHERE NOT EXISTS, a round at a time until nothing more comes in), so
// no key passes through this process and its memory does not grow with the subset; the server keeps the table in
// temp_buffers and spills it to disk. Why not elsewhere:
// - PostgreSQL refuses CREATE TEMP TABLE inside a READ ONLY transaction (and the export's is read only, so that it
//   cannot write to the warehouse), but a READ ONLY transaction may write to temporary tables: so each session creates
//   the table just before it begins the snapshot transaction.
// - Keys held by the client (arrays, IN lists) would grow with the subset; one recursive query per table would walk the
//   whole graph again for each table.
// - A temporary table is the session's own, so with --jobs the main session copies the keys to each worker (COPY out
//   and in, streamed) once the walk is done.
// - A hot standby cannot create temporary tables at all: a subset export runs against the primary (the sentence says so).
import { pipeline } from 'node:stream/promises';
import type { Client } from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { ExitPlanError, errorMessage, systemCode, throwIfAborted } from '../shared/errors';
import { qualifiedName, quoteIdent, type RelationInfo } from './catalog';
import { commentText } from './schemaSql';
import { listForeignKeys, type ForeignKey } from './foreignKeys';
import type { ManifestSubset, SubsetEdge, SubsetRootResult, TableName } from './model';
import type { SubsetProgress } from './progress';
import { SUBSET_RULE, describeRoot, describeSubsetEdge, type SubsetOptions, type SubsetRoot, type SubsetSkip } from './subsetSpec';

/** The session's key set: one row per row of the subset (its table and ctid), with the round that brought it in. */
export const SUBSET_KEYS = 'pg_temp.exit_plan_subset';

/** Run in each session before its snapshot transaction begins (a READ ONLY transaction cannot create it). */
export const CREATE_SUBSET_KEYS =
  'CREATE TEMP TABLE exit_plan_subset (rel oid NOT NULL, row_id tid NOT NULL, round integer NOT NULL DEFAULT 0, ' +
  'down boolean NOT NULL DEFAULT false, via oid NOT NULL DEFAULT 0)';

/** Creates the session's key set, or says in one sentence why this server cannot (a standby, a read-only role). */
export async function createSubsetKeys(client: Client): Promise<void> {
  try {
    await client.query(CREATE_SUBSET_KEYS);
  } catch (err) {
    if (systemCode(err) === '25006' || systemCode(err) === '42501') {
      throw new ExitPlanError(
        `A subset export keeps its key sets in a temporary table, which this server refuses (${errorMessage(err)}): ` +
          'run it against the primary, as a role that may create temporary tables; nothing was exported.',
        systemCode(err),
        { cause: err },
      );
    }
    throw err;
  }
}

/** How a relation is exported in a subset: only the rows in the key set, or whole (an unrelated table, when asked). */
export type SubsetMode = 'keys' | 'whole';

export interface SubsetWalk {
  /** Every relation the subset exports, and how. Relations not here are left out. */
  modes: Map<number, SubsetMode>;
  /** Rows in the key set per relation (partitions counted under their partitioned table). */
  rows: Map<number, number>;
  manifest: ManifestSubset;
}

/**
 * `ONLY t` for a plain table: an inheritance child is its own table in the archive, as COPY of a table reads only
 * its own rows. A partitioned table reads its partitions; a view is read as it is.
 */
export function fromClause(rel: Pick<RelationInfo, 'schema' | 'name' | 'kind'>): string {
  return `${rel.kind === 'table' ? 'ONLY ' : ''}${qualifiedName(rel.schema, rel.name)}`;
}

/**
 * The rows of `rel` in the key set, as a query for COPY: `SELECT <list> FROM ONLY t WHERE EXISTS (…)`; a plain
 * table's keys are picked by its oid, so the server hashes only that table's.
 */
export function subsetSelect(rel: Pick<RelationInfo, 'oid' | 'schema' | 'name' | 'kind'>, list: string): string {
  const key = rel.kind === 'table' ? `k.rel = ${rel.oid}::oid` : 'k.rel = t.tableoid';
  return `SELECT ${list} FROM ${fromClause(rel)} AS t WHERE EXISTS (SELECT 1 FROM ${SUBSET_KEYS} AS k WHERE ${key} AND k.row_id = t.ctid)`;
}

const label = (schema: string, name: string) => `${schema}.${name}`;

function describeKey(fk: ForeignKey): string {
  return describeSubsetEdge({ from: label(fk.schema, fk.table), to: label(fk.refSchema, fk.refTable), columns: fk.columns });
}

/** The tables reachable from `start` along `steps` ([from, to] pairs of table oids), `start` included. */
function reach(start: Iterable<number>, steps: [from: number, to: number][]): Set<number> {
  const found = new Set(start);
  for (let grew = true; grew;) {
    grew = false;
    for (const [from, to] of steps) {
      if (found.has(from) && !found.has(to)) {
        found.add(to);
        grew = true;
      }
    }
  }
  return found;
}

/** The one root relation a spec names, or one sentence why there is none. */
function findRoot(root: SubsetRoot, relations: RelationInfo[], database: string, filtered: boolean): RelationInfo {
  const named = relations.filter((r) => r.name === root.name && (root.schema === undefined || r.schema === root.schema));
  const shown = root.schema !== undefined ? qualifiedName(root.schema, root.name) : quoteIdent(root.name);
  if (named.length === 0) {
    throw new ExitPlanError(
      `The subset's root table ${shown} does not exist in ${database}` +
        `${filtered ? ' or is not among the chosen schemas and tables' : ''}; nothing was exported.`,
    );
  }
  if (named.length > 1) {
    throw new ExitPlanError(
      `The subset's root table ${shown} is in several schemas (${named.map((r) => quoteIdent(r.schema)).join(', ')}): ` +
        'name it as schema.table; nothing was exported.',
    );
  }
  const rel = named[0];
  if (rel.kind !== 'table' && rel.kind !== 'partitioned table') {
    throw new ExitPlanError(
      `The subset's root ${qualifiedName(rel.schema, rel.name)} is a ${rel.kind}; a root must be a table; nothing was exported.`,
    );
  }
  return rel;
}

/** The foreign key a skip names (its table and exactly its columns, in any order), or one sentence why there is none. */
function findSkip(skip: SubsetSkip, keys: ForeignKey[]): ForeignKey {
  const sameColumns = (fk: ForeignKey) =>
    fk.columns.length === skip.columns.length && [...fk.columns].sort().join('\0') === [...skip.columns].sort().join('\0');
  const onTable = keys.filter((fk) => fk.table === skip.name && (skip.schema === undefined || fk.schema === skip.schema));
  const found = onTable.filter(sameColumns);
  const table = skip.schema !== undefined ? qualifiedName(skip.schema, skip.name) : quoteIdent(skip.name);
  const shown = `${table}(${skip.columns.map(quoteIdent).join(', ')})`;
  if (found.length === 1) return found[0];
  if (found.length > 1)
    throw new ExitPlanError(`The foreign key to skip ${shown} is ambiguous: name the table as schema.table; nothing was exported.`);
  const known = onTable.map((fk) => `(${fk.columns.join(', ')})`);
  throw new ExitPlanError(
    `No foreign key ${shown} to skip: ` +
      `${known.length > 0 ? `that table's foreign keys are ${known.join(', ')}` : 'that table has no foreign keys to exported tables'}; ` +
      'nothing was exported.',
  );
}

/** `c.a = p.x AND c.b = p.y` for a key from `c` (its table) to `p` (the referenced one). */
function joinOn(fk: ForeignKey): string {
  return fk.columns.map((col, i) => `c.${quoteIdent(col)} = p.${quoteIdent(fk.refColumns[i])}`).join(' AND ');
}

interface WalkOptions {
  signal: AbortSignal;
  onProgress: (p: SubsetProgress) => void;
  log: (line: string) => void;
  database: string;
  /** The user chose schemas or tables: a missing root may only be filtered out. */
  filtered: boolean;
}

/**
 * Walks the subset in `client`'s snapshot transaction, filling its key set: the roots, then down until a round
 * brings in nothing, then up likewise. Returns how each relation is exported and the manifest's account.
 */
export async function walkSubset(
  client: Client,
  relations: RelationInfo[],
  subset: SubsetOptions,
  options: WalkOptions,
): Promise<SubsetWalk> {
  const { signal, onProgress, log } = options;
  if (subset.roots.length === 0)
    throw new ExitPlanError('A subset needs at least one root (schema.table: predicate); nothing was exported.');
  const byOid = new Map(relations.map((r) => [r.oid, r]));
  const rootRels = subset.roots.map((root) => findRoot(root, relations, options.database, options.filtered));
  const keys = (await listForeignKeys(client, [...byOid.keys()])).filter((fk) => byOid.has(fk.refRelid));
  const skipped = new Set((subset.skip ?? []).map((s) => findSkip(s, keys).oid));

  // Which tables the walk can reach: down from the roots along keys that are followed down, then up from those.
  const down = keys.filter((fk) => fk.relid !== fk.refRelid && !skipped.has(fk.oid));
  const downTables = reach(
    rootRels.map((r) => r.oid),
    down.map((fk) => [fk.refRelid, fk.relid]),
  );
  const related = reach(
    downTables,
    keys.map((fk) => [fk.relid, fk.refRelid]),
  );
  const modes = new Map<number, SubsetMode>();
  for (const r of relations) {
    if (related.has(r.oid)) modes.set(r.oid, 'keys');
    else if (subset.includeUnrelated) modes.set(r.oid, 'whole');
  }

  let total = 0;
  const progress = (p: Omit<SubsetProgress, 'rows'>) => onProgress({ ...p, rows: total });
  // Every statement of the walk through the extended protocol, which takes one statement only: a predicate cannot
  // end the read-only transaction (`…; COMMIT; …`) and run more after it.
  const query = <R extends object = object>(sql: string, params: unknown[] = []) =>
    client.query<R>({ text: sql, values: params, queryMode: 'extended' } as { text: string; values: unknown[] });
  const run = async (sql: string, params: unknown[] = []): Promise<number> => {
    throwIfAborted(signal);
    return (await query(sql, params)).rowCount ?? 0;
  };
  const analyze = () => run(`ANALYZE ${SUBSET_KEYS}`);
  // Hash joins for the walk. Its statements join whole tables with the key set, and the planner, expecting a
  // handful of rows from a round, would pick a nested loop that scans the key set once per candidate row: the
  // benchmark's step up through users.invited_by took 40 s so, 2 s with hash joins. For this transaction only,
  // until the walk ends.
  await run('SET LOCAL enable_nestloop = off');

  // Rows of `rel` (alias `t`) in the key set: a plain table's keys are found by its oid, a partitioned table's by
  // each row's partition.
  const keyOf = (rel: RelationInfo, t: string) =>
    `k.rel = ${rel.kind === 'table' ? `${rel.oid}::oid` : `${t}.tableoid`} AND k.row_id = ${t}.ctid`;
  // No unique index on the key set: a row is added only when it is not there yet (each statement's SELECT yields a
  // row once), which costs a fifth of INSERT … ON CONFLICT into an index.
  const absent = (rel: RelationInfo, t: string) => `NOT EXISTS (SELECT 1 FROM ${SUBSET_KEYS} AS k WHERE ${keyOf(rel, t)})`;
  const tableRows = new Map<number, number>();
  const tally = (counts: Map<number, number>, relid: number, n: number) => counts.set(relid, (counts.get(relid) ?? 0) + n);

  // Roots.
  progress({ step: 'roots', round: 1 });
  const roots: SubsetRootResult[] = [];
  let fresh = new Map<number, number>();
  for (const [i, root] of subset.roots.entries()) {
    const rel = rootRels[i];
    const table = qualifiedName(rel.schema, rel.name);
    let counts: { matched: string; added: string };
    try {
      // The predicate on lines of its own, so that a `--` comment in it ends with it.
      counts = (
        await query<{ matched: string; added: string }>(
          `WITH matched AS (SELECT t.tableoid, t.ctid FROM ${fromClause(rel)} AS t WHERE (\n${root.predicate}\n)), ` +
            `added AS (INSERT INTO ${SUBSET_KEYS} (rel, row_id, round, down) SELECT t.tableoid, t.ctid, 0, true FROM matched AS t ` +
            `WHERE ${absent(rel, 't')} RETURNING 1) ` +
            'SELECT (SELECT count(*) FROM matched)::text AS matched, (SELECT count(*) FROM added)::text AS added',
        )
      ).rows[0];
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const code = systemCode(err);
      if (code && /^(42|22|21|0A)/.test(code)) {
        throw new ExitPlanError(
          `The subset predicate for ${table} (${commentText(root.predicate)}) is not valid SQL over that table: ${errorMessage(err)}; ` +
            'nothing was exported.',
          code,
          { cause: err },
        );
      }
      throw err;
    }
    const matched = Number(counts.matched);
    const added = Number(counts.added);
    if (matched === 0) {
      throw new ExitPlanError(`The subset predicate ${commentText(root.predicate)} matches no rows of ${table}; nothing was exported.`);
    }
    roots.push({ schema: rel.schema, name: rel.name, predicate: root.predicate, rows: matched });
    total += added;
    tally(tableRows, rel.oid, added);
    if (added > 0) tally(fresh, rel.oid, added);
    log(`Subset root ${describeRoot(root)}: ${matched} rows`);
  }
  await analyze();

  const edges = new Map<string, SubsetEdge>();
  const count = (fk: ForeignKey, direction: 'down' | 'up', rows: number) => {
    const id = `${direction} ${fk.oid}`;
    let edge = edges.get(id);
    if (!edge) {
      edge = {
        from: label(fk.schema, fk.table),
        to: label(fk.refSchema, fk.refTable),
        columns: fk.columns,
        direction,
        rows: 0,
        constraint: fk.name,
        referencedColumns: fk.refColumns,
      };
      edges.set(id, edge);
    }
    edge.rows += rows;
    total += rows;
    tally(tableRows, direction === 'down' ? fk.relid : fk.refRelid, rows);
  };

  // Down: rows of a key's table that reference rows brought in by the last round. A key whose referenced table got
  // no rows in the last round has nothing to walk, and is not asked.
  const downKeys = down.filter((fk) => downTables.has(fk.relid) && downTables.has(fk.refRelid));
  let round = 0;
  for (; fresh.size > 0; round++) {
    const next = new Map<number, number>();
    for (const fk of downKeys) {
      if (!fresh.has(fk.refRelid)) continue;
      progress({ step: 'down', round: round + 1, edge: describeKey(fk) });
      const child = byOid.get(fk.relid)!;
      const parent = byOid.get(fk.refRelid)!;
      const n = await run(
        `INSERT INTO ${SUBSET_KEYS} (rel, row_id, round, down, via) SELECT c.tableoid, c.ctid, $1::int + 1, true, ${fk.oid} ` +
          `FROM ${fromClause(child)} AS c WHERE EXISTS (SELECT 1 FROM ${fromClause(parent)} AS p ` +
          `JOIN ${SUBSET_KEYS} AS k ON ${keyOf(parent, 'p')} WHERE k.round = $1 AND k.down AND ${joinOn(fk)}) ` +
          `AND ${absent(child, 'c')}`,
        [round],
      );
      if (n > 0) {
        count(fk, 'down', n);
        tally(next, fk.relid, n);
      }
    }
    if (next.size > 0) await analyze();
    fresh = next;
  }
  log(`Subset: ${round} round(s) down, ${total} rows`);

  // Up: rows referenced by the rows brought in so far (first every row, then the last round's), transitively.
  // A table exported whole references rows too; a key to a table exported whole needs nothing more.
  const upKeys = keys.filter((fk) => modes.has(fk.relid) && modes.get(fk.refRelid) === 'keys');
  // Every table with rows so far walks up in the first round.
  fresh = new Map([...tableRows].filter(([, n]) => n > 0));
  for (const r of relations) if (modes.get(r.oid) === 'whole') fresh.set(r.oid, 1);
  let lo = 0;
  let hi = round;
  for (let upRound = 1; fresh.size > 0; upRound++) {
    const next = new Map<number, number>();
    for (const fk of upKeys) {
      if (!fresh.has(fk.relid)) continue;
      // In the first round, a table whose every row came down through this key has nothing to ask up through it.
      const downThrough = edges.get(`down ${fk.oid}`)?.rows ?? 0;
      if (upRound === 1 && downThrough > 0 && downThrough === tableRows.get(fk.relid)) continue;
      const wholeChild = modes.get(fk.relid) === 'whole';
      progress({ step: 'up', round: upRound, edge: describeKey(fk) });
      const child = byOid.get(fk.relid)!;
      const parent = byOid.get(fk.refRelid)!;
      const source = wholeChild
        ? `SELECT 1 FROM ${fromClause(child)} AS c WHERE $1::int IS NOT NULL AND ${joinOn(fk)}`
        : // A row that came down through this key references an included row through it: not asked again.
          `SELECT 1 FROM ${fromClause(child)} AS c JOIN ${SUBSET_KEYS} AS k ON ${keyOf(child, 'c')} ` +
          `WHERE k.round BETWEEN $1::int AND $2::int AND NOT (k.down AND k.via = ${fk.oid}) AND ${joinOn(fk)}`;
      const n = await run(
        `INSERT INTO ${SUBSET_KEYS} (rel, row_id, round, down) SELECT p.tableoid, p.ctid, $2::int + 1, false ` +
          `FROM ${fromClause(parent)} AS p WHERE EXISTS (${source}) AND ${absent(parent, 'p')}`,
        [lo, hi],
      );
      if (n > 0) {
        count(fk, 'up', n);
        tally(next, fk.refRelid, n);
      }
    }
    lo = hi + 1;
    hi = lo;
    if (next.size > 0) await analyze();
    fresh = next;
  }

  await run('SET LOCAL enable_nestloop TO DEFAULT');

  // Each row was added once, by one statement: the counts are the statements' own.
  const rows = new Map<number, number>();
  for (const r of relations) if (modes.get(r.oid) === 'keys') rows.set(r.oid, tableRows.get(r.oid) ?? 0);
  log(`Subset chosen: ${total} rows in ${rows.size} tables`);

  const name = (r: RelationInfo): TableName => ({ schema: r.schema, name: r.name });
  const order = (e: SubsetEdge) => (e.direction === 'down' ? 0 : 1);
  return {
    modes,
    rows,
    manifest: {
      roots,
      rule: SUBSET_RULE,
      includeUnrelated: subset.includeUnrelated === true,
      skip: keys.filter((fk) => skipped.has(fk.oid)).map((fk) => ({ schema: fk.schema, name: fk.table, columns: fk.columns })),
      edges: [...edges.values()].sort((a, b) => order(a) - order(b)),
      unrelated: relations
        .filter((r) => !related.has(r.oid))
        .map((r) => ({ ...name(r), exported: subset.includeUnrelated ? ('whole' as const) : ('left out' as const) })),
    },
  };
}

/**
 * Gives a worker session the main session's key set (each session's temporary table is its own): COPY out of one,
 * into the other, streamed; then ANALYZE, so that the worker's planner knows its size.
 */
export async function copySubsetKeys(from: Client, to: Client): Promise<void> {
  const out = from.query(copyTo(`COPY (SELECT rel, row_id FROM ${SUBSET_KEYS}) TO STDOUT`));
  const into = to.query(copyFrom(`COPY ${SUBSET_KEYS} (rel, row_id) FROM STDIN`));
  await pipeline(out, into);
  await to.query(`ANALYZE ${SUBSET_KEYS}`);
}
