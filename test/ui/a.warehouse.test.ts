// Flow a: a user adds a warehouse connection by typing into VS Code's input boxes, then exports the whole
// warehouse from the command palette into a folder chosen in the folder dialog, and gets a verified zip.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import type { Locator, Page } from 'playwright-core';
import { SAMPLE_WAREHOUSE_SQL } from '../../scripts/lib/sampleWarehouse';
import { verifyArchive, type PgConnectionOptions } from '../../src/exporters';
import { quoteLiteral } from '../../src/exporters/warehouse/catalog';
import { listFiles, tableFingerprint, unzipArchive } from '../helpers/archive';
import { postgres } from '../helpers/postgres';
import {
  assertNoErrorNotification,
  notification,
  openExitPlan,
  openPalette,
  quickInput,
  readUserSettings,
  RESULTS_DIR,
  step,
  treeRow,
  typeAnswer,
  workbench,
} from './workbench';
import { arrangePanes, exactTreeRow, expandRow, screenshotOnFailure } from './webviewHelpers';

const CONNECTION = 'ui-flow-a';
const DATABASE = 'ui_flow_a';
const TITLE = 'Add Warehouse Connection';
/** The warehouse's read-only user, as an admin would make one for exports; its password goes through the UI. */
const READER = 'ui_flow_a_reader';
const READER_PASSWORD = 'read only: "quoted" & spaced';
/**
 * While the test holds an exclusive lock on this table (as an `ALTER TABLE` left open in a transaction
 * would), the export waits for it before its snapshot, with its progress notification naming the table and
 * the session that holds it: no race with a fast export, no sleep.
 */
const GATED_TABLE = 'public.connector_runs';
const GATE_APPLICATION = 'ui-flow-a-gate';

/** The quick input of VS Code that is showing (there is one widget; it is hidden between inputs). */
function visibleQuickInput(page: Page): Locator {
  return page.locator('.quick-input-widget:visible');
}

/** Types `text` into the input box of step `n` (titled `name`) of Add Warehouse Connection and presses Enter. */
function typeStep(page: Page, name: string, n: number, text: string, check?: (input: Locator) => Promise<void>): Promise<void> {
  return typeAnswer(page, `${TITLE}: ${name} (${n}/7)`, text, check);
}

/** The input box of a wizard step, once it shows. */
async function stepInput(page: Page, title: string): Promise<Locator> {
  const widget = await quickInput(page, title);
  const input = widget.locator('.quick-input-box input');
  await input.waitFor({ state: 'visible' });
  return input;
}

/** Presses Enter on the step titled `title` (its value kept) and waits for the next. */
async function acceptStep(page: Page, title: string): Promise<void> {
  await quickInput(page, title);
  await page.keyboard.press('Enter');
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'hidden', timeout: 30_000 });
}

/** Right-clicks a tree row and clicks the context menu's item `title`, after a screenshot of the menu when `shot` is given. */
async function contextMenu(page: Page, row: Locator, title: string, shot?: string): Promise<void> {
  await row.click({ button: 'right' });
  const item = page.locator('.context-view .monaco-menu .action-item', { hasText: title }).first();
  await item.waitFor({ state: 'visible', timeout: 30_000 });
  if (shot) await step(page, shot, item);
  await item.click();
}

/** The modal dialog VS Code shows for a modal message. */
function modalDialog(page: Page): Locator {
  return page.locator('.monaco-dialog-box');
}

describe('UI flow a: add a warehouse connection, export it from the palette into a folder picked in the dialog', () => {
  let source: PgConnectionOptions;

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await screenshotOnFailure('a-failed');
  });

  before(async () => {
    const pg = await postgres();
    source = await pg.createDatabase(DATABASE);
    const c = await pg.client(DATABASE);
    try {
      await c.query(SAMPLE_WAREHOUSE_SQL);
      await c.query(`CREATE ROLE ${READER} LOGIN PASSWORD ${quoteLiteral(READER_PASSWORD)}`);
      await c.query(`GRANT CONNECT ON DATABASE ${DATABASE} TO ${READER}`);
      for (const schema of ['alerts', 'forms', 'mapping', 'public']) {
        await c.query(`GRANT USAGE ON SCHEMA ${schema} TO ${READER}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${READER}`);
      }
    } finally {
      await c.end();
    }
  });

  it('adds the connection through the input boxes, the password into a password box', async () => {
    const { page } = await workbench();
    await openExitPlan(page);
    // Every view but Exit Plan starts collapsed: the user opens the one they want.
    await arrangePanes(page, ['Warehouse'], ['Exit Plan', 'Azure Storage', 'Datasets', 'Backups', 'Backup Report']);
    const warehouseView = page.locator('.part.sidebar .pane-header', { hasText: 'Warehouse' }).first();
    await warehouseView.waitFor({ state: 'visible' });

    await openPalette(page, 'Exit Plan: Add Warehouse Connection');
    await page.keyboard.press('Enter');
    await typeStep(page, 'Name', 1, CONNECTION);
    await typeStep(page, 'Host', 2, source.host!, async (input) =>
      assert.equal(await input.inputValue(), 'localhost', 'host box offers localhost'),
    );
    // Back from the port: the host box shows what was typed.
    const port = await stepInput(page, `${TITLE}: Port (3/7)`);
    assert.equal(await port.inputValue(), '5432', 'port box offers 5432');
    await visibleQuickInput(page)
      .locator('.quick-input-titlebar .action-label[aria-label^="Back"], .quick-input-titlebar .codicon-quick-input-back')
      .first()
      .click();
    const host = await stepInput(page, `${TITLE}: Host (2/7)`);
    assert.equal(await host.inputValue(), source.host, 'Back keeps the host typed');
    await step(page, 'a1-wizard-back', host);
    await acceptStep(page, `${TITLE}: Host (2/7)`);
    await typeStep(page, 'Port', 3, String(source.port));
    await typeStep(page, 'User', 4, READER);
    await typeStep(page, 'Database', 5, source.database!, async (input) =>
      assert.equal(await input.inputValue(), READER, 'the database defaults to the user name, as PostgreSQL clients do'),
    );

    const tls = await quickInput(page, `${TITLE}: TLS (6/7)`);
    const allow = tls.locator('.monaco-list-row', { hasText: /^allow/ }).first();
    const prefer = tls.locator('.monaco-list-row', { hasText: /^prefer/ }).first();
    await prefer.waitFor({ state: 'visible' });
    assert.notEqual(
      await allow.innerText(),
      (await prefer.innerText()).replace('prefer', 'allow'),
      'allow and prefer say different things',
    );
    await step(page, 'a1-tls-pick', prefer);
    await prefer.click();
    await page
      .locator('.quick-input-widget .quick-input-title', { hasText: `${TITLE}: TLS (6/7)` })
      .waitFor({ state: 'hidden', timeout: 30_000 });

    // A mistyped password: the test fails, and the question's default button is Edit Connection.
    await typeStep(page, 'Password', 7, 'mistyped', async (input) => {
      assert.equal(await input.getAttribute('type'), 'password', 'the password goes into a password box');
    });
    const dialog = modalDialog(page);
    await dialog.waitFor({ state: 'visible', timeout: 60_000 });
    assert.match(await dialog.innerText(), /Cannot connect to .*refused the password/s);
    const buttons = dialog.locator('.dialog-buttons .monaco-button');
    // The primary (default) button; VS Code lays the buttons out in its platform's order.
    const primary = buttons.and(page.locator(':not(.secondary)'));
    assert.deepEqual(
      (await primary.allInnerTexts()).map((t) => t.trim()),
      ['Edit Connection'],
      'Edit Connection is the default button',
    );
    await step(page, 'a1-test-failed-modal', dialog);
    // Enter takes the default: back into the wizard, every value kept.
    await page.keyboard.press('Enter');
    const name = await stepInput(page, `${TITLE}: Name (1/7)`);
    assert.equal(await name.inputValue(), CONNECTION, 'Edit Connection keeps the name');
    await step(page, 'a1-edit-connection-kept', name);
    for (const [title, n] of [
      ['Name', 1],
      ['Host', 2],
      ['Port', 3],
      ['User', 4],
      ['Database', 5],
      ['TLS', 6],
      ['Password', 7],
    ] as const) {
      await acceptStep(page, `${TITLE}: ${title} (${n}/7)`);
    }
    // Still the mistyped password: saved anyway, the tree says the connection cannot connect, and why.
    await dialog.waitFor({ state: 'visible', timeout: 60_000 });
    await dialog.locator('.dialog-buttons .monaco-button', { hasText: 'Save Anyway' }).click();
    const row = treeRow(page, 'Warehouse', CONNECTION);
    await row.filter({ hasText: 'cannot connect: wrong password' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'a1-cannot-connect', row.first());
    // Its tooltip has the whole sentence.
    await row.first().hover();
    const tooltip = page.locator('.monaco-hover, .workbench-hover').filter({ hasText: 'refused the password' }).first();
    await tooltip.waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'a1-cannot-connect-tooltip', tooltip);
    await page.mouse.move(800, 500);

    // Update Warehouse Password from the connection's context menu: tested, saved, and the tree says so.
    await contextMenu(page, row.first(), 'Update Warehouse Password', 'a1-connection-menu');
    await typeAnswer(page, `Update Warehouse Password: "${CONNECTION}"`, READER_PASSWORD, async (input) => {
      assert.equal(await input.getAttribute('type'), 'password');
    });
    const updated = await notification(page, `saved the new password of "${CONNECTION}"`);
    await row.filter({ hasNotText: 'cannot connect' }).first().waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'a1-password-updated', updated);

    // Test Warehouse Connection: one sentence with the server's version.
    await openPalette(page, 'Exit Plan: Test Warehouse Connection');
    await page.keyboard.press('Enter');
    const testPick = visibleQuickInput(page).filter({ has: page.locator('input[placeholder="Warehouse connection to test"]') });
    await testPick.locator('.monaco-list-row', { hasText: CONNECTION }).first().click();
    const tested = await notification(page, new RegExp(`Connected to "${CONNECTION}": PostgreSQL \\d+`));
    await step(page, 'a1-test-ok', tested);

    await step(page, 'a1-zz-connection-added', row.first());
    // Saved in the user settings without its password (that went to VS Code's secret storage).
    const settings = readUserSettings();
    assert.ok(settings.includes(`"${CONNECTION}"`) && settings.includes(`"${READER}"`), 'the connection is in the user settings');
    assert.ok(!settings.includes(READER_PASSWORD) && !settings.includes('read only'), 'the password is not in the settings');
    await assertNoErrorNotification(page);
  });

  const exportTitle =
    'exports it: palette, connection pick, folder dialog, progress, completion; the zip verifies and reloads to the same rows';
  it(exportTitle, async () => {
    const { page, scratch, workspace } = await workbench();
    const pg = await postgres();
    const outDir = path.join(scratch, 'flow-a-exports');
    fs.mkdirSync(outDir, { recursive: true });
    await openExitPlan(page);

    // Close the gate: the export will wait for the table's lock with its progress notification showing.
    const gate = await pg.client(DATABASE);
    let closed = false;
    try {
      await gate.query(`SET application_name = '${GATE_APPLICATION}'`);
      await gate.query(`BEGIN; LOCK TABLE ${GATED_TABLE} IN ACCESS EXCLUSIVE MODE`);
      closed = true;

      await openPalette(page, 'Exit Plan: Export Warehouse');
      await step(page, 'a2-palette', page.locator('.quick-input-widget .monaco-list-row', { hasText: 'Exit Plan: Export Warehouse' }));
      await page.keyboard.press('Enter');

      const connectionPick = visibleQuickInput(page).filter({ has: page.locator('input[placeholder="Warehouse to export"]') });
      const connectionRow = connectionPick.locator('.monaco-list-row', { hasText: CONNECTION }).first();
      await connectionRow.waitFor({ state: 'visible', timeout: 30_000 });
      await step(page, 'a3-connection-pick', connectionRow);
      await connectionRow.click();

      const dialog = await quickInput(page, 'Exit Plan: folder for the export archive');
      await acceptFolder(page, dialog, outDir, workspace);

      await waitAtGate(gate);
      // The export runs as the read-only user, to whom PostgreSQL shows other users' sessions without their state.
      const progress = await notification(
        page,
        new RegExp(
          `Exit Plan: exporting ${CONNECTION}: Waiting for a lock on ${GATED_TABLE.replace('.', '\\.')} held by session \\d+ ` +
            `\\(${GATE_APPLICATION}\\)`,
        ),
      );
      await step(page, 'a5-progress', progress.locator('.monaco-progress-container'));
    } finally {
      if (closed) await gate.query('ROLLBACK').catch(() => undefined);
      await gate.end();
    }

    const done = await notification(page, `to ${path.join(outDir, DATABASE)}_`, 180_000);
    const message = await done.locator('.notification-list-item-message').innerText();
    const match = /^Exported (\d+) tables \(([\d,]+) rows\) to (.+\.zip)$/.exec(message.trim());
    assert.ok(match, `completion message: ${message}`);
    await step(page, 'a6-completion', done);
    await assertNoErrorNotification(page);

    // Recent Exports under the connection: the archive, with Reveal, Copy Path and Verify Again.
    await done
      .locator('.codicon-notifications-clear, .codicon-close')
      .first()
      .click()
      .catch(() => undefined);
    const connectionRow = exactTreeRow(page, 'Warehouse', CONNECTION);
    await expandRow(connectionRow.first());
    const recentRow = exactTreeRow(page, 'Warehouse', 'Recent Exports');
    await expandRow(recentRow.first());
    const archiveRow = exactTreeRow(page, 'Warehouse', path.basename(match[3]!));
    await archiveRow.first().waitFor({ state: 'visible', timeout: 30_000 });
    assert.match(await archiveRow.first().innerText(), /just now · 4 tables/);
    await contextMenu(page, archiveRow.first(), 'Verify Export Archive', 'a7-recent-export-menu');
    const verifiedToast = await notification(page, `${path.basename(match[3]!)} verified: every checksum`);
    await step(page, 'a7-verified-again', verifiedToast);

    // The next export of this connection: the folder dialog opens where the last one went.
    await connectionRow.first().hover();
    await connectionRow.first().locator('.action-label[aria-label^="Export Warehouse"]').first().click();
    const again = await quickInput(page, 'Exit Plan: folder for the export archive');
    await page.waitForFunction(
      `document.querySelector('.quick-input-widget .quick-input-box input')?.value === ${JSON.stringify(`${outDir}/`)}`,
      undefined,
      { timeout: 30_000 },
    );
    await step(page, 'a8-folder-remembered', again);
    await page.keyboard.press('Escape');
    await again.filter({ hasText: 'Exit Plan: folder for the export archive' }).waitFor({ state: 'hidden', timeout: 30_000 });

    const archive = match[3]!;
    assert.equal(path.dirname(archive), outDir, 'the archive is in the folder picked in the dialog');
    assert.deepEqual(listFiles(outDir), [path.basename(archive)], 'only the archive is left, no partial file');

    // The core's own verification: every entry's CRC, every CSV's SHA-256 and row count against the manifest.
    const verified = await verifyArchive(archive);
    const { dir, manifest } = unzipArchive(archive);
    assert.equal(manifest.database, DATABASE);
    assert.equal(manifest.tables.length, Number(match[1]));
    assert.deepEqual(manifest.tables.map((t) => `${t.schema}.${t.name}`).sort(), [
      'alerts.alerts',
      'forms.submissions',
      'mapping.observations',
      'public.connector_runs',
    ]);
    assert.equal(verified.rows, Number(match[2]!.replace(/,/g, '')), 'the message counts the rows the archive holds');

    // Loaded back with psql, every table holds exactly the rows of the source.
    const target = await pg.createDatabase(`${DATABASE}_reloaded`);
    const env = {
      ...process.env,
      PGPASSWORD: String(target.password),
      PGHOST: target.host,
      PGPORT: String(target.port),
      PGUSER: target.user,
    };
    execFileSync('psql', ['-X', '-q', '-d', target.database!, '-v', 'ON_ERROR_STOP=1', '-f', 'schema.sql', '-f', 'load.sql'], {
      cwd: dir,
      env,
      stdio: 'pipe',
    });
    const a = await pg.client(DATABASE);
    const b = await pg.client(`${DATABASE}_reloaded`);
    try {
      let total = 0;
      for (const t of manifest.tables) {
        const want = await tableFingerprint(a, t.schema, t.name);
        assert.ok(want.rows > 0, `${t.schema}.${t.name} has rows`);
        assert.equal(t.rows, want.rows, `${t.schema}.${t.name}: rows in the manifest`);
        assert.deepEqual(await tableFingerprint(b, t.schema, t.name), want, `${t.schema}.${t.name} differs after the round trip`);
        total += want.rows;
      }
      assert.equal(verified.rows, total);
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('exports a subset: Export Subset… on a table, the predicate, the counts in a quick pick, Export, the folder dialog', async () => {
    const { page, scratch } = await workbench();
    const outDir = path.join(scratch, 'flow-a-exports');
    await openExitPlan(page);
    const connectionRow = exactTreeRow(page, 'Warehouse', CONNECTION);
    await expandRow(connectionRow.first());
    await expandRow(exactTreeRow(page, 'Warehouse', 'forms').first());
    const tableRow = exactTreeRow(page, 'Warehouse', 'submissions');
    await contextMenu(page, tableRow.first(), 'Export Subset…', 'a9-table-menu');

    const title = `Export Subset of "${CONNECTION}"`;
    await typeAnswer(page, title, 'id <= 10', async (input) => {
      assert.equal(await input.getAttribute('placeholder'), 'id = 42');
      await step(page, 'a9-subset-predicate', input);
    });
    // The dry run's counts: the table with its rows, the three tables with no foreign-key path left out.
    const pick = await quickInput(page, `${title}: forms.submissions: id <= 10`);
    const exportRow = pick.locator('.monaco-list-row', { hasText: 'Export 10 rows…' }).first();
    await exportRow.waitFor({ state: 'visible', timeout: 60_000 });
    assert.equal(await pick.locator('.quick-input-box input').getAttribute('placeholder'), '10 rows in 1 table, 3 tables left out');
    const rows = (await pick.locator('.monaco-list-row').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
    assert.ok(
      rows.some((r) => r.includes('forms.submissions') && r.includes('10 rows · root')),
      `the table and its rows: ${rows.join(' / ')}`,
    );
    await step(page, 'a9-subset-counts', pick);
    await exportRow.click();

    // The folder dialog opens where this connection last exported to; Export Here takes it.
    const dialog = await quickInput(page, 'Exit Plan: folder for the export archive');
    await page.waitForFunction(
      `document.querySelector('.quick-input-widget .quick-input-box input')?.value === ${JSON.stringify(`${outDir}/`)}`,
      undefined,
      { timeout: 30_000 },
    );
    await dialog.getByRole('button', { name: 'Export Here' }).click();

    const done = await notification(page, /^Exported the subset forms\.submissions: id <= 10 \(1 table, 10 rows\) to /, 180_000);
    const message = (await done.locator('.notification-list-item-message').innerText()).trim();
    await step(page, 'a9-subset-exported', done);
    await assertNoErrorNotification(page);
    const archive = /to (.+\.zip)$/.exec(message)?.[1];
    assert.ok(archive, message);
    assert.equal(path.dirname(archive), outDir);
    assert.match(path.basename(archive), new RegExp(`^${DATABASE}_submissions-id-10_\\d{4}-\\d{2}-\\d{2}T\\d{6}Z\\.zip$`));
    assert.equal((await verifyArchive(archive)).rows, 10);
    const { dir, manifest } = unzipArchive(archive);
    try {
      assert.deepEqual(manifest.subset?.roots, [{ schema: 'forms', name: 'submissions', predicate: 'id <= 10', rows: 10 }]);
      assert.deepEqual(
        manifest.tables.map((t) => [`${t.schema}.${t.name}`, t.rows]),
        [['forms.submissions', 10]],
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cancels a subset count waiting for a lock: Cancel on its progress notification, no counts shown', async () => {
    const { page } = await workbench();
    const pg = await postgres();
    await openExitPlan(page);
    const title = `Export Subset of "${CONNECTION}"`;
    // Closed gate: the dry run waits for the table's lock before its snapshot, its progress saying so.
    const gate = await pg.client(DATABASE);
    let closed = false;
    try {
      await gate.query(`SET application_name = '${GATE_APPLICATION}'`);
      await gate.query(`BEGIN; LOCK TABLE ${GATED_TABLE} IN ACCESS EXCLUSIVE MODE`);
      closed = true;
      await contextMenu(page, exactTreeRow(page, 'Warehouse', 'submissions').first(), 'Export Subset…', 'a10-table-menu');
      await typeAnswer(page, title, 'id <= 10', async (input) =>
        assert.equal(await input.inputValue(), 'id <= 10', 'the last predicate of this table is filled in'),
      );
      await waitAtGate(gate);
      const progress = await notification(
        page,
        new RegExp(
          `Exit Plan: counting the subset forms\\.submissions: id <= 10: Waiting for a lock on ${GATED_TABLE.replace('.', '\\.')}`,
        ),
      );
      await step(page, 'a10-subset-waiting', progress);
      await progress.getByRole('button', { name: 'Cancel' }).click();
      const cancelled = await notification(page, /cancelled/i);
      await step(page, 'a10-subset-cancelled', cancelled);
    } finally {
      if (closed) await gate.query('ROLLBACK').catch(() => undefined);
      await gate.end();
    }
    await assertNoErrorNotification(page);
    assert.equal(await visibleQuickInput(page).count(), 0, 'no counts shown after Cancel');
  });

  it('a predicate that matches nothing: the error offers Edit Predicate, which asks again with it filled in', async () => {
    const { page } = await workbench();
    await openExitPlan(page);
    const title = `Export Subset of "${CONNECTION}"`;
    await contextMenu(page, exactTreeRow(page, 'Warehouse', 'submissions').first(), 'Export Subset…', 'a11-table-menu');
    await typeAnswer(page, title, 'id < 0');
    const error = await notification(page, 'The subset predicate id < 0 matches no rows of "forms"."submissions"');
    await page.screenshot({ path: path.join(RESULTS_DIR, 'a11-no-rows-error.png') });
    await error.getByRole('button', { name: 'Edit Predicate' }).click();
    const box = await stepInput(page, title);
    assert.equal(await box.inputValue(), 'id < 0', 'the failing predicate, to fix');
    await step(page, 'a11-edit-predicate', box);
    await page.keyboard.press('Escape');
    await visibleQuickInput(page).waitFor({ state: 'hidden', timeout: 30_000 });
    await assertNoErrorNotification(page);
  });
});

/**
 * VS Code's simple file dialog (what code-server shows for showOpenDialog, a quick input listing a folder):
 * once it has listed the folder it starts in (the workspace), type the export folder's path (no trailing
 * slash, which would open it), wait until the dialog has moved to its parent and lists it, then click the
 * OK button, labelled with the command's openLabel: the dialog accepts the typed path. It moves to the
 * parent because that parent also holds the workspace (the dialog's rule for a path typed without a slash);
 * clicking OK before it had moved would only move it.
 */
async function acceptFolder(page: Page, dialog: Locator, folder: string, workspace: string): Promise<void> {
  const input = dialog.locator('.quick-input-box input');
  const rows = dialog.locator('.monaco-list-row');
  // Listed: it starts in the workspace folder; before that, typing would be overwritten.
  await rows.filter({ hasText: '..' }).first().waitFor({ state: 'visible', timeout: 30_000 });
  await page.waitForFunction(
    `document.querySelector('.quick-input-widget .quick-input-box input')?.value === ${JSON.stringify(`${workspace}/`)}`,
    undefined,
    {
      timeout: 30_000,
    },
  );
  await input.fill(folder);
  const row = rows.filter({ hasText: path.basename(folder) }).first();
  await row.waitFor({ state: 'visible', timeout: 30_000 });
  assert.equal(await input.inputValue(), folder);
  await step(page, 'a4-folder-dialog', row);
  await dialog.getByRole('button', { name: 'Export Here' }).click();
  await dialog.filter({ hasText: 'Exit Plan: folder for the export archive' }).waitFor({ state: 'hidden', timeout: 30_000 });
}

/** Until the export waits at the closed gate (polls PostgreSQL's lock table). */
async function waitAtGate(gate: Client): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const r = await gate.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'relation' AND relation = $1::regclass AND NOT granted`,
      [GATED_TABLE],
    );
    if (r.rows[0]!.n > 0) return;
    if (Date.now() > deadline) throw new Error(`the export never reached ${GATED_TABLE}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
