// Flow d: datasets through the real UI. From the empty Datasets view, the welcome's Add Dataset Folder… (VS Code's
// folder dialog) adds a root of two export_manager datasets with a history of parcels made over simulated days
// (one of them overdue): both appear, the first selected, and the status bar names the state ("1 dataset
// overdue"). Process Due Datasets from the view's title bar exports the overdue one (status bar and tree follow).
// Create Dataset (a wizard: where, name, git) in a folder picked in the dialog adds that folder, reveals and
// selects the new dataset and opens its config.toml; its export fails, and the notification, the tree's tooltip,
// the status bar and the Datasets Report say so with the last line of its log, counting each dataset once. The
// report charts every metric. Remove Dataset Folder asks first and deletes no file; the first root stays for flow e.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasets } from '../../src/exporters';
import { Clock, HOUR, metricsRows, writeExportManagerDataset } from '../helpers/datasets';
import type { Locator, Page } from 'playwright-core';
import { RESULTS_DIR, assertNoErrorNotification, notification, openExitPlan, openPalette, quickInput, step, workbench } from './workbench';
import {
  arrangePanes,
  assertDrawnCanvas,
  assertInThemeColour,
  clickViewAction,
  colourAndVariable,
  exactTreeRow,
  expandRow,
  screenshotOnFailure,
  webviewPanelWith,
} from './webviewHelpers';

const DAY = 24 * HOUR;
/** A dataset whose command fails the way a real exporter does: a line on stderr, a non-zero exit. */
const FAILING_CONFIG = `cmd = "echo 'fetching notes'; echo 'curl: (6) Could not resolve host: api.example.com' >&2; exit 6"
interval = "1 day"
`;
const LAST_ERROR = 'curl: (6) Could not resolve host: api.example.com';

/** export_manager's README config, with a command anyone has: the parcel is a copy of the source file. */
const CONFIG = `cmd = "cp \\"$DATASET_PATH/source.txt\\" \\"$PARCEL_PATH.txt\\""
interval = "1 day"
metrics.lines.cmd = "wc -l < \\"$PARCEL_PATH\\""
`;

function writeSource(dir: string, lines: number): void {
  fs.writeFileSync(path.join(dir, 'source.txt'), Array.from({ length: lines }, (_, i) => `task ${i + 1}\n`).join(''));
}

/** A dataset exported once a day over simulated days by the core, as cron would have done: `lines` per day. */
async function datasetWithHistory(dir: string, firstExport: Date, lines: number[]): Promise<void> {
  writeExportManagerDataset(dir, CONFIG);
  const clock = new Clock(firstExport.toISOString());
  for (const [day, n] of lines.entries()) {
    if (day > 0) clock.days(1);
    writeSource(dir, n);
    const r = await datasets.processDataset(dir, { now: clock.now });
    assert.equal(r.outcome, 'exported', r.message);
  }
}

function dataNames(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'data')).sort();
}

/**
 * VS Code's simple file dialog (what code-server shows for showOpenDialog, a quick input listing a folder): once
 * it has listed the folder it starts in, type the folder's path (no trailing slash, which would open it), wait
 * until the dialog lists it, then click the OK button (the command's openLabel): the dialog accepts the typed path.
 */
async function acceptFolder(page: Page, title: string, folder: string, okLabel: string, shot: string): Promise<void> {
  const dialog = await quickInput(page, title);
  const input = dialog.locator('.quick-input-box input');
  const rows = dialog.locator('.monaco-list-row');
  await rows.filter({ hasText: '..' }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForFunction(`document.querySelector('.quick-input-widget .quick-input-box input')?.value?.endsWith('/')`, undefined, {
    timeout: 30_000,
  });
  await input.fill(folder);
  const row = rows.filter({ hasText: path.basename(folder) }).first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(await input.inputValue(), folder);
  await step(page, shot, row);
  await dialog.getByRole('button', { name: okLabel }).click();
  await page.locator('.quick-input-widget', { hasText: title }).waitFor({ state: 'hidden', timeout: 30_000 });
}

/**
 * Moves the pointer onto `target` in small steps and leaves it there, as a hand does, until the hover holding
 * `text` shows (the pointer is moved away and back if the workbench missed it); returns that hover.
 */
async function hoverOf(page: Page, target: Locator, text: string): Promise<Locator> {
  const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: text }).first();
  for (let attempt = 1; ; attempt++) {
    await page.mouse.move(800, 500);
    const box = await target.boundingBox();
    assert.ok(box, 'the element is on screen');
    const x = box.x + Math.min(20, box.width / 2);
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y, { steps: 8 });
    await page.mouse.move(x + 2, y + 1, { steps: 2 });
    const shown = await hover.waitFor({ state: 'visible', timeout: 5_000 }).then(
      () => true,
      () => false,
    );
    if (shown) return hover;
    assert.ok(attempt < 6, `no hover with "${text}" over the element`);
  }
}

/** Picks `label` in the quick pick titled `title` (after a screenshot when `shot` is given). */
async function pickIn(page: Page, title: string | RegExp, label: string, shot?: string): Promise<void> {
  const widget = await quickInput(page, title);
  const row = widget.locator('.monaco-list-row', { hasText: label }).first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  if (shot) await step(page, shot, row);
  await row.click();
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'hidden', timeout: 30_000 });
}

describe('UI: datasets (flow d)', () => {
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshotOnFailure('d-failed');
  });

  const processTitle =
    'adds a dataset folder from the welcome view, names the overdue state, Process Due Datasets exports the due one, Create Dataset ' +
    'reveals the new one, a failing export shows its last error line, the report counts each dataset once and charts every metric, ' +
    'and Remove Dataset Folder deletes nothing';
  it(processTitle, async () => {
    const { page, scratch } = await workbench();

    // Existing datasets, made outside the UI: "todoist" last exported 2 days ago (due, daily), "feeds" 1 hour ago.
    const root = path.join(scratch, 'flow-d', 'datasets');
    const todoist = path.join(root, 'todoist');
    const feeds = path.join(root, 'feeds');
    const more = path.join(scratch, 'flow-d', 'more');
    fs.mkdirSync(more, { recursive: true });
    const now = Date.now();
    await datasetWithHistory(todoist, new Date(now - 6 * DAY), [120, 135, 128, 150, 170]);
    await datasetWithHistory(feeds, new Date(now - 5 * DAY - HOUR), [40, 44, 43, 47, 52, 55]);
    writeSource(todoist, 185);
    const todoistBefore = dataNames(todoist);
    const feedsBefore = dataNames(feeds);

    // The empty Datasets view: one sentence and Add Dataset Folder….
    await openExitPlan(page);
    await arrangePanes(page, ['Datasets'], ['Warehouse', 'Azure Storage', 'Backups', 'Backup Report']);
    const pane = page.locator('.part.sidebar .pane').filter({ has: page.locator('.pane-header[aria-label="Datasets Section"]') });
    const add = pane.locator('.welcome-view-content .monaco-button', { hasText: 'Add Dataset Folder…' });
    await add.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'd-1-welcome-add-folder', add);

    // Add Dataset Folder…: the folder dialog, then both datasets in the tree, the first one selected.
    await add.click();
    await acceptFolder(page, 'Add Dataset Folder', root, 'Add Folder', 'd-2-folder-dialog');
    const todoistRow = exactTreeRow(page, 'Datasets', 'todoist');
    const feedsRow = exactTreeRow(page, 'Datasets', 'feeds');
    await todoistRow.waitFor({ state: 'visible', timeout: 60_000 });
    await feedsRow.waitFor({ state: 'visible', timeout: 30_000 });
    await feedsRow.and(page.locator('[aria-selected="true"]')).waitFor({ timeout: 30_000 });
    await todoistRow.locator('.label-description', { hasText: /^last success 2 days ago · overdue$/ }).waitFor({ timeout: 30_000 });
    assert.match(await feedsRow.locator('.label-description').innerText(), /^last success 1 h ago$/);
    // The status bar names the state.
    const status = page.locator('.part.statusbar .statusbar-item[id$="exitPlan.datasetsStatus"]');
    await status.locator('.codicon-warning').waitFor({ state: 'visible', timeout: 30_000 });
    await status.filter({ hasText: '1 dataset overdue' }).waitFor({ timeout: 30_000 });
    const statusBefore = (await status.innerText()).trim();
    assert.equal(statusBefore, '1 dataset overdue', 'the status bar names the state of the one overdue dataset');
    // In warning colours: the status bar item's background, the overdue dataset's label.
    await assertInThemeColour(status, '--vscode-statusBarItem-warningBackground', 'the status bar item', 'backgroundColor');
    await assertInThemeColour(todoistRow.locator('.label-name'), '--vscode-list-warningForeground', 'the todoist label');
    const plainLabel = await colourAndVariable(feedsRow.locator('.label-name'), '--vscode-list-warningForeground');
    assert.notEqual(plainLabel.colour, plainLabel.variable, 'feeds, not due, is not in the warning colour');
    await step(page, 'd-3-datasets-added-overdue', status);

    // Process Due Datasets, from the view's title bar.
    await clickViewAction(page, 'Datasets', 'Process Due Datasets');
    const done = await notification(page, 'Processed 2 datasets: 1 exported, 1 not due.');
    await status.locator('.codicon-pass').waitFor({ state: 'visible', timeout: 60_000 });
    await status.filter({ hasText: '2 datasets ok' }).waitFor({ timeout: 30_000 });
    // The progress notification ends with the work: only the result is left.
    await page.locator('.notification-toast-container', { hasText: 'processing datasets' }).waitFor({ state: 'hidden', timeout: 30_000 });
    await step(page, 'd-4-processed', done);

    // On disk: one new complete parcel for todoist (with its metrics row), none for feeds.
    const added = dataNames(todoist).filter((n) => !todoistBefore.includes(n));
    assert.equal(added.length, 1, `one new parcel in todoist/data: ${added.join(', ')}`);
    const parcelId = added[0].replace(/\.txt$/, '');
    const parcelTime = datasets.parseParcelId(parcelId);
    assert.ok(parcelTime && Math.abs(parcelTime.getTime() - Date.now()) < 10 * 60_000, `the parcel is named for now: ${added[0]}`);
    assert.equal(fs.readFileSync(path.join(todoist, 'data', added[0]), 'utf8'), fs.readFileSync(path.join(todoist, 'source.txt'), 'utf8'));
    const row = metricsRows(todoist).find((r) => r.parcel_id === parcelId);
    assert.deepEqual(row && { success: row.success, files: row.files, lines: row.lines }, { success: 'Y', files: '1', lines: '185' });
    assert.deepEqual(dataNames(feeds), feedsBefore, 'feeds was not due');

    // In the tree: todoist is no longer overdue, and its new parcel is the newest row, complete.
    await todoistRow.locator('.label-description', { hasText: /^last success just now$/ }).waitFor({ timeout: 60_000 });
    await expandRow(todoistRow);
    const parcelRow = exactTreeRow(page, 'Datasets', parcelId);
    await parcelRow.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await parcelRow.locator('.label-description').innerText(), /^1 file, [\d.]+ (B|KB)$/);
    await parcelRow.locator('.codicon-pass').waitFor({ state: 'visible' });
    await step(page, 'd-5-new-parcel-in-tree', parcelRow);
    await todoistRow.locator('.monaco-tl-twistie').click();

    // Create Dataset, from the view's title bar: where (a folder picked in the dialog), name, git.
    await clickViewAction(page, 'Datasets', 'Create Dataset');
    await pickIn(page, 'Create Dataset: Where', 'Choose a Folder…', 'd-6-create-where');
    await acceptFolder(
      page,
      'Create Dataset: folder that will hold the new dataset',
      more,
      'Create the Dataset in Here',
      'd-7-create-dialog',
    );
    const nameBox = await quickInput(page, 'Create Dataset: Name');
    assert.match(await nameBox.locator('.quick-input-title').innerText(), /^Create Dataset: Name \(2\/3\)$/);
    await nameBox.locator('.quick-input-box input').fill('notes');
    await page.keyboard.press('Enter');
    await pickIn(page, 'Create Dataset: Git', 'Without git');
    const notes = path.join(more, 'notes');
    const notesRow = exactTreeRow(page, 'Datasets', 'notes');
    await notesRow.and(page.locator('[aria-selected="true"]')).waitFor({ timeout: 60_000 });
    await page.locator('.tabs-container .tab.active', { hasText: 'config.toml' }).waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await notesRow.locator('.label-description').innerText(), /^never run$/);
    assert.ok(fs.existsSync(path.join(notes, 'config.toml')) && fs.existsSync(path.join(notes, 'metrics.csv')));
    await status.filter({ hasText: '3 datasets: 1 never run' }).waitFor({ timeout: 30_000 });
    await step(page, 'd-8-created-revealed', notesRow);

    // Its config.toml edited to a command that fails, then Export Dataset Now (the row's inline action).
    fs.writeFileSync(path.join(notes, 'config.toml'), FAILING_CONFIG);
    await notesRow.hover();
    await notesRow.locator('.actions .action-label[aria-label^="Export Dataset Now"]').click();
    const failed = page.locator('.notification-toast-container:has(.codicon-error)', { hasText: `Last error: ${LAST_ERROR}` }).first();
    await failed.waitFor({ state: 'visible', timeout: 60_000 });
    await failed.getByRole('button', { name: 'Open Dataset Log' }).waitFor({ state: 'visible' });
    await page.screenshot({ path: path.join(RESULTS_DIR, 'd-9-export-failed-notification.png') });
    await failed.getByRole('button', { name: 'Open Dataset Log' }).click();
    await page.locator('.tabs-container .tab.active', { hasText: /\.err$/ }).waitFor({ state: 'visible', timeout: 30_000 });

    // The status bar and the tree's tooltip say it, with the last line of the log.
    await status.filter({ hasText: '1 dataset failing' }).waitFor({ timeout: 60_000 });
    await status.locator('.codicon-warning').waitFor({ state: 'visible' });
    await notesRow.locator('.label-description', { hasText: /^no success yet · failing$/ }).waitFor({ timeout: 30_000 });
    // A tooltip shows when the pointer comes to rest on the label.
    const hover = await hoverOf(page, notesRow.locator('.label-name'), 'Last error:');
    // MarkdownString.appendText keeps spaces as no-break spaces.
    const hoverText = (await hover.innerText()).replace(/\u00a0/g, ' ');
    assert.ok(hoverText.includes(`Last error: ${LAST_ERROR}`), hoverText);
    await hover.getByText('Open Dataset Log').waitFor({ state: 'visible' });
    await step(page, 'd-10-tooltip-last-error', hover);
    const statusHover = await hoverOf(page, status, 'notes: failing (also overdue)');
    await step(page, 'd-11-status-bar-failing', statusHover);

    // Open Datasets Report (the status bar item opens it): each dataset counted once, the failure's last line.
    await status.click();
    await page.locator('.tabs-container .tab.active', { hasText: 'Datasets Report' }).waitFor({ state: 'visible', timeout: 60_000 });
    const report = await webviewPanelWith(page, '#datasets details.dataset');
    await report
      .locator('#summary', { hasText: '3 datasets: 1 failing (also overdue), 2 ok.' })
      .waitFor({ state: 'visible', timeout: 60_000 });
    assert.deepEqual(await report.locator('details.dataset summary h2').allInnerTexts(), ['feeds', 'todoist', 'notes']);
    assert.equal(await report.locator('#problems li').count(), 0, 'the warnings are in the datasets’ sections only, once');
    const section = (name: string) =>
      report.locator('details.dataset').filter({ has: report.locator('summary h2', { hasText: new RegExp(`^${name}$`) }) });
    const lastError = section('notes').locator('.last-error');
    await lastError.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await lastError.locator('code').innerText(), LAST_ERROR);
    await lastError.getByRole('button', { name: 'Open Dataset Log' }).waitFor({ state: 'visible' });
    const notesWarnings = await section('notes').locator('ul.warnings li').allInnerTexts();
    assert.equal(new Set(notesWarnings).size, notesWarnings.length, 'no warning twice');
    await step(page, 'd-12-report-failing', section('notes').locator('summary h2'));

    for (const [name, points] of [
      ['todoist', 6],
      ['feeds', 6],
    ] as const) {
      const details = section(name);
      await details.waitFor({ state: 'visible', timeout: 30_000 });
      // Datasets that need no attention start closed: open them, as a user would, to see their charts.
      if ((await details.getAttribute('open')) === null) await details.locator('summary').click();
      const charts = details.locator('.charts > div');
      assert.deepEqual(await charts.locator('h3').allInnerTexts(), ['files', 'bytes', 'lines'], `${name}: a chart per metric`);
      for (let i = 0; i < 3; i++) await assertDrawnCanvas(charts.nth(i).locator('.chart canvas').first(), `${name} chart ${i + 1}`);
      assert.equal(
        metricsRows(name === 'todoist' ? todoist : feeds).length,
        points,
        `${name}: ${points} parcels in metrics.csv, one point each`,
      );
    }
    await section('todoist').locator('.charts').scrollIntoViewIfNeeded();
    await step(page, 'd-13-report-charts', section('todoist').locator('summary h2'));

    // At a narrow width (the report in a third of a small window) it reflows: nothing wider than the panel, the
    // last error line above its button. Then the window is put back for what follows.
    await page.setViewportSize({ width: 900, height: 1000 });
    try {
      await section('notes').locator('.last-error').scrollIntoViewIfNeeded();
      const overflowBy = () =>
        report.locator('body').evaluate((b) => {
          const body = b as unknown as { scrollWidth: number; clientWidth: number };
          return body.scrollWidth - body.clientWidth;
        });
      for (const deadline = Date.now() + 10_000; (await overflowBy()) > 1;) {
        assert.ok(Date.now() < deadline, `the report is ${await overflowBy()} px wider than its panel at a narrow width`);
        await page.waitForTimeout(100);
      }
      await step(page, 'd-13b-report-narrow', section('notes').locator('.last-error'));
    } finally {
      await page.setViewportSize({ width: 1600, height: 1000 });
    }

    // Remove Dataset Folder on notes (its context menu): a confirmation that no file is deleted; then it is gone.
    await notesRow.click({ button: 'right' });
    const menuItem = page.locator('.context-view .monaco-menu .action-item', { hasText: 'Remove Dataset Folder' }).first();
    await menuItem.waitFor({ state: 'visible', timeout: 30_000 });
    await menuItem.hover();
    await page.keyboard.press('Enter');
    const dialog = page.locator('.monaco-dialog-box', { hasText: `Remove ${more} from the Datasets view?` });
    await dialog.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await dialog.innerText(), /No file is deleted/);
    await step(page, 'd-14-remove-folder-confirm', dialog);
    await dialog.getByRole('button', { name: 'Remove Folder' }).click();
    await notesRow.waitFor({ state: 'detached', timeout: 30_000 });
    assert.ok(fs.existsSync(path.join(notes, 'config.toml')), 'the files stay on disk');
    await status.filter({ hasText: '2 datasets ok' }).waitFor({ timeout: 30_000 });
    await step(page, 'd-15-folder-removed', todoistRow);
    await assertNoErrorNotification(page);

    // Flow e starts from a clean screen; the first root (todoist, feeds) stays for its plan.
    await openPalette(page, 'Notifications: Clear All Notifications');
    await page.keyboard.press('Enter');
  });
});
