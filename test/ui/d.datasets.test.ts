// Flow d: datasets through the real UI. A root of two export_manager datasets with a history of parcels made
// over simulated days (one of them overdue) shows in the Datasets view and the status bar; Process Due
// Datasets from the view's title bar exports the overdue one (the status bar turns from a warning to a
// check, a new parcel shows in the tree), and Open Datasets Report shows both datasets with a chart per metric.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasets } from '../../src/exporters';
import { Clock, HOUR, metricsRows, writeExportManagerDataset } from '../helpers/datasets';
import { assertNoErrorNotification, notification, openExitPlan, step, updateUserSettings, workbench } from './workbench';
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

describe('UI: datasets (flow d)', () => {
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshotOnFailure('d-failed');
  });

  const processTitle =
    'shows the datasets and the overdue count, Process Due Datasets exports the due one (status bar and tree follow), and the report ' +
    'charts every metric';
  it(processTitle, async () => {
    const { page, scratch } = await workbench();

    // Existing datasets, made outside the UI: "todoist" last exported 2 days ago (due, daily), "feeds" 1 hour ago.
    const root = path.join(scratch, 'flow-d', 'datasets');
    const todoist = path.join(root, 'todoist');
    const feeds = path.join(root, 'feeds');
    const now = Date.now();
    await datasetWithHistory(todoist, new Date(now - 6 * DAY), [120, 135, 128, 150, 170]);
    await datasetWithHistory(feeds, new Date(now - 5 * DAY - HOUR), [40, 44, 43, 47, 52, 55]);
    writeSource(todoist, 185);
    const todoistBefore = dataNames(todoist);
    const feedsBefore = dataNames(feeds);

    await updateUserSettings({ 'exitPlan.datasets.roots': [root] });
    await openExitPlan(page);
    await arrangePanes(page, ['Datasets'], ['Warehouse', 'Azure Storage', 'Backups', 'Backup Report']);

    // The Datasets view lists both, the due one marked overdue; the status bar counts it.
    const todoistRow = exactTreeRow(page, 'Datasets', 'todoist');
    const feedsRow = exactTreeRow(page, 'Datasets', 'feeds');
    await todoistRow.waitFor({ state: 'visible', timeout: 60_000 });
    await feedsRow.waitFor({ state: 'visible', timeout: 30_000 });
    await todoistRow.locator('.label-description', { hasText: /last success 2 days ago · overdue/ }).waitFor({ timeout: 30_000 });
    assert.match(await feedsRow.locator('.label-description').innerText(), /^last success 1 hour ago$/);
    const status = page.locator('.part.statusbar .statusbar-item[id$="exitPlan.datasetsStatus"]');
    await status.locator('.codicon-warning').waitFor({ state: 'visible', timeout: 30_000 });
    const statusBefore = (await status.innerText()).trim();
    assert.equal(statusBefore, '1 dataset', 'the status bar counts the one overdue dataset');
    // In warning colours: the status bar item's background, the overdue dataset's label.
    await assertInThemeColour(status, '--vscode-statusBarItem-warningBackground', 'the status bar item', 'backgroundColor');
    await assertInThemeColour(todoistRow.locator('.label-name'), '--vscode-list-warningForeground', 'the todoist label');
    const plainLabel = await colourAndVariable(feedsRow.locator('.label-name'), '--vscode-list-warningForeground');
    assert.notEqual(plainLabel.colour, plainLabel.variable, 'feeds, not due, is not in the warning colour');
    await step(page, 'd-1-datasets-overdue', status);

    // Process Due Datasets, from the view's title bar.
    await clickViewAction(page, 'Datasets', 'Process Due Datasets');
    const done = await notification(page, 'Processed 2 datasets: 1 exported, 1 not due.');
    // The status bar turns from "⚠ 1 dataset" to "✓ Datasets".
    await status.locator('.codicon-pass').waitFor({ state: 'visible', timeout: 60_000 });
    const statusAfter = (await status.innerText()).trim();
    assert.equal(statusAfter, 'Datasets');
    assert.notEqual(statusAfter, statusBefore);
    // The progress notification ends with the work: only the result is left.
    await page.locator('.notification-toast-container', { hasText: 'processing datasets' }).waitFor({ state: 'hidden', timeout: 30_000 });
    await step(page, 'd-2-processed', done);

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
    await step(page, 'd-3-new-parcel-in-tree', parcelRow);

    // Open Datasets Report, from the view's title bar: both datasets, a chart per metric.
    await clickViewAction(page, 'Datasets', 'Open Datasets Report');
    await page.locator('.tabs-container .tab.active', { hasText: 'Datasets Report' }).waitFor({ state: 'visible', timeout: 60_000 });
    const report = await webviewPanelWith(page, '#datasets details.dataset');
    await report.locator('#summary', { hasText: '2 datasets: 0 failing, 0 overdue.' }).waitFor({ state: 'visible', timeout: 60_000 });
    assert.deepEqual(await report.locator('details.dataset summary h2').allInnerTexts(), ['feeds', 'todoist']);
    const section = (name: string) =>
      report.locator('details.dataset').filter({ has: report.locator('summary h2', { hasText: new RegExp(`^${name}$`) }) });
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
    await step(page, 'd-4-report-charts', section('todoist').locator('summary h2'));
    await assertNoErrorNotification(page);
  });
});
