// The UI suite's view of VS Code: the packaged extension (.vsix) installed in code-server, driven in headless
// Chromium through clicks and keys as a user would. Every step is screenshotted under test-results/ui/ and
// checked: the Exit Plan UI is on screen and no error notification is showing.
import { spawnSync } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/vscode/chromium';
import { startCodeServer, type RunningCodeServer } from '../../scripts/vscode/codeServer';
import { azcopyPath } from '../../scripts/lib/azurite';

const ROOT = path.resolve(__dirname, '../../..');
export const RESULTS_DIR = path.join(ROOT, 'test-results', 'ui');

export interface Workbench {
  page: Page;
  server: RunningCodeServer;
  /** The folder VS Code has open. */
  workspace: string;
  /** A scratch folder for the suite (exports, backups, datasets). */
  scratch: string;
}

let current: Promise<Workbench> | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let server: RunningCodeServer | undefined;
let scratchDir: string | undefined;

/** The one workbench, started on first use: packaged extension, code-server, Chromium, page loaded. */
export function workbench(): Promise<Workbench> {
  current ??= start();
  return current;
}

async function start(): Promise<Workbench> {
  fs.rmSync(RESULTS_DIR, { recursive: true, force: true });
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  scratchDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-ui-'));
  const workspace = path.join(scratchDir, 'workspace');
  fs.mkdirSync(workspace);
  const vsix = path.join(scratchDir, 'exit-plan.vsix');
  const vsce = spawnSync(
    process.execPath,
    [require.resolve('@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  assert.equal(vsce.status, 0, `vsce package failed:\n${vsce.stdout}\n${vsce.stderr}`);
  // The real azcopy on the PATH of VS Code's terminals and extension host, with its logs kept out of ~.
  const bin = path.join(scratchDir, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(azcopyPath(), path.join(bin, 'azcopy'));
  const azcopyLogs = path.join(scratchDir, 'azcopy-logs');
  fs.mkdirSync(azcopyLogs);
  server = await startCodeServer({
    folder: workspace,
    vsix,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      AZCOPY_LOG_LOCATION: azcopyLogs,
      AZCOPY_JOB_PLAN_LOCATION: azcopyLogs,
      AZCOPY_DISABLE_SYSLOG: 'true',
    },
    settings: {
      'workbench.tips.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.ignoreRecommendations': true,
      'terminal.integrated.enablePersistentSessions': false,
      'window.restoreWindows': 'none',
    },
  });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.origin });
  const page = await context.newPage();
  await page.goto(server.url());
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  await page.locator('.activitybar').waitFor({ timeout: 60_000 });
  return { page, server, workspace, scratch: scratchDir };
}

export async function closeWorkbench(): Promise<void> {
  if (!current) return;
  current = undefined;
  await context?.close().catch(() => undefined);
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (scratchDir) fs.rmSync(scratchDir, { recursive: true, force: true });
}

/**
 * Merges `patch` into the settings as a user edits them: in VS Code's own settings.json editor, saved with
 * Ctrl+S. code-server does not apply a settings.json rewritten behind its back (its server sees the file
 * change, but the window never reloads it), and in its window, which is a remote one, a machine-scoped setting (exitPlan.datasets.roots,
 * exitPlan.pgDumpPath, …) counts only in the Remote settings, so those keys go there; the rest go to the
 * User settings (the file `readUserSettings` reads).
 */
export async function updateUserSettings(patch: Record<string, unknown>): Promise<void> {
  const { page, server: running } = await workbench();
  const machine = machineScopedSettings();
  const user = Object.fromEntries(Object.entries(patch).filter(([key]) => !machine.has(key)));
  const remote = Object.fromEntries(Object.entries(patch).filter(([key]) => machine.has(key)));
  if (Object.keys(user).length > 0)
    await editSettingsJson(page, 'Preferences: Open User Settings (JSON)', path.join(running.userDataDir, 'User'), user);
  if (Object.keys(remote).length > 0)
    await editSettingsJson(page, 'Preferences: Open Remote Settings (JSON)', path.join(running.userDataDir, 'Machine'), remote);
}

/** Exit Plan's settings with scope machine or machine-overridable, from package.json. */
function machineScopedSettings(): Set<string> {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    contributes: { configuration: { properties: Record<string, { scope?: string }> } };
  };
  const properties = Object.entries(manifest.contributes.configuration.properties);
  return new Set(properties.filter(([, p]) => p.scope === 'machine' || p.scope === 'machine-overridable').map(([key]) => key));
}

/** Opens `<folder>/settings.json` with the palette command `title`, merges `patch` into it, saves and closes it. */
async function editSettingsJson(page: Page, title: string, folder: string, patch: Record<string, unknown>): Promise<void> {
  const file = path.join(folder, 'settings.json');
  // The Remote one's title ends with the remote's name: "… (JSON) (127.0.0.1:port)".
  await runExactCommand(page, title, new RegExp(`^${escapeRegExp(title)}( \\(.*\\))?$`));
  const editor = page.locator('.editor-group-container.active .editor-container .monaco-editor').first();
  await editor.waitFor({ state: 'visible', timeout: 30_000 });
  // The User and the Remote settings are both "settings.json": the breadcrumbs tell which one is open.
  await page
    .locator('.editor-group-container.active .breadcrumbs-control', { hasText: path.basename(folder) })
    .waitFor({ state: 'visible', timeout: 30_000 });
  await editor.locator('.view-lines').click();
  // Copy the text out through the clipboard (waiting until the copy has replaced a marker).
  const marker = `exit-plan-clipboard-${Date.now()}`;
  await page.evaluate((text) => (globalThis as unknown as WithClipboard).navigator.clipboard.writeText(text), marker);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Control+C');
  let text = marker;
  for (const deadline = Date.now() + 30_000; text === marker && Date.now() < deadline;) {
    text = await page.evaluate(() => (globalThis as unknown as WithClipboard).navigator.clipboard.readText());
    if (text === marker) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.notEqual(text, marker, `could not copy the text of ${file}`);
  const current = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
  const merged = JSON.stringify({ ...current, ...patch }, null, 2);
  if (merged !== JSON.stringify(current, null, 2)) {
    await page.evaluate((value) => (globalThis as unknown as WithClipboard).navigator.clipboard.writeText(value), merged);
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+V');
    await page.keyboard.press('Control+S');
    // Saved when the file on disk holds the merged settings (and the tab is not dirty).
    const saved = () => {
      try {
        return JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8'))) === JSON.stringify(JSON.parse(merged));
      } catch {
        return false;
      }
    };
    for (const deadline = Date.now() + 30_000; !saved();) {
      assert.ok(Date.now() < deadline, `${file} was not saved with ${JSON.stringify(patch)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.locator('.editor-group-container.active .tab.active.dirty').waitFor({ state: 'detached', timeout: 30_000 });
  }
  await runExactCommand(page, 'View: Close Editor');
  await editor.waitFor({ state: 'detached', timeout: 30_000 });
}

/** Types `title` in the palette and clicks the row whose whole label matches (not a longer command that starts the same way). */
async function runExactCommand(page: Page, title: string, label = new RegExp(`^${escapeRegExp(title)}$`)): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const row = page.locator('.quick-input-widget .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: label }) });
  // Some commands (Open Remote Settings) exist only once the window knows its remote: the palette lists
  // the commands of the moment it opens, so it is opened again until the command is there.
  for (const deadline = Date.now() + 60_000; ;) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const found = await row
      .first()
      .waitFor({ state: 'visible', timeout: 5_000 })
      .then(
        () => true,
        () => false,
      );
    if (found) break;
    assert.ok(Date.now() < deadline, `the command palette has no "${title}"`);
  }
  await row.first().click();
  await input.waitFor({ state: 'hidden' });
}

/** The page's clipboard, which the context may read and write (the tests compile without the DOM types). */
type WithClipboard = { navigator: { clipboard: { readText(): Promise<string>; writeText(text: string): Promise<void> } } };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The User settings.json as saved on disk (machine-scoped settings are in the Remote one). */
export function readUserSettings(): string {
  if (!server) throw new Error('the workbench is not started');
  return fs.readFileSync(path.join(server.userDataDir, 'User', 'settings.json'), 'utf8');
}

/** Error toasts on screen (VS Code keeps error notifications until they are dismissed). */
export async function errorNotifications(page: Page): Promise<string[]> {
  const toasts = page.locator('.notification-toast-container:has(.codicon-error) .notification-list-item-message');
  return toasts.allInnerTexts();
}

export async function assertNoErrorNotification(page: Page): Promise<void> {
  assert.deepEqual(await errorNotifications(page), [], 'VS Code shows an error notification');
}

/**
 * Saves `test-results/ui/<name>.png` after checking that the page is the workbench with Exit Plan's UI on it
 * (`expect`, by default the Exit Plan side bar or a panel of the extension) and that no error is showing.
 */
export async function step(
  page: Page,
  name: string,
  expect: Locator = page.locator('.part.sidebar .title-label h2', { hasText: /exit plan/i }),
): Promise<string> {
  await expect.first().waitFor({ state: 'visible', timeout: 30_000 });
  await assertNoErrorNotification(page);
  const file = path.join(RESULTS_DIR, `${name}.png`);
  await page.screenshot({ path: file });
  // A blank or error page compresses to a few kilobytes; the workbench with a side bar does not.
  const size = fs.statSync(file).size;
  assert.ok(size > 20_000, `${name}.png is ${size} bytes: blank?`);
  return file;
}

/** Opens the Exit Plan side bar from its activity bar icon. */
export async function openExitPlan(page: Page): Promise<void> {
  const title = page.locator('.part.sidebar .title-label h2', { hasText: /exit plan/i });
  if (await title.isVisible()) return;
  await page.locator('.activitybar .action-item a[aria-label^="Exit Plan"]').click();
  await title.waitFor({ state: 'visible', timeout: 30_000 });
}

/** F1 and the command's title, with its row showing (Enter is left to the caller, for a screenshot first). */
export async function openPalette(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor({ state: 'visible' });
}

/** Waits for the quick input (input box or pick list) whose title or prompt contains `title`. */
export async function quickInput(page: Page, title: string | RegExp): Promise<Locator> {
  const widget = page.locator('.quick-input-widget', { hasText: title });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  return widget;
}

/**
 * Types `text` into the input box titled `title` (after `check` has looked at what it offers) and presses
 * Enter; returns when that title is gone, so the next answer goes into the next box.
 */
export async function typeAnswer(page: Page, title: string, text: string, check?: (input: Locator) => Promise<void>): Promise<void> {
  const widget = await quickInput(page, title);
  const input = widget.locator('.quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await check?.(input);
  await input.fill(text);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'hidden', timeout: 30_000 });
}

/**
 * The notification whose message matches `text`: its toast once the fade-in is over (so a screenshot shows it
 * sharp), or, when VS Code did not keep it as a toast, its row in the Notifications center, opened as a user
 * would with the bell. (A toast shown in the moment a progress notification closes is sometimes dropped from
 * the stack of toasts at once; the notification itself stays in the center.)
 */
export async function notification(page: Page, text: string | RegExp, timeout = 120_000): Promise<Locator> {
  // The message line, not the toast's container: while VS Code stacks a new toast over others, the container
  // can have no height of its own (the toast overflows it), which Playwright counts as not visible.
  const shownMessage = page.locator('.notification-list-item-message:visible', { hasText: text });
  const message = page.locator('.notification-toast-container').locator(shownMessage).first();
  const inCenter = page.locator('.notifications-center .monaco-list-row', { has: shownMessage }).first();
  const start = Date.now();
  const toastShown = await message.waitFor({ state: 'visible', timeout: Math.min(timeout, 15_000) }).then(
    () => true,
    () => false,
  );
  if (toastShown) {
    const toast = page.locator('.notification-toast-container', { has: shownMessage }).first();
    await toast.locator('.notification-toast.notification-fade-in-done').waitFor({ state: 'attached', timeout: 30_000 });
    return toast;
  }
  for (;;) {
    if (!(await page.locator('.notifications-center:visible').count())) await runExactCommand(page, 'Notifications: Show Notifications');
    await page
      .locator('.statusbar-item[id$="notifications.status"] a, .statusbar-item.notifications-status a')
      .first()
      .click()
      .catch(() => undefined);
    const found = await Promise.race([
      inCenter.waitFor({ state: 'visible', timeout: 5_000 }).then(() => 'center' as const),
      message.waitFor({ state: 'visible', timeout: 5_000 }).then(() => 'toast' as const),
    ]).catch(() => undefined);
    if (found === 'center') return inCenter;
    if (found === 'toast') return page.locator('.notification-toast-container', { has: shownMessage }).first();
    if (Date.now() - start > timeout) {
      const toasts = (await page.evaluate(
        `[...document.querySelectorAll('.notification-toast-container, .notifications-center .monaco-list-row')]` +
          `.map((e) => (e.checkVisibility() ? 'shown: ' : 'hidden: ') + e.textContent)`,
      )) as string[];
      throw new Error(
        `No notification ${String(text)} in ${timeout} ms, as a toast or in the Notifications center:\n${toasts.join('\n') || '(none)'}`,
      );
    }
  }
}

/** A tree row of a view in the side bar, by its label. */
export function treeRow(page: Page, view: string, label: string | RegExp): Locator {
  return page.locator(`.pane:has(.pane-header[aria-label^="${view}"]) .monaco-list-row`, { hasText: label });
}
