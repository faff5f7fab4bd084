// What a subset export is asked for, as text (`--subset 'schema.table: predicate'`, `--subset-skip 'schema.table(col, …)'`)
// and as data; the archive's label. No database here: subset.ts walks the foreign keys.
import { ExitPlanError } from '../shared/errors';
import type { SubsetEdge } from './model';

/** The rows of one root table that match a predicate (SQL over that table). */
export interface SubsetRoot {
  /** Absent when the spec named the table alone: found in whichever schema has it (refused when several do). */
  schema?: string;
  name: string;
  /** SQL placed in `WHERE (…)` over the root table, run inside the export's read-only snapshot transaction. */
  predicate: string;
}

/** A foreign key named by its table and columns, cut from the downward walk. */
export interface SubsetSkip {
  schema?: string;
  name: string;
  columns: string[];
}

export interface SubsetOptions {
  /** At least one. Roots in the same table are OR-ed. */
  roots: SubsetRoot[];
  /** Export the tables with no foreign-key path to the roots whole (lookup tables, settings); else list them as left out. */
  includeUnrelated?: boolean;
  /** Foreign keys not followed down (they are still followed up). */
  skip?: SubsetSkip[];
}

/** The rule, as the manifest and README state it. */
export const SUBSET_RULE = [
  'Roots: the rows of each root table that match its predicate.',
  'Down: every row that references an included root-or-down row through a foreign key (single or multi-column) is included, ' +
    'transitively. Self-referencing foreign keys are not followed down, nor those cut with --subset-skip; they are followed up.',
  'Up: every row referenced by an included row is included, transitively, so every foreign key in the subset resolves. ' +
    'Rows included only this way do not pull in their own children.',
  'Tables the walk cannot reach are left out and listed; --subset-include-unrelated exports them whole ' +
    '(and the rows they reference are then included too).',
  'Cycles terminate: a row is included once.',
].join(' ');

/**
 * Reads one SQL identifier at `at`: `"quoted"` as is (`""` is a quote), else letters, digits, `_`, `$`, with A-Z
 * folded to lower case as PostgreSQL does.
 */
function identifier(text: string, at: number, what: string): { name: string; end: number } {
  if (text[at] === '"') {
    let name = '';
    let i = at + 1;
    for (;;) {
      const close = text.indexOf('"', i);
      if (close < 0) throw new ExitPlanError(`${what}: a quoted name is not closed (missing ").`);
      name += text.slice(i, close);
      if (text[close + 1] === '"') {
        name += '"';
        i = close + 2;
      } else {
        i = close + 1;
        break;
      }
    }
    if (name === '') throw new ExitPlanError(`${what}: a quoted name is empty.`);
    return { name, end: i };
  }
  const m = /^[\p{L}_][\p{L}\p{N}_$]*/u.exec(text.slice(at));
  if (!m) throw new ExitPlanError(`${what}: expected a table name at "${text.slice(at, at + 20)}".`);
  return { name: m[0].replace(/[A-Z]+/g, (s) => s.toLowerCase()), end: at + m[0].length };
}

const skipSpaces = (text: string, at: number) => {
  while (at < text.length && /\s/.test(text[at])) at++;
  return at;
};

/** `schema.table` or `table`, from `at`; returns where it ends. */
function tableName(text: string, at: number, what: string): { schema?: string; name: string; end: number } {
  const first = identifier(text, skipSpaces(text, at), what);
  const dot = skipSpaces(text, first.end);
  if (text[dot] !== '.') return { name: first.name, end: first.end };
  const second = identifier(text, skipSpaces(text, dot + 1), what);
  return { schema: first.name, name: second.name, end: second.end };
}

/** `schema.table: predicate` (the schema may be left out; names as in SQL: quote them to keep capitals or odd characters). */
export function parseSubsetRoot(text: string): SubsetRoot {
  const what = `The subset "${text}" is not "schema.table: predicate"`;
  const table = tableName(text, 0, what);
  const colon = skipSpaces(text, table.end);
  if (text[colon] !== ':') throw new ExitPlanError(`${what}: a colon must follow the table name.`);
  const predicate = text.slice(colon + 1).trim();
  if (predicate === '') throw new ExitPlanError(`${what}: the predicate after the colon is empty.`);
  return { ...(table.schema !== undefined ? { schema: table.schema } : {}), name: table.name, predicate };
}

/** `schema.table(col, …)`: the foreign key of that table with exactly those columns, in that order. */
export function parseSubsetSkip(text: string): SubsetSkip {
  const what = `The foreign key to skip "${text}" is not "schema.table(column, …)"`;
  const table = tableName(text, 0, what);
  let at = skipSpaces(text, table.end);
  if (text[at] !== '(') throw new ExitPlanError(`${what}: the columns must follow in parentheses.`);
  const columns: string[] = [];
  for (;;) {
    const column = identifier(text, skipSpaces(text, at + 1), what);
    columns.push(column.name);
    at = skipSpaces(text, column.end);
    if (text[at] === ',') continue;
    if (text[at] === ')') break;
    throw new ExitPlanError(`${what}: expected "," or ")" after column ${column.name}.`);
  }
  if (skipSpaces(text, at + 1) !== text.length) throw new ExitPlanError(`${what}: unexpected text after ")".`);
  return { ...(table.schema !== undefined ? { schema: table.schema } : {}), name: table.name, columns };
}

/** `public.messages(channel_id) → public.channels`: a foreign key by its table and columns, and the table it references. */
export function describeSubsetEdge(edge: Pick<SubsetEdge, 'from' | 'to' | 'columns'>): string {
  return `${edge.from}(${edge.columns.join(', ')}) → ${edge.to}`;
}

/** Roots as the user would write them again: `public.organizations: id = 42`. */
export function describeRoot(root: SubsetRoot): string {
  return `${root.schema !== undefined ? `${root.schema}.` : ''}${root.name}: ${root.predicate}`;
}

/**
 * The archive name's label for the roots: the root table and its predicate in letters, digits and dashes,
 * e.g. `organizations-id-42`; several roots joined with `+`; at most 60 characters (then a short hash of the
 * whole keeps labels of different subsets apart).
 */
export function subsetLabel(roots: readonly SubsetRoot[], hash: (text: string) => string): string {
  const slug = (s: string) =>
    s
      .normalize('NFKD')
      .replace(/\p{M}+/gu, '')
      .replace(/[^A-Za-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .toLowerCase();
  const label = roots.map((r) => [slug(r.name) || 'table', slug(r.predicate)].filter(Boolean).join('-')).join('+');
  if (label.length <= 60) return label;
  return `${label.slice(0, 51).replace(/[-+]+$/, '')}-${hash(roots.map(describeRoot).join('\n')).slice(0, 8)}`;
}
