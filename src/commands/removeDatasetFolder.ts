import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, plural } from '../exporters';
import { ROOTS_SETTING } from '../services/datasets';
import { isDatasetNode } from '../views/datasetsTree';
import type { CommandContext } from './context';
import { isRef } from './invoke';

/**
 * Remove Dataset Folder: takes a folder out of exitPlan.datasets.roots after a confirmation that says what will
 * no longer be shown. On a dataset node, the folder that shows it (the dataset itself, or the folder holding it);
 * on a folder's problem row, that folder; from the palette, one picked. Never deletes a file.
 */
export async function removeDatasetFolder(ctx: CommandContext, arg?: unknown): Promise<void> {
  let root: string | undefined;
  if (isDatasetNode(arg, 'dataset')) {
    root = ctx.datasets.rootOf(arg.dataset.path);
  } else if (isDatasetNode(arg, 'message') && arg.root) {
    root = arg.root;
  } else if (isRef(arg, 'dataset')) {
    const dir = path.resolve(arg.dataset);
    root = ctx.datasets.roots().includes(dir) ? dir : ctx.datasets.rootOf(dir);
  } else {
    root = await pickRoot(ctx);
    if (!root) return;
  }
  if (!root) throw new ExitPlanError('That dataset is not in a folder of the Datasets view.');

  const state = await ctx.datasets.state();
  const held = state.report.datasets.filter((d) => d.path === root || path.dirname(d.path) === root).map((d) => d.name);
  const shows =
    held.length === 0
      ? 'It shows no dataset.'
      : held.length === 1 && state.report.datasets.some((d) => d.path === root)
        ? `The dataset ${held[0]} will no longer be shown.`
        : `${plural(held.length, 'dataset')} will no longer be shown: ${held.join(', ')}.`;
  const remove = 'Remove Folder';
  const choice = await vscode.window.showWarningMessage(
    `Remove ${root} from the Datasets view?`,
    { modal: true, detail: `${shows} No file is deleted: the folder stays on disk, and Add Dataset Folder… shows it again.` },
    remove,
  );
  if (choice !== remove) return;
  if (await ctx.datasets.removeRoot(root)) {
    ctx.log.info(`Removed ${root} from ${ROOTS_SETTING} (no file deleted)`);
  } else {
    // Listed somewhere the extension does not write (a default or policy): say so rather than nothing.
    throw new ExitPlanError(`${root} is not in your ${ROOTS_SETTING} setting, so it cannot be removed here.`);
  }
}

async function pickRoot(ctx: CommandContext): Promise<string | undefined> {
  const roots = ctx.datasets.roots();
  if (roots.length === 0) throw new ExitPlanError('The Datasets view has no folder to remove.');
  const all = (await ctx.datasets.state()).report.datasets;
  const picked = await vscode.window.showQuickPick(
    roots.map((r) => {
      const held = all.filter((d) => d.path === r || path.dirname(d.path) === r);
      return {
        label: path.basename(r) || r,
        description: r,
        detail: held.length === 0 ? 'No dataset' : held.map((d) => d.name).join(', '),
        root: r,
      };
    }),
    { title: 'Remove Dataset Folder', placeHolder: 'Folder to remove from the Datasets view (no file is deleted)' },
  );
  return picked?.root;
}
