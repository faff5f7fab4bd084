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
import { postgres } from '../../helpers/postgres';
import {
  BACK,
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  addWarehouseAnswers,
  eventually,
  exitPlanLogFile,
  exitPlan,
  filesContaining,
  makeWarehouse,
  removeThroughTree,
  setSetting,
  treeItems,
  userDataDir,
  workspaceDir,
  type Warehouse,
} from '../host';
import { quoteIdent, quoteLiteral } from '../../../src/exporters/warehouse/catalog';

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
  /** The archive the first export made, and its folder. */
  let archive = '';
  let exportFolder = '';

  /** The connection's node in the tree, and what it shows (tooltip included). */
  async function connectionNode() {
    const api = await exitPlan();
    const found = (await treeItems(api.warehouseTree)).find((r) => r.label === NAME);
    assert.ok(found, `no "${NAME}" in the Warehouse tree`);
    const item = api.warehouseTree.getTreeItem(found.node);
    // The tooltip's text, as the hover shows it (appendText escapes Markdown and spaces).
    const markdown = item.tooltip instanceof vscode.MarkdownString ? item.tooltip.value : String(item.tooltip);
    const tooltip = markdown.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1');
    return { ...found, tooltip, icon: (item.iconPath as vscode.ThemeIcon).id };
  }

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

  it('Add: Back returns to the step before with its answer kept; Escape saves nothing', async () => {
    const user = new ScriptedUser().answer(
      { when: /^Add Warehouse Connection: Name \(1\/7\)/, answer: 'Not saved' },
      { when: /^Add Warehouse Connection: Host \(2\/7\)/, answer: 'db.example.org', value: 'localhost' },
      { when: /^Add Warehouse Connection: Port \(3\/7\)/, answer: BACK, value: '5432' },
      { when: /^Add Warehouse Connection: Host \(2\/7\)/, answer: BACK, value: 'db.example.org' },
      { when: /^Add Warehouse Connection: Name \(1\/7\)/, answer: undefined, value: 'Not saved' },
    );
    await vscode.commands.executeCommand('exitPlan.addWarehouseConnection');
    user.done();
    assert.deepEqual(user.shown, [], 'nothing said, nothing saved');
    const saved = vscode.workspace.getConfiguration('exitPlan').get<{ name: string }[]>('warehouse.connections') ?? [];
    assert.ok(!saved.some((p) => p.name === 'Not saved'));
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

  it('Add: a postgres:// URL pasted into the host box fills the port, user and database, whose steps are skipped', async () => {
    const api = await exitPlan();
    const url = `postgres://${warehouse.user}@${warehouse.host}:${warehouse.port}/${encodeURIComponent(warehouse.database)}?sslmode=disable`;
    const user = new ScriptedUser().answer(
      { when: /^Add Warehouse Connection: Name \(1\/7\)/, answer: 'From a URL' },
      {
        when: /^Add Warehouse Connection: Host \(2\/7\) \| .*paste a postgres:\/\/user@host:port\/database URL/,
        answer: 'postgres://x:notaport/db',
      },
    );
    await vscode.commands.executeCommand('exitPlan.addWarehouseConnection');
    const reason = (user.refused[0] ?? '').split(' is refused: ')[1] ?? '';
    assert.match(reason, /^The database URL is not valid/, 'a bad URL is refused with the reason');
    assert.ok(!reason.includes('notaport'), 'the reason does not repeat the URL (it may hold a password)');
    user.refused.splice(0);
    user.done();

    const again = new ScriptedUser().answer(
      { when: /^Add Warehouse Connection: Name \(1\/7\)/, answer: 'From a URL' },
      { when: /^Add Warehouse Connection: Host \(2\/7\)/, answer: url },
      { when: /^Add Warehouse Connection: TLS \(3\/4\)/, answer: 'disable' },
      { when: /^Add Warehouse Connection: Password \(4\/4\)/, answer: warehouse.password },
    );
    await vscode.commands.executeCommand('exitPlan.addWarehouseConnection');
    again.assertNoErrors();
    again.done();
    const saved = vscode.workspace.getConfiguration('exitPlan').get<{ name: string }[]>('warehouse.connections') ?? [];
    assert.deepEqual(
      saved.find((p) => p.name === 'From a URL'),
      {
        name: 'From a URL',
        host: warehouse.host,
        port: warehouse.port,
        database: warehouse.database,
        user: warehouse.user,
        sslmode: 'disable',
      },
    );
    await removeThroughTree(api.warehouseTree, 'From a URL', 'exitPlan.removeWarehouseConnection', /^Remove the warehouse connection/);
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
    const [, tableCount, rowCount] = match;
    archive = match[3];
    exportFolder = out;
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

  it('Test Warehouse Connection (from the palette) says the server version; the node shows it is connected', async () => {
    const user = new ScriptedUser().answer({ when: /^Warehouse connection to test$/, answer: NAME });
    await vscode.commands.executeCommand('exitPlan.testWarehouseConnection');
    user.assertNoErrors();
    user.done();
    const target = `${warehouse.user}@${warehouse.host}:${warehouse.port}/${warehouse.database}`;
    assert.equal(user.shown.length, 1);
    assert.match(user.shown[0].message, new RegExp(`^Connected to "${escape(NAME)}": PostgreSQL \\d+(\\.\\d+)* at ${escape(target)}\\.$`));
    const node = await connectionNode();
    assert.equal(node.description, target);
    assert.match(node.tooltip, /Connected to PostgreSQL \d+/);
  });

  it('Recent Exports: Copy Path, Verify Again, Reveal; the next export dialog opens in the last folder', async () => {
    const api = await exitPlan();
    const connection = await connectionNode();
    const children = await treeItems(api.warehouseTree, connection.node);
    assert.equal(children[0].label, 'Recent Exports', `children: ${children.map((c) => c.label).join(', ')}`);
    assert.equal(children[0].contextValue, 'warehouseRecentExports');
    const [entry] = await treeItems(api.warehouseTree, children[0].node);
    assert.equal(entry.label, path.basename(archive));
    assert.equal(entry.contextValue, 'warehouseRecentExport');
    assert.match(entry.description, /^just now · \d+ tables, [\d.]+ (B|KB|MB)$/);

    let user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.copyExportPath', entry.node);
    assert.equal(await vscode.env.clipboard.readText(), archive);
    await vscode.commands.executeCommand('exitPlan.verifyExport', entry.node);
    // In a remote window (code-server) with the archive outside the workspace, Reveal says where it is.
    await vscode.commands.executeCommand('exitPlan.revealExport', entry.node);
    user.assertNoErrors();
    user.done();
    assert.match(
      user.shown[0].message,
      new RegExp(
        `^${escape(path.basename(archive))} verified: every checksum and row count matches its manifest ` +
          `\\(\\d+ CSV files, [\\d,]+ rows\\)\\.$`,
      ),
    );
    if (user.shown[1]) assert.equal(user.shown[1].message, `The archive is ${archive}.`);

    // The next export of this connection: its folder dialog opens where the last one went.
    const again = temp.make('export-again');
    user = new ScriptedUser().answer(
      { when: /^Warehouse to export$/, answer: NAME },
      { when: /^Exit Plan: folder for the export archive \| Export Here$/, answer: again },
    );
    await vscode.commands.executeCommand('exitPlan.exportWarehouse');
    user.assertNoErrors();
    user.done();
    assert.equal(user.dialogs[0].defaultUri?.fsPath, exportFolder, 'the dialog opens in the last folder');
    const entries = await treeItems(api.warehouseTree, (await treeItems(api.warehouseTree, connection.node))[0].node);
    assert.equal(entries.length, 2);
    assert.equal(path.dirname(entries[0].node.kind === 'recentExport' ? entries[0].node.entry.archive : ''), again, 'the newest first');

    // An archive moved away shows as missing, and Verify Again says so.
    fs.rmSync(archive);
    api.warehouseTree.refresh();
    const refreshed = await treeItems(api.warehouseTree, (await treeItems(api.warehouseTree, (await connectionNode()).node))[0].node);
    // By its path: the two exports may have finished in the same second, and so have the same file name.
    const missing = refreshed.find((e) => e.node.kind === 'recentExport' && e.node.entry.archive === archive)!;
    assert.equal(missing.contextValue, 'warehouseRecentExportMissing');
    assert.match(missing.description, /^missing · /);
    user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.verifyExport', missing.node);
    user.done();
    assert.deepEqual(user.errors(), [
      { severity: 'error', message: `The archive ${archive} is no longer there: it was moved or deleted.` },
    ]);
  });

  it('a password changed on the server: Test and Export offer Edit Connection and Update Password; Update Password fixes it', async () => {
    const changed = `ep-changed-${Date.now()}-pw`;
    const pg = await postgres();
    const admin = await pg.client();
    try {
      await admin.query(`ALTER ROLE ${quoteIdent(warehouse.user)} PASSWORD ${quoteLiteral(changed)}`);
    } finally {
      await admin.end();
    }
    const refused = `PostgreSQL refused the password for user "${warehouse.user}" (wrong password).`;
    const fixes = ['Edit Connection', 'Update Password', 'Show Log'];

    let user = new ScriptedUser().answer({ when: /^Warehouse connection to test$/, answer: NAME });
    await vscode.commands.executeCommand('exitPlan.testWarehouseConnection');
    user.done();
    assert.deepEqual(user.errors(), [{ severity: 'error', message: refused }]);
    assert.deepEqual(user.offered.at(-1)?.buttons, fixes);
    const failed = await connectionNode();
    assert.equal(failed.description, 'cannot connect: wrong password');
    assert.equal(failed.icon, 'error');
    assert.ok(failed.tooltip.includes(refused), failed.tooltip);

    // Export tests the connection before asking for a folder: no dialog, the error with its fixes.
    user = new ScriptedUser().answer({ when: /^Warehouse to export$/, answer: NAME });
    await vscode.commands.executeCommand('exitPlan.exportWarehouse');
    user.done();
    assert.deepEqual(user.dialogs, [], 'no folder was asked for');
    assert.deepEqual(user.errors(), [{ severity: 'error', message: refused }]);
    assert.deepEqual(user.offered.at(-1)?.buttons, fixes);

    // A wrong new password is refused and not saved.
    const box = /^Update Warehouse Password: ".*" \| New password for /;
    user = new ScriptedUser().answer({ when: box, answer: 'still-wrong' });
    await vscode.commands.executeCommand('exitPlan.updateWarehousePassword', { name: NAME });
    user.done();
    assert.deepEqual(user.errors(), [{ severity: 'error', message: refused }]);

    user = new ScriptedUser().answer({ when: box, answer: changed });
    await vscode.commands.executeCommand('exitPlan.updateWarehousePassword', { name: NAME });
    user.assertNoErrors();
    user.done();
    assert.match(
      user.shown[0].message,
      new RegExp(`^Connected to .* \\(PostgreSQL [\\d.]+\\) and saved the new password of "${escape(NAME)}"\\.$`),
    );
    const fixed = await connectionNode();
    assert.equal(fixed.icon, 'database');
    assert.doesNotMatch(fixed.description, /cannot connect/);

    // The password went to secret storage only: no setting, settings file or log holds it.
    const saved = vscode.workspace.getConfiguration('exitPlan').inspect('warehouse.connections');
    assert.ok(!JSON.stringify(saved).includes(changed), 'a setting holds the password');
    await eventually('the log to record the update', () =>
      fs.readFileSync(exitPlanLogFile() ?? '', 'utf8').includes(`Updated the password of warehouse connection "${NAME}"`),
    );
    assert.deepEqual(filesContaining([userDataDir(), workspaceDir()], [changed, 'still-wrong']), [], 'files holding the password');
    warehouse.password = changed;
  });

  it('Edit: saved values in every box, name kept; a failing test defaults to Edit Connection, back with the values kept', async () => {
    const before = vscode.workspace
      .getConfiguration('exitPlan')
      .get<{ name: string }[]>('warehouse.connections')!
      .find((p) => p.name === NAME);
    const title = (step: string, n: number) => new RegExp(`^Edit Warehouse Connection "${escape(NAME)}": ${step} \\(${n}/5\\)`);
    const host = { when: title('Host', 1), answer: warehouse.host, value: warehouse.host };
    const user = new ScriptedUser().answer(
      host,
      { when: title('Port', 2), answer: '1', value: String(warehouse.port) },
      { when: title('User', 3), answer: warehouse.user, value: warehouse.user },
      { when: title('Database', 4), answer: warehouse.database, value: warehouse.database },
      { when: title('TLS', 5), answer: 'disable' },
      { when: /^Cannot connect to /, answer: 'Edit Connection' },
      host,
      { when: title('Port', 2), answer: String(warehouse.port), value: '1' },
      { when: title('User', 3), answer: warehouse.user, value: warehouse.user },
      { when: title('Database', 4), answer: warehouse.database, value: warehouse.database },
      { when: title('TLS', 5), answer: 'disable' },
    );
    const node = await connectionNode();
    await vscode.commands.executeCommand('exitPlan.editWarehouseConnection', node.node);
    user.assertNoErrors();
    user.done();
    assert.deepEqual(user.offered[0], {
      message: `Cannot connect to ${warehouse.user}@${warehouse.host}:1/${warehouse.database}.`,
      buttons: ['Edit Connection', 'Save Anyway'],
    });
    assert.equal(
      user.shown.at(-1)?.message,
      `Connected to ${warehouse.user}@${warehouse.host}:${warehouse.port}/${warehouse.database} and saved the changes to "${NAME}".`,
    );
    const after = vscode.workspace
      .getConfiguration('exitPlan')
      .get<{ name: string }[]>('warehouse.connections')!
      .find((p) => p.name === NAME);
    assert.deepEqual(after, before, 'the same values saved (and no password)');

    // Cancel on the failing test's question keeps nothing.
    const cancel = new ScriptedUser().answer(
      host,
      { when: title('Port', 2), answer: '1' },
      { when: title('User', 3), answer: warehouse.user },
      { when: title('Database', 4), answer: warehouse.database },
      { when: title('TLS', 5), answer: 'disable' },
      { when: /^Cannot connect to /, answer: undefined },
    );
    await vscode.commands.executeCommand('exitPlan.editWarehouseConnection', { name: NAME });
    cancel.done();
    const kept = vscode.workspace
      .getConfiguration('exitPlan')
      .get<{ name: string }[]>('warehouse.connections')!
      .find((p) => p.name === NAME);
    assert.deepEqual(kept, before, 'Cancel saved nothing');
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
