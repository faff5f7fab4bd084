// The Backups view in the real extension host: a files target added through Add Backup Target, a pg_dump
// target (from the setting) backing up a warehouse connection saved through its command; Back Up Now writes
// the backup and its checksum sidecar, the tree shows it, Verify Backups checks it (and catches a flipped byte).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { listFiles, tableFingerprint } from '../../helpers/archive';
import { sha256Of } from '../../helpers/backups';
import { postgres } from '../../helpers/postgres';
import {
  ScriptedUser,
  SettingsSnapshot,
  TempDirs,
  addWarehouseConnection,
  exitPlan,
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

  it('adds a files target through its prompts; Back Up Now writes a tar and its sidecar; the tree shows it; Verify checks it', async () => {
    const api = await exitPlan();
    const user = new ScriptedUser().answer(
      { when: /^Add Backup Target \(1\/5\): name \| A name for this target/, answer: FILES_TARGET },
      { when: /^Add Backup Target \(2\/5\): the folder the backups go into \| Back Up Here$/, answer: filesDir },
      { when: /^Add Backup Target \(3\/5\): database to back up with pg_dump/, answer: 'No database' },
      { when: /^Add Backup Target \(4\/5\): folders of files to archive \(0 so far\)$/, answer: '$(add) Add a folder of files…' },
      { when: /^Archive This Folder$/, answer: media },
      { when: /^Name for .* in backup file names/, answer: 'field-media' },
      { when: /^Add Backup Target \(4\/5\): folders of files to archive \(1 so far\)$/, answer: '$(check) Done' },
      { when: /^Add Backup Target \(5\/5\): schedule \| Cron expression/, answer: '' },
      { when: /^Rotation: which backups to keep$/, answer: 'No rotation' },
    );
    await vscode.commands.executeCommand('exitPlan.addBackupTarget');
    assert.deepEqual(user.shown, [{ severity: 'information', message: `Backup target "${FILES_TARGET}" added.` }]);
    user.done();
    const saved = vscode.workspace.getConfiguration('exitPlan').inspect<{ name: string }[]>('backups.targets')?.globalValue ?? [];
    assert.deepEqual(
      saved.filter((t) => t.name === FILES_TARGET),
      [{ name: FILES_TARGET, dir: filesDir, folders: [{ name: 'field-media', path: media }] }],
    );

    let target = (await treeItems(api.backupsTree)).find((t) => t.label === FILES_TARGET);
    assert.ok(target);
    assert.equal(target.contextValue, 'backupTarget');
    assert.deepEqual(
      (await treeItems(api.backupsTree, target.node)).map((c) => [c.contextValue, c.label]),
      [['backupInfo', `No backups yet in ${filesDir}`]],
    );

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
  });
});
