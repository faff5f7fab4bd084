import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { RESULTS_DIR, openExitPlan, step, workbench } from './workbench';

describe('UI: the Exit Plan side bar', () => {
  it('opens from the activity bar with the Exit Plan view expanded and the others collapsed, each welcome one sentence', async () => {
    const { page } = await workbench();
    await openExitPlan(page);
    for (const [view, expanded] of [
      ['Exit Plan', 'true'],
      ['Warehouse', 'false'],
      ['Azure Storage', 'false'],
      ['Datasets', 'false'],
      ['Backups', 'false'],
      ['Backup Report', 'false'],
    ]) {
      const header = page.locator(`.part.sidebar .pane-header[aria-label="${view} Section"]`);
      await header.waitFor({ state: 'visible' });
      assert.equal(await header.getAttribute('aria-expanded'), expanded, `${view} expanded: ${expanded}`);
    }
    // The first view's welcome: one sentence and one button, all on screen.
    const welcome = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header[aria-label="Exit Plan Section"]') });
    const button = welcome.locator('.welcome-view-content .monaco-button', { hasText: 'Create Exit Plan' });
    await button.waitFor({ state: 'visible' });
    assert.equal(await welcome.locator('.welcome-view-content p').count(), 1, 'one sentence above the button');
    await step(page, '0-sidebar');
    // The activity bar's icon, close up: an open box with an arrow lifting out (not VS Code's sign-out door).
    // (After the views have loaded: while one loads, VS Code shows its progress badge over the icon.)
    await page.mouse.move(800, 500);
    await page
      .locator('.activitybar .action-item:has(a[aria-label^="Exit Plan"]) .progress-badge')
      .waitFor({ state: 'detached', timeout: 60_000 });
    await page
      .locator('.activitybar .action-item a[aria-label^="Exit Plan"]')
      .screenshot({ path: path.join(RESULTS_DIR, '0-activity-icon.png') });
  });
});
