// Issue 10, backups: promises that must hold against unlucky timing, odd names, stray files, full disks,
// special files, stale locks and held locks. Real pg_dump, tar, crontab and a real tmpfs.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import * as os from 'node:os';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { backups, datasets, type PgConnectionOptions } from '../src/exporters';
import { processStartTicks } from '../src/exporters/shared/lock';
import { tempDir } from './helpers/archive';
import { capture, startCapture } from '../scripts/lib/capture';
import { CLI, runCli } from './helpers/backups';
import { postgres } from './helpers/postgres';

/** Backup files (not sidecars) in a folder, sorted. */
function backupNames(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => backups.parseBackupName(n) !== undefined)
    .sort();
}

/** The connection as the CLI takes it (password in PGPASSWORD). */
function dbUrl(c: PgConnectionOptions): string {
  return `postgres://${encodeURIComponent(c.user)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}?sslmode=disable`;
}

/**
 * Synchronised on what the user sees: resolves with the command's stderr so far once it says it waits for a
 * lock (the command itself waits up to the default 60 s); rejects if the command ends first.
 */
function untilWaiting(run: ReturnType<typeof startCapture>): Promise<string> {
  let seen = '';
  return new Promise<string>((resolve, reject) => {
    run.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      seen += d;
      if (/Waiting for a lock/.test(seen)) resolve(seen);
    });
    run.done.then((r) => reject(new Error(`the command ended before it waited: ${r.stderr}`)), reject);
  });
}

const stampOf = (name: string) => /__(\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2})/.exec(name)?.[1];

describe('trust: backups', () => {
  let source: PgConnectionOptions;
  let client: Client;
  let env: Record<string, string>;

  before(async () => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first');
    const pg = await postgres();
    source = await pg.createDatabase('trust_backups');
    client = await pg.client('trust_backups');
    await client.query(
      `CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites SELECT g, 'site ' || g FROM generate_series(1, 200) g;`,
    );
    env = { PGPASSWORD: source.password! };
  });

  after(async () => {
    await client?.end();
  });

  describe('rotation never removes the newest backup', () => {
    it('a backup made after rotation in the same minute gets the next copy number and is kept by --keep-last 1', async () => {
      // The three backups must fall into one minute: try again (rarely needed) when a minute boundary falls between them.
      for (let attempt = 0; ; attempt++) {
        const dir = tempDir('exit-plan-trust-rot-');
        const create = async () => (await backups.createPostgresBackup({ connection: source, dir })).file;
        const first = await create();
        const second = await create();
        await backups.applyRotation(dir, { keepLast: 1 });
        assert.deepEqual(backupNames(dir), [path.basename(second)], 'the older of the first two is rotated away');
        const third = await create();
        if (new Set([first, second, third].map((f) => stampOf(path.basename(f)))).size > 1) {
          assert.ok(attempt < 3, 'three backups never fell into the same minute');
          continue;
        }
        assert.match(path.basename(second), /-2\.pg_restore$/);
        assert.match(path.basename(third), /-3\.pg_restore$/, 'the next copy after the highest, not the freed plain name');
        const r = await runCli(['backups', 'rotate', '--dir', dir, '--keep-last', '1'], env);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(backupNames(dir), [path.basename(third)], 'the newest backup survives --keep-last 1');
        break;
      }
    });

    it('orders backups of the same minute by the time in their sidecars, not by name', async () => {
      const dir = tempDir('exit-plan-trust-rot-');
      const older = (await backups.createPostgresBackup({ connection: source, dir })).file;
      const newer = (await backups.createPostgresBackup({ connection: source, dir })).file;
      // As an older version named them: the newer backup under the plain name, the older one as -2.
      const t = new Date(Date.UTC(2024, 5, 1, 2, 0));
      const plain = path.join(dir, backups.postgresBackupName('trust_backups', t));
      const copy2 = plain.replace('.pg_restore', '-2.pg_restore');
      const move = (from: string, to: string, createdAt: string) => {
        fs.renameSync(from, to);
        const sidecar = JSON.parse(fs.readFileSync(`${from}.json`, 'utf8')) as backups.Sidecar;
        fs.rmSync(`${from}.json`);
        fs.writeFileSync(`${to}.json`, JSON.stringify({ ...sidecar, file: path.basename(to), createdAt }));
      };
      move(older, copy2, '2024-06-01T02:00:10.000Z');
      move(newer, plain, '2024-06-01T02:00:40.000Z');
      const r = await runCli(['backups', 'rotate', '--dir', dir, '--keep-last', '1'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(backupNames(dir), [path.basename(plain)]);
    });

    it(
      'orders backups within a minute as restic orders snapshots (by their precise time), ' + 'checked against restic forget',
      async function () {
        // Backups as an older version named them: within a minute the later one under the plain name.
        const times = [
          '2024-06-01T02:00:40Z',
          '2024-06-01T02:00:10Z',
          '2024-06-01T01:59:30Z',
          '2024-05-31T02:00:50Z',
          '2024-05-31T02:00:05Z',
          '2024-05-30T23:10:00Z',
        ];
        const items: backups.RotationCandidate[] = times.map((iso) => {
          const t = new Date(iso);
          const minute = new Date(Math.floor(t.getTime() / 60_000) * 60_000);
          const sameMinute = times.filter((o) => Math.floor(Date.parse(o) / 60_000) * 60_000 === minute.getTime());
          const copy = sameMinute.length > 1 && iso === sameMinute[sameMinute.length - 1] ? 2 : 1; // the earlier one is "-2"
          const name = backups.postgresBackupName('kobo', minute).replace('.pg_restore', copy > 1 ? `-${copy}.pg_restore` : '.pg_restore');
          return { name, group: 'postgres:kobo', time: minute, createdAt: t, bytes: 10_000_000, state: 'unverified' };
        });
        const repo = tempDir('exit-plan-trust-restic-');
        const data = tempDir('exit-plan-trust-restic-data-');
        fs.writeFileSync(path.join(data, 'a'), 'a');
        const resticEnv = { ...process.env, RESTIC_PASSWORD: 'trust', RESTIC_REPOSITORY: repo, TZ: 'UTC' };
        const restic = (args: string[]) =>
          execFileSync('restic', args, { env: resticEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        restic(['init', '-q']);
        for (const iso of times) restic(['backup', '-q', '--host', 'trust', '--time', iso.replace('T', ' ').replace('Z', ''), data]);
        const policies: backups.RotationPolicy[] = [{ keepLast: 1 }, { keepLast: 2 }, { keepLast: 4 }, { keepDaily: 2 }, { keepHourly: 2 }];
        for (const policy of policies) {
          const flags = Object.entries(policy).flatMap(([rule, n]) => [`--${backups.ruleFlag(rule as backups.CountRule)}`, String(n)]);
          const out = JSON.parse(restic(['forget', '--dry-run', '--json', ...flags])) as { keep: { time: string }[] }[];
          const resticKept = out[0].keep.map((k) => new Date(k.time).toISOString()).sort();
          const now = new Date('2024-06-02T00:00:00Z');
          const ours = backups
            .planRotation(items, policy, now)
            .filter((d) => d.action === 'keep' && d.reasons.some((r) => r.startsWith('keep-')));
          assert.deepEqual(ours.map((d) => d.item.createdAt!.toISOString()).sort(), resticKept, JSON.stringify(policy));
        }
      },
    );

    it('keeps each database apart when their names are not Latin letters', async () => {
      const pg = await postgres();
      const dir = tempDir('exit-plan-trust-rot-');
      const made: string[] = [];
      for (const name of ['база', 'дата']) {
        const conn = await pg.createDatabase(name);
        made.push((await backups.createPostgresBackup({ connection: conn, dir })).file);
      }
      assert.notEqual(path.basename(made[0]).replace(/__.*/, ''), path.basename(made[1]).replace(/__.*/, ''));
      assert.match(path.basename(made[0]), /^postgres_backup_база__/, 'letters of any script are kept as they are');
      const r = await runCli(['backups', 'rotate', '--dir', dir, '--keep-last', '1'], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(backupNames(dir), made.map((f) => path.basename(f)).sort(), 'each database keeps its only backup');
      const list = JSON.parse((await runCli(['backups', 'list', '--dir', dir, '--json'], env)).stdout) as { backups: { source: string }[] };
      assert.deepEqual(list.backups.map((b) => b.source).sort(), ['база', 'дата']);
      // Names that differ only in characters that are escaped never give the same file name, and read back.
      const t = new Date(Date.UTC(2024, 0, 1));
      for (const [a, b] of [
        ['my db', 'my_db'],
        ['a/b', 'a_b'],
        ['.x', '%2Ex'],
      ]) {
        assert.notEqual(backups.postgresBackupName(a, t), backups.postgresBackupName(b, t));
        assert.equal(backups.decodeFileSafeName(backups.parseBackupName(backups.postgresBackupName(a, t))!.source), a);
      }
      assert.equal(backups.postgresBackupName('kobotoolbox', t), 'postgres_backup_kobotoolbox__2024.01.01.00_00.pg_restore');
    });

    it('a stray tiny file dated in the future neither counts as the newest nor pushes out the real newest backup', async () => {
      const dir = tempDir('exit-plan-trust-rot-');
      const real = (await backups.createPostgresBackup({ connection: source, dir })).file;
      const stray = path.join(dir, 'postgres_backup_trust_backups__2099.01.01.00_00.pg_restore');
      fs.writeFileSync(stray, 'junk');
      const undated = path.join(dir, 'postgres_backup_trust_backups__2000.01.01.00_00.pg_restore');
      fs.writeFileSync(undated, 'no sidecar');
      const r = await runCli(['backups', 'rotate', '--dir', dir, '--keep-last', '1', '--json'], env);
      assert.equal(r.code, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { files: { name: string; action: string; reasons: string[]; suspect?: string }[] };
      const byName = new Map(out.files.map((f) => [f.name, f]));
      assert.deepEqual(byName.get(path.basename(real))?.reasons, ['keep-last']);
      assert.match(byName.get(path.basename(stray))?.suspect ?? '', /dated in the future/);
      assert.ok(fs.existsSync(real), 'the real newest backup is kept');
      assert.ok(fs.existsSync(stray), 'the stray file is kept for inspection, flagged');
      // Nor does it make a schedule look done: the report (and the scheduler) see the real newest backup.
      const report = await backups.targetReport({ name: 'trust', dir, schedule: '0 2 * * *' });
      assert.equal(report.newest?.name, path.basename(real));
    });
  });

  describe('a full disk while writing the sidecar', () => {
    let mountPoint: string | undefined;
    let mountProblem: string | undefined;

    before(() => {
      const dir = tempDir('exit-plan-trust-tmpfs-');
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
        mountPoint = dir;
      } catch (err) {
        mountProblem = String((err as { stderr?: Buffer }).stderr ?? err).trim();
      }
    });

    after(() => {
      if (mountPoint) execFileSync('umount', [mountPoint]);
    });

    function skipWithoutMount(test: Mocha.Context): void {
      if (mountPoint) return;
      console.log(`      skipped: a small tmpfs cannot be mounted here to fill a disk for real (${mountProblem})`);
      test.skip();
    }

    /** Fills the tmpfs so that exactly room for a `bytes` backup (rounded up to its blocks) is left, then runs `create`. */
    async function onAlmostFullDisk(
      bytes: number,
      create: (dir: string) => Promise<{ code: number | null; stdout: string; stderr: string }>,
    ) {
      const mount = mountPoint!;
      for (const n of fs.readdirSync(mount)) fs.rmSync(path.join(mount, n), { recursive: true, force: true });
      const dir = path.join(mount, 'backups');
      fs.mkdirSync(dir);
      const st = fs.statfsSync(mount);
      const free = st.bavail * st.bsize;
      // The backup's blocks, and one for the partial file's owner record (written before the backup).
      const needed = Math.ceil(bytes / st.bsize) * st.bsize + st.bsize;
      assert.ok(free > needed, `the tmpfs is too small for a ${bytes}-byte backup`);
      fs.writeFileSync(path.join(mount, 'filler'), Buffer.alloc(free - needed));
      assert.equal(fs.statfsSync(mount).bavail * st.bsize, needed);
      const r = await create(dir);
      return { r, dir };
    }

    it('backups create-files: no backup under its final name without its sidecar, and the message says so', async function () {
      skipWithoutMount(this);
      const src = tempDir('exit-plan-trust-src-');
      fs.writeFileSync(path.join(src, 'photo.jpg'), randomBytes(300_000));
      const sizing = tempDir('exit-plan-trust-size-');
      const first = await runCli(['backups', 'create-files', '--source', src, '--name', 'media', '--dir', sizing, '--json'], env);
      assert.equal(first.code, 0, first.stderr);
      const { bytes } = JSON.parse(first.stdout) as { bytes: number };
      const { r, dir } = await onAlmostFullDisk(bytes, (d) =>
        runCli(['backups', 'create-files', '--source', src, '--name', 'media', '--dir', d, '--quiet'], env),
      );
      assert.equal(r.code, 1, r.stdout);
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing under a final name, no partial file, no sidecar');
      assert.match(r.stderr, /disk is full.*\.json/);
      assert.match(r.stderr, /no backup was written and the partial file was removed/);
    });

    it('backups create (pg_dump): no backup under its final name without its sidecar, and the message says so', async function () {
      skipWithoutMount(this);
      const sizing = tempDir('exit-plan-trust-size-');
      const first = await runCli(['backups', 'create', '--db', dbUrl(source), '--dir', sizing, '--json'], env);
      assert.equal(first.code, 0, first.stderr);
      const { bytes } = JSON.parse(first.stdout) as { bytes: number };
      const { r, dir } = await onAlmostFullDisk(bytes, (d) =>
        runCli(['backups', 'create', '--db', dbUrl(source), '--dir', d, '--quiet'], env),
      );
      assert.equal(r.code, 1, r.stdout);
      assert.deepEqual(fs.readdirSync(dir), [], 'nothing under a final name, no partial file, no sidecar');
      assert.match(r.stderr, /disk is full.*\.json/);
      assert.match(r.stderr, /no backup was written and the partial file was removed/);
    });
  });

  describe('files backups of folders with special files and symbolic links', () => {
    it('skips a FIFO and a socket with a warning, as tar does, and backs up the rest', async () => {
      const src = tempDir('exit-plan-trust-special-');
      fs.mkdirSync(path.join(src, 'docs'));
      fs.writeFileSync(path.join(src, 'docs', 'a.txt'), 'hello');
      execFileSync('mkfifo', [path.join(src, 'pipe')]);
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(path.join(src, 'app.sock'), resolve));
      try {
        const dir = tempDir('exit-plan-trust-special-out-');
        const r = await runCli(['backups', 'create-files', '--source', src, '--name', 'media', '--dir', dir, '--json'], env);
        assert.equal(r.code, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { file: string };
        assert.ok(fs.existsSync(out.file), 'a backup was written');
        assert.match(r.stderr, /Warning: skipped 2 special files .*\.\/pipe \(FIFO\)/);
        assert.match(r.stderr, /\.\/app\.sock \(socket\)/);
        assert.deepEqual(
          fs.readdirSync(dir).filter((n) => n.endsWith('.partial')),
          [],
          'no partial file left',
        );
        const listed = execFileSync('tar', ['-tf', out.file], { encoding: 'utf8' }).split('\n').filter(Boolean).sort();
        assert.deepEqual(listed, ['./', './docs/', './docs/a.txt']);
        const sidecar = JSON.parse(fs.readFileSync(`${out.file}.json`, 'utf8')) as backups.Sidecar;
        assert.deepEqual(sidecar.files?.skipped?.sort(), ['./app.sock (socket)', './pipe (FIFO)']);
        const v = await runCli(['backups', 'verify', '--dir', dir], env);
        assert.equal(v.code, 0, v.stdout + v.stderr);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    });

    it('refuses a backup folder that is a symbolic link into the folder being backed up', async () => {
      const src = tempDir('exit-plan-trust-link-');
      fs.writeFileSync(path.join(src, 'a.txt'), 'hello');
      fs.mkdirSync(path.join(src, 'backups'));
      const link = path.join(tempDir('exit-plan-trust-link-out-'), 'to-backups');
      fs.symlinkSync(path.join(src, 'backups'), link);
      for (const dir of [link, path.join(link, 'new', 'deeper')]) {
        const r = await runCli(['backups', 'create-files', '--source', src, '--name', 'media', '--dir', dir, '--quiet'], env);
        assert.equal(r.code, 1, r.stdout);
        assert.match(r.stderr, /The backup folder .* \(really .*backups.*\) is inside the folder being backed up/);
        assert.match(r.stderr, /no backup was written/);
      }
      assert.deepEqual(fs.readdirSync(path.join(src, 'backups')), [], 'nothing was written into the source');
    });
  });

  describe('lock files of datasets and backup folders', () => {
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

    /** A live process that is not a holder of anything: the test's own child. */
    function sleeper() {
      const child = spawn('sleep', ['600'], { stdio: 'ignore' });
      const ticks = processStartTicks(child.pid!);
      assert.ok(ticks !== undefined, '/proc/<pid>/stat is readable');
      return { pid: child.pid!, ticks, stop: () => child.kill() };
    }

    function writeLock(file: string, info: Record<string, unknown>): void {
      fs.writeFileSync(file, `${JSON.stringify({ host: os.hostname(), since: new Date().toISOString(), ...info })}\n`);
    }

    it('takes over a lock naming a live but unrelated process (a reused pid, or a pid from before a reboot)', async () => {
      const other = sleeper();
      try {
        const stale = [
          { pid: other.pid, bootId, startTicks: other.ticks + 12_345 }, // the pid now belongs to another process
          { pid: 1, bootId: '00000000-0000-4000-8000-000000000000', startTicks: processStartTicks(1) }, // before a reboot
        ];
        for (const info of stale) {
          const datasetDir = writeDatasetDir();
          writeLock(path.join(datasetDir, datasets.LOCK_FILE), info);
          const r = await runCli(['datasets', 'export', datasetDir], env);
          assert.equal(r.code, 0, `${JSON.stringify(info)}: ${r.stdout}${r.stderr}`);
          assert.equal(fs.readdirSync(path.join(datasetDir, 'data')).length, 1, 'the dataset was exported');
          assert.ok(!fs.existsSync(path.join(datasetDir, datasets.LOCK_FILE)), 'and its lock released');

          const backupDir = tempDir('exit-plan-trust-lock-');
          writeLock(path.join(backupDir, backups.LOCK_FILE), info);
          assert.deepEqual(await backups.withFolderLock(backupDir, async () => 'ran'), { value: 'ran' }, JSON.stringify(info));
        }
      } finally {
        other.stop();
      }
    });

    it('respects the lock of a live holder, and records boot id and start time in its own', async () => {
      const holder = sleeper();
      try {
        const info = { pid: holder.pid, bootId, startTicks: holder.ticks };
        const datasetDir = writeDatasetDir();
        writeLock(path.join(datasetDir, datasets.LOCK_FILE), info);
        const r = await runCli(['datasets', 'export', datasetDir], env);
        assert.notEqual(r.code, 0);
        assert.match(r.stdout + r.stderr, new RegExp(`pid ${holder.pid}`));
        assert.equal(fs.readdirSync(path.join(datasetDir, 'data')).length, 0);

        const backupDir = tempDir('exit-plan-trust-lock-');
        writeLock(path.join(backupDir, backups.LOCK_FILE), info);
        assert.equal(await backups.withFolderLock(backupDir, async () => 'ran'), undefined);

        const free = tempDir('exit-plan-trust-lock-');
        const own = await backups.withFolderLock(
          free,
          async () => JSON.parse(fs.readFileSync(path.join(free, backups.LOCK_FILE), 'utf8')) as Record<string, unknown>,
        );
        assert.equal(own?.value.pid, process.pid);
        assert.equal(own?.value.bootId, bootId);
        assert.equal(own?.value.startTicks, processStartTicks(process.pid));
      } finally {
        holder.stop();
      }
    });
  });

  describe('a table locked by another session', () => {
    let holder: Client;

    before(async () => {
      const pg = await postgres();
      await client.query(`CREATE TABLE "locked visits" (id int); INSERT INTO "locked visits" VALUES (1), (2)`);
      holder = await pg.client('trust_backups');
      await holder.query(`SET application_name = 'trust-holder'`);
    });

    after(async () => {
      await holder?.end();
    });

    /** Runs `work` while `holder` sits idle in a transaction that holds an ACCESS EXCLUSIVE lock (as after ALTER TABLE). */
    async function whileLocked<T>(work: () => Promise<T>): Promise<T> {
      await holder.query(`BEGIN; LOCK TABLE "locked visits" IN ACCESS EXCLUSIVE MODE`);
      try {
        return await work();
      } finally {
        await holder.query('ROLLBACK');
      }
    }

    it(
      'backups create --lock-timeout: pg_dump gives up with one sentence naming the table and the session, ' + 'and leaves nothing',
      async () => {
        const dir = tempDir('exit-plan-trust-locked-');
        const r = await whileLocked(() =>
          runCli(['backups', 'create', '--db', dbUrl(source), '--dir', dir, '--lock-timeout', '1', '--quiet'], env),
        );
        assert.equal(r.code, 1, r.stdout);
        assert.match(
          r.stderr,
          /^exit-plan: Timed out after 1 s waiting for a lock on "public"\."locked visits" held by session \d+ \(trust-holder, idle in transaction\); no backup was written and the partial file was removed\.$/m,
        );
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.deepEqual(fs.readdirSync(dir), []);
        const help = await runCli(['backups', 'create', '--help']);
        assert.match(help.stdout, /--lock-timeout <seconds>[\s\S]*default: 60/);
      },
    );

    it('backups create says while it waits which table and which session hold the lock, and finishes once it is released', async () => {
      const dir = tempDir('exit-plan-trust-locked-');
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await holder.query(`BEGIN; LOCK TABLE "locked visits" IN ACCESS EXCLUSIVE MODE`);
      let released = false;
      try {
        const run = startCapture(process.execPath, [CLI, 'backups', 'create', '--db', dbUrl(source), '--dir', dir], {
          env: { ...process.env, ...env },
        });
        const seen = await untilWaiting(run);
        assert.match(
          seen,
          new RegExp(
            `pg_dump: Waiting for a lock on public\\.locked visits held by session ${holderPid} \\(trust-holder, idle in transaction\\)…`,
          ),
        );
        await holder.query('ROLLBACK');
        released = true;
        const r = await run.done;
        assert.equal(r.code, 0, r.stderr);
        assert.equal(backupNames(dir).length, 1);
      } finally {
        if (!released) await holder.query('ROLLBACK');
      }
    });

    it('backups drill says while it waits which table and which session hold the lock, and finishes once it is released', async () => {
      const dir = tempDir('exit-plan-trust-locked-');
      const made = await runCli(['backups', 'create', '--db', dbUrl(source), '--dir', dir, '--quiet'], env);
      assert.equal(made.code, 0, made.stderr);
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      await holder.query(`BEGIN; LOCK TABLE "locked visits" IN ACCESS EXCLUSIVE MODE`);
      let released = false;
      try {
        const run = startCapture(process.execPath, [CLI, 'backups', 'drill', made.stdout.trim(), '--db', dbUrl(source)], {
          env: { ...process.env, ...env },
        });
        const seen = await untilWaiting(run);
        assert.match(
          seen,
          new RegExp(
            `Drill: counting — Waiting for a lock on public\\.locked visits held by session ${holderPid} ` +
              `\\(trust-holder, idle in transaction\\)…`,
          ),
        );
        await holder.query('ROLLBACK');
        released = true;
        const r = await run.done;
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /locked visits/);
      } finally {
        if (!released) await holder.query('ROLLBACK');
      }
    });

    it(
      'backups drill --lock-timeout: counting the source gives up with one sentence naming the table, ' + 'and drops the scratch database',
      async () => {
        const dir = tempDir('exit-plan-trust-locked-');
        const made = await runCli(['backups', 'create', '--db', dbUrl(source), '--dir', dir, '--quiet'], env);
        assert.equal(made.code, 0, made.stderr);
        const file = made.stdout.trim();
        const pg = await postgres();
        const admin = await pg.client('postgres');
        try {
          const r = await whileLocked(() =>
            runCli(['backups', 'drill', file, '--db', dbUrl(source), '--lock-timeout', '1', '--quiet'], env),
          );
          assert.equal(r.code, 1, r.stdout);
          assert.match(
            r.stderr,
            /^exit-plan: Timed out after 1 s waiting for a lock on "public"\."locked visits" held by session \d+ \(trust-holder, idle in transaction\) while counting the source's rows; the scratch database exit_plan_drill_\w+ was dropped\.$/m,
          );
          const left = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE 'exit_plan_drill_%'`);
          assert.deepEqual(left.rows, []);
        } finally {
          await admin.end();
        }
      },
    );
  });

  describe('backups cron prints only what cron runs', () => {
    /** Does Debian's crontab accept this crontab text? (`crontab -n`: checks the syntax, installs nothing.) */
    function crontabAccepts(text: string): boolean {
      const file = path.join(tempDir('exit-plan-trust-crontab-'), 'crontab');
      fs.writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
      try {
        execFileSync('crontab', ['-n', file], { stdio: 'pipe' });
        return true;
      } catch {
        return false;
      }
    }

    const cron = (schedule: string, extraEnv: Record<string, string> = {}) =>
      runCli(['backups', 'cron', '--db', dbUrl(source), '--dir', tempDir('exit-plan-trust-cron-'), '--schedule', schedule], {
        ...env,
        ...extraEnv,
      });

    it(
      'refuses what cron rejects (L, W, ?, seconds, steps after a single value), lower-cases @DAILY, ' +
        'and every line it prints passes crontab -n',
      async () => {
        const good = [
          '0 2 * * 0',
          '*/5 * * * *',
          '0 0 * JAN MON',
          '0 0 * jan-mar mon-fri',
          '0 0 * * 7',
          '0-59/15 * * * *',
          '0 0 * * sun,Mon',
          '0 0 1,15 * *',
          '0 0 * * MON-FRI/2',
          '@daily',
          '@midnight',
          '@hourly',
        ];
        const bad = [
          '5L * * * *',
          '0 0 L * *',
          '0 0 ? * *',
          '0 0 1W * *',
          '0 0 0 * * *',
          '5/10 * * * *',
          '0 24 * * *',
          '*/0 * * * *',
          '0 0 * * L',
          '0 0 * * 5L',
          '60 * * * *',
          '@every 5m',
        ];
        for (const schedule of good) {
          assert.ok(crontabAccepts(`${schedule} true`), `crontab accepts "${schedule}"`);
          const r = await cron(schedule);
          assert.equal(r.code, 0, `${schedule}: ${r.stderr}`);
          assert.ok(crontabAccepts(r.stdout), `crontab accepts what was printed for "${schedule}":\n${r.stdout}`);
        }
        for (const schedule of bad) {
          assert.ok(!crontabAccepts(`${schedule} true`), `crontab rejects "${schedule}"`);
          const r = await cron(schedule);
          assert.equal(r.code, 1, `"${schedule}" was accepted:\n${r.stdout}`);
          assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
          assert.match(r.stderr, /schedule/);
        }
        const upper = await cron('@DAILY');
        assert.equal(upper.code, 0, upper.stderr);
        assert.match(upper.stdout.trim().split('\n').pop()!, /^@daily /);
        assert.ok(crontabAccepts(upper.stdout));
      },
    );

    it('refuses, in one sentence, a folder whose name holds a line break, which would end the crontab line', async () => {
      const dir = path.join(tempDir('exit-plan-trust-cron-'), 'nightly\n* * * * * rm -rf ~');
      const r = await runCli(['backups', 'cron', '--db', dbUrl(source), '--dir', dir, '--schedule', '0 2 * * *'], env);
      assert.equal(r.code, 1, r.stdout);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr,
        /^exit-plan: A crontab line cannot hold a line break or another control character, as .*nightly\\n\* \* \* \* \* rm -rf ~.* does: choose a folder \(and database\) whose name has none\.\n$/,
      );
    });

    it('with PGHOST set to a socket folder, prints a --db URL (socket folder as ?host=) that the printed command itself runs', async () => {
      const socketDir = '/tmp';
      assert.ok(fs.existsSync(path.join(socketDir, `.s.PGSQL.${source.port}`)), 'the test server has its Unix socket in /tmp');
      const dir = tempDir('exit-plan-trust-cron-');
      const r = await runCli(['backups', 'cron', '--dir', dir, '--schedule', '0 2 * * 0'], {
        ...env,
        PGHOST: socketDir,
        PGPORT: String(source.port),
        PGUSER: source.user,
        PGDATABASE: source.database,
      });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(crontabAccepts(r.stdout), r.stdout);
      const line = r.stdout.trim().split('\n').pop()!;
      assert.match(line, /--db 'postgres:\/\/\/trust_backups\?host=\\%2Ftmp'/);
      // What cron runs: the command after the five fields, with \% turned back into %, by /bin/sh.
      const command = line.split(' ').slice(5).join(' ').replace(/\\%/g, '%');
      const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));
      const run = await capture('sh', ['-c', command], { env: { ...clean, PGPASSWORD: source.password! } });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(backupNames(dir).length, 1, 'the printed command made a backup');
    });
  });
});

/** A dataset (export_manager layout) whose cmd writes one small parcel. */
function writeDatasetDir(): string {
  const dir = path.join(tempDir('exit-plan-trust-dataset-'), 'notes');
  for (const sub of ['data', 'incomplete', 'log']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.toml'), 'cmd = "echo note > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\n');
  fs.writeFileSync(path.join(dir, 'metrics.csv'), 'parcel_id,success,files,bytes');
  return dir;
}
