// The Warehouse view and Export Warehouse in the real extension host, against the real PostgreSQL of the
// unit tests holding the awkward warehouse (quoted names, non-ASCII schemas, partitions, an injection attempt).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { qualifiedName } from '../../../src/exporters/warehouse/catalog';
import { verifyArchive } from '../../../src/exporters/warehouse/verify';
import { AWKWARD_SQL, AWKWARD_TABLES } from '../../fixtures/awkward';
import { unzipArchive } from '../../helpers/archive';
import {
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  addWarehouseAnswers,
  exitPlan,
  makeWarehouse,
  removeThroughTree,
  setSetting,
  treeItems,
  type Warehouse,
} from '../host';

const NAME = 'Field warehouse (awkward)';

/** AWKWARD_TABLES as schema → table names, as the tree should show them. */
function expectedTree(): Map<string, string[]> {
  const bySchema = new Map<string, string[]>();
  for (const qualified of AWKWARD_TABLES) {
    const dot = qualified.indexOf('.');
    const schema = qualified.slice(0, dot);
    bySchema.set(schema, [...(bySchema.get(schema) ?? []), qualified.slice(dot + 1)].sort());
  }
  return bySchema;
}

describe('Warehouse (real VS Code, real PostgreSQL)', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let warehouse: Warehouse;

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.warehouse.connections', 'exitPlan.exportFolder', 'exitPlan.export.includeViews']);
    // As for a new user: Export Warehouse asks for the folder, and views are neither shown nor exported.
    await setSetting('exitPlan.exportFolder', undefined);
    await setSetting('exitPlan.export.includeViews', undefined);
    warehouse = await makeWarehouse({ database: 'field warehouse', user: 'field_owner', sql: AWKWARD_SQL });
  });

  after(async () => {
    const api = await exitPlan();
    await removeThroughTree(api.warehouseTree, NAME, 'exitPlan.removeWarehouseConnection', /^Remove the warehouse connection/);
    await settings.restore();
    temp.removeAll();
  });

  it('adds a connection through its seven prompts; the tree shows connection → schemas → tables', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(...addWarehouseAnswers(NAME, warehouse));
    await vscode.commands.executeCommand('exitPlan.addWarehouseConnection');
    assert.equal(user.asked.length, 7, `asked: ${user.asked.join(' / ')}`);
    const target = `${warehouse.user}@${warehouse.host}:${warehouse.port}/${warehouse.database}`;
    assert.deepEqual(user.shown, [{ severity: 'information', message: `Connected to ${target} and saved it as "${NAME}".` }]);
    user.assertNoErrors();
    user.done();

    const saved = vscode.workspace.getConfiguration('exitPlan').inspect<unknown[]>('warehouse.connections')?.globalValue ?? [];
    assert.deepEqual(
      saved.filter((p) => (p as { name?: string }).name === NAME),
      [{ name: NAME, host: warehouse.host, port: warehouse.port, database: warehouse.database, user: warehouse.user, sslmode: 'disable' }],
      'the profile in user settings (and nothing else: no password)',
    );

    const roots = await treeItems(api.warehouseTree);
    const connection = roots.find((r) => r.label === NAME);
    assert.ok(connection, `no "${NAME}" in the tree: ${roots.map((r) => r.label).join(', ')}`);
    assert.equal(connection.contextValue, 'warehouseConnection');
    assert.equal(connection.description, target);

    const expected = expectedTree();
    const schemas = await treeItems(api.warehouseTree, connection.node);
    assert.deepEqual(
      schemas.map((s) => s.label).sort(),
      [...expected.keys()].sort(),
      'schemas (views hidden: exitPlan.export.includeViews is off)',
    );
    for (const schema of schemas) {
      assert.equal(schema.contextValue, 'warehouseSchema');
      const want = expected.get(schema.label)!;
      assert.equal(schema.description, `${want.length} table${want.length === 1 ? '' : 's'}`);
      const tables = await treeItems(api.warehouseTree, schema.node);
      assert.deepEqual(tables.map((t) => t.label).sort(), want, `tables of ${schema.label}`);
      for (const t of tables) {
        assert.equal(t.contextValue, 'warehouseTable', t.label);
        assert.doesNotMatch(t.description, /no SELECT permission/, t.label);
      }
    }
  });

  it('exports every table to a zip in the chosen folder that verifies and matches the database row for row', async () => {
    const out = temp.make('export');
    const user = new ScriptedUser().answer(
      { when: /^Warehouse to export$/, answer: NAME },
      { when: /^Exit Plan: folder for the export archive \| Export Here$/, answer: out },
    );
    await vscode.commands.executeCommand('exitPlan.exportWarehouse');
    user.assertNoErrors();
    user.done();

    assert.equal(user.shown.length, 1, JSON.stringify(user.shown));
    const match = /^Exported (\d+) tables \(([\d,]+) rows\) to (.+)$/.exec(user.shown[0].message);
    assert.ok(match && user.shown[0].severity === 'information', `shown: ${user.shown[0].message}`);
    const [, tableCount, rowCount, archive] = match;
    assert.equal(path.dirname(archive), out);
    assert.match(path.basename(archive), /^field warehouse_\d{4}-\d{2}-\d{2}T\d{6}Z\.zip$/);
    assert.deepEqual(fs.readdirSync(out), [path.basename(archive)], 'only the archive is left in the folder (no .partial)');
    assert.equal(Number(tableCount), AWKWARD_TABLES.length);

    // The core's own reader: every entry's CRC, every CSV's SHA-256 and row count against the manifest.
    const verified = await verifyArchive(archive);
    assert.equal(verified.rows, Number(rowCount.replace(/,/g, '')));

    // The manifest against the database itself, table by table.
    const { dir, manifest } = unzipArchive(archive);
    try {
      assert.deepEqual(manifest.tables.map((t) => `${t.schema}.${t.name}`).sort(), [...AWKWARD_TABLES].sort());
      const c = await warehouse.client();
      try {
        let total = 0;
        for (const t of manifest.tables) {
          const r = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${qualifiedName(t.schema, t.name)}`);
          assert.equal(t.rows, r.rows[0].n, `${t.schema}.${t.name}: rows in the zip vs the database`);
          total += r.rows[0].n;
        }
        assert.equal(verified.rows, total);
      } finally {
        await c.end();
      }
      // Non-ASCII names and values arrive intact, as a person opening the CSV would read them.
      const summer = manifest.tables.find((t) => t.schema === 'données' && t.name === 'relevés_été')!;
      const csv = fs.readFileSync(path.join(dir, summer.files[0].name), 'utf8');
      assert.match(csv, /œuf,ñandú,2024-07-14/);
      assert.match(csv, /日本,значение,/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
