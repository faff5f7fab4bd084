// Where the secrets go in the real VS Code: the warehouse password and the Azure connection string (with its
// account key) are given to the Add … Connection commands, must be usable afterwards (the server asks for
// scram-sha-256), and must appear in no setting of any scope, in no file VS Code keeps on disk for this user
// and workspace (User/settings.json, Machine/settings.json where machine-scoped settings go in a remote
// window such as code-server's, the settings' local history, state, caches), and not in the extension's log.
//
// In code-server (VS Code for the web) SecretStorage is the browser's: LocalStorageSecretStorageProvider keeps
// every secret in one localStorage entry (`secrets.provider`) of Chromium's profile, sealed with AES-GCM under
// a key whose server half code-server keeps in <user-data-dir>/serve-web-key-half. So no file here should
// ever hold a secret; the extension host cannot read the browser's storage, so that part is not checked here.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EMULATOR_KEY } from '../../../src/exporters/azure/connection';
import { azurite } from '../../helpers/azure';
import {
  EXTENSION_ID,
  ScriptedUser,
  SettingsSnapshot,
  addWarehouseConnection,
  eventually,
  exitPlan,
  exitPlanLogFile,
  filesContaining,
  makeWarehouse,
  removeThroughTree,
  setSetting,
  treeItems,
  userDataDir,
  workspaceDir,
  type Warehouse,
} from '../host';

const WAREHOUSE = 'Secret keeper';
const AZURE = 'Secret storage account';

describe('Secrets (real VS Code SecretStorage)', function () {
  this.timeout(120_000);
  let settings: SettingsSnapshot;
  let warehouse: Warehouse;
  let connectionString: string;

  /** Every exitPlan.* setting the extension contributes. */
  function contributedSettings(): string[] {
    const manifest = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON as {
      contributes: { configuration: { properties: Record<string, unknown> } };
    };
    return Object.keys(manifest.contributes.configuration.properties);
  }

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.warehouse.connections', 'exitPlan.azure.connections']);
    warehouse = await makeWarehouse({
      database: 'secret_keeping',
      user: 'secret_keeper',
      sql: 'CREATE TABLE visits (id int PRIMARY KEY, village text); INSERT INTO visits VALUES (1, $$Kisumu$$);',
    });
    ({ connectionString } = await azurite());
  });

  after(async () => {
    const api = await exitPlan();
    await removeThroughTree(api.warehouseTree, WAREHOUSE, 'exitPlan.removeWarehouseConnection', /^Remove the warehouse connection/);
    await removeThroughTree(api.azureTree, AZURE, 'exitPlan.removeAzureConnection', /^Remove the Azure Storage connection/);
    await settings.restore();
  });

  it('keeps the password and the connection string out of every setting, file and log, yet uses them', async () => {
    const api = await exitPlan();
    await addWarehouseConnection(WAREHOUSE, warehouse);
    const user = new ScriptedUser().answer(
      { when: /Connection Type \(1\/3\) \| How to connect/, answer: 'Connection string' },
      { when: /\(2\/3\) \| Connection string/, answer: connectionString },
      { when: /\(3\/3\) \| A name/, answer: AZURE },
    );
    await vscode.commands.executeCommand('exitPlan.addAzureConnection');
    user.assertNoErrors();
    user.done();

    // Stored somewhere retrievable: the tree connects with the password (the server requires scram-sha-256) …
    const connection = (await treeItems(api.warehouseTree)).find((i) => i.label === WAREHOUSE)!;
    const schemas = await treeItems(api.warehouseTree, connection.node);
    assert.deepEqual(
      schemas.map((s) => [s.label, s.contextValue]),
      [['public', 'warehouseSchema']],
      `the tree shows: ${schemas.map((s) => s.label).join(' | ')}`,
    );
    assert.deepEqual(
      (await treeItems(api.warehouseTree, schemas[0].node)).map((t) => t.label),
      ['visits'],
    );
    // … and lists the storage account with the connection string.
    const account = (await treeItems(api.azureTree)).find((i) => i.label === AZURE)!;
    const containers = await treeItems(api.azureTree, account.node);
    assert.ok(
      containers.every((c) => c.contextValue === 'azureContainer'),
      `the Azure tree shows: ${containers.map((c) => c.label).join(' | ')}`,
    );

    const secrets = [warehouse.password, connectionString, EMULATOR_KEY];

    // No setting of any scope holds them.
    const config = vscode.workspace.getConfiguration();
    for (const key of contributedSettings()) {
      const inspected = config.inspect(key) ?? {};
      for (const [scope, value] of Object.entries(inspected)) {
        // The message names the scope only: a failing run should not print the secret either.
        assert.ok(!secrets.some((secret) => String(JSON.stringify(value)).includes(secret)), `${key} holds a secret in ${scope}`);
      }
    }

    // The user settings on disk hold the profiles (so this is the right file) but not the secrets.
    const userSettings = path.join(userDataDir(), 'User', 'settings.json');
    const text = fs.readFileSync(userSettings, 'utf8');
    assert.ok(text.includes(`"${WAREHOUSE}"`) && text.includes(`"${AZURE}"`), `${userSettings} does not hold the profiles:\n${text}`);

    // The log says what happened, up to the listings just made (so it is the right file, and flushed) …
    await eventually('the Exit Plan log to record the connections and their listings', () => {
      const file = exitPlanLogFile();
      const content = file ? fs.readFileSync(file, 'utf8') : '';
      return [
        `Saved warehouse connection "${WAREHOUSE}"`,
        `Saved Azure Storage connection "${AZURE}"`,
        `Listed 1 relation of "${WAREHOUSE}"`,
        `items of "${AZURE}"`,
      ].every((line) => content.includes(line));
    });

    // … and no file under the user data dir (settings, their local history, logs, state, caches) or the
    // workspace holds a secret, in UTF-8, UTF-16 or JSON-escaped.
    assert.deepEqual(filesContaining([userDataDir(), workspaceDir()], secrets), [], 'files holding a secret');
    // What the secret is sealed with in VS Code for the web (see the top of this file); desktop uses the OS keychain.
    if (vscode.env.uiKind === vscode.UIKind.Web) {
      assert.ok(fs.existsSync(path.join(userDataDir(), 'serve-web-key-half')), 'code-server minted no key for the browser secret storage');
    }
  });

  it('Remove deletes the saved password and connection string, not just the profiles', async () => {
    const api = await exitPlan();
    const profileOf = (key: string, name: string) =>
      (vscode.workspace.getConfiguration('exitPlan').inspect<{ name: string }[]>(key)?.globalValue ?? []).find((p) => p.name === name);
    const warehouseProfile = profileOf('warehouse.connections', WAREHOUSE);
    const azureProfile = profileOf('azure.connections', AZURE);
    assert.ok(warehouseProfile && azureProfile);

    await removeThroughTree(
      api.warehouseTree,
      WAREHOUSE,
      'exitPlan.removeWarehouseConnection',
      /^Remove the warehouse connection "Secret keeper"\?$/,
    );
    await removeThroughTree(
      api.azureTree,
      AZURE,
      'exitPlan.removeAzureConnection',
      /^Remove the Azure Storage connection "Secret storage account"\?$/,
    );
    assert.equal(profileOf('warehouse.connections', WAREHOUSE), undefined);
    assert.equal(profileOf('azure.connections', AZURE), undefined);
    assert.deepEqual(
      (await treeItems(api.warehouseTree)).filter((i) => i.label === WAREHOUSE),
      [],
    );

    // The same profiles written back by hand, as a user editing settings.json would: without the secrets
    // they were saved with, the server refuses the login and the account cannot be opened.
    const current = (key: string) => vscode.workspace.getConfiguration('exitPlan').inspect<unknown[]>(key)?.globalValue ?? [];
    await setSetting('exitPlan.warehouse.connections', [...current('warehouse.connections'), warehouseProfile]);
    await setSetting('exitPlan.azure.connections', [...current('azure.connections'), azureProfile]);
    const connection = (await treeItems(api.warehouseTree)).find((i) => i.label === WAREHOUSE)!;
    const children = await treeItems(api.warehouseTree, connection.node);
    assert.deepEqual(
      children.map((c) => [c.contextValue, c.label]),
      [
        [
          'warehouseError',
          `PostgreSQL at ${warehouse.host}:${warehouse.port} asks user "${warehouse.user}" for a password, and none was given.`,
        ],
      ],
    );
    const account = (await treeItems(api.azureTree)).find((i) => i.label === AZURE)!;
    const accountChildren = await treeItems(api.azureTree, account.node);
    assert.deepEqual(
      accountChildren.map((c) => [c.contextValue, c.label]),
      [
        [
          'azureError',
          `The connection string of "${AZURE}" is not in this machine's secret storage: enter it with Update Azure Storage Secret.`,
        ],
      ],
    );
    const shownAccount = await api.azureTree.getTreeItem(account.node);
    assert.match(String(shownAccount.description), /^secret missing · /, 'the connection node says what is wrong');

    // Update Azure Storage Secret (the error node's connection) puts it back: the tree lists again, and the
    // connection string is again in no setting.
    const user = new ScriptedUser().answer({
      when: /^Update Azure Storage Secret \| New connection string/,
      answer: connectionString,
    });
    await vscode.commands.executeCommand('exitPlan.updateAzureSecret', accountChildren[0].node);
    assert.deepEqual(user.shown, [
      { severity: 'information', message: 'Connected to devstoreaccount1 (connection string) with the new secret and saved it.' },
    ]);
    user.done();
    const again = (await treeItems(api.azureTree)).find((i) => i.label === AZURE)!;
    assert.ok(
      (await treeItems(api.azureTree, again.node)).every((c) => c.contextValue === 'azureContainer'),
      'the connection lists its containers again',
    );
    assert.ok(
      !JSON.stringify(profileOf('azure.connections', AZURE)).includes(connectionString),
      'the connection string is not in settings',
    );
    // Nor in any file VS Code wrote meanwhile (settings, logs, state), in any encoding.
    assert.deepEqual(filesContaining([userDataDir(), workspaceDir()], [connectionString, EMULATOR_KEY]), [], 'files holding a secret');
  });
});
