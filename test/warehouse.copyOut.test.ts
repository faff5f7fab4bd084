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
import { listFiles, tempDir } from './helpers/archive';
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
