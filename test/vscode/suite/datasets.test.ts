// The Datasets view in the real extension host: a dataset made with Init Dataset in a folder listed in
// exitPlan.datasets.roots, its config.toml edited as a user would, then Process Due Datasets: a dated parcel
// in data/, a row in metrics.csv, and the tree showing both.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { metricsRows } from '../../helpers/datasets';
import { ScriptedUser, SettingsSnapshot, TempDirs, closeAllEditors, eventually, exitPlan, setSetting, treeItems } from '../host';

const CONFIG = `# Edited by hand after Init Dataset.
cmd = "cp \\"$DATASET_PATH/source.txt\\" \\"$PARCEL_PATH.txt\\""
interval = "1 day"
metrics.lines.cmd = "wc -l < \\"$PARCEL_PATH\\""
`;
const SOURCE = 'task 1\ntask 2\ntask 3\n';
/** export_manager's parcel ids: UTC, to the second. */
const PARCEL_ID = /^\d{4}-\d{2}-\d{2}T\d{6}Z$/;

describe('Datasets (real VS Code)', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let root: string;
  let dataset: string;

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.datasets.roots']);
    root = temp.make('datasets');
    dataset = path.join(root, 'todoist');
    await setSetting('exitPlan.datasets.roots', [root]);
  });

  after(async () => {
    await closeAllEditors();
    await settings.restore();
    temp.removeAll();
  });

  it('Init Dataset makes the export_manager layout in a root, opens config.toml, and the tree shows it', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      { when: /^Exit Plan: folder that will hold the new dataset \| Make the Dataset in Here$/, answer: root },
      { when: /^Exit Plan: Init Dataset \| Name of the dataset folder inside /, answer: 'todoist' },
      { when: /^Exit Plan: Init Dataset todoist$/, answer: 'Without git' },
    );
    await vscode.commands.executeCommand('exitPlan.initDataset');
    // The root already lists the parent, so there is nothing to offer.
    assert.deepEqual(user.shown, []);
    user.done();

    assert.deepEqual(fs.readdirSync(dataset).sort(), ['config.toml', 'data', 'incomplete', 'log', 'metrics.csv']);
    assert.equal(fs.readFileSync(path.join(dataset, 'metrics.csv'), 'utf8'), 'parcel_id,success,files,bytes');
    const editor = await eventually('config.toml in the editor', () => vscode.window.activeTextEditor);
    assert.equal(editor.document.uri.fsPath, path.join(dataset, 'config.toml'));
    assert.match(editor.document.getText(), /^# cmd = /m, 'the commented template');

    const nodes = await eventually('the dataset in the tree', async () => {
      const items = await treeItems(api.datasetsTree);
      return items.some((i) => i.label === 'todoist') && items;
    });
    assert.deepEqual(
      nodes.map((n) => [n.label, n.contextValue, n.description]),
      [['todoist', 'dataset', 'no success yet']],
    );
    const children = await treeItems(api.datasetsTree, nodes[0].node);
    assert.deepEqual(
      children.map((c) => [c.contextValue, c.label]),
      [['datasetInfo', 'No parcels yet: run Export Now, or Process Due Datasets.']],
    );
  });

  it('Process Due Datasets exports a dated parcel into data/, records it in metrics.csv, and the tree shows it', async () => {
    const api = await exitPlan();
    fs.writeFileSync(path.join(dataset, 'config.toml'), CONFIG);
    fs.writeFileSync(path.join(dataset, 'source.txt'), SOURCE);

    const user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.processDatasets');
    assert.deepEqual(user.shown, [{ severity: 'information', message: 'Processed 1 dataset: 1 exported, 0 not due.' }]);
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
    assert.deepEqual(again.shown, [{ severity: 'information', message: 'Processed 1 dataset: 0 exported, 1 not due.' }]);
    again.done();
    assert.deepEqual(fs.readdirSync(path.join(dataset, 'data')), data);
    assert.equal(metricsRows(dataset).length, 1);
  });
});
