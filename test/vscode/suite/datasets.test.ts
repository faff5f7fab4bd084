// The Datasets view in the real extension host: Add Dataset Folder… writes the machine setting
// exitPlan.datasets.roots at the user level (never the workspace) and the tree follows, revealing what was
// added; Create Dataset (a wizard) makes the layout in a folder of the view or in one picked in a dialog (which
// joins the view), reveals and selects it and opens config.toml; Remove Dataset Folder asks first and deletes no
// file; Process Due Datasets exports a parcel; a failing export says its last error line (notification, tooltip).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { metricsRows, writeExportManagerDataset } from '../../helpers/datasets';
import { ScriptedUser, SettingsSnapshot, TempDirs, closeAllEditors, eventually, exitPlan, setSetting, treeItems } from '../host';

const ROOTS = 'exitPlan.datasets.roots';
const CONFIG = `# Edited by hand after Create Dataset.
cmd = "cp \\"$DATASET_PATH/source.txt\\" \\"$PARCEL_PATH.txt\\""
interval = "1 day"
metrics.lines.cmd = "wc -l < \\"$PARCEL_PATH\\""
`;
const FAILING = `cmd = "echo 'curl: (6) Could not resolve host: api.example.com' >&2; exit 6"\n`;
const SOURCE = 'task 1\ntask 2\ntask 3\n';
/** export_manager's parcel ids: UTC, to the second. */
const PARCEL_ID = /^\d{4}-\d{2}-\d{2}T\d{6}Z$/;

function rootsSetting(): { global: unknown; workspace: unknown } {
  const inspected = vscode.workspace.getConfiguration().inspect(ROOTS);
  return { global: inspected?.globalValue, workspace: inspected?.workspaceValue };
}

describe('Datasets (real VS Code)', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let root: string;
  let other: string;
  let dataset: string;

  before(async () => {
    settings = new SettingsSnapshot([ROOTS]);
    root = temp.make('datasets');
    other = temp.make('datasets-other');
    dataset = path.join(root, 'todoist');
    writeExportManagerDataset(path.join(root, 'feeds'), CONFIG);
    await setSetting(ROOTS, []);
  });

  after(async () => {
    await closeAllEditors();
    await settings.restore();
    temp.removeAll();
  });

  it('Add Dataset Folder… adds the folder to the user-level roots, and the tree shows and selects its datasets', async () => {
    const api = await exitPlan();
    assert.deepEqual(await treeItems(api.datasetsTree), [], 'no folder: the welcome view shows');
    const user = new ScriptedUser().answer({
      when: /^Add Dataset Folder: a dataset, or a folder that holds datasets \| Add Folder$/,
      answer: root,
    });
    await vscode.commands.executeCommand('exitPlan.addDatasetFolder');
    assert.deepEqual(user.shown, [], 'the tree says it: no notification');
    user.done();

    assert.deepEqual(rootsSetting(), { global: [root], workspace: undefined }, 'written at the user level (Remote settings here)');
    const items = await eventually('feeds in the tree', async () => {
      const list = await treeItems(api.datasetsTree);
      return list.some((i) => i.label === 'feeds') && list;
    });
    assert.deepEqual(
      items.map((i) => [i.label, i.contextValue, i.description]),
      [['feeds', 'dataset', 'never run']],
    );
    const selected = await eventually('feeds selected', () => api.datasetsTree.view.selection[0]);
    assert.equal(selected.kind === 'dataset' && selected.dataset.name, 'feeds');

    // The same folder again: nothing added twice, and the user is told.
    const again = new ScriptedUser().answer({ when: /^Add Dataset Folder: /, answer: root });
    await vscode.commands.executeCommand('exitPlan.addDatasetFolder');
    assert.deepEqual(again.shown, [{ severity: 'information', message: `${root} is already in the Datasets view.` }]);
    again.done();
    assert.deepEqual(rootsSetting().global, [root]);
  });

  it('Create Dataset makes the layout in a folder of the view, reveals and selects it, and opens config.toml', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      { when: /^Create Dataset: Where \(1\/3\) \| Folder that will hold the new dataset$/, answer: path.basename(root) },
      { when: /^Create Dataset: Name \(2\/3\) \| Folder name of the new dataset, in /, answer: 'todoist' },
      { when: /^Create Dataset: Git \(3\/3\) \| Keep the dataset in a git repository\?$/, answer: 'Without git' },
    );
    await vscode.commands.executeCommand('exitPlan.initDataset');
    assert.deepEqual(user.shown, []);
    user.done();

    assert.deepEqual(fs.readdirSync(dataset).sort(), ['config.toml', 'data', 'incomplete', 'log', 'metrics.csv']);
    assert.equal(fs.readFileSync(path.join(dataset, 'metrics.csv'), 'utf8'), 'parcel_id,success,files,bytes');
    const editor = await eventually('config.toml in the editor', () => vscode.window.activeTextEditor);
    assert.equal(editor.document.uri.fsPath, path.join(dataset, 'config.toml'));
    assert.match(editor.document.getText(), /^# cmd = /m, 'the commented template');
    assert.deepEqual(rootsSetting().global, [root], 'the folder was in the view already');

    const selected = await eventually('todoist selected', () => {
      const s = api.datasetsTree.view.selection[0];
      return s?.kind === 'dataset' && s.dataset.name === 'todoist' && s;
    });
    assert.equal(selected.kind === 'dataset' && selected.dataset.path, dataset);
    const nodes = await treeItems(api.datasetsTree);
    assert.deepEqual(
      nodes.map((n) => [n.label, n.contextValue, n.description]),
      [
        ['feeds', 'dataset', 'never run'],
        ['todoist', 'dataset', 'never run'],
      ],
    );
    const children = await treeItems(api.datasetsTree, nodes[1].node);
    assert.deepEqual(
      children.map((c) => [c.contextValue, c.label]),
      [['datasetInfo', 'No parcels yet: run Export Dataset Now, or Process Due Datasets.']],
    );
  });

  it('Create Dataset in a folder picked in the dialog adds that folder; Remove Dataset Folder asks, and deletes nothing', async () => {
    const api = await exitPlan();
    const notes = path.join(other, 'notes');
    const user = new ScriptedUser().answer(
      { when: /^Create Dataset: Where \(1\/3\) \| /, answer: '$(folder-opened) Choose a Folder…' },
      { when: /^Create Dataset: folder that will hold the new dataset \| Create the Dataset in Here$/, answer: other },
      { when: /^Create Dataset: Name \(2\/3\) \| Folder name of the new dataset, in /, answer: 'notes' },
      { when: /^Create Dataset: Git \(3\/3\) \| /, answer: 'Without git' },
    );
    await vscode.commands.executeCommand('exitPlan.initDataset');
    user.done();
    assert.ok(fs.existsSync(path.join(notes, 'config.toml')));
    assert.deepEqual(rootsSetting(), { global: [root, other], workspace: undefined }, 'the picked folder joined the view');
    await eventually('notes selected', () => {
      const s = api.datasetsTree.view.selection[0];
      return s?.kind === 'dataset' && s.dataset.path === notes;
    });

    // A failing export: the notification and the tree's tooltip say the command's last error line.
    fs.writeFileSync(path.join(notes, 'config.toml'), FAILING);
    const failing = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.exportDatasetNow', { dataset: notes });
    assert.equal(failing.shown.length, 1);
    assert.equal(failing.shown[0].severity, 'error');
    assert.match(
      failing.shown[0].message,
      /^notes: .*exited with code 6.* Last error: curl: \(6\) Could not resolve host: api\.example\.com$/,
    );
    failing.done();
    const notesItem = await eventually('notes failing in the tree', async () => {
      const items = await treeItems(api.datasetsTree);
      return items.find((i) => i.label === 'notes' && i.description === 'no success yet · failing');
    });
    const tooltip = (await api.datasetsTree.getTreeItem(notesItem.node)).tooltip;
    assert.ok(tooltip instanceof vscode.MarkdownString);
    const plain = tooltip.value.replace(/&nbsp;/g, ' ').replace(/\\/g, '');
    assert.ok(plain.includes('**Last error:** curl: (6) Could not resolve host: api.example.com'), plain);
    assert.match(tooltip.value, /\[\$\(output\) Open Dataset Log\]\(command:exitPlan\.openDatasetLog\?/);

    // Failed again: the older failed parcel's tooltip is made on hover (resolveTreeItem), with its own last line.
    fs.writeFileSync(path.join(notes, 'config.toml'), FAILING.replace('api.example.com', 'api2.example.com'));
    const twice = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.exportDatasetNow', { dataset: notes });
    assert.match(twice.shown[0]?.message ?? '', /Last error: curl: \(6\) Could not resolve host: api2\.example\.com$/);
    twice.done();
    const failedParcels = await eventually('two failed parcels', async () => {
      const node = (await treeItems(api.datasetsTree)).find((i) => i.label === 'notes');
      const list = node && (await treeItems(api.datasetsTree, node.node));
      return list?.length === 2 && list;
    });
    assert.deepEqual(
      failedParcels.map((p) => p.contextValue),
      ['datasetParcelIncomplete', 'datasetParcelIncomplete'],
    );
    const older = failedParcels[1].node;
    const olderItem = await api.datasetsTree.getTreeItem(older);
    assert.equal(olderItem.tooltip, undefined, 'left for resolveTreeItem');
    const resolved = await api.datasetsTree.resolveTreeItem(olderItem, older);
    assert.ok(resolved.tooltip instanceof vscode.MarkdownString);
    const olderText = resolved.tooltip.value.replace(/&nbsp;/g, ' ').replace(/\\/g, '');
    assert.ok(olderText.includes('**Last error:** curl: (6) Could not resolve host: api.example.com'), olderText);

    // Remove Dataset Folder on the dataset: the folder that shows it goes, after a confirmation; no file is deleted.
    const remove = new ScriptedUser().answer({
      when: new RegExp(`^Remove ${other.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} from`),
      answer: 'Remove Folder',
    });
    await vscode.commands.executeCommand('exitPlan.removeDatasetFolder', notesItem.node);
    assert.deepEqual(remove.shown, [{ severity: 'warning', message: `Remove ${other} from the Datasets view?` }]);
    remove.done();
    assert.deepEqual(rootsSetting().global, [root]);
    assert.ok(fs.existsSync(path.join(notes, 'config.toml')), 'the files stay');
    await eventually('notes gone from the tree', async () => !(await treeItems(api.datasetsTree)).some((i) => i.label === 'notes'));

    // Cancelled at the confirmation: nothing changes.
    const keep = new ScriptedUser().answer({ when: /^Remove .* from the Datasets view\?$/, answer: undefined });
    await vscode.commands.executeCommand('exitPlan.removeDatasetFolder', { dataset });
    keep.done();
    assert.deepEqual(rootsSetting().global, [root]);
  });

  it('Process Due Datasets exports a dated parcel into data/, records it in metrics.csv, and the tree shows it', async () => {
    const api = await exitPlan();
    fs.writeFileSync(path.join(dataset, 'config.toml'), CONFIG);
    fs.writeFileSync(path.join(dataset, 'source.txt'), SOURCE);
    fs.writeFileSync(path.join(root, 'feeds', 'source.txt'), SOURCE);

    const user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.processDatasets');
    assert.deepEqual(user.shown, [{ severity: 'information', message: 'Processed 2 datasets: 2 exported, 0 not due.' }]);
    user.done();

    const data = fs.readdirSync(path.join(dataset, 'data'));
    assert.equal(data.length, 1, `data/ holds ${data.join(', ')}`);
    const parcel = data[0].replace(/\.txt$/, '');
    assert.match(parcel, PARCEL_ID);
    assert.ok(Math.abs(Date.parse(parcel.replace(/T(\d\d)(\d\d)(\d\d)Z$/, 'T$1:$2:$3Z')) - Date.now()) < 10 * 60_000, `${parcel} is now`);
    assert.equal(fs.readFileSync(path.join(dataset, 'data', data[0]), 'utf8'), SOURCE);
    assert.deepEqual(fs.readdirSync(path.join(dataset, 'incomplete')), [], 'nothing left half-done');
    assert.deepEqual(metricsRows(dataset), [{ parcel_id: parcel, success: 'Y', files: '1', bytes: String(SOURCE.length), lines: '3' }]);

    const datasetNode = (await treeItems(api.datasetsTree)).find((i) => i.label === 'todoist');
    assert.ok(datasetNode);
    assert.equal(datasetNode.description, 'last success just now');
    const parcels = await treeItems(api.datasetsTree, datasetNode.node);
    assert.deepEqual(
      parcels.map((p) => [p.label, p.contextValue, p.description]),
      [[parcel, 'datasetParcel', `1 file, ${SOURCE.length} B`]],
    );

    // Processed again at once: not due yet (interval 1 day), so nothing new.
    const again = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.processDatasets');
    assert.deepEqual(again.shown, [{ severity: 'information', message: 'Processed 2 datasets: 0 exported, 2 not due.' }]);
    again.done();
    assert.deepEqual(fs.readdirSync(path.join(dataset, 'data')), data);
    assert.equal(metricsRows(dataset).length, 1);
  });
  it('A folder that is gone shows as a row with Remove Dataset Folder, which takes it out of the setting', async () => {
    const api = await exitPlan();
    const gone = path.join(other, 'gone');
    await setSetting(ROOTS, [root, gone]);
    const row = await eventually('the gone folder in the tree', async () =>
      (await treeItems(api.datasetsTree)).find((i) => i.contextValue === 'datasetRootProblem'),
    );
    assert.equal(row.label, `${gone} does not exist.`);
    const user = new ScriptedUser().answer({ when: /^Remove .*gone from the Datasets view\?$/, answer: 'Remove Folder' });
    await vscode.commands.executeCommand('exitPlan.removeDatasetFolder', row.node);
    user.done();
    assert.deepEqual(rootsSetting().global, [root]);
    await eventually('the row gone', async () => !(await treeItems(api.datasetsTree)).some((i) => i.contextValue === 'datasetRootProblem'));
  });
});
