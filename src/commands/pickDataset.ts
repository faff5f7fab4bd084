import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, datasets } from '../exporters';
import { ago, isDatasetNode } from '../views/datasetsTree';
import { withErrorAction } from './errorActions';
import type { CommandContext } from './context';
import { executeCommand, isRef } from './invoke';

/**
 * The dataset a command works on: the tree node it was invoked on, the dataset a `DatasetRef` names (from
 * `executeCommand`), or one the user picks.
 */
export async function datasetFromArg(ctx: CommandContext, arg: unknown, title: string): Promise<datasets.DatasetReport | undefined> {
  if (isDatasetNode(arg, 'dataset') || isDatasetNode(arg, 'parcel')) return arg.dataset;
  const state = await ctx.datasets.state();
  if (isRef(arg, 'dataset')) {
    const dir = path.resolve(arg.dataset);
    // Fresh from disk when the cached report does not hold it (not under the roots, or made since).
    return state.report.datasets.find((d) => d.path === dir) ?? (await datasets.buildReport([dir])).datasets[0];
  }
  const all = state.report.datasets;
  if (all.length === 0) throw noDatasets();
  if (all.length === 1) return all[0];
  const picked = await vscode.window.showQuickPick(
    all.map((d) => ({
      label: d.name,
      description: d.path,
      detail:
        d.warnings.length > 0
          ? `$(warning) ${d.warnings.map((w) => w.message.replace(`${d.name}: `, '')).join(' ')}`
          : d.lastSuccess
            ? `last success ${ago(d.lastSuccess)}`
            : 'no success yet',
      dataset: d,
    })),
    { title, matchOnDescription: true },
  );
  return picked?.dataset;
}

/** "No datasets yet", with Add Dataset Folder… on the notification. */
export function noDatasets(what = 'No datasets yet'): ExitPlanError {
  return withErrorAction(new ExitPlanError(`${what}: add a folder of datasets with Exit Plan: Add Dataset Folder…, or Create Dataset.`), {
    title: 'Add Dataset Folder…',
    run: () => executeCommand('exitPlan.addDatasetFolder'),
  });
}
