import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { datasets, plural } from '../exporters';
import type { CommandContext } from './context';
import { isRef } from './invoke';
import { isBack, pickItems, runWizard, type StepFrame, type WizardItem, type WizardStep } from './wizard';

const TITLE = 'Create Dataset';
const CHOOSE = 'choose';

interface CreateState {
  /** The folder that will hold the dataset. */
  parent?: string;
  name: string;
  git: boolean;
}

/**
 * Create Dataset (the command id stays exitPlan.initDataset): where (a folder of the Datasets view, or one
 * picked in a dialog, which is then added to the view), a name, with or without git. Makes export_manager's
 * layout with a commented config.toml, reveals and selects the new dataset in the Datasets tree, and opens its
 * config.toml. `arg` may be a `{ parent }` (Add Dataset Folder's "Create Dataset in It…"), skipping Where.
 */
export async function initDataset(ctx: CommandContext, arg?: unknown): Promise<void> {
  const preset = isRef(arg, 'parent') ? path.resolve(arg.parent) : undefined;
  const steps: WizardStep<CreateState>[] = [
    { kind: 'custom', title: 'Where', when: () => preset === undefined, run: (frame, state) => whereStep(ctx, frame, state) },
    {
      kind: 'input',
      title: 'Name',
      prompt: (s) => `Folder name of the new dataset, in ${s.parent}`,
      placeholder: 'todoist',
      value: (s) => s.name,
      validate: (value, s) => nameProblem(value, s.parent!),
      apply: (value, s) => (s.name = value.trim()),
    },
    {
      kind: 'pick',
      title: 'Git',
      placeholder: 'Keep the dataset in a git repository?',
      items: () => [
        { id: 'plain', label: 'Without git', detail: 'Parcels, metrics.csv and logs as files only' },
        { id: 'git', label: 'As a git repository', detail: 'Commits each new parcel and metrics.csv, and each clean-up' },
      ],
      selected: (s) => [s.git ? 'git' : 'plain'],
      apply: ([picked], s) => (s.git = picked.id === 'git'),
    },
  ];
  const state = await runWizard<CreateState>(TITLE, steps, { parent: preset, name: '', git: false });
  if (!state?.parent) return;

  const dir = path.join(state.parent, state.name);
  const result = await datasets.initDataset(dir, { git: state.git });
  const made =
    result.created.length > 0 ? ` (made ${result.created.map((f) => path.relative(dir, f) || '.').join(', ')})` : ' (it existed)';
  ctx.log.info(`Created the dataset ${result.dir}${made}${result.committed ? ', committed' : ''}`);

  // A folder picked outside the view's folders joins them, so the new dataset shows (and so do its neighbours).
  if (!ctx.datasets.rootOf(dir)) {
    await ctx.datasets.addRoot(state.parent);
    ctx.log.info(`Added ${state.parent} to the Datasets view (exitPlan.datasets.roots)`);
  } else {
    ctx.datasets.refresh();
  }
  const shown = await ctx.datasetsTree.reveal(dir);
  if (!shown) ctx.log.warn(`The Datasets view does not show ${dir}`);
  await vscode.window.showTextDocument(vscode.Uri.file(datasets.datasetPaths(dir).config), { preview: false });
}

/**
 * Where: the view's folders that hold datasets (not a folder that is a dataset itself), and "Choose a Folder…",
 * which opens a folder dialog (Escape there comes back to the list). With no such folder, the dialog at once.
 */
async function whereStep(ctx: CommandContext, frame: StepFrame, state: CreateState): Promise<'next' | 'back' | undefined> {
  const holders = ctx.datasets.roots().filter((r) => isFolder(r) && !fs.existsSync(datasets.datasetPaths(r).config));
  const all = (await ctx.datasets.state()).report.datasets;
  for (;;) {
    let chosen: string | undefined;
    if (holders.length > 0) {
      const items: WizardItem[] = [
        ...holders.map((r) => {
          const n = all.filter((d) => path.dirname(d.path) === r).length;
          return { id: r, label: path.basename(r) || r, description: r, detail: `Holds ${plural(n, 'dataset')}` };
        }),
        { id: CHOOSE, label: '$(folder-opened) Choose a Folder…', detail: 'Any folder; it is added to the Datasets view' },
      ];
      const picked = await pickItems(frame, {
        placeholder: 'Folder that will hold the new dataset',
        items,
        selected: state.parent ? [holders.includes(state.parent) ? state.parent : CHOOSE] : [],
      });
      if (isBack(picked)) return 'back';
      if (picked === undefined) return undefined;
      if (picked[0].id !== CHOOSE) chosen = picked[0].id;
    }
    if (!chosen) {
      const uris = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        canSelectMany: false,
        defaultUri: vscode.Uri.file(state.parent ?? (holders[0] || vscode.workspace.workspaceFolders?.[0]?.uri.fsPath || os.homedir())),
        openLabel: 'Create the Dataset in Here',
        title: `${TITLE}: folder that will hold the new dataset`,
      });
      if (uris?.[0]) {
        chosen = uris[0].fsPath;
        if (fs.existsSync(datasets.datasetPaths(chosen).config)) {
          void vscode.window.showWarningMessage(
            `${chosen} is a dataset itself (it has a config.toml): choose the folder that holds datasets, e.g. ${path.dirname(chosen)}.`,
          );
          chosen = undefined;
        }
      }
      if (!chosen) {
        if (holders.length > 0) continue; // back to the list
        return undefined;
      }
    }
    state.parent = chosen;
    return 'next';
  }
}

function isFolder(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Why a name cannot be a new dataset's folder in `parent`, or undefined. */
function nameProblem(value: string, parent: string): string | undefined {
  const v = value.trim();
  if (v === '') return 'Give the folder a name.';
  if (/[\\/]/.test(v) || v === '.' || v === '..') return 'A folder name, without slashes.';
  if (v.startsWith('.')) return 'A name that does not start with a dot (hidden folders are not listed as datasets).';
  const dir = path.join(parent, v);
  if (fs.existsSync(datasets.datasetPaths(dir).config)) return `${dir} is a dataset already.`;
  if (fs.existsSync(dir) && !isFolder(dir)) return `${dir} is a file.`;
  return undefined;
}
