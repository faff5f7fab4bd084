// The backups core that the CLI and VS Code share (issue 11): a whole target's backup, the "due" rule of the
// scheduler, target definitions read from plain data, partial outcomes, and the progress text of each operation.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, backups } from '../src/exporters';
import { tempDir } from './helpers/archive';

function folderOfFiles(): string {
  const dir = tempDir('exit-plan-core-src-');
  fs.mkdirSync(path.join(dir, 'a'));
  fs.writeFileSync(path.join(dir, 'a', 'one.txt'), 'one\n');
  fs.writeFileSync(path.join(dir, 'two.bin'), Buffer.alloc(50_000, 7));
  return dir;
}

describe('backups core: a whole target', () => {
  it('backUpTarget archives each folder, verifies each when asked, and reports every step of its progress', async () => {
    const dir = tempDir('exit-plan-core-');
    const folders = [
      { name: 'media', path: folderOfFiles() },
      { name: 'uploads', path: folderOfFiles() },
    ];
    const steps: string[] = [];
    const written: string[] = [];
    const result = await backups.backUpTarget({
      target: { name: 'server', dir, folders, gzip: false, blocking: [] },
      verify: true,
      onBackup: (r) => written.push(r.file),
      onProgress: (p) => {
        if (!p.backup && !p.verify) steps.push(`${p.index}/${p.count} ${backups.describeTargetBackupProgress(p)}`);
        const f = backups.targetBackupProgressFraction(p);
        assert.ok(f >= 0 && f <= 1, `fraction ${f}`);
      },
    });
    assert.equal(result.ok, true, result.message);
    assert.equal(result.message, '2 backups written and verified.');
    assert.deepEqual(
      result.backups.map((b) => path.basename(b.file).replace(/__.*/, '')),
      ['media_media', 'uploads_media'],
    );
    assert.deepEqual(
      written,
      result.backups.map((b) => b.file),
    );
    assert.deepEqual(
      result.verifications.map((v) => v.state),
      ['verified', 'verified'],
    );
    assert.deepEqual(steps, [
      `1/4 Archiving ${folders[0].path}…`,
      `2/4 Archiving ${folders[1].path}…`,
      `3/4 Verifying ${path.basename(result.backups[0].file)}…`,
      `4/4 Verifying ${path.basename(result.backups[1].file)}…`,
    ]);
  });

  it('backUpTarget refuses a target with a blocking problem before it writes anything', async () => {
    const dir = tempDir('exit-plan-core-');
    await assert.rejects(
      backups.backUpTarget({
        target: { name: 'x', dir, folders: [], gzip: false, blocking: ['Backup target "x" has nothing to back up.'] },
      }),
      (err: Error) => err instanceof ExitPlanError && err.message === 'Backup target "x" has nothing to back up.',
    );
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('backUpTarget stops on its signal with CancelledError and leaves no partial file', async () => {
    const dir = tempDir('exit-plan-core-');
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      backups.backUpTarget({
        target: { name: 'x', dir, folders: [{ name: 'media', path: folderOfFiles() }], gzip: true, blocking: [] },
        signal: controller.signal,
      }),
      CancelledError,
    );
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith('.partial') || f.includes('_media__')),
      [],
    );
  });
});

describe('backups core: partial outcomes', () => {
  it('verify returns failed (checked: false) for a file it cannot check, and verifyBackups verifies only the files given', async () => {
    const dir = tempDir('exit-plan-core-');
    const stranger = path.join(dir, 'notes.txt');
    fs.writeFileSync(stranger, 'x');
    const odd = await backups.verifyBackup(stranger);
    assert.deepEqual([odd.state, odd.checked, odd.recorded, odd.kind], ['failed', false, false, undefined]);
    assert.match(odd.message, /is not a backup made by Exit Plan \(its name is not postgres_backup_/);
    const missing = await backups.verifyBackup(path.join(dir, 'media_media__2024.05.15.02_00.tar'));
    assert.deepEqual([missing.state, missing.checked, missing.kind], ['failed', false, 'files']);
    assert.match(missing.message, /^The backup .* does not exist\.$/);

    const made = await backups.createFilesBackup({ source: folderOfFiles(), name: 'media', dir });
    const lines: string[] = [];
    const results = await backups.verifyBackups(dir, { files: [made.file, stranger], log: (l) => lines.push(l) });
    assert.deepEqual(
      results.map((r) => [r.state, r.checked]),
      [
        ['verified', true],
        ['failed', false],
      ],
    );
    assert.equal(lines.length, 2);
  });
});

describe('backups core: the "due" rule', () => {
  const daily = '0 2 * * *';
  const now = new Date(2024, 4, 15, 2, 30);
  it('when the schedule fires: due unless a backup was made in or after the scheduled minute', () => {
    assert.equal(backups.isDue(daily, undefined, { catchingUp: false, now }), true);
    assert.equal(backups.isDue(daily, new Date(2024, 4, 14, 2, 0), { catchingUp: false, now }), true);
    assert.equal(backups.isDue(daily, new Date(2024, 4, 15, 2, 0, 40), { catchingUp: false, now }), false);
    assert.equal(backups.isDue(daily, new Date(2024, 4, 15, 2, 10), { catchingUp: false, now }), false);
  });
  it('when catching up after start-up: only once overdue (past the grace period)', () => {
    const yesterday = new Date(2024, 4, 14, 2, 0);
    assert.equal(backups.isDue(daily, yesterday, { catchingUp: true, now: new Date(2024, 4, 15, 2, 20) }), false);
    assert.equal(backups.isDue(daily, yesterday, { catchingUp: true, now: new Date(2024, 4, 15, 3, 30) }), true);
    assert.equal(backups.isDue(daily, new Date(2024, 4, 15, 2, 1), { catchingUp: true, now: new Date(2024, 4, 15, 9, 0) }), false);
  });
});

describe('backups core: target definitions', () => {
  it('parseBackupTarget reads a good entry, expanding ~, with no problems', () => {
    const t = backups.parseBackupTarget({
      name: ' kobo ',
      dir: '~/backups',
      warehouseConnection: 'prod',
      folders: [{ name: 'media', path: '/srv/media' }],
      schedule: '0 2 * * *',
      gzip: true,
      rotation: { keepDaily: 7, keepWeekly: 4 },
      minSizeBytes: 1000,
    });
    assert.ok(t);
    assert.equal(t.name, 'kobo');
    assert.equal(t.dir, path.join(os.homedir(), 'backups'));
    assert.deepEqual(t.folders, [{ name: 'media', path: '/srv/media' }]);
    assert.equal(t.gzip, true);
    assert.equal(t.rotation?.keepDaily, 7);
    assert.equal(t.rotation?.minSizeBytes, 1000);
    assert.deepEqual([t.problems, t.blocking], [[], []]);
  });

  it('parseBackupTarget notes each problem, blocking only what stops a backup, and skips an entry without a name', () => {
    assert.equal(backups.parseBackupTarget({ dir: '/x' }), undefined);
    assert.equal(backups.parseBackupTarget('kobo'), undefined);
    const t = backups.parseBackupTarget({
      name: 'bad',
      dir: 'relative/dir',
      folders: [{ name: 'no spaces please', path: '/srv' }, { name: 'ok' }],
      schedule: '0 2 * *',
      rotation: { keepDaily: 'seven', keepWithin: 'forever' },
    });
    assert.ok(t);
    assert.deepEqual(t.blocking, [
      'Backup target "bad": the folder "relative/dir" must be an absolute path (or start with ~).',
      t.blocking[1],
      'Backup target "bad": every entry of "folders" needs a name and a path.',
      'Backup target "bad" has nothing to back up: set "warehouseConnection", "folders" and/or "commands".',
    ]);
    assert.match(t.blocking[1], /^Backup target "bad": /);
    assert.equal(t.problems.length, 6);
    assert.match(t.problems[3], /^Backup target "bad": The schedule "0 2 \* \*" is not a cron expression/);
    assert.match(t.problems[4], /^Backup target "bad": The duration "forever" is not valid/);
    assert.equal(t.problems[5], t.blocking[3]);
    assert.equal(t.rotation, undefined);
    assert.equal(t.schedule, '0 2 * *');
  });
});

describe('backups core: progress text', () => {
  it('describes each operation in the one line the CLI and VS Code show', () => {
    assert.equal(backups.describeBackupProgress({ phase: 'connecting', bytes: 0 }), 'Connecting…');
    assert.equal(
      backups.describeBackupProgress({ phase: 'dumping', bytes: 41_000_000, tableIndex: 3, tableCount: 12, table: 'public.orders' }),
      'pg_dump: table 3/12 public.orders — 41.0 MB written',
    );
    assert.equal(
      backups.describeBackupProgress({ phase: 'archiving', bytes: 3_100_000, entries: 1204 }),
      'Archiving — 1,204 entries, 3.1 MB written',
    );
    assert.equal(backups.describeBackupProgress({ phase: 'checksum', bytes: 2000 }), 'Checksum — 2.0 KB read');
    assert.equal(
      backups.describeVerifyProgress({ file: '/b/media_media__2024.05.15.02_00.tar', bytes: 500, total: 1000, index: 2, count: 4 }),
      'Verifying media_media__2024.05.15.02_00.tar — 500 B of 1.0 KB',
    );
    assert.equal(backups.verifyProgressFraction({ file: 'f', bytes: 500, total: 1000, index: 2, count: 4 }), 1.5 / 4);
    assert.equal(backups.describeRestoreProgress({ phase: 'verifying', tables: 0, bytes: 2000 }), 'Verifying — 2.0 KB');
    assert.equal(
      backups.describeRestoreProgress({ phase: 'restoring', tables: 1, table: 'public.a' }),
      'Restoring — 1 table loaded, public.a',
    );
    assert.equal(backups.describeRestoreProgress({ phase: 'inspecting', tables: 0 }), 'inspecting');
    assert.equal(
      backups.describePreflightProgress({ phase: 'verifying', tables: 0, bytes: 1000, total: 2000 }),
      'Verifying — 1.0 KB of 2.0 KB',
    );
    assert.equal(backups.describePreflightProgress({ phase: 'inspecting', tables: 0 }), 'Listing the tables it would replace…');
    assert.equal(
      backups.describeDrillProgress({ phase: 'restoring', tables: 3, table: 'public.orders' }),
      'Drill: restoring public.orders (3)',
    );
    assert.equal(backups.describeDrillProgress({ phase: 'creating', tables: 0 }), 'Drill: creating');
  });
});
