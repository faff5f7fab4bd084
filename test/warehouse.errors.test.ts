import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { CancelledError, exportWarehouse, type PgConnectionOptions } from '../src/exporters';
import { PartialFile } from '../src/exporters/shared/partialFile';
import { freePort } from '../scripts/lib/freePort';
import { listFiles, tempDir } from './helpers/archive';
import { postgres } from './helpers/postgres';

/** Rows of a table big enough (≈ 100 MB of CSV) that an export is surely still running when we interfere. */
const BIG_ROWS = 1_000_000;

async function exportingBackends(admin: Client): Promise<number> {
  const r = await admin.query(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'exit-plan' AND pid <> pg_backend_pid()`,
  );
  return r.rows[0].n as number;
}

async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

describe('warehouse export errors: one clear sentence, nothing half-written left', () => {
  let big: PgConnectionOptions;
  let admin: Client;

  before(async () => {
    const pg = await postgres();
    big = await pg.createDatabase('big');
    const c = await pg.client('big');
    await c.query(`CREATE TABLE public.events (id bigint PRIMARY KEY, payload text, at timestamptz);
      INSERT INTO public.events SELECT g, md5(g::text) || repeat(' lorem ipsum', 4), '2024-01-01'::timestamptz + g * interval '1 second'
        FROM generate_series(1, ${BIG_ROWS}) g;
      CREATE TABLE public.small (id int); INSERT INTO public.small VALUES (1);
      CREATE TABLE public.secret_notes (id int, body text); INSERT INTO public.secret_notes VALUES (1, 'x');
      CREATE ROLE reader LOGIN PASSWORD 'reader-pw';
      GRANT SELECT ON public.events, public.small TO reader;
      ANALYZE;`);
    await c.end();
    admin = await pg.client('postgres');
  });
  after(async () => admin?.end());

  it('says the password is wrong', async () => {
    const out = tempDir();
    await assert.rejects(exportWarehouse({ connection: { ...big, password: 'not-it' }, outDir: out }), {
      message: 'PostgreSQL refused the password for user "postgres" (wrong password); no archive was written.',
    });
    assert.deepEqual(listFiles(out), []);
  });

  it('says the host cannot be reached', async () => {
    const out = tempDir();
    const port = await freePort();
    await assert.rejects(exportWarehouse({ connection: { ...big, port }, outDir: out }), {
      message:
        `Cannot reach PostgreSQL at 127.0.0.1:${port}: the connection was refused ` +
        `(is the server running on that port?); no archive was written.`,
    });
    assert.deepEqual(listFiles(out), []);
  });

  it('says the database does not exist', async () => {
    await assert.rejects(exportWarehouse({ connection: { ...big, database: 'nope' }, outDir: tempDir() }), (err: Error) => {
      assert.match(err.message, /^The database "nope" does not exist on 127\.0\.0\.1:\d+; no archive was written\.$/);
      return true;
    });
  });

  it('names the table the user may not read, before writing anything', async () => {
    const out = tempDir();
    await assert.rejects(exportWarehouse({ connection: { ...big, user: 'reader', password: 'reader-pw' }, outDir: out }), {
      message: 'User "reader" has no SELECT permission on table "public"."secret_notes"; nothing was exported.',
    });
    assert.deepEqual(listFiles(out), []);
  });

  it('cancels mid-export: stops the server query and removes the partial file', async () => {
    const out = tempDir();
    const controller = new AbortController();
    let seenRows = 0;
    await assert.rejects(
      exportWarehouse({
        connection: big,
        outDir: out,
        tables: ['events'],
        signal: controller.signal,
        onProgress: (p) => {
          if (p.phase === 'exporting' && p.rows > 0 && !controller.signal.aborted) {
            seenRows = p.rows;
            controller.abort();
          }
        },
      }),
      (err: Error) => {
        assert.ok(err instanceof CancelledError);
        assert.equal(err.message, 'Export cancelled during public.events; no archive was written and the partial file was removed.');
        return true;
      },
    );
    assert.ok(seenRows > 0 && seenRows < BIG_ROWS, `cancelled mid-table (${seenRows} rows)`);
    assert.deepEqual(listFiles(out), []);
    assert.ok(await eventually(async () => (await exportingBackends(admin)) === 0), 'the server stopped the export query');
  });

  it('reports a connection killed mid-export (pg_terminate_backend) and leaves nothing', async () => {
    const out = tempDir();
    let killed = false;
    await assert.rejects(
      exportWarehouse({
        connection: big,
        outDir: out,
        tables: ['events'],
        onProgress: (p) => {
          if (p.phase === 'exporting' && p.rows > 0 && !killed) {
            killed = true;
            void admin.query(
              `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'exit-plan' AND pid <> pg_backend_pid()`,
            );
          }
        },
      }),
      (err: Error) => {
        // Which the driver sees first, the server's goodbye or the closed socket, is a race; both say so.
        assert.match(
          err.message,
          /^The connection to PostgreSQL was closed (by the server )?during the export \((terminating connection due to administrator command|Connection terminated unexpectedly)\); no archive was written and the partial file was removed\.$/,
        );
        return true;
      },
    );
    assert.ok(killed);
    assert.deepEqual(listFiles(out), []);
  });

  it('says when the output folder cannot be written', async () => {
    const file = path.join(tempDir(), 'a-file');
    fs.writeFileSync(file, 'not a folder');
    await assert.rejects(exportWarehouse({ connection: big, outDir: path.join(file, 'exports'), tables: ['small'] }), {
      message: `${file} is a file, not a folder; nothing was written.`,
    });
  });

  it('says when the disk is full and removes the partial file', async function () {
    const mountPoint = tempDir('exit-plan-full-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    } catch {
      this.skip(); // needs root and tmpfs; CI runs as root
    }
    try {
      await assert.rejects(exportWarehouse({ connection: big, outDir: mountPoint, tables: ['events'] }), (err: Error) => {
        assert.match(
          err.message,
          /^The disk is full: there is no space left to write .*big_.*\.zip\.partial; no archive was written and the partial file was removed\.$/,
        );
        return true;
      });
      assert.deepEqual(listFiles(mountPoint), []);
    } finally {
      execFileSync('umount', [mountPoint]);
    }
  });

  it('never overwrites an existing archive', async () => {
    const dir = tempDir();
    const wanted = path.join(dir, 'db_2024-01-01T000000Z.zip');
    fs.writeFileSync(wanted, 'an older archive');
    const first = await PartialFile.create(wanted);
    assert.equal(first.partialPath, path.join(dir, 'db_2024-01-01T000000Z-2.zip.partial'));
    first.stream.end('new');
    await first.closed();
    // Someone takes the name between start and finish: the commit moves on instead of replacing it.
    fs.writeFileSync(path.join(dir, 'db_2024-01-01T000000Z-2.zip'), 'raced');
    const final = await first.commit();
    assert.equal(final, path.join(dir, 'db_2024-01-01T000000Z-3.zip'));
    assert.equal(fs.readFileSync(wanted, 'utf8'), 'an older archive');
    assert.equal(fs.readFileSync(path.join(dir, 'db_2024-01-01T000000Z-2.zip'), 'utf8'), 'raced');
    assert.equal(fs.readFileSync(final, 'utf8'), 'new');
    assert.deepEqual(
      listFiles(dir).filter((f) => f.endsWith('.partial')),
      [],
    );
  });
});
