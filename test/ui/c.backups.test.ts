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
import { RESULTS_DIR, assertNoErrorNotification, notification, openExitPlan, step, updateUserSettings, workbench } from './workbench';
import {
  arrangePanes,
  assertDrawnCanvas,
  assertInThemeColour,
  backupReportFrame,
  colourAndVariable,
  exactTreeRow,
  expandRow,
  screenshotOnFailure,
} from './webviewHelpers';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const OVERDUE = 'Kobo server';
const CURRENT = 'Shared documents';

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

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshotOnFailure('c-failed');
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
        { name: CURRENT, dir: docs.dir, folders: [{ name: 'documents', path: docs.source }] },
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
    assert.match(await kRow.innerText(), /4 backups, [\d.]+ MB · last 3 d ago/);

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
    assert.match(await newRow.innerText(), /\d+ min ago · [\d.]+ MB · verified/);
    await overdueRow.waitFor({ state: 'detached', timeout: 60_000 });
    assert.match(await group.innerText(), /5 backups, [\d.]+ MB/);
    // …and the report no longer calls the target overdue.
    await kCard.locator('.warn').first().waitFor({ state: 'detached', timeout: 60_000 });
    assert.match(await kCard.locator('.facts').innerText(), /Total\s+[\d.]+ MB in 5 backups \(5 verified\)/);
    await step(page, 'c-3-new-backup-in-tree', newRow);
    await assertNoErrorNotification(page);
  });
});
