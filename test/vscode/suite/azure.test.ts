// The Azure Storage view and Generate SAS in the real extension host, against the real Azurite of the unit
// tests: a connection added through its command, the containers and blobs it lists, a link copied from the
// SAS panel through VS Code's clipboard, and what that link can and cannot do over plain HTTP; connections
// corrected with Edit, Update Secret and Test Connection; the blob commands; Run in Terminal's exit code.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import * as vscode from 'vscode';
import { azcopyPath } from '../../../scripts/lib/azurite';
import { listFiles } from '../../helpers/archive';
import { azurite } from '../../helpers/azure';
import { startS3rver } from '../../helpers/s3rver';
import {
  BACK,
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  closeAllEditors,
  eventually,
  exitPlan,
  exitPlanLogFile,
  removeThroughTree,
  setSetting,
  treeItems,
  workspaceDir,
} from '../host';

const NAME = 'Azurite (integration)';
/** A second connection, added with a wrong key first, then corrected. */
const OTHER = 'Azurite (corrected)';
const RENAMED = 'Azurite (renamed)';
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
  const temp = new TempDirs();

  before(async () => {
    settings = new SettingsSnapshot([
      'exitPlan.azure.connections',
      'exitPlan.sas.expiryMinutes',
      'exitPlan.azcopyPath',
      'exitPlan.rclonePath',
    ]);
    await setSetting('exitPlan.sas.expiryMinutes', undefined);
    await setSetting('exitPlan.azcopyPath', azcopyPath());
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
    for (const name of [NAME, OTHER, RENAMED])
      await removeThroughTree(api.azureTree, name, 'exitPlan.removeAzureConnection', /^Remove the Azure Storage connection/);
    await settings.restore();
    temp.removeAll();
    fs.rmSync(path.join(workspaceDir(), `${PHOTOS}-export`), { recursive: true, force: true });
    const service = BlobServiceClient.fromConnectionString(connectionString);
    await Promise.all([PHOTOS, EMPTY].map((c) => service.getContainerClient(c).deleteIfExists()));
  });

  it('adds a connection-string connection through its command; the tree shows containers, folders and blobs', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      { when: /^Add Azure Storage Connection: Connection Type \(1\/3\) \| How to connect/, answer: 'Connection string' },
      { when: /^Add Azure Storage Connection: Connection String \(2\/3\) \| Connection string /, answer: connectionString },
      { when: /^Add Azure Storage Connection: Name \(3\/3\) \| A name for this connection/, answer: NAME },
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
  it('the SAS panel: Copy waits for a destination, the expiry can be changed, Run in Terminal shows the exit code', async () => {
    const api = await exitPlan();
    const connection = (await treeItems(api.azureTree)).find((i) => i.label === NAME)!;
    const photos = (await treeItems(api.azureTree, connection.node)).find((c) => c.label === PHOTOS)!;
    const user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.generateSas', photos.node);
    const panel = await eventually('the SAS panel', () => api.latestSasPanel());

    // The S3 card's command still holds <bucket>/<path>: nothing is copied until a bucket is given.
    await vscode.env.clipboard.writeText('nothing copied yet');
    await panel.copy('s3');
    assert.equal(await vscode.env.clipboard.readText(), 'nothing copied yet', 'a command with placeholders was copied');
    panel.setDestination('s3', 'my-bucket/field photos');
    await panel.copy('s3');
    const s3 = await vscode.env.clipboard.readText();
    assert.match(s3, /^rclone copy ':azureblob,sas_url=.*:s3,provider=AWS,env_auth=true:my-bucket\/field photos'$/);

    // A shorter expiry signs a new link.
    await panel.setExpiry(15);
    await panel.copy('url');
    const expiry = Date.parse(new URL(await vscode.env.clipboard.readText()).searchParams.get('se')!);
    assert.ok(expiry > Date.now() && expiry <= Date.now() + 16 * 60_000, 'the new link expires within 15 minutes');
    const sig = new URL(await vscode.env.clipboard.readText()).searchParams.get('sig')!;

    // Run in Terminal: azcopy (exitPlan.azcopyPath) downloads into the workspace; the terminal keeps its output
    // and exit code, with the signature masked.
    const run = await panel.run('local');
    assert.ok(run, 'Run in Terminal did not start');
    assert.equal(await run.exited, 0, run.transcript);
    assert.match(plain(run.transcript), /azcopy exited with code 0\. Press any key to close the terminal\./);
    assert.ok(!run.transcript.includes(sig) && run.transcript.includes('sig=…'), 'the terminal shows the command masked');
    const got = path.join(workspaceDir(), `${PHOTOS}-export`, PHOTOS);
    assert.deepEqual(listFiles(got), Object.keys(BLOBS).sort());
    assert.equal(fs.readFileSync(path.join(got, 'readme.txt'), 'utf8'), BLOBS['readme.txt']);
    const terminal = await eventually('the terminal', () =>
      vscode.window.terminals.find((t) => t.name.startsWith(`azcopy: ${PHOTOS}/ to local disk`)),
    );

    // A run that fails (the destination is under a file) ends with its non-zero code, the terminal still open.
    panel.setDestination('local', path.join(workspaceDir(), `${PHOTOS}-export`, PHOTOS, 'readme.txt', 'below a file'));
    const failing = await panel.run('local');
    assert.ok(failing);
    const code = await failing.exited;
    assert.notEqual(code, 0, failing.transcript);
    assert.match(plain(failing.transcript), new RegExp(`azcopy exited with code ${code}\\. Press any key to close the terminal\\.`));
    assert.ok(vscode.window.terminals.includes(terminal), 'the first terminal stays open');
    user.assertNoErrors();
    user.done();
    for (const t of vscode.window.terminals.filter((t) => t.name.startsWith('azcopy: '))) t.dispose();
    await closeAllEditors();
    await eventually('the log to hold the exit codes', () => {
      const log = fs.readFileSync(exitPlanLogFile()!, 'utf8');
      return log.includes('azcopy exited with code 0.') && !log.includes(sig);
    });
  });

  it("the SAS panel's S3 command runs in the terminal and every blob arrives in S3 (s3rver on loopback)", async () => {
    const api = await exitPlan();
    const connection = (await treeItems(api.azureTree)).find((i) => i.label === NAME)!;
    const photos = (await treeItems(api.azureTree, connection.node)).find((c) => c.label === PHOTOS)!;
    const s3 = await startS3rver(['field-archive']);
    // The terminal runs rclone with the extension host's environment: for this test, credentials and an endpoint
    // that lead the command, written for AWS, to s3rver (and AWS_CA_BUNDLE, which rclone 1.60 cannot take as is).
    const saved = { ...process.env };
    Object.assign(process.env, s3.awsEnv, { AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt', RCLONE_CONFIG: '/dev/null' });
    // rclone through the setting exitPlan.rclonePath: a wrapper that leaves a mark, then runs the real one.
    const bin = temp.make('rclone-bin');
    const marker = path.join(bin, 'ran');
    const wrapper = path.join(bin, 'my rclone');
    fs.writeFileSync(wrapper, `#!/bin/sh\ntouch '${marker}'\nexec rclone "$@"\n`, { mode: 0o755 });
    await setSetting('exitPlan.rclonePath', wrapper);
    try {
      await vscode.commands.executeCommand('exitPlan.generateSas', photos.node);
      const panel = await eventually('the SAS panel', () => api.latestSasPanel());
      panel.setDestination('s3', 'field-archive/exports/field photos');
      const run = await panel.run('s3');
      assert.ok(run, 'Run in Terminal did not start for S3');
      assert.equal(await run.exited, 0, run.transcript);
      assert.match(plain(run.transcript), /rclone exited with code 0\. Press any key to close the terminal\./);
      assert.ok(run.transcript.includes('sig=…') && !/sig=[^…&'\s]/.test(run.transcript), 'the terminal shows the command masked');
      assert.ok(fs.existsSync(marker), 'rclone ran from exitPlan.rclonePath');

      // Read back from S3 (path-style, a second way in): every blob, byte for byte.
      const back = temp.make('s3-back');
      const env = { ...process.env };
      delete env.AWS_CA_BUNDLE;
      const code = await new Promise<number | null>((resolve, reject) => {
        const child = spawn('rclone', ['copy', s3.remote('field-archive', 'exports/field photos'), back], { env, stdio: 'ignore' });
        child.on('error', reject);
        child.on('close', resolve);
      });
      assert.equal(code, 0);
      assert.deepEqual(listFiles(back), Object.keys(BLOBS).sort());
      for (const [name, body] of Object.entries(BLOBS)) assert.equal(fs.readFileSync(path.join(back, name), 'utf8'), body, name);
    } finally {
      await setSetting('exitPlan.rclonePath', undefined);
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
      for (const t of vscode.window.terminals.filter((t) => t.name.startsWith('rclone: '))) t.dispose();
      await closeAllEditors();
      await s3.stop();
    }
  });

  it('the blob commands: Copy Blob URL, Download Blob… (never over a file), Generate SAS Link for one blob', async () => {
    const api = await exitPlan();
    const connection = (await treeItems(api.azureTree)).find((i) => i.label === NAME)!;
    const photos = (await treeItems(api.azureTree, connection.node)).find((c) => c.label === PHOTOS)!;
    const readme = (await treeItems(api.azureTree, photos.node)).find((c) => c.label === 'readme.txt')!;
    const item = await api.azureTree.getTreeItem(photos.node);
    assert.match(String(item.tooltip), /^vscode-field-photos\/\nModified .*\nPrivate: no anonymous access\nSize: not computed/);

    await vscode.commands.executeCommand('exitPlan.copyBlobUrl', readme.node);
    assert.equal(await vscode.env.clipboard.readText(), `${endpoint}/${PHOTOS}/readme.txt`);

    const folder = temp.make('download');
    const user = new ScriptedUser().answer(
      { when: /^Download readme\.txt to… \| Download Here$/, answer: folder },
      { when: /^Download readme\.txt to… \| Download Here$/, answer: folder },
    );
    await vscode.commands.executeCommand('exitPlan.downloadBlob', readme.node);
    await vscode.commands.executeCommand('exitPlan.downloadBlob', readme.node);
    const size = Buffer.byteLength(BLOBS['readme.txt']);
    assert.deepEqual(user.shown, [
      { severity: 'information', message: `Downloaded readme.txt (${size} B) to ${folder}.` },
      { severity: 'information', message: `Downloaded readme-2.txt (${size} B) to ${folder}.` },
    ]);
    user.done();
    assert.deepEqual(listFiles(folder), ['readme-2.txt', 'readme.txt']);
    assert.equal(fs.readFileSync(path.join(folder, 'readme-2.txt'), 'utf8'), BLOBS['readme.txt']);

    const signing = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.generateSas', readme.node);
    assert.match(signing.shown[0]?.message ?? '', /^Copied a read-only link to readme\.txt: anyone holding it can read this blob until /);
    signing.done();
    const url = await vscode.env.clipboard.readText();
    assert.equal(new URL(url).searchParams.get('sp'), 'r');
    const read = await fetch(url);
    assert.equal(read.status, 200);
    assert.equal(await read.text(), BLOBS['readme.txt']);
    const [, query] = url.split('?');
    const other = await fetch(
      `${endpoint}/${PHOTOS}/${encodeURIComponent('2024')}/jan/${encodeURIComponent('river bank #1.jpg')}?${query}`,
    );
    assert.equal(other.status, 403, 'the link reads that one blob only');
  });

  it('Add with a wrong key: the failed test offers Edit Connection, which goes back into the wizard; Back keeps answers', async () => {
    const api = await exitPlan();
    const wrong = connectionString.replace(
      /AccountKey=[^;]+/,
      `AccountKey=${Buffer.from('not the key of this account').toString('base64')}`,
    );
    const user = new ScriptedUser().answer(
      { when: /^Add Azure Storage Connection: Connection Type \(1\/3\)/, answer: 'Connection string' },
      { when: /^Add Azure Storage Connection: Connection String \(2\/3\)/, answer: wrong },
      { when: /^Add Azure Storage Connection: Name \(3\/3\)/, answer: BACK },
      { when: /^Add Azure Storage Connection: Connection String \(2\/3\)/, answer: wrong },
      { when: /^Add Azure Storage Connection: Name \(3\/3\)/, answer: OTHER },
      { when: /^Cannot connect to devstoreaccount1 \(connection string\)\.$/, answer: 'Edit Connection' },
      { when: /^Add Azure Storage Connection: Connection Type \(1\/3\)/, answer: 'Connection string' },
      { when: /^Add Azure Storage Connection: Connection String \(2\/3\)/, answer: connectionString },
      { when: /^Add Azure Storage Connection: Name \(3\/3\)/, answer: OTHER },
    );
    await vscode.commands.executeCommand('exitPlan.addAzureConnection');
    assert.deepEqual(
      user.shown.map((s) => [s.severity, s.message]),
      [
        ['warning', 'Cannot connect to devstoreaccount1 (connection string).'],
        ['information', `Connected to devstoreaccount1 (connection string) and saved it as "${OTHER}".`],
      ],
    );
    user.done();
    const node = (await treeItems(api.azureTree)).find((i) => i.label === OTHER);
    assert.ok(node, 'the corrected connection is in the tree');
  });

  it('Test Connection says in one sentence whether it works; a failure offers the fixes and shows on the node', async () => {
    const api = await exitPlan();
    const other = () => treeItems(api.azureTree).then((items) => items.find((i) => i.label === OTHER)!);
    let user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.testAzureConnection', (await other()).node);
    assert.equal(user.shown.length, 1);
    assert.match(
      user.shown[0].message,
      new RegExp(`^Connected to "${OTHER.replace(/[()]/g, '\\$&')}": devstoreaccount1 \\(connection string\\), \\d+ containers?\\.$`),
    );
    user.done();
    const tooltip = (await api.azureTree.getTreeItem((await other()).node)).tooltip as vscode.MarkdownString;
    assert.match(tooltip.value, /Connected just now/);

    // A wrong key saved anyway through Update Secret: Test Connection fails, the node says so.
    const wrong = connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.from('still not the key').toString('base64')}`);
    user = new ScriptedUser().answer(
      { when: /^Update Azure Storage Secret \| New connection string/, answer: wrong },
      { when: /^Cannot connect to ".*" with the new secret\.$/, answer: 'Save Anyway' },
    );
    await vscode.commands.executeCommand('exitPlan.updateAzureSecret', { connection: OTHER });
    user.done();
    user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.testAzureConnection', { connection: OTHER });
    assert.deepEqual(user.errors().length, 1, JSON.stringify(user.shown));
    assert.match(user.errors()[0].message, /^Access to storage account devstoreaccount1 was refused \(HTTP 403\)/);
    user.done();
    const failed = await api.azureTree.getTreeItem((await other()).node);
    assert.match(String(failed.description), /^access refused · devstoreaccount1 \(connection string\)$/);
    assert.match((failed.tooltip as vscode.MarkdownString).value, /Failed just now: Access to storage account/);

    // Update Secret with the right one: the node is connected again.
    user = new ScriptedUser().answer({ when: /^Update Azure Storage Secret \| New connection string/, answer: connectionString });
    await vscode.commands.executeCommand('exitPlan.updateAzureSecret', { connection: OTHER });
    assert.deepEqual(user.shown, [
      { severity: 'information', message: 'Connected to devstoreaccount1 (connection string) with the new secret and saved it.' },
    ]);
    user.done();
    assert.equal((await api.azureTree.getTreeItem((await other()).node)).description, 'devstoreaccount1 (connection string)');
  });

  it('Edit renames a connection over its saved values, without asking its secret again', async () => {
    const api = await exitPlan();
    const node = (await treeItems(api.azureTree)).find((i) => i.label === OTHER)!.node;
    const user = new ScriptedUser().answer(
      { when: /^Edit Azure Storage Connection: Connection Type \(1\/2\)/, answer: 'Connection string' },
      { when: /^Edit Azure Storage Connection: Name \(2\/2\)/, answer: RENAMED },
    );
    await vscode.commands.executeCommand('exitPlan.editAzureConnection', node);
    assert.deepEqual(user.shown, [
      { severity: 'information', message: `Connected to devstoreaccount1 (connection string) and saved the changes to "${RENAMED}".` },
    ]);
    user.done();
    const saved = vscode.workspace.getConfiguration('exitPlan').inspect<{ name: string }[]>('azure.connections')?.globalValue ?? [];
    assert.deepEqual(
      saved.filter((p) => p.name === OTHER || p.name === RENAMED),
      [{ name: RENAMED, kind: 'connectionString', accountName: 'devstoreaccount1' }],
    );
    assert.ok(!JSON.stringify(saved).includes(connectionString), 'the connection string is not in settings');
    const renamed = (await treeItems(api.azureTree)).find((i) => i.label === RENAMED)!;
    const containers = await treeItems(api.azureTree, renamed.node);
    assert.ok(
      containers.some((c) => c.label === PHOTOS),
      `the renamed connection lists with the moved secret: ${containers.map((c) => c.label).join(' | ')}`,
    );
  });
});

/** Terminal text without its colours. */
function plain(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}
