import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportWarehouse, type PgConnectionOptions } from '../src/exporters';
import { unzipArchive } from './helpers/archive';
import { postgres } from './helpers/postgres';

/** The ids in the first column of one or more CSV files (header skipped). */
function ids(dir: string, files: string[]): string[] {
  return files
    .flatMap((f) =>
      fs
        .readFileSync(path.join(dir, f), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(',')[0]),
    )
    .sort();
}

describe('warehouse export: one consistent snapshot while connectors keep writing', () => {
  let db: PgConnectionOptions;

  before(async () => {
    const pg = await postgres();
    db = await pg.createDatabase('live');
    const c = await pg.client('live');
    // Exported in name order: a_ first, then a large table that takes a while, then z_.
    await c.query(`CREATE TABLE public.a_payments_out (id bigint PRIMARY KEY, amount integer NOT NULL);
      CREATE TABLE public.m_history (id bigint, payload text);
      INSERT INTO public.m_history SELECT g, repeat(md5(g::text), 3) FROM generate_series(1, 600000) g;
      CREATE TABLE public.z_payments_in (id bigint PRIMARY KEY, amount integer NOT NULL);
      ANALYZE;`);
    await c.end();
  });

  for (const jobs of [1, 3]) {
    it(`every payment out has its payment in (jobs=${jobs})`, async () => {
      const pg = await postgres();
      const writer = await pg.client('live');
      let committed = 0;
      let writing = true;
      let nextId = jobs * 1_000_000;
      // A connector: each transaction writes both sides of a payment, so the two tables always agree.
      const writes = (async () => {
        while (writing) {
          const id = nextId++;
          await writer.query('BEGIN');
          await writer.query('INSERT INTO public.a_payments_out VALUES ($1, 10)', [id]);
          await writer.query('INSERT INTO public.z_payments_in VALUES ($1, 10)', [id]);
          await writer.query('COMMIT');
          committed++;
        }
      })();
      try {
        while (committed < 20) await new Promise((r) => setTimeout(r, 5));
        const before = committed;
        const result = await exportWarehouse({ connection: db, outDir: fs.mkdtempSync(path.join(os.tmpdir(), 'snap-')), jobs });
        const during = committed - before;
        writing = false;
        await writes;
        assert.ok(during > 0, 'the writer committed while the export ran');

        const { dir, manifest } = unzipArchive(result.archive);
        const files = (name: string) => manifest.tables.find((t) => t.name === name)!.files.map((f) => f.name);
        const out = ids(dir, files('a_payments_out'));
        const inn = ids(dir, files('z_payments_in'));
        assert.ok(out.length >= 20);
        assert.deepEqual(inn, out, 'both sides of every payment come from the same moment');
        assert.ok(Date.parse(manifest.snapshotTime) <= Date.now());
      } finally {
        writing = false;
        await writes;
        await writer.end();
      }
    });
  }
});
