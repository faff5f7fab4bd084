// Flow f: a Kobo-like target with a folder of files and a command (mongodump's place taken by a command that
// writes an archive, as no MongoDB runs here), through the real UI: the Backups view shows the command's backups
// in their own group with the terminal icon, and the Backup Report gives each source its own line, so a mongo
// dump that failed its verification shows in the warning colour beside a media backup that is fine.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backups } from '../../src/exporters';
import { openExitPlan, step, updateUserSettings, workbench } from './workbench';
import type { FrameLocator, Page } from 'playwright-core';
import { arrangePanes, clickViewAction, exactTreeRow, expandRow, screenshotOnFailure } from './webviewHelpers';

const TARGET = 'Kobo services';

describe('UI: command backups (flow f)', () => {
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    await screenshotOnFailure('f-failed');
    const { page } = await workbench();
    for (let i = 0; i < 3; i++) await page.keyboard.press('Escape');
  });

  it('shows command backups in their own group, and a line per source in the Backup Report (a failed one in warning colour)', async () => {
    const { page, scratch } = await workbench();
    const base = path.join(scratch, 'flow-f');
    const media = path.join(base, 'kobo', 'media');
    const dir = path.join(base, 'backups', 'kobo');
    fs.mkdirSync(path.join(media, 'attachments'), { recursive: true });
    fs.writeFileSync(path.join(media, 'attachments', 'photo 1.jpg'), 'jpeg bytes');
    const mongo = { name: 'mongo', cmd: "printf 'mongo archive bytes'", extension: 'mongorestore.tar.gz' };
    // What a backup run made earlier: a media tar and a mongo dump, each with its sidecar.
    await backups.createFilesBackup({ source: media, name: 'media', dir });
    await backups.createCommandBackup({ ...mongo, dir });
    // The media verifies; the mongo dump's verify command rejects it (as mongorestore --dryRun would a bad archive).
    const results = await backups.verifyBackups(dir, { commands: [{ ...mongo, verifyCmd: 'exit 1' }] });
    assert.deepEqual(results.map((r) => r.state).sort(), ['failed', 'verified']);

    await updateUserSettings({
      'exitPlan.backups.targets': [
        { name: TARGET, dir, folders: [{ name: 'media', path: media }], commands: [{ ...mongo, verifyCmd: 'exit 1' }] },
      ],
    });
    await openExitPlan(page);
    await arrangePanes(page, ['Backups', 'Backup Report'], ['Exit Plan', 'Warehouse', 'Azure Storage', 'Datasets']);
    await clickViewAction(page, 'Backups', 'Collapse All');

    // The Backups view: the target, then a group per source; the command's with the terminal icon.
    const target = exactTreeRow(page, 'Backups', TARGET);
    await expandRow(target);
    const group = exactTreeRow(page, 'Backups', 'Command mongo');
    await group.waitFor({ state: 'visible', timeout: 30_000 });
    assert.equal(await group.locator('.codicon-terminal').count(), 1, 'the command group has the terminal icon');
    await exactTreeRow(page, 'Backups', 'Files media').waitFor({ state: 'visible', timeout: 30_000 });

    // The Backup Report: one line per source with its newest backup's age and state.
    const report = await reportFrame(page);
    const card = report.locator('details.target').filter({ has: report.locator('summary .name', { hasText: new RegExp(`^${TARGET}$`) }) });
    await card.waitFor({ state: 'visible', timeout: 60_000 });
    const facts = card.locator('.facts');
    await facts.locator('dt', { hasText: 'Command mongo' }).waitFor({ state: 'visible', timeout: 30_000 });
    const text = await facts.innerText();
    assert.match(text, /Command mongo\s+[^\n]+, failed/);
    assert.match(text, /Files media\s+[^\n]+, verified/);
    assert.equal(await facts.locator('dd span.warn', { hasText: /, failed$/ }).count(), 1, 'the failed source in the warning colour');
    assert.equal(await facts.locator('dd span.warn', { hasText: /, verified$/ }).count(), 0);
    await step(page, 'f-1-command-backups', facts);
  });
});

/**
 * The Backup Report's page, found by its content (as in flow c): after the other flows its webview view may have
 * been made again, and then its frame's address has no `purpose`, which backupReportFrame looks for.
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
