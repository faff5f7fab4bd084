import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasets, errorMessage } from '../exporters';
import { ROOTS_SETTING } from '../services/datasets';
import type { CommandContext } from './context';

/**
 * Makes a dataset folder (export_manager's layout, a commented config.toml) in a folder the user picks,
 * optionally as a git repository, offers to add its parent to the Datasets view, and opens config.toml.
 */
export async function initDataset(ctx: CommandContext): Promise<void> {
  const roots = ctx.datasets.roots();
  const parent = await vscode.window.showOpenDialog({
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    defaultUri: roots[0] ? vscode.Uri.file(roots[0]) : undefined,
    openLabel: 'Make the Dataset in Here',
    title: 'Exit Plan: folder that will hold the new dataset',
  });
  if (!parent?.[0]) return;
  const parentDir = parent[0].fsPath;
  const name = await vscode.window.showInputBox({
    title: 'Exit Plan: Init Dataset',
    prompt: `Name of the dataset folder inside ${parentDir}`,
    placeHolder: 'todoist',
    validateInput: (value) => {
      const v = value.trim();
      if (v === '') return 'Give the folder a name.';
      if (/[\\/]/.test(v) || v === '.' || v === '..') return 'A folder name, without slashes.';
      return undefined;
    },
  });
  if (name === undefined) return;
  const git = await vscode.window.showQuickPick(
    [
      { label: 'Without git', git: false },
      { label: 'As a git repository', detail: 'Commits each new parcel and metrics.csv, and each clean-up', git: true },
    ],
    { title: `Exit Plan: Init Dataset ${name.trim()}` },
  );
  if (!git) return;

  const dir = path.join(parentDir, name.trim());
  const result = await datasets.initDataset(dir, { git: git.git });
  const made =
    result.created.length > 0 ? ` (made ${result.created.map((f) => path.relative(dir, f) || '.').join(', ')})` : ' (it existed)';
  ctx.log.info(`Initialised the dataset ${result.dir}${made}${result.committed ? ', committed' : ''}`);

  const covered = roots.some((r) => r === dir || r === parentDir);
  if (!covered) {
    const add = `Add ${path.basename(parentDir)} to Datasets`;
    void vscode.window
      .showInformationMessage(`Made the dataset ${dir}. Edit config.toml to set cmd and interval.`, add)
      .then(async (choice) => {
        if (choice !== add) return;
        const config = vscode.workspace.getConfiguration();
        const current = config.inspect<string[]>(ROOTS_SETTING)?.globalValue ?? [];
        try {
          await config.update(ROOTS_SETTING, [...current, parentDir], vscode.ConfigurationTarget.Global);
        } catch (err) {
          ctx.log.error(`Cannot add ${parentDir} to ${ROOTS_SETTING}: ${errorMessage(err)}`);
          void vscode.window.showErrorMessage(`Cannot add ${parentDir} to ${ROOTS_SETTING}: ${errorMessage(err)}.`);
        }
      });
  } else {
    ctx.datasets.refresh();
  }
  await vscode.window.showTextDocument(vscode.Uri.file(datasets.datasetPaths(dir).config));
}
