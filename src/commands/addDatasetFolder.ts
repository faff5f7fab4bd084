import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, datasets, plural } from '../exporters';
import { ROOTS_SETTING } from '../services/datasets';
import type { CommandContext } from './context';
import { initDataset } from './initDataset';

/**
 * Add Dataset Folder…: a folder dialog for a dataset or a folder that holds datasets; the folder joins the
 * machine setting exitPlan.datasets.roots (in a remote window, the Remote settings: see DatasetsService.addRoot)
 * and its first dataset is revealed and selected in the Datasets view. A folder with no dataset in it is added
 * only if the user says so, or a dataset is created in it.
 */
export async function addDatasetFolder(ctx: CommandContext): Promise<void> {
  const roots = ctx.datasets.roots();
  const start =
    roots.length > 0 ? path.dirname(roots[roots.length - 1]) : (vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir());
  const picked = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    defaultUri: vscode.Uri.file(start),
    openLabel: 'Add Folder',
    title: 'Add Dataset Folder: a dataset, or a folder that holds datasets',
  });
  if (!picked?.[0]) return;
  const dir = path.resolve(picked[0].fsPath);
  const found = await datasets.findDatasets([dir]);
  if (found.datasets.length === 0) {
    const problem = found.problems[0];
    if (!problem?.empty) throw new ExitPlanError(problem?.message ?? `${dir} cannot be read.`);
    const create = 'Create Dataset in It…';
    const add = 'Add Folder';
    const choice = await vscode.window.showWarningMessage(
      `${dir} holds no dataset.`,
      {
        modal: true,
        detail:
          "A dataset is a folder with a config.toml (export_manager's layout). " +
          'Create one in it now, or add the folder and create datasets in it later.',
      },
      create,
      add,
    );
    if (choice === create) return initDataset(ctx, { parent: dir });
    if (choice !== add) return;
  }

  const already = ctx.datasets.rootOf(dir) !== undefined || roots.includes(dir);
  if (already) {
    ctx.log.info(`${dir} is already in the Datasets view`);
  } else {
    await ctx.datasets.addRoot(dir);
    ctx.log.info(`Added ${dir} to ${ROOTS_SETTING}: ${plural(found.datasets.length, 'dataset')}`);
  }
  const first = found.datasets[0];
  if (first) await ctx.datasetsTree.reveal(first);
  if (already) void vscode.window.showInformationMessage(`${dir} is already in the Datasets view.`);
}
