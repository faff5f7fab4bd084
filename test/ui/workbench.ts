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
  const vsce = spawnSync(process.execPath, [require.resolve('@vscode/vsce/vsce'), 'package', '--no-dependencies', '--allow-missing-repository', '-o', vsix], {
    cwd: ROOT,
    encoding: 'utf8',
  });
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
      // Otherwise the VS Code server gives the extension host and terminals the environment of a login shell,
      // whose profile resets PATH (azcopy gone); VSCODE_CLI=1 makes it keep this environment as it is.
      VSCODE_CLI: '1',
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

/** Rewrites the user settings (VS Code watches the file and applies them, as after an edit by hand). */
export function updateUserSettings(patch: Record<string, unknown>): void {
  if (!server) throw new Error('the workbench is not started');
  const file = path.join(server.userDataDir, 'User', 'settings.json');
  const settings = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  fs.writeFileSync(file, JSON.stringify({ ...settings, ...patch }, null, 2));
}

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
export async function step(page: Page, name: string, expect: Locator = page.locator('.part.sidebar .title-label h2', { hasText: /exit plan/i })): Promise<string> {
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

/** The command palette: F1, the command's title, Enter. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await page.keyboard.press('Escape');
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: title }).first().waitFor({ state: 'visible' });
  await page.keyboard.press('Enter');
}

/** Waits for the quick input (input box or pick list) whose title or prompt contains `title`. */
export async function quickInput(page: Page, title: string | RegExp): Promise<Locator> {
  const widget = page.locator('.quick-input-widget', { hasText: title });
  await widget.waitFor({ state: 'visible', timeout: 30_000 });
  return widget;
}

/** Types an answer into the input box showing `title`, and Enter. */
export async function answer(page: Page, title: string | RegExp, text: string): Promise<void> {
  const widget = await quickInput(page, title);
  const input = widget.locator('.quick-input-box input');
  await input.fill(text);
  await page.keyboard.press('Enter');
  await widget.filter({ hasText: title }).waitFor({ state: 'hidden', timeout: 30_000 }).catch(() => undefined);
}

/** Picks the row labelled `label` in the quick pick showing `title`. */
export async function pick(page: Page, title: string | RegExp, label: string | RegExp): Promise<void> {
  const widget = await quickInput(page, title);
  await widget.locator('.monaco-list-row', { hasText: label }).first().click();
}

/** A notification toast whose message matches `text`, once it shows. */
export async function notification(page: Page, text: string | RegExp, timeout = 120_000): Promise<Locator> {
  const toast = page.locator('.notification-toast-container', { hasText: text });
  await toast.first().waitFor({ state: 'visible', timeout });
  return toast.first();
}

/** A tree row of a view in the side bar, by its label. */
export function treeRow(page: Page, view: string, label: string | RegExp): Locator {
  return page.locator(`.pane:has(.pane-header[aria-label^="${view}"]) .monaco-list-row`, { hasText: label });
}
