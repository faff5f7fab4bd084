// The Azure Storage view and Generate SAS in the real extension host, against the real Azurite of the unit
// tests: a connection added through its command, the containers and blobs it lists, a link copied from the
// SAS panel through VS Code's clipboard, and what that link can and cannot do over plain HTTP.
import * as assert from 'node:assert/strict';
import { BlobServiceClient } from '@azure/storage-blob';
import * as vscode from 'vscode';
import { azurite } from '../../helpers/azure';
import { ScriptedUser, SettingsSnapshot, closeAllEditors, eventually, exitPlan, removeThroughTree, setSetting, treeItems } from '../host';

const NAME = 'Azurite (integration)';
const PHOTOS = 'vscode-field-photos';
const EMPTY = 'vscode-empty';
const BLOBS: Record<string, string> = {
  'readme.txt': 'Photos from the field survey.\n',
  '2024/jan/river bank #1.jpg': 'jpeg bytes 1',
  '2024/feb/it is "quoted".png': 'png bytes 22',
};

describe('Azure Storage (real VS Code, real Azurite)', function () {
  this.timeout(120_000);
  let settings: SettingsSnapshot;
  let endpoint: string;
  let connectionString: string;

  before(async () => {
    settings = new SettingsSnapshot(['exitPlan.azure.connections', 'exitPlan.sas.expiryMinutes']);
    await setSetting('exitPlan.sas.expiryMinutes', undefined);
    ({ endpoint, connectionString } = await azurite());
    const service = BlobServiceClient.fromConnectionString(connectionString);
    const photos = service.getContainerClient(PHOTOS);
    await photos.create();
    for (const [name, body] of Object.entries(BLOBS)) await photos.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
    await service.getContainerClient(EMPTY).create();
  });

  after(async () => {
    await closeAllEditors();
    const api = await exitPlan();
    await removeThroughTree(api.azureTree, NAME, 'exitPlan.removeAzureConnection', /^Remove the Azure Storage connection/);
    await settings.restore();
    const service = BlobServiceClient.fromConnectionString(connectionString);
    await Promise.all([PHOTOS, EMPTY].map((c) => service.getContainerClient(c).deleteIfExists()));
  });

  it('adds a connection-string connection through its command; the tree shows containers, folders and blobs', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      { when: /^Add Azure Storage Connection \| How to connect$/, answer: 'Connection string' },
      { when: /^Add Azure Storage Connection \(2\/3\) \| Connection string /, answer: connectionString },
      { when: /^Add Azure Storage Connection \(3\/3\) \| A name for this connection/, answer: NAME },
    );
    await vscode.commands.executeCommand('exitPlan.addAzureConnection');
    assert.deepEqual(user.shown, [
      { severity: 'information', message: `Connected to devstoreaccount1 (connection string) and saved it as "${NAME}".` },
    ]);
    user.done();

    const saved = vscode.workspace.getConfiguration('exitPlan').inspect<unknown[]>('azure.connections')?.globalValue ?? [];
    assert.deepEqual(
      saved.filter((p) => (p as { name?: string }).name === NAME),
      [{ name: NAME, kind: 'connectionString', accountName: 'devstoreaccount1' }],
      'the profile in user settings, without the connection string',
    );

    const connection = (await treeItems(api.azureTree)).find((i) => i.label === NAME);
    assert.ok(connection, `no "${NAME}" in the Azure Storage view`);
    assert.equal(connection.contextValue, 'azureConnection');
    assert.equal(connection.description, 'devstoreaccount1 (connection string)');

    const containers = (await treeItems(api.azureTree, connection.node)).filter((c) => c.label.startsWith('vscode-'));
    assert.deepEqual(
      containers.map((c) => [c.label, c.contextValue]),
      [
        [EMPTY, 'azureContainer'],
        [PHOTOS, 'azureContainer'],
      ],
    );
    const photos = containers.find((c) => c.label === PHOTOS)!;
    const top = await treeItems(api.azureTree, photos.node);
    assert.deepEqual(
      top.map((i) => [i.label, i.contextValue, i.description]),
      [
        ['2024', 'azureFolder', ''],
        ['readme.txt', 'azureBlob', `${Buffer.byteLength(BLOBS['readme.txt'])} B`],
      ],
    );
    const months = await treeItems(api.azureTree, top[0].node);
    assert.deepEqual(
      months.map((i) => [i.label, i.contextValue]),
      [
        ['feb', 'azureFolder'],
        ['jan', 'azureFolder'],
      ],
    );
    const jan = await treeItems(api.azureTree, months[1].node);
    assert.deepEqual(
      jan.map((i) => [i.label, i.contextValue]),
      [['river bank #1.jpg', 'azureBlob']],
    );
    const empty = await treeItems(api.azureTree, containers.find((c) => c.label === EMPTY)!.node);
    assert.deepEqual(empty, [], 'an empty container has no children (and no error node)');
  });

  it('Generate SAS on a container node opens the panel; the copied URL lists the container and cannot write', async () => {
    const api = await exitPlan();
    const connection = (await treeItems(api.azureTree)).find((i) => i.label === NAME)!;
    const photos = (await treeItems(api.azureTree, connection.node)).find((c) => c.label === PHOTOS)!;

    // As from the container's context menu: the tree node is the argument, so nothing is asked.
    const user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.generateSas', photos.node);
    user.assertNoErrors();
    user.done();
    const panel = await eventually('the SAS panel', () => api.latestSasPanel());
    const tabs = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    const tab = await eventually(`a "SAS: ${PHOTOS}/" tab`, () => tabs().find((t) => t.label === `SAS: ${PHOTOS}/`));
    assert.ok(tab.input instanceof vscode.TabInputWebview, 'the tab is a webview');

    // The panel's "Copy" of the URL, then what a paste would give. vscode.env.clipboard goes to the workbench's
    // clipboard service in the page; when VS Code for the web runs extension tests (extensionTestsPath is
    // set), that service keeps the text in memory instead of navigator.clipboard, which headless Chromium
    // would refuse without a user gesture. So this is VS Code's own clipboard path, minus the OS clipboard.
    await vscode.env.clipboard.writeText('nothing copied yet');
    await panel.copy('url');
    const url = await vscode.env.clipboard.readText();
    assert.ok(url.startsWith(`${endpoint}/${PHOTOS}?`), `the clipboard holds ${JSON.stringify(url.slice(0, 80))}`);
    const params = new URL(url).searchParams;
    assert.equal(params.get('sp'), 'rl', 'read and list only');
    assert.ok(params.get('sig'), 'signed');
    const expiry = Date.parse(params.get('se')!);
    assert.ok(
      expiry > Date.now() && expiry <= Date.now() + 120 * 60_000 + 60_000,
      `expires at ${params.get('se')}, within the default 120 minutes`,
    );

    const listing = await fetch(`${url}&restype=container&comp=list`);
    assert.equal(listing.status, 200);
    const xml = await listing.text();
    const names = [...xml.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1].replace(/&quot;/g, '"').replace(/&amp;/g, '&'));
    assert.deepEqual(names.sort(), Object.keys(BLOBS).sort());

    const [base, query] = url.split('?');
    const read = await fetch(`${base}/readme.txt?${query}`);
    assert.equal(read.status, 200);
    assert.equal(await read.text(), BLOBS['readme.txt']);
    const put = await fetch(`${base}/written-with-the-link.txt?${query}`, {
      method: 'PUT',
      body: 'x',
      headers: { 'x-ms-blob-type': 'BlockBlob' },
    });
    assert.equal(put.status, 403, 'a PUT with the read/list link is refused');
    const exists = await BlobServiceClient.fromConnectionString(connectionString)
      .getContainerClient(PHOTOS)
      .getBlobClient('written-with-the-link.txt')
      .exists();
    assert.equal(exists, false);

    // Closing the panel forgets the link.
    await closeAllEditors();
    await eventually('the panel to be forgotten', () => api.latestSasPanel() === undefined);
  });
});
