// Flow c: backups through the real UI. An existing setup (two file targets, one overdue on its schedule, a
// history of backups of varied sizes made by the core) shows in the sidebar Backup Report with the overdue
// target in the theme's warning colour and size charts; Back Up Now from the Backups view makes a verified
// backup that shows in the tree and lies on disk next to its checksum sidecar.
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backups } from '../../src/exporters';
import { sha256Of } from '../helpers/backups';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import {
  RESULTS_DIR,
  assertNoErrorNotification,
  notification,
  openExitPlan,
  openPalette,
  readUserSettings,
  step,
  updateUserSettings,
  workbench,
} from './workbench';
import {
  arrangePanes,
  assertDrawnCanvas,
  assertInThemeColour,
  backupReportFrame,
  clickViewAction,
  colourAndVariable,
  exactTreeRow,
  expandRow,
  screenshotOnFailure,
} from './webviewHelpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const OVERDUE = 'Kobo server';
const CURRENT = 'Shared documents';
const NEW_TARGET = 'Field media';
const WIZARD = 'Add Backup Target';

/** A backup's row label in the Backups view: its time to the minute, local (src/views/backupsTree.ts, which needs vscode). */
function localTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Fills `folder` with `kb` kilobytes of incompressible files (replacing what was there). */
function fillFolder(folder: string, kb: number): void {
  fs.rmSync(folder, { recursive: true, force: true });
  fs.mkdirSync(path.join(folder, 'forms'), { recursive: true });
  fs.writeFileSync(path.join(folder, 'README.txt'), `attachments, ${kb} KB\n`);
  for (let i = 0; kb > 0; i++) {
    const size = Math.min(kb, 256);
    fs.writeFileSync(path.join(folder, 'forms', `photo-${i}.jpg`), randomBytes(size * 1024));
    kb -= size;
  }
}

/**
 * A backup as an earlier run made it: written and verified by the core, then named (file and sidecar) for
 * the time it stands for, as if it had been taken then.
 */
async function backupFrom(at: Date, source: string, name: string, dir: string): Promise<string> {
  const made = await backups.createFilesBackup({ source, name, dir });
  const file = path.join(dir, backups.filesBackupName(name, at, false));
  fs.renameSync(made.file, file);
  fs.renameSync(backups.sidecarPath(made.file), backups.sidecarPath(file));
  await backups.updateSidecar(file, (s) => {
    s.file = path.basename(file);
    s.createdAt = at.toISOString();
  });
  const verified = await backups.verifyBackup(file);
  assert.equal(verified.state, 'verified', verified.message);
  return file;
}

describe('UI: backups (flow c)', () => {
  let lockFile: string | undefined;
  /** Counts tests, so that each failure keeps its own screenshot. */
  let failures = 0;

  afterEach(async function () {
    failures++;
    if (this.currentTest?.state !== 'failed') return;
    await screenshotOnFailure(`c-failed-${failures}`);
    // Leave no quick input (a wizard step, a dialog) open for the next test.
    const { page } = await workbench();
    for (let i = 0; i < 3; i++) await page.keyboard.press('Escape');
  });

  after(() => {
    if (lockFile) fs.rmSync(lockFile, { force: true });
  });

  const reportTitle =
    'shows both targets in the Backup Report (overdue in the warning colour, size charts), and Back Up Now adds a verified backup to the ' +
    'tree and the disk';
  it(reportTitle, async () => {
    const { page, scratch } = await workbench();

    // An existing setup, made outside the UI: folders of files, backup folders with earlier backups.
    const base = path.join(scratch, 'flow-c');
    const kobo = { source: path.join(base, 'kobo', 'attachments'), dir: path.join(base, 'backups', 'kobo') };
    const docs = { source: path.join(base, 'shared', 'documents'), dir: path.join(base, 'backups', 'documents') };
    const now = Date.now();
    for (const [days, kb] of [
      [9, 300],
      [7, 800],
      [5, 500],
      [3, 1400],
    ] as const) {
      fillFolder(kobo.source, kb);
      await backupFrom(new Date(now - days * DAY), kobo.source, 'attachments', kobo.dir);
    }
    for (const [hours, kb] of [
      [80, 200],
      [50, 650],
      [20, 420],
      [2, 900],
    ] as const) {
      fillFolder(docs.source, kb);
      await backupFrom(new Date(now - hours * HOUR), docs.source, 'documents', docs.dir);
    }
    fillFolder(kobo.source, 1100);
    // A daily schedule whose last run was 6 hours ago: the newest Kobo backup (3 days old) makes it overdue,
    // and the next run (18 hours away) never fires during the test.
    const lastRun = new Date(now - 6 * HOUR);
    const schedule = `${lastRun.getMinutes()} ${lastRun.getHours()} * * *`;
    // 60 s after start-up the extension catches up on overdue targets by itself. So that this cannot race the
    // test, the Kobo folder is locked the way another process (a second window, a cron run) locks it; the
    // catch-up then skips it, while Back Up Now, a user's explicit request, does not look at that lock.
    lockFile = path.join(kobo.dir, backups.LOCK_FILE);
    fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: os.hostname(), at: new Date().toISOString() }));
    const before = new Set(fs.readdirSync(kobo.dir));

    await updateUserSettings({
      'exitPlan.backups.targets': [
        { name: OVERDUE, dir: kobo.dir, folders: [{ name: 'attachments', path: kobo.source }], schedule },
        // A rotation that keeps the last 2: the rotation preview (last test) has backups to show for removal.
        { name: CURRENT, dir: docs.dir, folders: [{ name: 'documents', path: docs.source }], rotation: { keepLast: 2 } },
      ],
    });
    await openExitPlan(page);
    await arrangePanes(page, ['Backups', 'Backup Report'], ['Warehouse', 'Azure Storage', 'Datasets']);

    // The Backup Report lists both targets; the overdue one says so in the warning colour.
    const report = backupReportFrame(page);
    const card = (name: string) =>
      report.locator('details.target').filter({ has: report.locator('summary .name', { hasText: new RegExp(`^${name}$`) }) });
    const kCard = card(OVERDUE);
    const dCard = card(CURRENT);
    await kCard.locator('summary .badge.warn', { hasText: 'overdue' }).waitFor({ state: 'visible', timeout: 60_000 });
    await dCard.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await kCard.locator('.facts').innerText(), /Schedule\s+overdue: due .*\(\d+ \d+ \* \* \*\)/);
    assert.match(await kCard.locator('.facts').innerText(), /Total\s+[\d.]+ MB in 4 backups \(4 verified\)/);
    assert.match(await dCard.locator('.facts').innerText(), /Total\s+[\d.]+ MB in 4 backups \(4 verified\)/);
    assert.equal(await dCard.locator('.warn').count(), 0, 'the up-to-date target shows no warning');
    assert.equal(await dCard.locator('summary .badge').count(), 0, 'the up-to-date target has no badge');

    // The warning colour is the theme's (media/backupReport.css: .warn → --vscode-editorWarning-foreground).
    const warned = [kCard.locator('summary .badge.warn'), kCard.locator('.facts dd.warn'), kCard.locator('.facts dd span.warn')];
    for (const element of warned) {
      await assertInThemeColour(element.first(), '--vscode-editorWarning-foreground', `"${await element.first().innerText()}"`);
    }
    const plain = await colourAndVariable(kCard.locator('.facts dd').last(), '--vscode-editorWarning-foreground');
    assert.notEqual(plain.colour, plain.variable, 'other facts are not in the warning colour, so the warning stands out');

    // A size chart per target: uPlot canvases with a size, something drawn, one point per backup.
    await assertDrawnCanvas(kCard.locator('.chart canvas').first(), `${OVERDUE} chart`);
    await assertDrawnCanvas(dCard.locator('.chart canvas').first(), `${CURRENT} chart`);
    await step(page, 'c-1-backup-report-overdue', kCard.locator('summary .badge.warn'));
    // A close-up of the chart, to see its axis labels whole.
    await kCard.locator('.chart').screenshot({ path: path.join(RESULTS_DIR, 'c-1-chart-close-up.png'), scale: 'device' });

    // The Backups view: both targets, the overdue one with its warning row.
    const kRow = exactTreeRow(page, 'Backups', OVERDUE);
    await kRow.waitFor({ state: 'visible', timeout: 30_000 });
    await exactTreeRow(page, 'Backups', CURRENT).waitFor({ state: 'visible', timeout: 30_000 });
    const overdueRow = exactTreeRow(page, 'Backups', /^Overdue: no backup since the scheduled /);
    await overdueRow.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await kRow.innerText(), /4 backups, [\d.]+ MB · last 3 days ago/);

    // Back Up Now: the target's inline action in the Backups view.
    await kRow.hover();
    await kRow.locator('.actions .action-label[aria-label^="Back Up Now"]').click();
    const done = await notification(page, new RegExp(`Backed up "${OVERDUE}", verified: attachments_media__\\S+\\.tar \\(`));
    // The progress notification ends with the work: only the result is left.
    await page.locator('.notification-toast-container', { hasText: `backing up ${OVERDUE}` }).waitFor({ state: 'hidden', timeout: 30_000 });
    await step(page, 'c-2-backed-up-notification', done);

    // On disk: one new archive with its sidecar, whose checksum is the file's and which says verified.
    const added = fs
      .readdirSync(kobo.dir)
      .filter((f) => !before.has(f))
      .sort();
    assert.equal(added.length, 2, `one backup and its sidecar were added: ${added.join(', ')}`);
    const [file, sidecarFile] = added.map((f) => path.join(kobo.dir, f));
    assert.equal(sidecarFile, backups.sidecarPath(file));
    const parsed = backups.parseBackupName(path.basename(file));
    assert.ok(parsed && parsed.kind === 'files' && parsed.source === 'attachments', path.basename(file));
    assert.ok(Math.abs(parsed.time.getTime() - Date.now()) < 10 * 60_000, `the new backup is named for now: ${path.basename(file)}`);
    const sidecar = JSON.parse(fs.readFileSync(sidecarFile, 'utf8')) as backups.Sidecar;
    assert.equal(sidecar.file, path.basename(file));
    assert.equal(sidecar.bytes, fs.statSync(file).size);
    assert.equal(sidecar.sha256, sha256Of(file));
    assert.equal(sidecar.verification?.state, 'verified');
    assert.equal(sidecar.files?.source, kobo.source);

    // In the tree: the target's files group holds the new backup, verified; the overdue row is gone.
    const group = exactTreeRow(page, 'Backups', 'Files attachments');
    await expandRow(group);
    const newRow = exactTreeRow(page, 'Backups', localTime(parsed.time));
    await newRow.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await newRow.innerText(), /(just now|\d+ min ago) · [\d.]+ MB · verified/);
    await overdueRow.waitFor({ state: 'detached', timeout: 60_000 });
    assert.match(await group.innerText(), /5 backups, [\d.]+ MB/);
    // …and the report no longer calls the target overdue.
    await kCard.locator('.warn').first().waitFor({ state: 'detached', timeout: 60_000 });
    assert.match(await kCard.locator('.facts').innerText(), /Total\s+[\d.]+ MB in 5 backups \(5 verified\)/);
    await step(page, 'c-3-new-backup-in-tree', newRow);
    await assertNoErrorNotification(page);
  });

  const wizardTitle =
    'adds a target through the wizard: titled, counted steps, Back keeps the folder, Browse… opens at it; the new target is revealed, ' +
    'first backup pending';
  it(wizardTitle, async () => {
    const { page, scratch } = await workbench();
    const base = path.join(scratch, 'flow-c');
    const dir = path.join(base, 'backups', 'field-media');
    const source = path.join(base, 'field', 'attachments');
    fs.mkdirSync(dir, { recursive: true });
    fillFolder(source, 40);
    await openExitPlan(page);
    await arrangePanes(page, ['Backups', 'Backup Report'], ['Warehouse', 'Azure Storage', 'Datasets']);

    await openPalette(page, 'Exit Plan: Add Backup Target');
    await page.keyboard.press('Enter');
    const name = await wizardStep(page, `${WIZARD}: Name (1/6)`);
    await name.locator('.quick-input-box input').fill(NEW_TARGET);
    await step(page, 'c-4-wizard-name', name);
    await page.keyboard.press('Enter');

    // The folder: a box with a sensible default and Browse…, whose dialog opens at the folder in the box.
    let folder = await wizardStep(page, `${WIZARD}: Folder (2/6)`);
    const input = folder.locator('.quick-input-box input');
    assert.match(await input.inputValue(), /\/backups\/field-media$/, 'the default folder is ~/backups/<name>');
    await input.fill(dir);
    await folder.locator('.quick-input-titlebar .action-label[aria-label="Browse…"]').click();
    await page.waitForFunction(
      `document.querySelector('.quick-input-widget .quick-input-box input')?.value === ${JSON.stringify(`${dir}/`)}`,
      undefined,
      { timeout: 30_000 },
    );
    const dialog = page.locator('.quick-input-widget:visible');
    await dialog.locator('.monaco-list-row', { hasText: '..' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'c-5-browse-opens-at-the-folder', dialog);
    // Away from the dialog's title-bar buttons, whose hover would cover the OK button.
    await page.mouse.move(800, 600);
    await dialog.getByRole('button', { name: 'Back Up Here' }).click();
    await wizardStep(page, `${WIZARD}: Folder (2/6)`);
    await page.waitForFunction(
      `document.querySelector('.quick-input-widget .quick-input-box input')?.value === ${JSON.stringify(dir)}`,
      undefined,
      { timeout: 30_000 },
    );
    await page.keyboard.press('Enter');

    // Back from the database step: the folder is still what was chosen.
    const database = await wizardStep(page, `${WIZARD}: Database (3/6)`);
    await database.locator('.quick-input-left-action-bar .action-label').click();
    folder = await wizardStep(page, `${WIZARD}: Folder (2/6)`);
    assert.equal(await folder.locator('.quick-input-box input').inputValue(), dir, 'Back keeps the folder');
    await step(page, 'c-6-back-keeps-the-folder', folder);
    await page.keyboard.press('Enter');
    await pickRow(page, `${WIZARD}: Database (3/6)`, /^No database/);

    // Folders of files: add one (the dialog, then its name), then Continue.
    await pickRow(page, `${WIZARD}: Folders of Files (4/6)`, /Add a folder of files/);
    const files = page.locator('.quick-input-widget:visible');
    await files.locator('.monaco-list-row', { hasText: '..' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    // The path typed lists its parent folder, where a click on the folder opens it.
    await files.locator('.quick-input-box input').fill(source);
    const sourceRow = files.locator('.monaco-list-row', { hasText: path.basename(source) }).first();
    await sourceRow.waitFor({ state: 'visible', timeout: 30_000 });
    await sourceRow.click();
    await page.waitForFunction(
      `document.querySelector('.quick-input-widget .quick-input-box input')?.value === ${JSON.stringify(`${source}/`)}`,
      undefined,
      { timeout: 30_000 },
    );
    // Inside it: its subfolder is listed (files are not, in a folder dialog).
    await files.locator('.monaco-list-row', { hasText: 'forms' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await page.mouse.move(800, 600);
    await files.getByRole('button', { name: 'Archive This Folder' }).click();
    await wizardStep(page, `${WIZARD}: Folders of Files (4/6)`);
    await page.waitForFunction(`document.querySelector('.quick-input-widget .quick-input-box input')?.value === 'attachments'`, undefined, {
      timeout: 30_000,
    });
    await page.keyboard.press('Enter');
    const list = await wizardStep(page, `${WIZARD}: Folders of Files (4/6)`);
    await list.locator('.monaco-list-row', { hasText: source }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'c-7-folders-of-files', list);
    await pickRow(page, `${WIZARD}: Folders of Files (4/6)`, /Continue/);

    // The schedule, by name with its cron text; the rotation.
    const schedule = await wizardStep(page, `${WIZARD}: Schedule (5/6)`);
    await schedule.locator('.monaco-list-row', { hasText: 'Every day at 02:00' }).first().waitFor({ state: 'visible' });
    await step(page, 'c-8-schedule-in-words', schedule);
    await pickRow(page, `${WIZARD}: Schedule (5/6)`, /^Every day at 02:00/);
    await pickRow(page, `${WIZARD}: Rotation (6/6)`, /^7 daily, 4 weekly, 12 monthly/);

    // Saved, revealed in the Backups view (selected), its first backup pending: no warning.
    await notification(page, `Backup target "${NEW_TARGET}" added.`);
    const row = exactTreeRow(page, 'Backups', NEW_TARGET);
    await row.and(page.locator('.selected')).waitFor({ state: 'visible', timeout: 30_000 });
    // Room for the target's rows: the first view gives its space back, the other targets fold.
    await arrangePanes(page, ['Backups', 'Backup Report'], ['Exit Plan', 'Warehouse', 'Azure Storage', 'Datasets']);
    await clickViewAction(page, 'Backups', 'Collapse All');
    await expandRow(row);
    assert.match(await row.innerText(), /first backup pending/);
    const pending = exactTreeRow(page, 'Backups', /^First backup pending: every day at 02:00, next \d{4}-\d{2}-\d{2} 02:00$/);
    await pending.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await row.locator('.codicon-warning').count(), 0, 'not in the warning colour');
    const report = backupReportFrame(page);
    const card = report
      .locator('details.target')
      .filter({ has: report.locator('summary .name', { hasText: new RegExp(`^${NEW_TARGET}$`) }) });
    await card.locator('summary .badge', { hasText: 'first backup pending' }).waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await card.locator('.warn').count(), 0, 'the report shows no warning for it');
    assert.match(await card.locator('.facts').innerText(), /Schedule\s+every day at 02:00 \(0 2 \* \* \*\), first /);
    await step(page, 'c-9-first-backup-pending', pending);
    const saved = JSON.parse(readUserSettings().replace(/^\s*\/\/.*$/gm, '')) as Record<string, { name: string }[]>;
    const entry = saved['exitPlan.backups.targets'].find((t) => t.name === NEW_TARGET);
    assert.deepEqual(
      { ...entry, addedAt: undefined },
      {
        name: NEW_TARGET,
        dir,
        folders: [{ name: 'attachments', path: source }],
        schedule: '0 2 * * *',
        rotation: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 },
        addedAt: undefined,
      },
    );
  });

  it('edits the target over its saved values, and Test Backup Target reports each check', async () => {
    const { page } = await workbench();
    await arrangePanes(page, ['Backups'], ['Warehouse', 'Azure Storage', 'Datasets', 'Backup Report']);
    // Targets only (a tree is virtual: rows scrolled out of it are not in the page).
    await clickViewAction(page, 'Backups', 'Collapse All');
    const row = exactTreeRow(page, 'Backups', NEW_TARGET);
    await row.click({ button: 'right' });
    await runMenuItem(page, 'Edit Backup Target');
    const title = `Edit Backup Target "${NEW_TARGET}"`;
    const folder = await wizardStep(page, `${title}: Folder (1/5)`);
    assert.match(await folder.locator('.quick-input-box input').inputValue(), /\/flow-c\/backups\/field-media$/, 'the saved folder');
    await step(page, 'c-10-edit-keeps-values', folder);
    await page.keyboard.press('Enter');
    // The saved answers are the focused items: Enter keeps them.
    await wizardStep(page, `${title}: Database (2/5)`);
    await page.keyboard.press('Enter');
    await pickRow(page, `${title}: Folders of Files (3/5)`, /Continue/);
    await pickRow(page, `${title}: Schedule (4/5)`, /^Every Sunday at 03:00/);
    await wizardStep(page, `${title}: Rotation (5/5)`);
    await page.keyboard.press('Enter');
    await notification(page, `Backup target "${NEW_TARGET}" saved: every Sunday at 03:00 (0 3 * * 0).`);
    await exactTreeRow(page, 'Backups', /^First backup pending: every Sunday at 03:00, next /).waitFor({
      state: 'visible',
      timeout: 30_000,
    });

    // The notifications so far go, so that the result shows whole.
    await openPalette(page, 'Notifications: Clear All Notifications');
    await page.keyboard.press('Enter');
    await row.click({ button: 'right' });
    const test = contextMenuItem(page, 'Test Backup Target');
    await test.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'c-11-target-context-menu', test);
    await runMenuItem(page, 'Test Backup Target');
    const result = await notification(page, new RegExp(`Backup target "${NEW_TARGET}" is ready to back up: `));
    const text = await result.locator('.notification-list-item-message').innerText();
    assert.match(text, /is ready to back up: ✓ folder writable · ✓ [\d.]+ [KMGT]?B free · ✓ "attachments" readable\.$/);
    // The progress notification ends with the work: only the result is left.
    await page.locator('.notification-toast-container', { hasText: `testing ${NEW_TARGET}` }).waitFor({ state: 'hidden', timeout: 30_000 });
    await step(page, 'c-12-test-backup-target', result);
    await assertNoErrorNotification(page);
  });

  it('the Backup Report reflows at 250 px: whole legend entries, no overflow, a time axis that fits backups made today', async () => {
    const { page, scratch } = await workbench();
    const base = path.join(scratch, 'flow-c');
    const dir = path.join(base, 'backups', 'field-media');
    // Backups made today, of two folders: a chart of two series over a few hours.
    const now = Date.now();
    for (const [hours, kb, source] of [
      [5, 300, 'attachments'],
      [3, 500, 'attachments'],
      [4, 200, 'forms'],
      [1, 350, 'forms'],
    ] as const) {
      const folder = path.join(base, 'field', source);
      fillFolder(folder, kb);
      await backupFrom(new Date(now - hours * HOUR), folder, source, dir);
    }
    await openExitPlan(page);
    await arrangePanes(page, ['Backup Report'], ['Warehouse', 'Azure Storage', 'Datasets', 'Backups']);
    await setSideBarWidth(page, 250);
    // Backups written behind VS Code's back (outside the workspace, a folder watcher may not see them): Refresh.
    await clickViewAction(page, 'Backup Report', 'Refresh Backups');
    const report = await reportFrame(page);
    const card = report
      .locator('details.target')
      .filter({ has: report.locator('summary .name', { hasText: new RegExp(`^${NEW_TARGET}$`) }) });
    await card.locator('.chart .u-legend').waitFor({ state: 'visible', timeout: 60_000 });
    await card.scrollIntoViewIfNeeded();
    await assertDrawnCanvas(card.locator('.chart canvas').first(), `${NEW_TARGET} chart`);
    // Nothing wider than the view; each legend entry on one line.
    const layout = await card.evaluate((el) => {
      const doc = el.ownerDocument.documentElement;
      const entries = [...el.querySelectorAll('.u-legend tr')].map((tr) => tr.getBoundingClientRect().height);
      const line = parseFloat(el.ownerDocument.defaultView!.getComputedStyle(el.querySelector('.u-legend')!).fontSize) * 2;
      return { scroll: doc.scrollWidth, width: doc.clientWidth, entries, line };
    });
    assert.ok(layout.width <= 260, `the report is about 250 px wide: ${layout.width}`);
    assert.ok(layout.scroll <= layout.width, `nothing overflows: ${layout.scroll} > ${layout.width}`);
    assert.equal(layout.entries.length, 2, 'one legend entry per folder');
    for (const h of layout.entries) assert.ok(h < layout.line, `a legend entry is one line (${h} px)`);
    await step(page, 'c-13-backup-report-250px', card);
    await card.locator('.chart').screenshot({ path: path.join(RESULTS_DIR, 'c-13-chart-250px-close-up.png'), scale: 'device' });
  });

  it('the rotation preview shows what it would remove, its placeholder without a literal icon', async () => {
    const { page } = await workbench();
    await setSideBarWidth(page, 420);
    await arrangePanes(page, ['Backups'], ['Warehouse', 'Azure Storage', 'Datasets', 'Backup Report']);
    await clickViewAction(page, 'Backups', 'Collapse All');
    const row = exactTreeRow(page, 'Backups', CURRENT);
    await row.click({ button: 'right' });
    await runMenuItem(page, 'Rotate Backups');
    const pick = page.locator('.quick-input-widget:visible');
    await pick.locator('.quick-input-title', { hasText: `Rotation preview for "${CURRENT}": keep-last 2` }).waitFor({ timeout: 30_000 });
    const placeholder = (await pick.locator('.quick-input-box input').getAttribute('placeholder')) ?? '';
    assert.match(placeholder, /^Select "Remove 2 backups \([\d.]+ [KM]?B\)…" to continue, Escape to keep everything$/);
    await step(page, 'c-14-rotation-preview', pick);
    await page.keyboard.press('Escape');
    await pick.waitFor({ state: 'hidden', timeout: 30_000 });
    await assertNoErrorNotification(page);
  });
});

/**
 * The Backup Report's page, found by its content: a webview view made again (its pane collapsed and opened)
 * has no `purpose` in its frame's address, which backupReportFrame looks for.
 */
async function reportFrame(page: Page): Promise<FrameLocator> {
  const outer = 'iframe.webview[src*="extensionId=exit-plan.exit-plan"]';
  await page.locator(outer).first().waitFor({ state: 'attached', timeout: 30_000 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const names = await page.locator(outer).evaluateAll((frames) => frames.map((f) => (f as unknown as { name: string }).name));
    for (const name of names) {
      const frame = page.frameLocator(`iframe.webview[name="${name}"]`).frameLocator('iframe#active-frame');
      if ((await frame.locator('main#targets').count()) > 0) return frame;
    }
    assert.ok(Date.now() < deadline, 'the Backup Report page is not showing');
    await page.waitForTimeout(200); // polling frames that load on their own
  }
}

/** The wizard's quick input once it shows the step titled `title` (as VS Code renders it, with "(n/total)"). */
async function wizardStep(page: Page, title: string): Promise<Locator> {
  const widget = page.locator('.quick-input-widget:visible');
  await widget.locator('.quick-input-title', { hasText: title }).waitFor({ state: 'visible', timeout: 30_000 });
  return widget;
}

/** Clicks the row of the pick step titled `title` whose label matches, and waits for the next step. */
async function pickRow(page: Page, title: string, label: RegExp): Promise<void> {
  const widget = await wizardStep(page, title);
  const row = widget
    .locator('.monaco-list-row')
    .filter({ has: page.locator('.label-name', { hasText: label }) })
    .first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  await row.click();
}

/** An entry of the context menu that is open. */
function contextMenuItem(page: Page, title: string): Locator {
  return page.locator('.context-view .monaco-menu .action-item', { hasText: title }).first();
}

/**
 * Runs a context menu entry: pointed at, then Enter (a click that lands as the menu opens is taken for the
 * release of the right button, and ignored).
 */
async function runMenuItem(page: Page, title: string): Promise<void> {
  const item = contextMenuItem(page, title);
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  await item.hover();
  await item
    .locator('.action-menu-item.focused, .action-menu-item:focus')
    .or(item.and(page.locator('.focused')))
    .first()
    .waitFor({ timeout: 10_000 });
  await page.keyboard.press('Enter');
  await item.waitFor({ state: 'hidden', timeout: 30_000 });
}

/** Drags the sash at the side bar's right edge until the side bar is `width` px wide. */
async function setSideBarWidth(page: Page, width: number): Promise<void> {
  const sidebar = page.locator('.part.sidebar');
  const box = await sidebar.boundingBox();
  assert.ok(box, 'the side bar is showing');
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width - 1, y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, y, { steps: 8 });
  await page.mouse.up();
  await page.waitForFunction(`Math.abs(document.querySelector('.part.sidebar').getBoundingClientRect().width - ${width}) <= 2`, undefined, {
    timeout: 10_000,
  });
}
