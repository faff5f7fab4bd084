// The `exit-plan backups …` contract, spawned as a user (or cron) runs it: node dist/cli.js, password in PGPASSWORD.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { backups, type PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tempDir } from './helpers/archive';
import { CLI, databaseExists, databaseFingerprints, runCli, sha256Of } from './helpers/backups';
import { postgres } from './helpers/postgres';

describe('backups: CLI contract', () => {
  let source: PgConnectionOptions;
  let client: Client;
  let admin: Client;
  let env: Record<string, string>;
  let dir: string;
  let dump: string;

  before(async function () {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first');
    const pg = await postgres();
    source = await pg.createDatabase('backups_cli');
    client = await pg.client('backups_cli');
    await client.query(`CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites VALUES (1, 'Nairobi'), (2, 'Kisumu');
      CREATE TABLE visits (id serial PRIMARY KEY, site int REFERENCES sites, at timestamptz);
      INSERT INTO visits (site, at) SELECT 1 + g % 2, '2024-01-01'::timestamptz + g * interval '1 hour' FROM generate_series(1, 500) g;`);
    admin = await pg.client('postgres');
    env = { PGPASSWORD: source.password! };
    dir = tempDir('exit-plan-backups-cli-');
  });

  after(async () => {
    await client?.end();
    await admin?.end();
  });

  it('create --db URL --dir DIR --json prints { file, bytes, sha256 }; without --json only the path', async () => {
    const r = await runCli(['backups', 'create', '--db', connectionUrl(source), '--dir', dir, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { file: string; bytes: number; sha256: string };
    assert.deepEqual(Object.keys(out), ['file', 'bytes', 'sha256']);
    assert.match(path.basename(out.file), /^postgres_backup_backups_cli__\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}\.pg_restore$/);
    assert.ok(path.isAbsolute(out.file));
    assert.equal(out.bytes, fs.statSync(out.file).size);
    assert.equal(out.sha256, sha256Of(out.file));
    dump = out.file;

    const plain = await runCli(['backups', 'create', '--db', connectionUrl(source), '--dir', dir, '--quiet'], env);
    assert.equal(plain.code, 0, plain.stderr);
    const second = plain.stdout.trim();
    assert.ok(fs.existsSync(second), second);
    assert.notEqual(second, dump, 'a second backup in the same minute gets its own name, never overwriting');
    assert.equal(plain.stderr, '');
  });

  it('create says what went wrong in one line and leaves nothing behind', async () => {
    const empty = tempDir('exit-plan-backups-cli-');
    const r = await runCli(['backups', 'create', '--db', connectionUrl(source), '--dir', empty], { PGPASSWORD: 'wrong' });
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr.trim().split('\n').pop(),
      'exit-plan: PostgreSQL refused the password for user "postgres" (wrong password); no backup was written.',
    );
    assert.deepEqual(listFiles(empty), []);
  });

  it('create-files --source DIR --name NAME --dir DIR --json', async () => {
    const media = tempDir('exit-plan-media-');
    fs.mkdirSync(path.join(media, 'form-1'));
    fs.writeFileSync(path.join(media, 'form-1', 'photo.jpg'), Buffer.alloc(2048, 7));
    const r = await runCli(['backups', 'create-files', '--source', media, '--name', 'kobocat', '--dir', dir, '--gzip', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { file: string; bytes: number; sha256: string };
    assert.deepEqual(Object.keys(out), ['file', 'bytes', 'sha256']);
    assert.match(path.basename(out.file), /^kobocat_media__\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}\.tar\.gz$/);
    assert.equal(out.sha256, sha256Of(out.file));
  });

  it('list --dir DIR --json lists every backup, newest first, with its state', async () => {
    const r = await runCli(['backups', 'list', '--dir', dir, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { backups: { name: string; kind: string; bytes: number; sha256: string; state: string }[] };
    assert.equal(out.backups.length, 3);
    assert.deepEqual(out.backups.map((b) => b.kind).sort(), ['files', 'postgres', 'postgres']);
    for (const b of out.backups) {
      assert.equal(b.state, 'unverified');
      assert.match(b.sha256, /^[0-9a-f]{64}$/);
    }
    const text = await runCli(['backups', 'list', '--dir', dir]);
    assert.equal(text.stdout.trim().split('\n').length, 3);
  });

  it('verify --dir DIR --json verifies and records; a damaged backup makes it exit 1', async () => {
    const r = await runCli(['backups', 'verify', '--dir', dir, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { results: { state: string }[]; verified: number; failed: number };
    assert.deepEqual([out.verified, out.failed], [3, 0]);
    const listed = JSON.parse((await runCli(['backups', 'list', '--dir', dir, '--json'])).stdout) as { backups: { state: string }[] };
    assert.deepEqual(
      listed.backups.map((b) => b.state),
      ['verified', 'verified', 'verified'],
    );

    const damaged = tempDir('exit-plan-backups-cli-');
    const copy = path.join(damaged, path.basename(dump));
    fs.copyFileSync(dump, copy);
    fs.copyFileSync(`${dump}.json`, `${copy}.json`);
    fs.appendFileSync(copy, 'garbage');
    const bad = await runCli(['backups', 'verify', '--dir', damaged, '--json']);
    assert.equal(bad.code, 1);
    assert.equal((JSON.parse(bad.stdout) as { failed: number }).failed, 1);
    assert.match(bad.stderr, /^exit-plan: 1 of 1 backup failed verification \(first: postgres_backup_backups_cli__.*\)\.\n$/);
  });

  it('restore FILE --db URL refuses without --yes, changing nothing; with --yes it restores', async () => {
    const pg = await postgres();
    const target = await pg.createDatabase('backups_cli_target');
    const t = await pg.client('backups_cli_target');
    try {
      await t.query(`CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites VALUES (9, 'not from the backup')`);
      const before = await databaseFingerprints(t);
      const refused = await runCli(['backups', 'restore', dump, '--db', connectionUrl(target)], env);
      assert.equal(refused.code, 1);
      assert.equal(
        refused.stderr,
        `exit-plan: Restoring replaces the contents of database "backups_cli_target" on 127.0.0.1:${target.port}: ` +
          'run again with --yes to confirm ' +
          `(a restore drill, "exit-plan backups drill FILE --db URL", tries the backup without touching it); nothing was changed.\n`,
      );
      assert.equal(refused.stdout, '');
      assert.deepEqual(await databaseFingerprints(t), before);

      const r = await runCli(['backups', 'restore', dump, '--db', connectionUrl(target), '--yes', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { tables: number; replaced: { relations: number } };
      assert.equal(out.tables, 2);
      assert.equal(out.replaced.relations, 1);
      assert.deepEqual(await databaseFingerprints(t), await databaseFingerprints(client));
    } finally {
      await t.end();
    }
  });

  it('drill FILE --db URL --json reports row counts side by side and drops the scratch database', async () => {
    const r = await runCli(['backups', 'drill', dump, '--db', connectionUrl(source), '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as backups.DrillReport;
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.tables.map((t) => [t.name, t.backupRows, t.sourceRows, t.match]),
      [
        ['sites', 2, 2, true],
        ['visits', 500, 500, true],
      ],
    );
    assert.equal(await databaseExists(admin, report.scratchDatabase), false);
    const text = await runCli(['backups', 'drill', dump, '--db', connectionUrl(source)], env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /public\.visits\s+500\s+500\s+same/);
  });

  it('rotate previews with --dry-run (keep/remove and reasons), removes without it, and refuses an empty policy', async () => {
    const folder = tempDir('exit-plan-backups-rotate-');
    // Ten days of nightly backups with real sidecars.
    const names: string[] = [];
    for (let d = 1; d <= 10; d++) {
      const name = backups.postgresBackupName('kobo', new Date(Date.UTC(2024, 3, d, 2, 0)));
      const file = path.join(folder, name);
      fs.writeFileSync(file, `backup ${d}`);
      await backups.writeSidecar(file, {
        format: 'exit-plan-backup',
        version: 1,
        file: name,
        kind: 'postgres',
        bytes: fs.statSync(file).size,
        sha256: sha256Of(file),
        createdAt: new Date(Date.UTC(2024, 3, d, 2, 0)).toISOString(),
        durationMs: 1,
        tool: 'test',
      });
      names.push(name);
    }
    fs.writeFileSync(path.join(folder, 'notes.txt'), 'not a backup');

    const preview = await runCli(['backups', 'rotate', '--dir', folder, '--keep-last', '3', '--keep-weekly', '2', '--dry-run', '--json']);
    assert.equal(preview.code, 0, preview.stderr);
    const plan = JSON.parse(preview.stdout) as {
      dryRun: boolean;
      files: { name: string; action: string; reasons: string[] }[];
      removed: string[];
    };
    assert.equal(plan.dryRun, true);
    assert.deepEqual(
      plan.files.map((f) => [f.name.slice(22, 32), f.action, f.reasons]),
      [
        ['2024.04.10', 'keep', ['keep-last', 'keep-weekly']],
        ['2024.04.09', 'keep', ['keep-last']],
        ['2024.04.08', 'keep', ['keep-last']],
        ['2024.04.07', 'keep', ['keep-weekly']], // Sunday: the newest of the week before (weeks run Monday to Sunday)
        ['2024.04.06', 'remove', []],
        ['2024.04.05', 'remove', []],
        ['2024.04.04', 'remove', []],
        ['2024.04.03', 'remove', []],
        ['2024.04.02', 'remove', []],
        ['2024.04.01', 'remove', []],
      ],
    );
    assert.deepEqual(plan.removed, []);
    assert.equal(listFiles(folder).length, 21, 'a dry run changes nothing');

    const text = await runCli(['backups', 'rotate', '--dir', folder, '--keep-last', '3', '--keep-weekly', '2', '--dry-run']);
    assert.match(text.stdout, /Would remove 6 backups \(\d+ B\), keeping 4\./);

    const empty = await runCli(['backups', 'rotate', '--dir', folder]);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /^exit-plan: The rotation policy is empty: give at least one of keep-last/);
    const zero = await runCli(['backups', 'rotate', '--dir', folder, '--keep-daily', '0']);
    assert.equal(zero.code, 1);
    assert.equal(listFiles(folder).length, 21);

    const done = await runCli(['backups', 'rotate', '--dir', folder, '--keep-last', '3', '--keep-weekly', '2', '--json']);
    assert.equal(done.code, 0, done.stderr);
    assert.equal((JSON.parse(done.stdout) as { removed: string[] }).removed.length, 6);
    assert.deepEqual(listFiles(folder), [...names.slice(6).flatMap((n) => [n, `${n}.json`]), 'notes.txt'].sort());
  });

  it('cron prints a crontab line for backups create, without the password; a bad schedule is refused', async () => {
    const r = await runCli(
      [
        'backups',
        'cron',
        '--dir',
        dir,
        '--db',
        `postgres://postgres:${source.password}@127.0.0.1:${source.port}/backups_cli?sslmode=disable`,
        '--schedule',
        '0 2 * * 0',
        '--keep-daily',
        '7',
      ],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!r.stdout.includes(source.password!), 'no password in the crontab line');
    const line = r.stdout.split('\n').find((l) => !l.startsWith('#') && l.trim() !== '')!;
    assert.equal(
      line,
      `0 2 * * 0 ${process.execPath} ${fs.realpathSync(CLI)} backups create --db 'postgres://postgres@127.0.0.1:${source.port}/backups_cli?sslmode=disable' --dir ${dir} --quiet` +
        ` && ${process.execPath} ${fs.realpathSync(CLI)} backups rotate --dir ${dir} --keep-daily 7`,
    );
    assert.match(r.stdout, /^# .*\.pgpass/m);

    const bad = await runCli(['backups', 'cron', '--dir', dir, '--db', connectionUrl(source), '--schedule', '0 2 * * 8']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^exit-plan: The schedule "0 2 \* \* 8" is not a valid cron expression \(.*\): use five fields/);
    assert.equal(bad.stdout, '');
  });
});
