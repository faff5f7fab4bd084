import * as vscode from 'vscode';
import {
  ExitPlanError,
  describeExportProgress,
  describeSubsetEdge,
  dryRunSubset,
  formatCount,
  isCancelled,
  plural,
  type SubsetOptions,
  type SubsetReport,
  type SubsetRoot,
  type SubsetSkip,
} from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import { isWarehouseNode } from '../views/warehouseTree';
import type { CommandContext } from './context';
import { errorActions, withErrorAction } from './errorActions';
import { executeCommand, isRef, type SubsetTableRef } from './invoke';
import { exportSettings, runExport } from './runExport';
import { runOperation } from './runOperation';
import { checkConnection, withConnectionFixes } from './warehouseConnection';

/** Where the last predicate of each table is kept (workspaceState): connection, schema, table → predicate. */
const PREDICATES_KEY = 'exitPlan.subsetPredicates';

/** The table a subset starts from, and the choices made so far (they survive an "Edit Predicate" after an error). */
interface SubsetState {
  profile: WarehouseProfile;
  schema: string;
  table: string;
  predicate: string;
  includeUnrelated: boolean;
  skip: SubsetSkip[];
}

type Choice =
  | { action: 'export' }
  | { action: 'cut' }
  | { action: 'unrelated' }
  | { action: 'predicate' }
  /** A table, key or separator line: nothing to do, the pick is shown again. */
  | { action: 'none' };

type Item = vscode.QuickPickItem & { choice?: Choice };

/**
 * Export Subset… on a table of the Warehouse view (or a `SubsetTableRef` from code: the "Edit Predicate" of a
 * failed dry run). Asks for the predicate over that table (the last one used for it prefilled), counts the
 * subset with a dry run (cancellable progress), shows the counts per table and per foreign key in a quick pick
 * where keys can be cut, unrelated tables included and the predicate edited (each re-running the dry run),
 * then exports it as Export Table does (folder, progress, Reveal / Copy Path). Escape anywhere ends quietly.
 */
export async function exportSubset(ctx: CommandContext, arg?: unknown): Promise<void> {
  const state = subsetState(ctx, arg);
  const root = `${state.schema}.${state.table}`;
  await checkConnection(ctx, state.profile);
  const predicate = await askPredicate(ctx, state, rememberedPredicate(ctx, state) ?? '');
  if (predicate === undefined) return;
  state.predicate = predicate;

  let report: SubsetReport | undefined;
  for (;;) {
    report ??= await dryRun(ctx, state);
    const choice = await confirm(state, report);
    switch (choice?.action) {
      case undefined:
        return;
      case 'export':
        await runExport(ctx, {
          profile: state.profile,
          label: `the subset ${root}: ${state.predicate}`,
          subset: subsetOptions(state),
          connectionChecked: true,
        });
        return;
      case 'cut': {
        const skip = await pickCuts(state, report);
        if (skip && !sameSkips(skip, state.skip)) {
          state.skip = skip;
          report = undefined;
        }
        break;
      }
      case 'unrelated':
        state.includeUnrelated = !state.includeUnrelated;
        report = undefined;
        break;
      case 'predicate': {
        // Escape here goes back to the counts, with the predicate they were made with.
        const edited = await askPredicate(ctx, state, state.predicate);
        if (edited !== undefined && edited !== state.predicate) {
          state.predicate = edited;
          report = undefined;
        }
        break;
      }
      case 'none':
        break;
    }
  }
}

/** The table and connection from a table node or a SubsetTableRef; refuses anything else, and views. */
function subsetState(ctx: CommandContext, arg: unknown): SubsetState {
  if (isWarehouseNode(arg, 'table')) {
    const { table } = arg;
    if (table.kind !== 'table' && table.kind !== 'partitioned table') {
      throw new ExitPlanError(
        `${table.schema}.${table.name} is a ${table.kind}: a subset starts from the rows of a table, so right-click a table instead.`,
      );
    }
    const profile = ctx.connections.get(arg.profile.name) ?? arg.profile;
    return { profile, schema: table.schema, table: table.name, predicate: '', includeUnrelated: false, skip: [] };
  }
  if (isRef(arg, 'name')) {
    const ref = arg as unknown as SubsetTableRef;
    const profile = ctx.connections.get(ref.name);
    if (!profile) throw new ExitPlanError(`There is no warehouse connection named "${ref.name}" any more.`);
    return {
      profile,
      schema: ref.schema,
      table: ref.table,
      predicate: '',
      includeUnrelated: ref.includeUnrelated === true,
      skip: ref.skip ?? [],
    };
  }
  throw new ExitPlanError('Export Subset starts from one table: right-click a table in the Warehouse view.');
}

/** The predicate over the root table, validated non-empty; remembered for this table as soon as it is accepted. */
async function askPredicate(ctx: CommandContext, state: SubsetState, value: string): Promise<string | undefined> {
  const root = `${state.schema}.${state.table}`;
  const answer = await vscode.window.showInputBox({
    title: `Export Subset of "${state.profile.name}"`,
    prompt:
      `${root}: … the rows to start from, as a SQL condition after WHERE; ` + 'every row their foreign keys tie them to comes with them',
    placeHolder: 'id = 42',
    value,
    ignoreFocusOut: true,
    validateInput: (text) => (text.trim() === '' ? `Type a condition over ${root}, e.g. id = 42.` : undefined),
  });
  if (answer === undefined) return undefined;
  const predicate = answer.trim();
  await rememberPredicate(ctx, state, predicate);
  return predicate;
}

function predicateKey(state: SubsetState): string {
  return JSON.stringify([state.profile.name, state.schema, state.table]);
}

function rememberedPredicate(ctx: CommandContext, state: SubsetState): string | undefined {
  const saved = ctx.workspaceState.get<Record<string, unknown>>(PREDICATES_KEY, {});
  const value = saved[predicateKey(state)];
  return typeof value === 'string' ? value : undefined;
}

async function rememberPredicate(ctx: CommandContext, state: SubsetState, predicate: string): Promise<void> {
  const saved = ctx.workspaceState.get<Record<string, unknown>>(PREDICATES_KEY, {});
  await ctx.workspaceState.update(PREDICATES_KEY, { ...saved, [predicateKey(state)]: predicate });
}

function subsetOptions(state: SubsetState): SubsetOptions {
  const root: SubsetRoot = { schema: state.schema, name: state.table, predicate: state.predicate };
  return { roots: [root], includeUnrelated: state.includeUnrelated, skip: state.skip };
}

/**
 * The core's dry run with a cancellable progress notification and the export's settings. A failure (a bad
 * predicate, no rows) is the core's sentence; unless it is about the connection (then it carries those fixes)
 * it offers "Edit Predicate", which runs the command again on the same table with the same choices.
 */
async function dryRun(ctx: CommandContext, state: SubsetState): Promise<SubsetReport> {
  const settings = exportSettings();
  const connection = await ctx.connections.connectionOptions(state.profile);
  const root = `${state.schema}.${state.table}`;
  try {
    const report = await runOperation(ctx, `counting the subset ${root}: ${state.predicate}`, (op) =>
      dryRunSubset({
        connection,
        subset: subsetOptions(state),
        excludeColumns: settings.excludeColumns,
        includeViews: settings.includeViews,
        jobs: settings.jobs,
        lockTimeoutSeconds: settings.lockTimeoutSeconds,
        signal: op.signal,
        log: op.log,
        onProgress: (p) => op.report(describeExportProgress(p)),
      }),
    );
    ctx.warehouseTree.noteConnected(state.profile, report.serverVersion);
    ctx.log.info(
      `Subset ${root}: ${state.predicate} counts ${plural(report.rows, 'row')} in ${plural(report.tables.length, 'table')} ` +
        `(${report.durationMs} ms)`,
    );
    return report;
  } catch (err) {
    const fixed = withConnectionFixes(err, state.profile);
    if (isCancelled(fixed) || errorActions(fixed).length > 0) throw fixed;
    const ref: SubsetTableRef = {
      name: state.profile.name,
      schema: state.schema,
      table: state.table,
      includeUnrelated: state.includeUnrelated,
      skip: state.skip,
    };
    throw withErrorAction(fixed, { title: 'Edit Predicate', run: () => executeCommand('exitPlan.exportSubset', ref) });
  }
}

/** `12 rows in 4 tables, 1 table left out` (or `…, 2 unrelated tables exported whole`). */
export function describeSubsetTotal(report: SubsetReport): string {
  const leftOut = report.unrelated.filter((u) => u.exported === 'left out').length;
  const whole = report.unrelated.length - leftOut;
  const parts = [`${plural(report.rows, 'row')} in ${plural(report.tables.length, 'table')}`];
  if (leftOut > 0) parts.push(`${plural(leftOut, 'table')} left out`);
  if (whole > 0) parts.push(`${plural(whole, 'unrelated table')} exported whole`);
  return parts.join(', ');
}

/** The counts and the actions, in a quick pick (not modal); undefined on Escape. */
async function confirm(state: SubsetState, report: SubsetReport): Promise<Choice | undefined> {
  const separator = (label: string): Item => ({ label, kind: vscode.QuickPickItemKind.Separator });
  const none: Choice = { action: 'none' };
  const down = report.edges.filter((e) => e.direction === 'down');
  const up = report.edges.filter((e) => e.direction === 'up');
  const leftOut = report.unrelated.filter((u) => u.exported === 'left out');
  const whole = report.unrelated.filter((u) => u.exported === 'whole');
  const roots = new Map(report.roots.map((r) => [`${r.schema}.${r.name}`, r]));

  const items: Item[] = [
    {
      label: `$(export) Export ${plural(report.rows, 'row')}…`,
      description: `${plural(report.tables.length, 'table')}, to a zip`,
      choice: { action: 'export' },
      alwaysShow: true,
    },
  ];
  if (down.length > 0 || state.skip.length > 0) {
    items.push({
      label: '$(debug-disconnect) Cut Foreign Keys…',
      description: state.skip.length > 0 ? `${formatCount(state.skip.length)} cut` : 'where the subset spills into other tenants',
      choice: { action: 'cut' },
      alwaysShow: true,
    });
  }
  if (report.unrelated.length > 0) {
    items.push(
      state.includeUnrelated
        ? {
            label: '$(remove) Leave Out Unrelated Tables',
            description: `${plural(whole.length, 'table')}`,
            choice: { action: 'unrelated' },
          }
        : {
            label: '$(add) Include Unrelated Tables',
            description: `${plural(leftOut.length, 'table')}, whole`,
            choice: { action: 'unrelated' },
          },
    );
    items[items.length - 1].alwaysShow = true;
  }
  items.push({ label: '$(edit) Edit Predicate…', description: state.predicate, choice: { action: 'predicate' }, alwaysShow: true });

  items.push(separator('Tables'));
  for (const t of report.tables) {
    const key = `${t.schema}.${t.name}`;
    const root = roots.get(key);
    const isWhole = whole.some((u) => u.schema === t.schema && u.name === t.name);
    items.push({
      label: key,
      description: `${plural(t.rows, 'row')}${root ? ' · root' : isWhole ? ' · unrelated, whole' : ''}`,
      choice: none,
    });
  }
  if (down.length > 0) {
    items.push(separator('Foreign keys followed down'));
    for (const e of down) items.push({ label: describeSubsetEdge(e), description: plural(e.rows, 'row'), choice: none });
  }
  if (up.length > 0) {
    items.push(separator('Foreign keys followed up'));
    for (const e of up) items.push({ label: describeSubsetEdge(e), description: plural(e.rows, 'row'), choice: none });
  }
  if (leftOut.length > 0) {
    items.push(separator('Unrelated tables, left out'));
    for (const u of leftOut) items.push({ label: `${u.schema}.${u.name}`, description: 'left out', choice: none });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: `Export Subset of "${state.profile.name}": ${state.schema}.${state.table}: ${state.predicate}`,
    placeHolder: describeSubsetTotal(report),
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  return picked?.choice;
}

/**
 * The foreign keys followed down, to cut (multi-select); the ones cut already come checked, so unchecking one
 * follows it again. Undefined on Escape.
 */
async function pickCuts(state: SubsetState, report: SubsetReport): Promise<SubsetSkip[] | undefined> {
  type CutItem = vscode.QuickPickItem & { skip: SubsetSkip };
  const items: CutItem[] = [];
  for (const e of report.edges) {
    if (e.direction !== 'down') continue;
    const table = report.tables.find((t) => `${t.schema}.${t.name}` === e.from);
    // `from` names the table as `schema.name`; the report's tables say where the schema ends.
    const skip: SubsetSkip = table ? { schema: table.schema, name: table.name, columns: e.columns } : { name: e.from, columns: e.columns };
    if (items.some((i) => sameSkip(i.skip, skip))) continue;
    items.push({ label: describeSubsetEdge(e), description: `${plural(e.rows, 'row')} · ${e.constraint}`, skip });
  }
  const cut: CutItem[] = [];
  for (const skip of state.skip) {
    if (items.some((i) => sameSkip(i.skip, skip))) continue;
    const from = skip.schema !== undefined ? `${skip.schema}.${skip.name}` : skip.name;
    // A cut key is still followed up: that edge names the table it references.
    const up = report.edges.find(
      (e) => e.direction === 'up' && e.from === from && e.columns.join('\u0000') === skip.columns.join('\u0000'),
    );
    cut.push({
      label: up ? describeSubsetEdge(up) : `${from}(${skip.columns.join(', ')})`,
      description: `cut${up ? ` · ${up.constraint}` : ''}`,
      skip,
      picked: true,
    });
  }
  const picked = await vscode.window.showQuickPick([...cut, ...items], {
    title: `Cut Foreign Keys: ${state.schema}.${state.table}: ${state.predicate}`,
    placeHolder: 'Keys checked are not followed down (they are still followed up); the counts are made again',
    canPickMany: true,
    matchOnDescription: true,
    ignoreFocusOut: true,
  });
  return picked?.map((i) => i.skip);
}

function sameSkip(a: SubsetSkip, b: SubsetSkip): boolean {
  return a.schema === b.schema && a.name === b.name && a.columns.join('\u0000') === b.columns.join('\u0000');
}

function sameSkips(a: SubsetSkip[], b: SubsetSkip[]): boolean {
  return a.length === b.length && a.every((x) => b.some((y) => sameSkip(x, y)));
}
