// Backups of a real PostgreSQL 15 with Debian's pg_dump / pg_restore: round trip, drills, verification,
// refusals, and cancel / kill halfway.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { CancelledError, ExitPlanError, backups, type PgConnectionOptions } from '../src/exporters';
import { AWKWARD_SQL, AWKWARD_TABLES } from './fixtures/awkward';
import { listFiles, tempDir } from './helpers/archive';
import { databaseExists, databaseFingerprints, processesMatching, sha256Of } from './helpers/backups';
import { postgres } from './helpers/postgres';

/** Rows in the table that makes a dump take long enough (a few seconds) to interfere with it. */
const BIG_ROWS = 400_000;

describe('backups: PostgreSQL (pg_dump / pg_restore)', () => {
  let source: PgConnectionOptions;
  let big: PgConnectionOptions;
  let admin: Client;
  let sourceClient: Client;
  /** A good backup of `source`, made by the first test and copied by later ones. */
  let backup: string;
  let backupDir: string;

  before(async () => {
    const pg = await postgres();
    source = await pg.createDatabase('backups_source');
    sourceClient = await pg.client('backups_source');
    await sourceClient.query(AWKWARD_SQL);
    big = await pg.createDatabase('backups_big');
    const c = await pg.client('backups_big');
    await c.query(`CREATE TABLE public.events (id bigint PRIMARY KEY, payload text);
      INSERT INTO public.events SELECT g, md5(g::text) || md5((g * 7)::text) || repeat(' lorem ipsum', 4)
        FROM generate_series(1, ${BIG_ROWS}) g;`);
    await c.end();
    admin = await pg.client('postgres');
  });

  after(async () => {
    await sourceClient?.end();
    await admin?.end();
  });

  it('backs up, then restores into a fresh database: every table identical', async () => {
    backupDir = tempDir('exit-plan-backups-');
    const phases = new Set<string>();
    const result = await backups.createPostgresBackup({ connection: source, dir: backupDir, onProgress: (p) => phases.add(p.phase) });
    backup = result.file;
    assert.match(path.basename(backup), /^postgres_backup_backups_source__\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}\.pg_restore$/);
    assert.deepEqual(
      listFiles(backupDir),
      [path.basename(backup), `${path.basename(backup)}.json`],
      'the backup and its sidecar, no partial file',
    );
    const sidecar = JSON.parse(fs.readFileSync(`${backup}.json`, 'utf8')) as backups.Sidecar;
    assert.equal(sidecar.sha256, sha256Of(backup));
    assert.equal(sidecar.bytes, fs.statSync(backup).size);
    assert.equal(sidecar.kind, 'postgres');
    assert.equal(sidecar.postgres?.database, 'backups_source');
    assert.match(sidecar.postgres?.pgDumpVersion ?? '', /^15\./);
    assert.ok(!JSON.stringify(sidecar).includes(source.password!), 'no password in the sidecar');
    assert.ok(phases.has('dumping') && phases.has('checksum') && phases.has('done'), [...phases].join());

    const pg = await postgres();
    const fresh = await pg.createDatabase('backups_restored');
    const restored = await backups.restoreBackup({ file: backup, connection: fresh, confirmDatabase: 'backups_restored' });
    assert.equal(restored.preflight.target.tables.length, 0, 'the fresh database held nothing');
    const want = await databaseFingerprints(sourceClient);
    // Every table of the awkward warehouse is compared (the partitioned one through its partitions).
    for (const t of AWKWARD_TABLES.filter((n) => n !== 'public.measurements')) assert.ok(t in want, t);
    assert.ok('public.submission_counts' in want && 'Field Data.measurements_2024' in want);
    const target = await pg.client('backups_restored');
    try {
      assert.deepEqual(await databaseFingerprints(target), want);
      // Restoring again over a changed copy puts every table back (--clean --if-exists).
      await target.query(
        `DELETE FROM public.form_submissions WHERE form = 'water point'; UPDATE public.alerts SET message = 'changed';
         DROP TABLE public.empty_table`,
      );
      assert.notDeepEqual(await databaseFingerprints(target), want);
      const again = await backups.restoreBackup({ file: backup, connection: fresh, confirmDatabase: 'backups_restored' });
      assert.ok(again.preflight.target.tables.length > 0, 'the pre-flight listed what would be replaced');
      assert.deepEqual(await databaseFingerprints(target), want);
    } finally {
      await target.end();
    }
  });

  it('restore without the database name as confirmation changes nothing', async () => {
    const pg = await postgres();
    const victim = await pg.createDatabase('backups_unconfirmed');
    const c = await pg.client('backups_unconfirmed');
    try {
      await c.query(`CREATE TABLE keep_me (id int); INSERT INTO keep_me VALUES (1), (2)`);
      const before = await databaseFingerprints(c);
      for (const confirmDatabase of [undefined, '', 'backups_source', 'BACKUPS_UNCONFIRMED']) {
        await assert.rejects(backups.restoreBackup({ file: backup, connection: victim, confirmDatabase }), (err: Error) => {
          assert.ok(err instanceof ExitPlanError);
          assert.equal(
            err.message,
            `Restoring replaces the contents of database "backups_unconfirmed" on 127.0.0.1:${victim.port}, ` +
              `so it needs that name as confirmation; nothing was changed.`,
          );
          return true;
        });
      }
      assert.deepEqual(await databaseFingerprints(c), before);
    } finally {
      await c.end();
    }
  });

  it('a restore that fails halfway leaves the database as it was (one transaction)', async () => {
    const pg = await postgres();
    const target = await pg.createDatabase('backups_failing_restore');
    const c = await pg.client('backups_failing_restore');
    try {
      // A view of this database depends on a table the backup replaces: DROP TABLE fails inside the restore.
      await c.query(`CREATE TABLE public.alerts (id bigint PRIMARY KEY, note text); INSERT INTO public.alerts VALUES (7, 'mine');
        CREATE VIEW public.my_alerts AS SELECT * FROM public.alerts;
        CREATE TABLE public.other (id int); INSERT INTO public.other VALUES (1), (2)`);
      const before = await databaseFingerprints(c);
      await assert.rejects(
        backups.restoreBackup({ file: backup, connection: target, confirmDatabase: 'backups_failing_restore' }),
        (err: Error) => {
          assert.match(
            err.message,
            /^pg_restore failed \(exit 1\): .*depend.*; the restore ran in one transaction, so database "backups_failing_restore" was left as it was\.$/,
          );
          return true;
        },
      );
      assert.deepEqual(await databaseFingerprints(c), before);
      const views = await c.query(`SELECT count(*)::int AS n FROM pg_views WHERE schemaname = 'public' AND viewname = 'my_alerts'`);
      assert.equal(views.rows[0].n, 1);
    } finally {
      await c.end();
    }
  });

  it('a restore drill restores into a scratch database, reports matching counts, drops it and records the date', async () => {
    const report = await backups.restoreDrill({ file: backup, connection: source });
    assert.equal(report.ok, true, report.message);
    assert.match(report.message, /^The backup restored into a scratch database and all \d+ tables have the source's row counts\.$/);
    const names = report.tables.map((t) => `${t.schema}.${t.name}`);
    for (const t of AWKWARD_TABLES) assert.ok(names.includes(t), `${t} in ${names.join(', ')}`);
    const submissions = report.tables.find((t) => t.name === 'form_submissions')!;
    assert.deepEqual(submissions, { schema: 'public', name: 'form_submissions', backupRows: 5, sourceRows: 5, match: true });
    assert.equal(report.tables.find((t) => t.name === 'big_parts')?.backupRows, 25);
    assert.match(report.scratchDatabase, /^exit_plan_drill_backups_source_\d{12}_[0-9a-f]{6}$/);
    assert.equal(await databaseExists(admin, report.scratchDatabase), false, 'the scratch database was dropped');
    const sidecar = JSON.parse(fs.readFileSync(`${backup}.json`, 'utf8')) as backups.Sidecar;
    assert.equal(sidecar.drill?.ok, true);
    assert.equal(sidecar.verification?.state, 'verified');
    const state = await backups.readFolderState(backupDir);
    assert.equal(state.drills.backups_source?.lastSuccessful?.at, report.startedAt);
    const summary = await backups.targetReport({ name: 't', dir: backupDir });
    assert.equal(summary.lastSuccessfulDrill?.at, report.startedAt);
  });

  it('a drill says which tables differ from the source, and does not count as successful', async () => {
    const pg = await postgres();
    const drifting = await pg.createDatabase('backups_drifting');
    const c = await pg.client('backups_drifting');
    try {
      await c.query(`CREATE TABLE readings (id int PRIMARY KEY, v real);
        INSERT INTO readings SELECT g, g / 10.0 FROM generate_series(1, 50) g;
        CREATE TABLE stable (id int); INSERT INTO stable VALUES (1)`);
      const dir = tempDir('exit-plan-backups-');
      const { file } = await backups.createPostgresBackup({ connection: drifting, dir });
      await c.query(`INSERT INTO readings VALUES (51, 5.1), (52, 5.2); CREATE TABLE added_later (id int)`);
      const report = await backups.restoreDrill({ file, connection: drifting });
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.tables.map((t) => [t.name, t.backupRows, t.sourceRows, t.match]),
        [
          ['added_later', null, 0, false],
          ['readings', 50, 52, false],
          ['stable', 1, 1, true],
        ],
      );
      assert.match(
        report.message,
        /^The backup restored into a scratch database, but 2 of 3 tables differ from the source \(first: public\.added_later, missing rows in the backup, 0 in the source\); the source may have changed since the backup of .* UTC\.$/,
      );
      const state = await backups.readFolderState(dir);
      assert.equal(state.drills.backups_drifting?.last?.ok, false);
      assert.equal(state.drills.backups_drifting?.lastSuccessful, undefined);
      assert.equal(await databaseExists(admin, report.scratchDatabase), false);
    } finally {
      await c.end();
    }
  });

  it('a truncated or corrupt backup fails verification (recorded in its sidecar) and is refused by restore and drill', async () => {
    const ok = await backups.verifyBackup(backup);
    assert.equal(ok.state, 'verified', ok.message);
    assert.match(ok.message, /^Checksum matches and pg_restore lists its contents \(\d+ entries\)\.$/);

    const pg = await postgres();
    const target = await pg.createDatabase('backups_refused');
    const c = await pg.client('backups_refused');
    try {
      await c.query(`CREATE TABLE precious (id int); INSERT INTO precious VALUES (42)`);
      const before = await databaseFingerprints(c);
      const cases: [string, (file: string) => void, RegExp][] = [
        [
          'truncated',
          (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2)),
          /^The file is [\d,]+ bytes but was [\d,]+ bytes when written: it was truncated or changed\.$/,
        ],
        [
          'corrupt',
          (f) => {
            const buf = fs.readFileSync(f);
            buf[Math.floor(buf.length / 2)] ^= 0xff;
            fs.writeFileSync(f, buf);
          },
          /^The SHA-256 checksum does not match the one recorded when it was written: the file is corrupt or was changed\.$/,
        ],
      ];
      for (const [label, damage, why] of cases) {
        const dir = tempDir('exit-plan-backups-');
        const copy = path.join(dir, path.basename(backup));
        fs.copyFileSync(backup, copy);
        fs.copyFileSync(`${backup}.json`, `${copy}.json`);
        damage(copy);
        const result = await backups.verifyBackup(copy);
        assert.equal(result.state, 'failed', label);
        assert.match(result.message, why, label);
        const sidecar = (await backups.readSidecar(copy))!;
        assert.equal(sidecar.verification?.state, 'failed', `${label}: recorded`);
        assert.equal((await backups.listBackups(dir))[0].state, 'failed', `${label}: listed as failed`);
        await assert.rejects(
          backups.restoreBackup({ file: copy, connection: target, confirmDatabase: 'backups_refused' }),
          (err: Error) => {
            assert.match(
              err.message,
              /^The backup postgres_backup_backups_source__.* failed verification and will not be restored: .*; nothing was changed\.$/,
              label,
            );
            return true;
          },
        );
        // A partial outcome (issue 11): a report with ok: false that says so, not a throw.
        const drill = await backups.restoreDrill({ file: copy, connection: target });
        assert.deepEqual([drill.ok, drill.restored, drill.tables], [false, false, []], label);
        assert.match(drill.message, /^The backup failed verification, so the drill did not restore it/, label);
        assert.deepEqual(await databaseFingerprints(c), before, `${label}: the target is unchanged`);
      }
      // Without a sidecar nothing says what the file should hold: it fails, and restore refuses it.
      const dir = tempDir('exit-plan-backups-');
      const bare = path.join(dir, path.basename(backup));
      fs.copyFileSync(backup, bare);
      const result = await backups.verifyBackup(bare);
      assert.deepEqual([result.state, result.recorded], ['failed', false]);
      await assert.rejects(
        backups.restoreBackup({ file: bare, connection: target, confirmDatabase: 'backups_refused' }),
        /failed verification and will not be restored: No sidecar/,
      );
      assert.deepEqual(await databaseFingerprints(c), before);
    } finally {
      await c.end();
    }
  });

  it('a backup cancelled halfway (AbortSignal) kills pg_dump and leaves no file under a final name, and no partial', async () => {
    const dir = tempDir('exit-plan-backups-');
    const controller = new AbortController();
    let runningWhenAborted = 0;
    let bytesWhenAborted = 0;
    await assert.rejects(
      backups.createPostgresBackup({
        connection: big,
        dir,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'dumping' && p.bytes > 1_000_000 && !controller.signal.aborted) {
            runningWhenAborted = processesMatching('pg_dump', dir).length;
            bytesWhenAborted = p.bytes;
            controller.abort();
          }
        },
      }),
      (err: Error) => {
        assert.ok(err instanceof CancelledError, err.message);
        assert.equal(err.message, 'Backup cancelled; no backup was written and the partial file was removed.');
        return true;
      },
    );
    assert.equal(runningWhenAborted, 1, 'pg_dump was still running when the backup was cancelled');
    assert.ok(bytesWhenAborted > 1_000_000);
    assert.deepEqual(listFiles(dir), []);
    assert.deepEqual(processesMatching('pg_dump', dir), [], 'pg_dump is gone');
  });

  it(
    'a pg_dump killed from outside (SIGKILL) leaves no file under a final name, and no partial; ' +
      'its password was only in the environment',
    async () => {
      const dir = tempDir('exit-plan-backups-');
      let seen: { pid: number; argv: string[]; environ: string[] } | undefined;
      const backupRun = backups.createPostgresBackup({
        connection: big,
        dir,
        onProgress: (p) => {
          if (p.phase === 'dumping' && p.bytes > 1_000_000 && !seen) {
            [seen] = processesMatching('pg_dump', dir);
            if (seen) process.kill(seen.pid, 'SIGKILL');
          }
        },
      });
      await assert.rejects(backupRun, (err: Error) => {
        assert.ok(!(err instanceof CancelledError));
        assert.equal(
          err.message,
          'pg_dump was stopped by SIGKILL before it finished; no backup was written and the partial file was removed.',
        );
        return true;
      });
      assert.ok(seen, 'pg_dump was found running');
      assert.ok(!seen.argv.join(' ').includes(big.password!), 'no password in argv');
      assert.ok(seen.environ.includes(`PGPASSWORD=${big.password}`), 'the password came through the environment');
      assert.ok(
        seen.argv.some((a) => a.endsWith('.pg_restore.partial')),
        'pg_dump wrote to the partial file',
      );
      assert.deepEqual(listFiles(dir), []);
    },
  );

  it('refuses a pg_dump older than the server, and a missing one, in one sentence', async () => {
    assert.throws(
      () =>
        backups.checkPgDumpVersion(
          { text: '14.10', num: 140010, path: '/usr/lib/postgresql/14/bin/pg_dump' },
          { text: '15.18', num: 150018, where: 'db:5432' },
        ),
      {
        message:
          'pg_dump 14.10 (/usr/lib/postgresql/14/bin/pg_dump) is older than the PostgreSQL 15.18 server at db:5432 ' +
          'and cannot back it up: install pg_dump 15 or newer (Debian/Ubuntu: postgresql-client-15) and put it on PATH, ' +
          'or set exitPlan.pgDumpPath (or --pg-dump on the command line) to its full path.',
      },
    );
    assert.throws(
      () => backups.checkPgDumpVersion({ text: '9.6.24', num: 90624, path: 'pg_dump' }, { text: '10.23', num: 100023, where: 'db:5432' }),
      /install pg_dump 10 or newer/,
    );
    assert.throws(
      () => backups.checkPgDumpVersion({ text: '9.5.1', num: 90501, path: 'pg_dump' }, { text: '9.6.2', num: 90602, where: 'db:5432' }),
      /install pg_dump 9\.6 or newer/,
    );
    backups.checkPgDumpVersion({ text: '16.4', num: 160004, path: 'pg_dump' }, { text: '15.18', num: 150018, where: 'db:5432' });
    backups.checkPgDumpVersion({ text: '15.2', num: 150002, path: 'pg_dump' }, { text: '15.18', num: 150018, where: 'db:5432' });
    assert.deepEqual(backups.parseToolVersion('pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)'), { text: '15.18', num: 150018 });
    assert.deepEqual(backups.parseToolVersion('pg_dump (PostgreSQL) 9.6.24'), { text: '9.6.24', num: 90624 });

    const dir = tempDir('exit-plan-backups-');
    await assert.rejects(backups.createPostgresBackup({ connection: source, dir, pgDumpPath: path.join(dir, 'no', 'pg_dump') }), {
      message:
        `pg_dump was not found at ${path.join(dir, 'no', 'pg_dump')} (the configured pg_dump path): ` +
        `check exitPlan.pgDumpPath or --pg-dump.`,
    });
    assert.deepEqual(listFiles(dir), []);
  });

  it('says the password is wrong before starting pg_dump, leaving nothing', async () => {
    const dir = tempDir('exit-plan-backups-');
    await assert.rejects(backups.createPostgresBackup({ connection: { ...source, password: 'wrong' }, dir }), {
      message: 'PostgreSQL refused the password for user "postgres" (wrong password); no backup was written.',
    });
    assert.deepEqual(listFiles(dir), []);
  });
});
