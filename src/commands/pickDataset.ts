import * as vscode from 'vscode';
import { ExitPlanError, type datasets } from '../exporters';
import { isDatasetNode } from '../views/datasetsTree';
import type { CommandContext } from './context';

/** The dataset a command works on: the tree node it was invoked on, or one the user picks. */
export async function datasetFromArg(ctx: CommandContext, arg: unknown, title: string): Promise<datasets.DatasetReport | undefined> {
  if (isDatasetNode(arg, 'dataset') || isDatasetNode(arg, 'parcel')) return arg.dataset;
  const state = await ctx.datasets.state();
  const all = state.report.datasets;
  if (all.length === 0) {
    throw new ExitPlanError('No datasets yet: add folders to the setting exitPlan.datasets.roots, or run Exit Plan: Init Dataset.');
  }
  if (all.length === 1) return all[0];
  const picked = await vscode.window.showQuickPick(
    all.map((d) => ({
      label: d.name,
      description: d.path,
      detail:
        d.warnings.length > 0
          ? `$(warning) ${d.warnings.map((w) => w.message.replace(`${d.name}: `, '')).join(' ')}`
          : d.lastSuccess
            ? `last success ${d.lastSuccess}`
            : 'no success yet',
      dataset: d,
    })),
    { title, matchOnDescription: true },
  );
  return picked?.dataset;
}
