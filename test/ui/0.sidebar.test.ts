import { openExitPlan, step, workbench } from './workbench';

describe('UI: the Exit Plan side bar', () => {
  it('opens from the activity bar with its four views and the backup report', async () => {
    const { page } = await workbench();
    await openExitPlan(page);
    for (const view of ['Warehouse', 'Azure Storage', 'Datasets', 'Backups']) {
      await page.locator('.part.sidebar .pane-header', { hasText: view }).first().waitFor({ state: 'visible' });
    }
    await step(page, '0-sidebar');
  });
});
