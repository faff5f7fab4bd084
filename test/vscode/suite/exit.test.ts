// The Exit Plan view in the real extension host: with no plan the view is empty (its welcome shows); Create Exit
// Plan writes the plan from a saved warehouse connection (by name, no secret in the file); Run Exit Plan exports
// and verifies it; the tree shows the part verified and the last run; the exit report panel shows the part.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  addWarehouseConnection,
  closeAllEditors,
  eventually,
  exitPlan,
  filesContaining,
  makeWarehouse,
  removeThroughTree,
  setSetting,
  treeItems,
  type Warehouse,
} from '../host';

const CONNECTION = 'Exit source';
/** The part name Create Exit Plan makes of the connection's name (a safe folder name). */
const PART = 'Exit-source';

describe('Exit Plan (real VS Code, real PostgreSQL)', function () {
  this.timeout(180_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let warehouse: Warehouse;
  let planDir: string;
  let planFile: string;

  before(async () => {
    settings = new SettingsSnapshot([
      'exitPlan.planFile',
      'exitPlan.warehouse.connections',
      'exitPlan.azure.connections',
      'exitPlan.backups.targets',
      'exitPlan.datasets.roots',
    ]);
    // Only this suite's connection is known to the sidebar, so the plan has exactly one part.
    await setSetting('exitPlan.warehouse.connections', []);
    await setSetting('exitPlan.azure.connections', []);
    await setSetting('exitPlan.backups.targets', []);
    await setSetting('exitPlan.datasets.roots', []);
    planDir = temp.make('exit-plan');
    planFile = path.join(planDir, 'exit-plan.toml');
    await setSetting('exitPlan.planFile', planFile);
    warehouse = await makeWarehouse({
      database: 'exit_source',
      user: 'exit_owner',
      sql: `CREATE TABLE visits (id int PRIMARY KEY, village text);
            INSERT INTO visits SELECT g, 'village ' || g FROM generate_series(1, 300) g;`,
    });
    await addWarehouseConnection(CONNECTION, warehouse);
  });

  after(async () => {
    await closeAllEditors();
    const api = await exitPlan();
    await removeThroughTree(api.warehouseTree, CONNECTION, 'exitPlan.removeWarehouseConnection', /^Remove the warehouse connection/);
    await settings.restore();
    temp.removeAll();
  });

  it('shows no rows without a plan (the welcome view), then Create Exit Plan writes it from the saved connection', async () => {
    const api = await exitPlan();
    await eventually('an empty Exit Plan view', async () => (await treeItems(api.exitPlanTree)).length === 0);

    const user = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.createExitPlan');
      user.assertNoErrors();
    } finally {
      user.done();
    }
    const text = fs.readFileSync(planFile, 'utf8');
    assert.match(text, /\[\[warehouse\]\]/);
    assert.match(text, new RegExp(`name = "${PART}"`));
    assert.match(text, new RegExp(`connection = "${CONNECTION}"`));
    assert.ok(!text.includes(warehouse.password), 'the password is not in the plan');
    assert.equal(vscode.window.activeTextEditor?.document.uri.fsPath, planFile, 'the plan is opened');

    const rows = await eventually('the plan in the view', async () => {
      const items = await treeItems(api.exitPlanTree);
      return items.length >= 2 ? items : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.contextValue, r.label]),
      [
        ['exitPlanFile', 'exit-plan.toml'],
        ['exitPartStale', PART],
      ],
    );
    assert.match(rows[1].description, /^warehouse · no verified copy$/);

    // Never over an existing file.
    const again = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.createExitPlan');
      assert.deepEqual(again.shown, [
        { severity: 'information', message: `There is an exit plan already at ${planFile}; it was left as it is.` },
      ]);
    } finally {
      again.done();
    }
    assert.equal(fs.readFileSync(planFile, 'utf8'), text);
  });

  it('Run Exit Plan exports and verifies the part; the tree shows it verified; the exit report shows it', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser();
    try {
      await vscode.commands.executeCommand('exitPlan.runExitPlan');
      user.assertNoErrors();
      assert.equal(user.shown.length, 1, JSON.stringify(user.shown));
      assert.match(user.shown[0].message, /^Exit run complete: all 1 part verified \([\d.]+ \w+\)\.$/);
    } finally {
      user.done();
    }

    const out = path.join(planDir, 'exits');
    const runs = fs.readdirSync(out).filter((name) => name.startsWith('exit_'));
    assert.equal(runs.length, 1, runs.join(', '));
    const folder = path.join(out, runs[0]);
    assert.ok(fs.existsSync(path.join(folder, 'exit-manifest.json')), 'the run is complete');
    assert.ok(fs.existsSync(path.join(folder, PART, 'part.json')), 'the part is verified');
    assert.ok(
      fs.readdirSync(path.join(folder, PART)).some((f) => f.endsWith('.zip')),
      'the warehouse archive is in the part folder',
    );
    assert.deepEqual(filesContaining([folder], [warehouse.password]), [], 'no password in the run folder');

    const rows = await eventually('the part verified in the view', async () => {
      const items = await treeItems(api.exitPlanTree);
      return items.find((r) => r.label === PART)?.contextValue === 'exitPart' ? items : undefined;
    });
    assert.deepEqual(
      rows.map((r) => [r.contextValue, r.label]),
      [
        ['exitPlanFile', 'exit-plan.toml'],
        ['exitRun', 'Last run'],
        ['exitPart', PART],
      ],
    );
    assert.equal(rows[1].description, `${runs[0]} · all verified`);
    assert.match(rows[2].description, /^warehouse · verified (just now|\d+ min ago) · [\d.]+ \w+$/);

    // The Last run row opens the report.
    const lastRun = rows[1].node;
    await vscode.commands.executeCommand('exitPlan.openExitReport', lastRun);
    const shown = await eventually('the exit report panel', () => api.latestExitReport()?.shown);
    assert.equal(shown.folder, folder);
    assert.equal(shown.complete, true);
    assert.deepEqual(
      shown.parts.map((p) => [p.name, p.kind]),
      [[PART, 'warehouse']],
    );
    assert.ok(shown.parts[0].bytes > 0 && shown.parts[0].files >= 1, JSON.stringify(shown.parts[0]));
    assert.ok(shown.parts[0].verification.length > 0, 'how it was verified is said');
    assert.deepEqual(shown.failures, []);
  });
});
