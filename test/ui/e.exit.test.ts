// Flow e: the exit plan through the real UI. With no plan the Exit Plan view shows its welcome; Create Exit Plan
// writes exit-plan.toml into the workspace folder from what the sidebar knows after flows a–d (the warehouse
// connection by name, the Azure connection's containers, the backup targets, the dataset root) and opens it;
// Run Exit Plan from the view's title bar runs every part in one progress notification; the completion
// notification's Open Exit Report shows the report with every part verified and a bar per part's size.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertNoErrorNotification, notification, openExitPlan, openPalette, step, workbench } from './workbench';
import { arrangePanes, clickViewAction, exactTreeRow, screenshotOnFailure, webviewPanelWith } from './webviewHelpers';

const VIEW = 'Exit Plan';

describe('UI: exit plan (flow e)', () => {
  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshotOnFailure('e-failed');
  });

  it('creates the plan from the welcome view, runs it from the title bar, and shows the report', async () => {
    const { page, workspace } = await workbench();
    const planFile = path.join(workspace, 'exit-plan.toml');
    assert.ok(!fs.existsSync(planFile), 'no plan yet');

    // A clean start: the editors and notifications of the earlier flows closed.
    for (const command of ['View: Close All Editors', 'Notifications: Clear All Notifications']) {
      await openPalette(page, command);
      await page.keyboard.press('Enter');
    }
    await openExitPlan(page);
    await arrangePanes(page, [VIEW], ['Warehouse', 'Azure Storage', 'Datasets', 'Backups', 'Backup Report']);
    const body = page.locator('.part.sidebar .pane').filter({ has: page.locator(`.pane-header[aria-label="${VIEW} Section"]`) });
    const create = body.locator('.welcome-view-content .monaco-button', { hasText: 'Create Exit Plan' });
    await create.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'e-1-welcome', create);

    // Create Exit Plan: the file is written from the sidebar's connections and opened.
    await create.click();
    const tab = page.locator('.tabs-container .tab', { hasText: 'exit-plan.toml' });
    await tab.waitFor({ state: 'visible', timeout: 60_000 });
    const text = fs.readFileSync(planFile, 'utf8');
    assert.match(text, /\[\[warehouse\]\][^[]*connection = "/, 'the warehouse connection of flow a, by name');
    assert.match(text, /\[\[azure\]\][^[]*connection = "[^"]+"\s*\n\s*container = "/, 'the containers of flow b');
    assert.match(text, /\[\[backups\]\]/, 'the backup targets of flow c');
    assert.match(text, /\[\[datasets\]\]/, 'the dataset root of flow d');
    assert.doesNotMatch(text, /AccountKey=|SharedAccessSignature=|sig=|:\/\/[^"\s/@]+:[^"\s/@]+@/i, 'no secret in the plan');
    const planRow = exactTreeRow(page, VIEW, 'exit-plan.toml');
    await planRow.waitFor({ state: 'visible', timeout: 30_000 });
    const parts = [...text.matchAll(/^name = "([^"]+)"/gm)].map((m) => m[1]);
    assert.ok(parts.length >= 4, `parts: ${parts.join(', ')}`);
    for (const name of parts) await exactTreeRow(page, VIEW, name).waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'e-2-plan-created', planRow);

    // Run Exit Plan from the view's title bar: one progress notification, then the result.
    await clickViewAction(page, VIEW, 'Run Exit Plan');
    await page
      .locator('.notification-toast-container', { hasText: 'running the exit plan' })
      .waitFor({ state: 'visible', timeout: 30_000 });
    const done = await notification(page, /Exit run(:| complete:)/, 240_000);
    const message = await done.locator('.notification-list-item-message').innerText();
    assert.match(message, new RegExp(`^Exit run complete: all ${parts.length} parts verified \\([\\d.]+ \\w+\\)\\.$`), message);
    await page.locator('.notification-toast-container', { hasText: 'running the exit plan' }).waitFor({ state: 'hidden', timeout: 30_000 });
    const lastRun = exactTreeRow(page, VIEW, 'Last run');
    await lastRun.waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await lastRun.innerText(), /exit_\S+ · all verified/);
    await step(page, 'e-3-run-complete', done);

    // Open Exit Report from the notification: every part verified, a bar per part, the not-included list.
    await done.locator('.monaco-button', { hasText: 'Open Exit Report' }).click();
    const report = await webviewPanelWith(page, '#parts tr');
    await report.locator('#summary.ok').waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await report.locator('#summary').innerText(), /^Every part was verified\. \d+ verified, [\d.]+ \w+ in all\.$/);
    assert.equal(await report.locator('#parts tr').count(), parts.length);
    assert.equal(await report.locator('#parts td.verified').count(), parts.length);
    assert.equal(await report.locator('#chart .bar-row').count(), parts.length);
    assert.ok(await report.locator('#failures').isHidden(), 'no failures');
    const bar = await report.locator('#chart .bar').first().boundingBox();
    assert.ok(bar && bar.width > 0 && bar.height > 0, 'the bars are drawn');
    await step(page, 'e-4-exit-report', page.locator('.tabs-container .tab', { hasText: 'Exit Report' }));
    await assertNoErrorNotification(page);
  });
});
