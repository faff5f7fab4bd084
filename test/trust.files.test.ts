// Issue 10, items 10, 11 and `--out` on a file: the archive's name under concurrency, leftovers of killed
// runs, and the folder itself. Real processes (node dist/cli.js), real PostgreSQL, real signals.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Client } from 'pg';
import type { PgConnectionOptions } from '../src/exporters';
import { PartialFile } from '../src/exporters/shared/partialFile';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { startCapture } from '../scripts/lib/capture';
import { listFiles, tempDir, unzipArchive } from './helpers/archive';
import { CLI, runCli, until } from './helpers/backups';
import { postgres } from './helpers/postgres';

const GATE = 4242;

describe('trust: archive files under concurrency and after a kill', () => {
  let db: PgConnectionOptions;
  let client: Client;
  let env: Record<string, string>;

  before(async () => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first');
    const pg = await postgres();
    db = await pg.createDatabase('trust_files');
    client = await pg.client('trust_files');
    // `gated` is a view that waits for an advisory lock the test holds: an export stops there, deterministically,
    // with its partial archive already open.
    await client.query(`CREATE TABLE public.sites (id int PRIMARY KEY, name text);
      INSERT INTO public.sites SELECT g, 'site ' || g FROM generate_series(1, 1000) g;
      CREATE FUNCTION public.wait_for_gate() RETURNS int LANGUAGE sql AS $$ SELECT pg_advisory_xact_lock_shared(${GATE}); SELECT 1 $$;
      CREATE VIEW public.gated AS SELECT public.wait_for_gate() AS passed;`);
    env = { PGPASSWORD: db.password! };
  });

  after(async () => {
    await client?.end();
  });

  /** Until an export's COPY waits at the gate (its partial archive is open by then). */
  async function waitingAtGate(): Promise<number> {
    let pid = 0;
    await until(async () => {
      const r = await client.query<{ pid: number }>(`SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted`, [
        GATE,
      ]);
      pid = r.rows[0]?.pid ?? 0;
      return pid !== 0;
    });
    return pid;
  }

  it('many writers creating the same name at once each get a distinct name, unique against finished files too', async () => {
    const dir = tempDir();
    const wanted = path.join(dir, 'db_2024-01-01T000000Z.zip');
    fs.writeFileSync(path.join(dir, 'db_2024-01-01T000000Z-3.zip'), 'an older archive');
    const partials = await Promise.all(Array.from({ length: 12 }, () => PartialFile.create(wanted)));
    const names = partials.map((p) => path.basename(p.partialPath));
    assert.equal(new Set(names).size, 12, names.join(', '));
    assert.ok(!names.includes('db_2024-01-01T000000Z-3.zip.partial'));
    const finals = await Promise.all(
      partials.map(async (p, i) => {
        p.stream.end(`archive ${i}`);
        await p.closed();
        return p.commit();
      }),
    );
    assert.equal(new Set(finals).size, 12);
    finals.forEach((f, i) => assert.equal(fs.readFileSync(f, 'utf8'), `archive ${i}`));
    assert.equal(fs.readFileSync(path.join(dir, 'db_2024-01-01T000000Z-3.zip'), 'utf8'), 'an older archive');
    assert.deepEqual(
      listFiles(dir).filter((f) => !f.endsWith('.zip')),
      [],
      'no partials or owner records left',
    );
  });

  it('six exports of one database into one folder in the same second all succeed with distinct archives', async () => {
    const pg = await postgres();
    const same = await pg.createDatabase('trust_files_same_second');
    const c = await pg.client('trust_files_same_second');
    // Every export's snapshot reads the same clock (while the snapshot query finds clock_timestamp through
    // the search_path): the six archives want one name. The same-name race itself is proven in-process above.
    await c.query(`CREATE TABLE public.t (id int); INSERT INTO public.t SELECT generate_series(1, 100);
      CREATE FUNCTION public.clock_timestamp() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '2024-05-01 12:00:00+00'::timestamptz $$;
      ALTER DATABASE trust_files_same_second SET search_path = public, pg_catalog;`);
    await c.end();
    const out = tempDir();
    const runs = await Promise.all(
      Array.from({ length: 6 }, () =>
        runCli(['warehouse', 'export', '--db', connectionUrl(same), '--out', out, '--json', '--quiet'], { PGPASSWORD: same.password }),
      ),
    );
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    const archives = runs.map((r) => (JSON.parse(r.stdout) as { archive: string }).archive);
    assert.equal(new Set(archives).size, 6, archives.join(', '));
    assert.deepEqual(listFiles(out), archives.map((a) => path.basename(a)).sort());
    for (const a of archives)
      assert.deepEqual(
        unzipArchive(a).manifest.tables.map((t) => [t.name, t.rows]),
        [['t', 100]],
      );
  });

  it('removes the partial archive of a killed export on the next export into that folder, and says so', async () => {
    const out = tempDir();
    await client.query('SELECT pg_advisory_lock($1)', [GATE]);
    let partial!: string;
    try {
      const run = startCapture(
        process.execPath,
        [CLI, 'warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--include-views', '--quiet'],
        {
          env: { ...process.env, ...env },
        },
      );
      await waitingAtGate();
      const partials = listFiles(out).filter((f) => f.endsWith('.zip.partial'));
      assert.equal(partials.length, 1, listFiles(out).join(', '));
      partial = path.join(out, partials[0]);
      run.child.kill('SIGKILL');
      assert.equal((await run.done).code, null);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [GATE]);
    }
    assert.ok(fs.existsSync(partial), 'a kill leaves the partial behind');

    const again = await runCli(['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--tables', 'sites', '--json'], env);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(again.stderr.includes(`Removed a leftover partial archive from an interrupted run: ${partial}\n`), again.stderr);
    const archive = (JSON.parse(again.stdout) as { archive: string }).archive;
    assert.deepEqual(listFiles(out), [path.basename(archive)], 'only the new archive: no partial, no owner record');
  });

  it('never removes the partial archive of an export that is still running', async () => {
    const out = tempDir();
    await client.query('SELECT pg_advisory_lock($1)', [GATE]);
    let first!: ReturnType<typeof startCapture>;
    let partial!: string;
    try {
      first = startCapture(
        process.execPath,
        [CLI, 'warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--include-views', '--json', '--quiet'],
        {
          env: { ...process.env, ...env },
        },
      );
      await waitingAtGate();
      partial = path.join(
        out,
        listFiles(out).find((f) => f.endsWith('.zip.partial'))!,
      );
      const second = await runCli(['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--tables', 'sites', '--json'], env);
      assert.equal(second.code, 0, second.stderr);
      assert.ok(!second.stderr.includes('Removed'), second.stderr);
      assert.ok(fs.existsSync(partial), 'the running export keeps its partial archive');
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [GATE]);
    }
    const done = await first.done;
    assert.equal(done.code, 0, done.stderr);
    const archive = (JSON.parse(done.stdout) as { archive: string }).archive;
    assert.equal(`${archive}.partial`, partial);
    assert.deepEqual(
      unzipArchive(archive).manifest.tables.map((t) => t.name),
      ['gated', 'sites'],
    );
    assert.equal(listFiles(out).filter((f) => !f.endsWith('.zip')).length, 0);
  });

  it('treats a partial whose owner record is from another boot, or from another process under the same pid, as left over', async () => {
    const dir = tempDir();
    // Alive: this very process, as it records itself.
    const alive = await PartialFile.create(path.join(dir, 'alive.zip'));
    const owner = {
      host: os.hostname(),
      pid: process.pid,
      since: new Date().toISOString(),
      bootId: '00000000-0000-0000-0000-000000000000',
    };
    fs.writeFileSync(path.join(dir, 'old_2024-01-01T000000Z.zip.partial'), 'half');
    fs.writeFileSync(path.join(dir, 'old_2024-01-01T000000Z.zip.partial.owner'), JSON.stringify(owner));
    const me = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    fs.writeFileSync(path.join(dir, 'reused_2024-01-01T000000Z.zip.partial'), 'half');
    fs.writeFileSync(
      path.join(dir, 'reused_2024-01-01T000000Z.zip.partial.owner'),
      JSON.stringify({ ...owner, bootId: me, startTicks: 1 }),
    );
    // An owner record a killed writer was still writing aside: removed without a word.
    fs.writeFileSync(path.join(dir, 'gone.zip.partial.owner.2147483646-deadbeef'), '{"host"');
    // Another host: unknown, so kept.
    fs.writeFileSync(path.join(dir, 'remote.zip.partial'), 'half');
    fs.writeFileSync(path.join(dir, 'remote.zip.partial.owner'), JSON.stringify({ ...owner, host: `not-${os.hostname()}`, pid: 1 }));
    const lines: string[] = [];
    const next = await PartialFile.create(path.join(dir, 'new.zip'), { log: (l) => lines.push(l) });
    assert.deepEqual(lines.sort(), [
      `Removed a leftover partial archive from an interrupted run: ${path.join(dir, 'old_2024-01-01T000000Z.zip.partial')}`,
      `Removed a leftover partial archive from an interrupted run: ${path.join(dir, 'reused_2024-01-01T000000Z.zip.partial')}`,
    ]);
    assert.deepEqual(listFiles(dir), [
      'alive.zip.partial',
      'alive.zip.partial.owner',
      'new.zip.partial',
      'new.zip.partial.owner',
      'remote.zip.partial',
      'remote.zip.partial.owner',
    ]);
    await alive.discard();
    await next.discard();
  });

  it('says in one sentence that --out is a file, not a folder', async () => {
    const file = path.join(tempDir(), 'exports');
    fs.writeFileSync(file, 'not a folder');
    for (const out of [file, path.join(file, 'nightly')]) {
      const r = await runCli(['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--tables', 'sites', '--quiet'], env);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `exit-plan: ${file} is a file, not a folder; nothing was written.\n`);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'not a folder');
  });
});
