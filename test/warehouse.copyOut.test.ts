// The export reads COPY's rows straight from the connection (one CopyData message per row), so what a COPY
// can send must come out exactly: rows larger than a batch, empty rows, notices between rows, an error after
// some rows, and the connection usable afterwards.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { exportWarehouse, type PgConnectionOptions } from '../src/exporters';
import { CopyOutReader } from '../src/exporters/warehouse/copyOut';
import { startPostgres } from '../scripts/lib/embeddedPostgres';
import { listFiles, tempDir } from './helpers/archive';
import { selfSignedCertificate } from './helpers/tls';
import { postgres } from './helpers/postgres';

describe('warehouse export: COPY read from the connection', function () {
  this.timeout(120_000);
  let db: PgConnectionOptions;
  let client: Client;

  before(async () => {
    const pg = await postgres();
    db = await pg.createDatabase('copy_out');
    client = await pg.client('copy_out');
    await client.query(`
      CREATE TABLE public.mixed (id int PRIMARY KEY, body text);
      INSERT INTO public.mixed SELECT g, CASE WHEN g % 250 = 0 THEN repeat(md5(g::text), 40000) WHEN g % 7 = 0 THEN '' ELSE 'row ' || g END
        FROM generate_series(1, 2000) g;
      CREATE TABLE public.lines (id int, body text);
      INSERT INTO public.lines VALUES (1, E'a\\nb'), (2, E'"quoted"\\r\\nline'), (3, NULL);
      CREATE FUNCTION public.noisy(i int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN RAISE NOTICE 'row %', i; RETURN i; END $$;
      CREATE VIEW public.noisy_view AS SELECT public.noisy(g) AS id, repeat('x', g % 50) AS pad FROM generate_series(1, 3000) g;
      CREATE FUNCTION public.fails_at(i int) RETURNS int LANGUAGE plpgsql AS $$
        BEGIN IF i = 1500 THEN RAISE EXCEPTION 'bad row %', i; END IF; RETURN i; END $$;
      CREATE VIEW public.failing_view AS SELECT public.fails_at(g) AS id FROM generate_series(1, 3000) g;`);
  });
  after(async () => client?.end());

  it('reads rows larger than a batch, empty rows and quoted line breaks exactly, and counts rows by message', async () => {
    const reader = CopyOutReader.start(client, 'COPY public.mixed TO STDOUT WITH (FORMAT csv, HEADER)');
    const parts: Buffer[] = [];
    let rows = 0;
    let largest = 0;
    for await (const batch of reader) {
      parts.push(Buffer.from(batch.data));
      rows += batch.rows;
      largest = Math.max(largest, batch.data.length);
      for (let i = 1; i < batch.rows; i++) assert.ok(batch.ends[i] > batch.ends[i - 1]);
      if (batch.rows > 0) assert.equal(batch.data[batch.ends[batch.rows - 1] - 1], 0x0a, 'a row ends with its line break');
    }
    await reader.finished();
    assert.equal(reader.rowCount, 2000);
    assert.equal(rows, 2001, 'the header and every row');
    const viaPsql = await client.query<{ body: string }>(
      `SELECT string_agg(id || ',' || CASE WHEN body = '' THEN '""' ELSE body END, E'\\n' ORDER BY id) || E'\\n' AS body FROM public.mixed`,
    );
    assert.equal(Buffer.concat(parts).toString('utf8'), `id,body\n${viaPsql.rows[0].body}`);
    assert.ok(largest <= 256 * 1024, 'batches stay bounded, whatever the size of a row');
    // The connection is usable afterwards.
    assert.equal((await client.query('SELECT 41 + 1 AS n')).rows[0].n, 42);
  });

  it('skips notices sent between rows, and exports a view that raises them', async () => {
    const out = tempDir();
    try {
      const result = await exportWarehouse({
        connection: db,
        outDir: out,
        includeViews: true,
        tables: ['noisy_view', 'lines', 'mixed'],
        maxRowsPerFile: 700,
      });
      const view = result.tables.find((t) => t.name === 'noisy_view')!;
      assert.equal(view.rows, 3000);
      assert.equal(view.files.length, 5);
      assert.equal(result.tables.find((t) => t.name === 'mixed')!.rows, 2000);
      const dir = tempDir('exit-plan-unzip-');
      execFileSync('unzip', ['-q', result.archive, '-d', dir]);
      assert.equal(fs.readFileSync(path.join(dir, 'public/lines.csv'), 'utf8'), 'id,body\n1,"a\nb"\n2,"""quoted""\r\nline"\n3,\n');
      fs.rmSync(dir, { recursive: true, force: true });
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('reads COPY over TLS (sslmode=require) as over a plain connection', async function () {
    // A second server with TLS on, its certificate made by openssl for the test.
    const certs = selfSignedCertificate('localhost');
    fs.chmodSync(certs.dir, 0o755);
    fs.chmodSync(certs.key, 0o600);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      for (const f of [certs.key, certs.cert]) fs.chownSync(f, uid, uid);
    }
    const tls = await startPostgres({
      quiet: true,
      settings: ['ssl=on', `ssl_cert_file=${certs.cert}`, `ssl_key_file=${certs.key}`],
    });
    const out = tempDir();
    try {
      const conn = await tls.createDatabase('tls_copy');
      const c = await tls.client('tls_copy');
      await c.query(`CREATE TABLE public.t AS SELECT g AS id, repeat(md5(g::text), 20) AS body FROM generate_series(1, 20000) g`);
      // While the export runs, its own sessions are asked whether they use TLS.
      let usedTls: Promise<boolean> | undefined;
      const result = await exportWarehouse({
        connection: { ...conn, sslmode: 'require' },
        outDir: out,
        maxRowsPerFile: 7000,
        onProgress: (p) => {
          if (p.phase !== 'exporting' || usedTls) return;
          usedTls = c
            .query<{ tls: boolean; n: string }>(
              `SELECT bool_and(s.ssl) AS tls, count(*) AS n FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
               WHERE a.application_name = 'exit-plan'`,
            )
            .then((r) => r.rows[0].tls === true && Number(r.rows[0].n) > 0);
        },
      });
      assert.equal(await usedTls, true, "the export's sessions used TLS");
      await c.end();
      assert.equal(result.rows, 20000);
      assert.deepEqual(
        result.tables[0].files.map((f) => [f.name, f.rows]),
        [
          ['public/t-00001.csv', 7000],
          ['public/t-00002.csv', 7000],
          ['public/t-00003.csv', 6000],
        ],
      );
      assert.match(execFileSync('unzip', ['-tq', result.archive], { encoding: 'utf8' }), /No errors detected/);
    } finally {
      await tls.stop();
      fs.rmSync(out, { recursive: true, force: true });
      fs.rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it('stops at an error after some rows with the server’s sentence, and leaves nothing', async () => {
    const out = tempDir();
    try {
      await assert.rejects(
        exportWarehouse({ connection: db, outDir: out, includeViews: true, tables: ['failing_view'] }),
        /bad row 1500.*no archive was written and the partial file was removed\.$/,
      );
      assert.deepEqual(listFiles(out), []);
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
