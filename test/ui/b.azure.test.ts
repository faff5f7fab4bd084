// Flow b: a user adds an Azure Storage connection (the local emulator) in the Azure Storage view (a wrong endpoint
// first: the failed test sends them back into the wizard, Back keeps what they typed), tests and edits it from its
// context menu, right-clicks a container, generates a SAS, copies the local azcopy command from the SAS panel and
// runs it: every blob arrives byte for byte, and the panel itself never shows the signature. In the panel, Copy
// waits for a bucket, the expiry changes the link, Run in Terminal keeps the terminal with azcopy's exit code.
// Blobs have a context menu: Download…, Generate SAS Link, Copy Blob URL.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { azure } from '../../src/exporters';
import { listFiles, tempDir } from '../helpers/archive';
import { azcopyEnv, azurite } from '../helpers/azure';
import {
  assertNoErrorNotification,
  notification,
  openExitPlan,
  openPalette,
  quickInput,
  readUserSettings,
  step,
  treeRow,
  typeAnswer,
  workbench,
} from './workbench';
import { arrangePanes, exactTreeRow, expandRow, screenshotOnFailure } from './webviewHelpers';

const CONNECTION = 'Azurite flow b';
const CONTAINER = 'flow-b-media';
const TITLE = 'Add Azure Storage Connection';
const EDIT_TITLE = 'Edit Azure Storage Connection';

/** Blobs in folders and sub-folders, with names that need quoting and bytes that are not text. */
const BLOBS: Record<string, Buffer> = {
  'readme.txt': Buffer.from('Field media exported for the community archive.\n'),
  'photos/2024/river bank #1.jpg': randomBytes(48 * 1024),
  'photos/2024/deep/nested/frame 0001.png': randomBytes(5 * 1024),
  'photos/2025/été/щука.jpg': randomBytes(777),
  'docs/it\'s "quoted" & 100% done.csv': Buffer.from('a,b\n1,2\n'),
  'docs/report (final).pdf': randomBytes(300 * 1024),
  'empty.bin': Buffer.alloc(0),
};

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('UI flow b: Azure connection, Generate SAS on a container, copy the local command and run it', () => {
  let endpoint: string;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshotOnFailure('b-failed');
  });

  before(async () => {
    const emu = await azurite();
    endpoint = emu.endpoint;
    const account = azure.openStorageAccount({ kind: 'connectionString', connectionString: emu.connectionString });
    const container = account.service.getContainerClient(CONTAINER);
    await container.createIfNotExists();
    for (const [name, body] of Object.entries(BLOBS)) await container.getBlockBlobClient(name).uploadData(body);
  });

  it('adds the emulator connection: a failed test offers Edit Connection first, and the wizard keeps every answer', async () => {
    const { page } = await workbench();
    await openExitPlan(page);
    // Every view but Exit Plan starts collapsed: the user opens the one they want.
    await arrangePanes(page, ['Azure Storage'], ['Warehouse', 'Datasets', 'Backups', 'Backup Report']);
    const view = azureView(page);
    await view.waitFor({ state: 'visible' });
    // The view's welcome button when there is no connection yet; its title bar's Add button otherwise.
    const welcome = view.locator('.welcome-view-content').getByRole('button', { name: 'Add Azure Storage Connection' });
    if (await welcome.isVisible()) await welcome.click();
    else {
      await view.locator('.pane-header').hover();
      await view.locator('.pane-header .action-label[aria-label^="Add Azure Storage Connection"]').click();
    }

    // The first step has a title and a counter too; the count is true for the emulator (type, endpoint, name).
    const kinds = await quickInput(page, `${TITLE}: Connection Type (1/3)`);
    await step(page, 'b0-wizard-first-step', kinds);
    await kinds.locator('.monaco-list-row', { hasText: 'Local emulator (Azurite)' }).first().click();
    // A wrong account in the endpoint: Azurite refuses it at once.
    const wrong = endpoint.replace(azure.EMULATOR_ACCOUNT, 'nosuchaccount');
    await typeAnswer(page, `${TITLE}: Emulator Endpoint (2/3)`, wrong, async (input) =>
      assert.equal(await input.inputValue(), azure.EMULATOR_ENDPOINT),
    );
    // Back from the name: the endpoint is still what was typed.
    const name = await quickInput(page, `${TITLE}: Name (3/3)`);
    await name.locator('.quick-input-left-action-bar .codicon-quick-input-back').click();
    const again = await quickInput(page, `${TITLE}: Emulator Endpoint (2/3)`);
    assert.equal(await again.locator('.quick-input-box input').inputValue(), wrong);
    await step(page, 'b1-wizard-back-keeps-the-endpoint', again);
    await page.keyboard.press('Enter');
    await typeAnswer(page, `${TITLE}: Name (3/3)`, CONNECTION, async (input) => assert.equal(await input.inputValue(), 'Azurite'));

    // The test fails: the dialog's default (first, primary) button is Edit Connection, then Save Anyway.
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'Cannot connect to emulator at' });
    await dialog.waitFor({ state: 'visible', timeout: 120_000 });
    assert.deepEqual(await dialog.locator('.dialog-buttons .monaco-button:not(.secondary)').allInnerTexts(), ['Edit Connection']);
    assert.ok((await dialog.locator('.dialog-buttons .monaco-button').allInnerTexts()).includes('Save Anyway'));
    await step(page, 'b1-test-failed-edit-is-the-default', dialog);
    await page.keyboard.press('Enter');

    // Back in the wizard with every answer kept.
    const kindAgain = await quickInput(page, `${TITLE}: Connection Type (1/3)`);
    await kindAgain.locator('.monaco-list-row.focused', { hasText: 'Local emulator (Azurite)' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    await typeAnswer(page, `${TITLE}: Emulator Endpoint (2/3)`, endpoint, async (input) => assert.equal(await input.inputValue(), wrong));
    await typeAnswer(page, `${TITLE}: Name (3/3)`, CONNECTION, async (input) => assert.equal(await input.inputValue(), CONNECTION));

    const connected = await notification(page, `saved it as "${CONNECTION}"`);
    assert.match(await connected.innerText(), new RegExp(`Connected to emulator at ${endpoint.replace(/[.]/g, '\\.')}`));
    const row = treeRow(page, 'Azure Storage', CONNECTION).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'b1-azure-connection-added', row);
    assert.ok(readUserSettings().includes(`"${CONNECTION}"`), 'the connection is in the user settings');
    await assertNoErrorNotification(page);
  });

  it('tests and edits the connection from its context menu', async () => {
    const { page } = await workbench();
    await openExitPlan(page);
    const row = treeRow(page, 'Azure Storage', CONNECTION).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await row.click({ button: 'right' });
    const test = contextMenuItem(page, 'Test Azure Storage Connection');
    await test.waitFor({ state: 'visible', timeout: 30_000 });
    for (const title of ['Edit Azure Storage Connection', 'Update Azure Storage Secret', 'Remove Azure Storage Connection'])
      await contextMenuItem(page, title).waitFor({ state: 'visible' });
    await step(page, 'b2-connection-context-menu', test);
    await runMenuItem(page, test);
    const tested = await notification(page, new RegExp(`Connected to "${CONNECTION}": emulator at .*, \\d+ containers?\\.`));
    await page.locator('.notification-toast-container', { hasText: 'Exit Plan: testing' }).waitFor({ state: 'hidden', timeout: 30_000 });
    await step(page, 'b2-test-connection', tested);
    // The node's tooltip says how it stands.
    await row.hover();
    const tooltip = page.locator('.monaco-hover', { hasText: 'Connected just now' });
    await tooltip.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'b2-connection-tooltip', tooltip);
    await page.mouse.move(700, 300);

    // Edit: the same wizard over the saved values (the emulator has no secret to ask).
    await row.click({ button: 'right' });
    await runMenuItem(page, contextMenuItem(page, 'Edit Azure Storage Connection'));
    const kinds = await quickInput(page, `${EDIT_TITLE}: Connection Type (1/3)`);
    await kinds.locator('.monaco-list-row.focused', { hasText: 'Local emulator (Azurite)' }).waitFor({ state: 'visible' });
    await page.keyboard.press('Enter');
    const endpointStep = await quickInput(page, `${EDIT_TITLE}: Emulator Endpoint (2/3)`);
    assert.equal(await endpointStep.locator('.quick-input-box input').inputValue(), endpoint);
    await step(page, 'b2-edit-keeps-saved-values', endpointStep);
    await page.keyboard.press('Enter');
    await typeAnswer(page, `${EDIT_TITLE}: Name (3/3)`, CONNECTION, async (input) => assert.equal(await input.inputValue(), CONNECTION));
    await notification(page, `saved the changes to "${CONNECTION}"`);
    await assertNoErrorNotification(page);
  });

  it('generates a SAS from the container context menu; the copied local command downloads every blob byte for byte', async () => {
    const { page } = await workbench();
    await openExitPlan(page);

    // Expand the connection, then right-click the container.
    const connectionRow = treeRow(page, 'Azure Storage', CONNECTION).first();
    await connectionRow.waitFor({ state: 'visible', timeout: 30_000 });
    if ((await connectionRow.getAttribute('aria-expanded')) !== 'true') await connectionRow.click();
    const containerRow = treeRow(page, 'Azure Storage', CONTAINER).first();
    await containerRow.waitFor({ state: 'visible', timeout: 60_000 });
    await containerRow.click({ button: 'right' });
    const menuItem = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Generate SAS' }).first();
    await menuItem.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'b2-context-menu', menuItem);
    await runMenuItem(page, menuItem);

    // The panel: its editor tab, and the page inside VS Code's two webview iframes.
    const tab = page.locator('.tabs-container .tab', { hasText: `SAS: ${CONTAINER}/` }).first();
    await tab.waitFor({ state: 'visible', timeout: 60_000 });
    const panel = await activeEditorWebview(page);
    await panel.locator('h1', { hasText: `Read-only link to ${CONTAINER}/` }).waitFor({ state: 'visible', timeout: 60_000 });
    // The command lines arrive with the page's first render message.
    const localLine = panel.locator('#line-local', { hasText: /^azcopy copy / });
    await localLine.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'b3-sas-panel', tab);

    // What the page shows: the link and the command, both masked.
    const shown = await panel.locator('body').innerText();
    assert.match(shown, /sig=…/, 'the panel shows the masked link');
    assert.match(await localLine.innerText(), /sig=…/);
    assert.match(await localLine.innerText(), / --recursive --from-to BlobLocal$/);
    await panel.locator('button[data-run="local"]').waitFor({ state: 'visible', timeout: 30_000 });

    // Copy the local command: VS Code puts the real line on the browser's clipboard.
    await page.evaluate("navigator.clipboard.writeText('nothing copied yet')");
    await panel.locator('button[data-copy="local"]').click();
    // Feedback at the button, and the reminder in the status bar.
    await panel.locator('button[data-copy="local"] ~ .copied', { hasText: 'Copied' }).waitFor({ state: 'visible', timeout: 30_000 });
    await page
      .locator('.part.statusbar', { hasText: 'Copied — anyone with this link can read the data until' })
      .waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'b4-copied', tab);
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));

    // It is exactly the line the core builds for that link (POSIX quoting), with the signature in clear.
    const argv = parsePosixWords(copied);
    assert.equal(azure.commandLine(argv, 'posix'), copied, 'the copied line is what commandLine() makes of its words');
    const url = new URL(argv[2]!);
    assert.equal(`${url.origin}${url.pathname}`, `${endpoint}/${CONTAINER}`);
    const sig = url.searchParams.get('sig');
    assert.ok(sig && sig.length > 20 && !sig.includes('…'), 'the copied URL carries the real signature');
    assert.equal(url.searchParams.get('sp'), 'rl');
    const expected = azure.transferCommands(
      {
        url: argv[2]!,
        containerUrl: argv[2]!,
        account: azure.EMULATOR_ACCOUNT,
        container: CONTAINER,
        startsOn: new Date(),
        expiresOn: new Date(),
        permissions: 'rl',
        signedWith: 'account key',
      },
      { shell: 'posix', isEmulator: true },
    ).local;
    assert.deepEqual(argv, expected.argv);
    assert.equal(copied, expected.line);

    // The page never held the signature, in any encoding.
    const html = await panel.locator('html').evaluate((el) => el.outerHTML);
    for (const form of new Set([sig, encodeURIComponent(sig), url.search])) {
      assert.ok(!shown.includes(form) && !html.includes(form), 'the SAS panel shows the real signature');
    }

    // Run it as copied, without a shell (its destination is relative: a fresh working folder).
    const work = tempDir('exit-plan-ui-sas-');
    const { env, logs } = azcopyEnv();
    const result = await run(argv, work, env);
    assert.equal(result.code, 0, `azcopy failed (${result.code}):\n${result.output.replaceAll(sig, '<sig>')}`);
    const got = path.join(work, `${CONTAINER}-export`, CONTAINER);
    assert.deepEqual(listFiles(got), Object.keys(BLOBS).sort());
    for (const [name, body] of Object.entries(BLOBS)) {
      assert.equal(sha(fs.readFileSync(path.join(got, name))), sha(body), `${name} differs`);
    }
    for (const f of listFiles(logs))
      assert.ok(!fs.readFileSync(path.join(logs, f), 'latin1').includes(sig), `azcopy's ${f} holds the signature`);

    await step(page, 'b5-after-download', tab);
    await assertNoErrorNotification(page);
  });

  it('in the SAS panel, Copy waits for a bucket, the expiry makes a new link, and Run in Terminal keeps the result', async () => {
    const { page, workspace } = await workbench();
    const panel = await activeEditorWebview(page);
    const tab = page.locator('.tabs-container .tab', { hasText: `SAS: ${CONTAINER}/` }).first();

    // One primary action: Copy SAS URL; every other button is secondary.
    const primary = panel.locator('button:not(.secondary)');
    assert.deepEqual(await primary.allInnerTexts(), ['Copy SAS URL']);
    // The S3 card: Copy is disabled while the command holds <bucket>/<path>, with a hint beside it.
    const s3Copy = panel.locator('button[data-copy="s3"]');
    await s3Copy.scrollIntoViewIfNeeded();
    assert.equal(await s3Copy.isDisabled(), true);
    assert.match(await panel.locator('#line-s3').innerText(), /<bucket>\/<path>'$/);
    await panel.locator('button[data-copy="s3"] ~ .hint').waitFor({ state: 'visible' });
    await step(page, 'b6-s3-copy-disabled', tab);
    await panel.locator('input[data-destination="s3"]').fill('exit-bucket/flow b');
    await panel.locator('#line-s3', { hasText: /exit-bucket\/flow b'$/ }).waitFor({ timeout: 30_000 });
    assert.equal(await s3Copy.isDisabled(), false);
    await page.evaluate("navigator.clipboard.writeText('nothing copied yet')");
    await s3Copy.click();
    await panel.locator('button[data-copy="s3"] ~ .copied', { hasText: 'Copied' }).waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(String(await page.evaluate('navigator.clipboard.readText()')), /:s3,provider=AWS,env_auth=true:exit-bucket\/flow b'$/);
    await step(page, 'b7-s3-filled-and-copied', tab);

    // The expiry: a shorter one signs a new link; the page says the old one stays valid until it expires.
    const before = await panel.locator('#expiry').getAttribute('datetime');
    await panel.locator('#expiry-minutes').scrollIntoViewIfNeeded();
    await panel.locator('#expiry-minutes').selectOption('15');
    await panel.locator('#notice', { hasText: 'New link made; the previous one stays valid until' }).waitFor({ timeout: 30_000 });
    const after = await panel.locator('#expiry').getAttribute('datetime');
    assert.ok(Date.parse(after!) < Date.parse(before!), `the new link expires sooner (${after} vs ${before})`);
    assert.ok(Date.parse(after!) <= Date.now() + 16 * 60_000);
    await panel.locator('#countdown', { hasText: /1[45] min .* left/ }).waitFor({ timeout: 30_000 });
    await step(page, 'b8-expiry-changed', tab);

    // Run in Terminal: azcopy runs in a terminal that stays open with its summary and exit code.
    const run = panel.locator('button[data-run="local"]');
    await run.scrollIntoViewIfNeeded();
    await run.click();
    const done = page.locator('.part.panel', { hasText: `azcopy: ${CONTAINER}/ to local disk (exit code 0)` });
    await done.waitFor({ state: 'visible', timeout: 120_000 });
    const got = path.join(workspace, `${CONTAINER}-export`, CONTAINER);
    assert.deepEqual(listFiles(got), Object.keys(BLOBS).sort());
    for (const [name, body] of Object.entries(BLOBS))
      assert.equal(sha(fs.readFileSync(path.join(got, name))), sha(body), `${name} differs`);
    await step(page, 'b9-run-in-terminal-exit-code-0', done);

    // A failing run (the destination is below a file) ends with a non-zero code, and its terminal stays too.
    await panel.locator('input[data-destination="local"]').fill(path.join(got, 'readme.txt', 'below a file'));
    await panel.locator('#line-local', { hasText: 'below a file' }).waitFor({ timeout: 30_000 });
    await run.click();
    const failed = page.locator('.part.panel', { hasText: new RegExp(`azcopy: ${CONTAINER}/ to local disk \\(exit code [1-9]\\d*\\)`) });
    await failed.waitFor({ state: 'visible', timeout: 120_000 });
    await step(page, 'b10-run-in-terminal-failed', failed);
    await assertNoErrorNotification(page);
  });

  it('a blob has a context menu: Download…, Generate SAS Link (read only) and Copy Blob URL', async () => {
    const { page, scratch } = await workbench();
    await openExitPlan(page);
    // Room for the tree: the Exit Plan view collapsed and the terminals hidden (both come back at the end).
    await arrangePanes(page, ['Azure Storage'], ['Exit Plan']);
    if (await page.locator('.part.panel').isVisible()) {
      await openPalette(page, 'View: Hide Panel');
      await page.keyboard.press('Enter');
      await page.locator('.part.panel').waitFor({ state: 'hidden', timeout: 30_000 });
    }
    await expandRow(exactTreeRow(page, 'Azure Storage', CONTAINER).first());
    const readme = exactTreeRow(page, 'Azure Storage', 'readme.txt').first();
    await readme.waitFor({ state: 'visible', timeout: 60_000 });
    await readme.click({ button: 'right' });
    const download = contextMenuItem(page, 'Download Blob…');
    await download.waitFor({ state: 'visible', timeout: 30_000 });
    for (const title of ['Generate SAS Link', 'Copy Blob URL']) await contextMenuItem(page, title).waitFor({ state: 'visible' });
    await step(page, 'b11-blob-context-menu', download);

    await runMenuItem(page, contextMenuItem(page, 'Copy Blob URL'));
    await page.waitForFunction(
      `navigator.clipboard.readText().then((t) => t === ${JSON.stringify(`${endpoint}/${CONTAINER}/readme.txt`)})`,
      undefined,
      {
        timeout: 30_000,
      },
    );

    // Download… into a folder picked in VS Code's dialog: progress, then the file with its size checked.
    const folder = path.join(scratch, 'flow-b-downloads');
    fs.mkdirSync(folder, { recursive: true });
    await readme.click({ button: 'right' });
    await runMenuItem(page, contextMenuItem(page, 'Download Blob…'));
    const dialog = await quickInput(page, 'Download readme.txt to…');
    await acceptFolder(page, dialog, folder);
    const downloaded = await notification(page, `Downloaded readme.txt (${BLOBS['readme.txt']!.length} B) to ${folder}.`);
    await step(page, 'b12-blob-downloaded', downloaded);
    assert.equal(sha(fs.readFileSync(path.join(folder, 'readme.txt'))), sha(BLOBS['readme.txt']!));

    // Generate SAS Link on one blob: a read-only link to that blob, on the clipboard.
    await readme.click({ button: 'right' });
    await runMenuItem(page, contextMenuItem(page, 'Generate SAS Link'));
    const copied = await notification(page, 'Copied a read-only link to readme.txt');
    await step(page, 'b13-blob-sas-copied', copied);
    const url = new URL(String(await page.evaluate('navigator.clipboard.readText()')));
    assert.equal(url.searchParams.get('sp'), 'r');
    assert.equal(`${url.origin}${url.pathname}`, `${endpoint}/${CONTAINER}/readme.txt`);
    const read = await fetch(url);
    assert.equal(read.status, 200);
    assert.equal(Buffer.from(await read.arrayBuffer()).toString(), BLOBS['readme.txt']!.toString());
    await assertNoErrorNotification(page);
    await arrangePanes(page, ['Exit Plan'], []);
  });
});

/**
 * Runs a context menu item as a keyboard user would: the pointer focuses it, Enter runs it. (A click that comes
 * right after the menu opened is ignored by the menu, as the right button's release.)
 */
async function runMenuItem(page: Page, item: Locator): Promise<void> {
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await item.hover();
  await item.and(page.locator('.action-item.focused')).waitFor({ timeout: 30_000 });
  await page.keyboard.press('Enter');
  await page.locator('.context-view .monaco-menu').waitFor({ state: 'hidden', timeout: 30_000 });
}

function contextMenuItem(page: Page, title: string): Locator {
  const exact = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  return page.locator('.context-view .monaco-menu .action-item', { has: page.locator('.action-label', { hasText: exact }) }).first();
}

/**
 * VS Code's simple file dialog (code-server's showOpenDialog): once it lists the folder it starts in, type the
 * folder's path (no trailing slash), wait until the dialog lists it, then click the OK button ("Download Here").
 */
async function acceptFolder(page: Page, dialog: Locator, folder: string): Promise<void> {
  const input = dialog.locator('.quick-input-box input');
  const rows = dialog.locator('.monaco-list-row');
  await rows.filter({ hasText: '..' }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForFunction(`document.querySelector('.quick-input-widget .quick-input-box input')?.value.endsWith('/')`, undefined, {
    timeout: 30_000,
  });
  await input.fill(folder);
  await rows
    .filter({ hasText: path.basename(folder) })
    .first()
    .waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(await input.inputValue(), folder);
  await dialog.getByRole('button', { name: 'Download Here' }).click();
  await dialog.filter({ hasText: 'Download readme.txt to…' }).waitFor({ state: 'hidden', timeout: 30_000 });
}

function azureView(page: Page): Locator {
  return page.locator('.part.sidebar .pane', { has: page.locator('.pane-header[aria-label^="Azure Storage"]') });
}

/**
 * The page of the webview in the active editor (the SAS panel). VS Code keeps a placeholder element in the
 * editor and floats the webview's iframe (class `webview`) over it, in a container that names the
 * placeholder; that iframe holds the extension's page in a second iframe, `#active-frame`.
 */
async function activeEditorWebview(page: Page): Promise<FrameLocator> {
  const placeholder = page.locator('.editor-group-container.active [id^="webview-editor-element-"]').first();
  await placeholder.waitFor({ state: 'attached', timeout: 60_000 });
  const id = await placeholder.getAttribute('id');
  return page
    .locator(`[data-parent-flow-to-element-id="${id}"] > iframe.webview`)
    .contentFrame()
    .locator('iframe#active-frame')
    .contentFrame();
}

/**
 * Words of a line quoted the way `commandLine(…, 'posix')` quotes: bare words and single-quoted words
 * (`'\''` inside), separated by single spaces. Anything else a shell would treat specially is refused.
 */
function parsePosixWords(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    let word = '';
    while (i < line.length && line[i] !== ' ') {
      if (line[i] === "'") {
        const end = line.indexOf("'", i + 1);
        assert.ok(end > i, `unterminated quote in ${line}`);
        word += line.slice(i + 1, end);
        i = end + 1;
      } else if (line[i] === '\\' && line[i + 1] === "'") {
        word += "'";
        i += 2;
      } else {
        assert.match(line[i]!, /[A-Za-z0-9_./:-]/, `unexpected ${JSON.stringify(line[i])} in ${line}`);
        word += line[i];
        i++;
      }
    }
    words.push(word);
    i++;
  }
  return words;
}

function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
