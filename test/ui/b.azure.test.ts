// Flow b: a user adds an Azure Storage connection (the local emulator) in the Azure Storage view, right-clicks a
// container, generates a SAS, copies the local azcopy command from the SAS panel and runs it: every blob
// arrives byte for byte, and the panel itself never shows the signature.
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
  quickInput,
  readUserSettings,
  step,
  treeRow,
  typeAnswer,
  workbench,
} from './workbench';
import { arrangePanes } from './webviewHelpers';

const CONNECTION = 'Azurite flow b';
const CONTAINER = 'flow-b-media';
const TITLE = 'Add Azure Storage Connection';

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

  before(async () => {
    const emu = await azurite();
    endpoint = emu.endpoint;
    const account = azure.openStorageAccount({ kind: 'connectionString', connectionString: emu.connectionString });
    const container = account.service.getContainerClient(CONTAINER);
    await container.createIfNotExists();
    for (const [name, body] of Object.entries(BLOBS)) await container.getBlockBlobClient(name).uploadData(body);
  });

  it('adds the emulator connection from the Azure Storage view', async () => {
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

    const kinds = await quickInput(page, TITLE);
    await kinds.locator('.monaco-list-row', { hasText: 'Local emulator (Azurite)' }).first().click();
    await typeAnswer(page, `${TITLE} (2/3)`, endpoint, async (input) => assert.equal(await input.inputValue(), azure.EMULATOR_ENDPOINT));
    await typeAnswer(page, `${TITLE} (3/3)`, CONNECTION, async (input) => assert.equal(await input.inputValue(), 'Azurite'));

    const connected = await notification(page, `saved it as "${CONNECTION}"`);
    assert.match(await connected.innerText(), new RegExp(`Connected to emulator at ${endpoint.replace(/[.]/g, '\\.')}`));
    const row = treeRow(page, 'Azure Storage', CONNECTION).first();
    await row.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'b1-azure-connection-added', row);
    assert.ok(readUserSettings().includes(`"${CONNECTION}"`), 'the connection is in the user settings');
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
    await menuItem.click();

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
});

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
