// The Backups view in the real extension host: a files target added through Add Backup Target, a pg_dump
// target (from the setting) backing up a warehouse connection saved through its command; Back Up Now writes
// the backup and its checksum sidecar, the tree shows it, Verify Backups checks it (and catches a flipped byte).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listFiles, tableFingerprint } from '../../helpers/archive';
import { sha256Of } from '../../helpers/backups';
import { postgres } from '../../helpers/postgres';
import {
  BACK,
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  addWarehouseConnection,
  eventually,
  exitPlan,
  exitPlanLogFile,
  makeWarehouse,
  removeThroughTree,
  setSetting,
  treeItems,
  type Warehouse,
} from '../host';

const FILES_TARGET = 'Field media';
const DB_TARGET = 'Field database';
const CONNECTION = 'Backup source';
const STAMP = String.raw`\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}`;
const MEDIA: Record<string, string> = {
  'photos/river bank #1.jpg': 'jpeg bytes',
  'forms/enquête ü.json': '{"village": "Kisumu"}\n',
  'notes.txt': 'line one\nline two\n',
};

interface Sidecar {
  file: string;
  bytes: number;
  sha256: string;
  files?: { source: string; entries: number; contentBytes: number };
  postgres?: { connection: string; database: string };
  verification?: { state: string };
}

/**
 * Records each wizard box's title and value when it is shown (after the ScriptedUser's stubs are in place; its
 * done() puts the real createInputBox back): what the user sees in the box, e.g. a value kept after Back.
 */
function recordBoxValues(): { title: string; value: string }[] {
  const seen: { title: string; value: string }[] = [];
  const win = vscode.window as unknown as { createInputBox: () => vscode.InputBox };
  const make = win.createInputBox;
  win.createInputBox = () => {
    const box = make();
    const show = box.show.bind(box);
    box.show = () => {
      seen.push({ title: box.title ?? '', value: box.value });
      show();
    };
    return box;
  };
  return seen;
}

/** Records the buttons offered with each error notification (after the ScriptedUser's stubs are in place). */
function recordErrorButtons(): string[][] {
  const seen: string[][] = [];
  const win = vscode.window as unknown as { showErrorMessage: (message: string, ...items: unknown[]) => Thenable<unknown> };
  const show = win.showErrorMessage;
  win.showErrorMessage = (message, ...items) => {
    seen.push(items.filter((i): i is string => typeof i === 'string'));
    return show(message, ...items);
  };
  return seen;
}

/** A tooltip's text as the user reads it (markdown escapes and non-breaking spaces undone). */
function plainText(md: vscode.MarkdownString): string {
  return md.value.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1');
}

function sidecarOf(file: string): Sidecar {
  return JSON.parse(fs.readFileSync(`${file}.json`, 'utf8')) as Sidecar;
}

describe('Backups (real VS Code, real pg_dump and tar)', function () {
  this.timeout(120_000);
  const temp = new TempDirs();
  let settings: SettingsSnapshot;
  let media: string;
  let filesDir: string;
  let dbDir: string;
  let warehouse: Warehouse;

  before(async () => {
    settings = new SettingsSnapshot([
      'exitPlan.backups.targets',
      'exitPlan.warehouse.connections',
      'exitPlan.backups.verifyAfterBackup',
      'exitPlan.pgDumpPath',
    ]);
    // The defaults: each backup is verified right after it is written, with the pg_dump on PATH.
    await setSetting('exitPlan.backups.verifyAfterBackup', undefined);
    await setSetting('exitPlan.pgDumpPath', undefined);
    media = temp.make('media');
    for (const [name, body] of Object.entries(MEDIA)) {
      fs.mkdirSync(path.dirname(path.join(media, name)), { recursive: true });
      fs.writeFileSync(path.join(media, name), body);
    }
    filesDir = temp.make('files-backups');
    dbDir = path.join(temp.make('db-backups'), 'not yet made');
    warehouse = await makeWarehouse({
      database: 'backup_source',
      user: 'backup_owner',
      sql: `CREATE SCHEMA "Field Data";
            CREATE TABLE "Field Data"."Visits ""2024""" (id int PRIMARY KEY, village text, at timestamptz);
            INSERT INTO "Field Data"."Visits ""2024""" SELECT g, 'village ' || g, timestamptz '2024-01-01' + g * interval '1 hour' \
FROM generate_series(1, 500) g;`,
    });
  });

  after(async () => {
    const api = await exitPlan();
    await removeThroughTree(api.warehouseTree, CONNECTION, 'exitPlan.removeWarehouseConnection', /^Remove the warehouse connection/);
    await settings.restore();
    temp.removeAll();
  });

  const addTitle =
    'adds a files target through its wizard (Back keeps answers, Browse…); Back Up Now writes a tar and its sidecar; ' +
    'the tree shows it; Verify checks it';
  it(addTitle, async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      { when: /^Add Backup Target: Name \(1\/6\) \| A name for this target/, answer: FILES_TARGET },
      // Browse… opens the folder dialog (at the default folder's nearest existing parent) and puts its answer in the box.
      { when: /^Add Backup Target: Folder \(2\/6\) \| The folder the backups go into/, answer: undefined, button: 'Browse…' },
      { when: /^Add Backup Target: Folder \| Back Up Here$/, answer: filesDir },
      { when: /^Add Backup Target: Folder \(2\/6\)/, answer: filesDir },
      // Back from the database step: the folder is still there.
      { when: /^Add Backup Target: Database \(3\/6\)/, answer: BACK },
      { when: /^Add Backup Target: Folder \(2\/6\)/, answer: filesDir },
      { when: /^Add Backup Target: Database \(3\/6\)/, answer: 'No database' },
      {
        when: /^Add Backup Target: Folders of Files \(4\/6\) \| Folders of files to archive with tar$/,
        answer: '$(add) Add a folder of files…',
      },
      { when: /^Add Backup Target: Folders of Files \| Archive This Folder$/, answer: media },
      { when: /^Add Backup Target: Folders of Files \(4\/6\) \| Name for .* in backup file names/, answer: 'field-media' },
      { when: /^Add Backup Target: Folders of Files \(4\/6\) \| 1 folder of files to archive/, answer: '$(arrow-right) Continue' },
      // A custom cron expression is one more step (the count follows); Back from it returns to the schedules.
      { when: /^Add Backup Target: Schedule \(5\/6\) \| When to back up/, answer: 'Custom cron expression…' },
      { when: /^Add Backup Target: Cron Expression \(6\/7\) \| minute hour/, answer: BACK },
      { when: /^Add Backup Target: Schedule \(5\/7\)/, answer: 'Every day at 02:00' },
      { when: /^Add Backup Target: Rotation \(6\/6\) \| Which backups to keep/, answer: 'No rotation' },
    );
    const boxes = recordBoxValues();
    await vscode.commands.executeCommand('exitPlan.addBackupTarget');
    assert.deepEqual(user.shown, [{ severity: 'information', message: `Backup target "${FILES_TARGET}" added.` }]);
    user.done();
    // The folder step opened with the default folder, showed the dialog's answer after Browse…, and kept it after Back.
    const folders = boxes.filter((b) => b.title === 'Add Backup Target: Folder').map((b) => b.value);
    assert.equal(folders[0], path.join(os.homedir(), 'backups', 'field-media'));
    assert.deepEqual(folders.slice(1), [filesDir, filesDir]);
    const saved =
      vscode.workspace.getConfiguration('exitPlan').inspect<{ name: string; addedAt?: string }[]>('backups.targets')?.globalValue ?? [];
    const entry = saved.find((t) => t.name === FILES_TARGET);
    assert.ok(entry?.addedAt && Math.abs(Date.parse(entry.addedAt) - Date.now()) < 60_000, `addedAt is now: ${entry?.addedAt}`);
    assert.deepEqual(entry, {
      name: FILES_TARGET,
      dir: filesDir,
      folders: [{ name: 'field-media', path: media }],
      schedule: '0 2 * * *',
      addedAt: entry.addedAt,
    });

    // Added a minute ago with a nightly schedule: its first backup is pending, not overdue; the schedule in words.
    let target = (await treeItems(api.backupsTree)).find((t) => t.label === FILES_TARGET);
    assert.ok(target);
    assert.equal(target.contextValue, 'backupTarget');
    assert.equal(target.description, 'first backup pending');
    const pending = await treeItems(api.backupsTree, target.node);
    assert.equal(pending.length, 1);
    assert.equal(pending[0].contextValue, 'backupInfo');
    assert.match(pending[0].label, /^First backup pending: every day at 02:00, next \d{4}-\d{2}-\d{2} 02:00$/);
    const tooltip = (await api.backupsTree.getTreeItem(target.node)).tooltip as vscode.MarkdownString;
    assert.match(plainText(tooltip), /every day at 02:00 \(0 2 \* \* \*\), next .*\(first backup pending\)/);

    // Back Up Now from the target's context menu.
    const backUp = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.backUpNow', target.node);
    backUp.assertNoErrors();
    backUp.done();
    assert.equal(backUp.shown.length, 1);
    const m = new RegExp(String.raw`^Backed up "${FILES_TARGET}", verified: (field-media_media__${STAMP}\.tar) \(.+\)\.$`).exec(
      backUp.shown[0].message,
    );
    assert.ok(m, backUp.shown[0].message);
    const tar = path.join(filesDir, m[1]);
    assert.deepEqual(fs.readdirSync(filesDir).sort(), [m[1], `${m[1]}.json`], 'the backup and its checksum sidecar, nothing half-written');
    const sidecar = sidecarOf(tar);
    assert.equal(sidecar.sha256, sha256Of(tar), 'the sidecar holds the SHA-256 of the tar');
    assert.equal(sidecar.bytes, fs.statSync(tar).size);
    assert.equal(sidecar.files?.source, media);
    assert.equal(sidecar.verification?.state, 'verified');
    // GNU tar, as a user restoring by hand would: every file back, byte for byte.
    const restored = temp.make('untar');
    execFileSync('tar', ['-xf', tar, '-C', restored]);
    assert.deepEqual(listFiles(restored), Object.keys(MEDIA).sort());
    for (const [name, body] of Object.entries(MEDIA)) assert.equal(fs.readFileSync(path.join(restored, name), 'utf8'), body, name);

    target = (await treeItems(api.backupsTree)).find((t) => t.label === FILES_TARGET)!;
    assert.match(target.description, /^1 backup, /);
    const groups = await treeItems(api.backupsTree, target.node);
    assert.deepEqual(
      groups.map((g) => [g.label, g.contextValue]),
      [['Files field-media', 'backupGroupFiles']],
    );
    const backups = await treeItems(api.backupsTree, groups[0].node);
    assert.equal(backups.length, 1);
    assert.equal(backups[0].contextValue, 'backupFiles');
    assert.match(backups[0].description, / · verified$/);

    const verify = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.verifyBackups', target.node);
    verify.assertNoErrors();
    verify.done();
    assert.equal(verify.shown.length, 1);
    assert.equal(verify.shown[0].severity, 'information');
    assert.match(verify.shown[0].message, new RegExp(`^${m[1].replace(/\./g, '\\.')} is verified: `));

    // One flipped byte, and Verify says so (it reads the file, it does not trust the sidecar).
    const bytes = fs.readFileSync(tar);
    bytes[600] ^= 0xff;
    fs.writeFileSync(tar, bytes);
    const again = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.verifyBackups', target.node);
    again.done();
    assert.equal(again.shown.length, 1);
    assert.equal(again.shown[0].severity, 'warning');
    assert.match(
      again.shown[0].message,
      new RegExp(`^1 of 1 backups of "${FILES_TARGET}" failed verification; first: ${m[1].replace(/\./g, '\\.')}: `),
    );
    const group = (await treeItems(api.backupsTree, (await treeItems(api.backupsTree)).find((t) => t.label === FILES_TARGET)!.node))[0];
    assert.match((await treeItems(api.backupsTree, group.node))[0].description, / · failed$/);
  });

  it('edits a target over its saved values (kept, in place) and tests it without backing up', async () => {
    const api = await exitPlan();
    const before = vscode.workspace.getConfiguration('exitPlan').inspect<{ name: string }[]>('backups.targets')?.globalValue ?? [];
    const old = before.find((t) => t.name === FILES_TARGET) as Record<string, unknown>;
    const node = (await treeItems(api.backupsTree)).find((t) => t.label === FILES_TARGET)!.node;
    const title = `Edit Backup Target "${FILES_TARGET}"`;
    const user = new ScriptedUser().answer(
      // The name stays: five steps, each opening with the saved answer.
      { when: new RegExp(`^${title}: Folder \\(1/5\\)`), answer: filesDir },
      { when: new RegExp(`^${title}: Database \\(2/5\\)`), answer: 'No database' },
      { when: new RegExp(`^${title}: Folders of Files \\(3/5\\) \\| 1 folder of files to archive`), answer: '$(arrow-right) Continue' },
      { when: new RegExp(`^${title}: Schedule \\(4/5\\)`), answer: 'Custom cron expression…' },
      { when: new RegExp(`^${title}: Cron Expression \\(5/6\\)`), answer: '30 3 * * 1' },
      { when: new RegExp(`^${title}: Rotation \\(6/6\\)`), answer: '7 daily, 4 weekly, 12 monthly' },
    );
    const boxes = recordBoxValues();
    await vscode.commands.executeCommand('exitPlan.editBackupTarget', node);
    user.done();
    assert.deepEqual(user.shown, [
      { severity: 'information', message: `Backup target "${FILES_TARGET}" saved: every Monday at 03:30 (30 3 * * 1).` },
    ]);
    assert.deepEqual(boxes, [
      { title: `${title}: Folder`, value: filesDir },
      { title: `${title}: Cron Expression`, value: '0 2 * * *' },
    ]);
    const after = vscode.workspace.getConfiguration('exitPlan').inspect<{ name: string }[]>('backups.targets')?.globalValue ?? [];
    assert.deepEqual(
      after.map((t) => t.name),
      before.map((t) => t.name),
      'the edited target keeps its place',
    );
    assert.deepEqual(
      after.find((t) => t.name === FILES_TARGET),
      { ...old, schedule: '30 3 * * 1', rotation: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 } },
      'everything else is kept, addedAt too',
    );
    const tooltip = (await api.backupsTree.getTreeItem((await treeItems(api.backupsTree)).find((t) => t.label === FILES_TARGET)!.node))
      .tooltip as vscode.MarkdownString;
    assert.match(plainText(tooltip), /every Monday at 03:30 \(30 3 \* \* 1\)/);

    // Test Backup Target: every check of a backup's pre-flight, one line each, nothing written.
    const files = fs.readdirSync(filesDir).sort();
    const test = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.testBackupTarget', { targetName: FILES_TARGET });
    test.assertNoErrors();
    test.done();
    assert.equal(test.shown.length, 1);
    assert.equal(test.shown[0].severity, 'information');
    // One short line per check (the full sentences go to the log).
    assert.match(
      test.shown[0].message,
      new RegExp(
        `^Backup target "${FILES_TARGET}" is ready to back up: ✓ folder writable · ✓ [\\d.]+ [KMGT]?B free · ✓ "field-media" readable\\.$`,
      ),
    );
    assert.deepEqual(fs.readdirSync(filesDir).sort(), files, 'the test leaves nothing behind');

    // A folder of files that is gone: the check says which, and the fix offered is Edit Backup Target.
    const gone = path.join(temp.make('gone'), 'missing');
    await setSetting('exitPlan.backups.targets', [
      ...after,
      { name: 'Gone media', dir: filesDir, folders: [{ name: 'gone', path: gone }] },
    ]);
    const failing = new ScriptedUser();
    const buttons = recordErrorButtons();
    await vscode.commands.executeCommand('exitPlan.testBackupTarget', { targetName: 'Gone media' });
    failing.done();
    assert.deepEqual(
      failing.shown.map((m) => m.severity),
      ['error'],
    );
    assert.match(
      failing.shown[0].message,
      /^Backup target "Gone media" failed 1 of 3 checks: The folder of files "gone" \(.+missing\) does not exist\.$/,
    );
    assert.deepEqual(buttons, [['Edit Backup Target', 'Show Log']]);
    await setSetting('exitPlan.backups.targets', after);
  });

  it('backs up a saved warehouse connection with pg_dump; the dump restores to the same rows', async () => {
    const api = await exitPlan();
    await addWarehouseConnection(CONNECTION, warehouse);
    const current = vscode.workspace.getConfiguration('exitPlan').inspect<unknown[]>('backups.targets')?.globalValue ?? [];
    await setSetting('exitPlan.backups.targets', [...current, { name: DB_TARGET, dir: dbDir, warehouseConnection: CONNECTION }]);

    const target = (await treeItems(api.backupsTree)).find((t) => t.label === DB_TARGET);
    assert.ok(target);
    assert.equal(target.contextValue, 'backupTargetWithDatabase');

    const user = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.backUpNow', target.node);
    user.assertNoErrors();
    user.done();
    assert.equal(user.shown.length, 1);
    const m = new RegExp(
      String.raw`^Backed up "${DB_TARGET}", verified: (postgres_backup_backup_source__${STAMP}\.pg_restore) \(.+\)\.$`,
    ).exec(user.shown[0].message);
    assert.ok(m, user.shown[0].message);
    const dump = path.join(dbDir, m[1]);
    assert.deepEqual(fs.readdirSync(dbDir).sort(), [m[1], `${m[1]}.json`]);
    const sidecar = sidecarOf(dump);
    assert.equal(sidecar.sha256, sha256Of(dump));
    assert.equal(sidecar.postgres?.database, 'backup_source');
    assert.equal(sidecar.postgres?.connection, `${warehouse.user}@${warehouse.host}:${warehouse.port}/backup_source`);
    assert.equal(sidecar.verification?.state, 'verified');

    // pg_restore into a new database: the same rows as the source.
    const pg = await postgres();
    const copy = await pg.createDatabase('backup_restored');
    execFileSync('pg_restore', ['--no-owner', '-h', copy.host, '-p', String(copy.port), '-U', copy.user, '-d', copy.database, dump], {
      env: { ...process.env, PGPASSWORD: copy.password },
      stdio: 'pipe',
    });
    const a = await warehouse.client();
    const b = await pg.client('backup_restored');
    try {
      const want = await tableFingerprint(a, 'Field Data', 'Visits "2024"');
      assert.equal(want.rows, 500);
      assert.deepEqual(await tableFingerprint(b, 'Field Data', 'Visits "2024"'), want);
    } finally {
      await a.end();
      await b.end();
    }

    const groups = await treeItems(api.backupsTree, (await treeItems(api.backupsTree)).find((t) => t.label === DB_TARGET)!.node);
    assert.deepEqual(
      groups.map((g) => [g.label, g.contextValue]),
      [['PostgreSQL backup_source', 'backupGroupPostgres']],
    );
    const backups = await treeItems(api.backupsTree, groups[0].node);
    assert.deepEqual(
      backups.map((b) => b.contextValue),
      ['backupPostgres'],
    );
    assert.match(backups[0].description, / · verified$/);

    const verify = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.verifyBackups', target.node);
    verify.assertNoErrors();
    verify.done();
    assert.deepEqual(
      verify.shown.map((s) => s.severity),
      ['information'],
    );
    assert.match(verify.shown[0].message, /^postgres_backup_backup_source__.* is verified: /);

    // Test Backup Target: the connection with its stored password, and pg_dump against the server.
    const test = new ScriptedUser();
    await vscode.commands.executeCommand('exitPlan.testBackupTarget', target.node);
    test.assertNoErrors();
    test.done();
    assert.equal(test.shown.length, 1);
    const where = `${warehouse.user}@${warehouse.host}:${warehouse.port}/backup_source`;
    assert.match(
      test.shown[0].message,
      new RegExp(
        `^Backup target "${DB_TARGET}" is ready to back up: ✓ folder writable · ✓ [\\d.]+ [KMGT]?B free · ` +
          `✓ connected to PostgreSQL [\\d.]+ · ✓ pg_dump [\\d.]+ fits the server\\.$`,
      ),
    );

    // The log holds each check's full sentence, one line each.
    const log = await eventually('the test in the log', () => {
      const file = exitPlanLogFile();
      const text = file ? fs.readFileSync(file, 'utf8') : '';
      return text.includes(`Test of "${DB_TARGET}": ok pg_dump:`) && text;
    });
    assert.ok(log.includes(`Test of "${DB_TARGET}": ok database: Connected to ${where} (PostgreSQL `), 'the connection, in the log');
    assert.match(log, new RegExp(`Test of "${DB_TARGET}": ok folder: The folder .* exists and is writable\\.`));

    // The role's password changed on the server: the test says so and offers the connection's fixes.
    const admin = await pg.client();
    try {
      await admin.query(`ALTER ROLE ${warehouse.user} PASSWORD 'changed-elsewhere'`);
      const failing = new ScriptedUser();
      const buttons = recordErrorButtons();
      await vscode.commands.executeCommand('exitPlan.testBackupTarget', target.node);
      failing.done();
      assert.deepEqual(
        failing.shown.map((m) => m.severity),
        ['error'],
      );
      assert.match(
        failing.shown[0].message,
        new RegExp(`^Backup target "${DB_TARGET}" failed 1 of 4 checks: PostgreSQL refused the password for user "${warehouse.user}"`),
      );
      assert.deepEqual(buttons, [['Edit Connection', 'Update Password', 'Show Log']]);
      assert.ok(!failing.shown[0].message.includes(warehouse.password), 'no password in the message');
    } finally {
      await admin.query(`ALTER ROLE ${warehouse.user} PASSWORD '${warehouse.password}'`);
      await admin.end();
    }
  });
});
