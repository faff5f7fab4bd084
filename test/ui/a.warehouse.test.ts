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
  step,
  treeRow,
  typeAnswer,
  workbench,
} from './workbench';
import { arrangePanes } from './webviewHelpers';

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

/** Types `text` into the input box of step `n` of Add Warehouse Connection and presses Enter. */
function typeStep(page: Page, n: number, text: string, check?: (input: Locator) => Promise<void>): Promise<void> {
  return typeAnswer(page, `${TITLE} (${n}/7)`, text, check);
}

describe('UI flow a: add a warehouse connection, export it from the palette into a folder picked in the dialog', () => {
  let source: PgConnectionOptions;

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
    await arrangePanes(page, ['Warehouse'], ['Azure Storage', 'Datasets', 'Backups', 'Backup Report']);
    const warehouseView = page.locator('.part.sidebar .pane-header', { hasText: 'Warehouse' }).first();
    await warehouseView.waitFor({ state: 'visible' });

    await openPalette(page, 'Exit Plan: Add Warehouse Connection');
    await page.keyboard.press('Enter');
    await typeStep(page, 1, CONNECTION);
    await typeStep(page, 2, source.host!, async (input) =>
      assert.equal(await input.inputValue(), 'localhost', 'host box offers localhost'),
    );
    await typeStep(page, 3, String(source.port), async (input) => assert.equal(await input.inputValue(), '5432', 'port box offers 5432'));
    await typeStep(page, 4, source.database!);
    await typeStep(page, 5, READER);

    const tls = await quickInput(page, `${TITLE} (6/7)`);
    await tls
      .locator('.monaco-list-row', { hasText: /^prefer/ })
      .first()
      .click();
    await page
      .locator('.quick-input-widget .quick-input-title', { hasText: `${TITLE} (6/7)` })
      .waitFor({ state: 'hidden', timeout: 30_000 });

    await typeStep(page, 7, READER_PASSWORD, async (input) => {
      assert.equal(await input.getAttribute('type'), 'password', 'the password goes into a password box');
    });

    const connected = await notification(page, `saved it as "${CONNECTION}"`);
    assert.match(await connected.innerText(), new RegExp(`Connected to .*${DATABASE}`));
    const row = treeRow(page, 'Warehouse', CONNECTION);
    await row.first().waitFor({ state: 'visible', timeout: 30_000 });
    await step(page, 'a1-connection-added', row);
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
