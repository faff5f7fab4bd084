// Verification of a local archive whose entries are larger than the read-ahead window (1 MiB deflated): such an
// entry is streamed from the archive's file handle, and the entries after it must still be readable.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { exportWarehouse, verifyArchive } from '../src/exporters';
import { tempDir, unzipArchive } from './helpers/archive';
import { databaseWith } from './helpers/postgres';

describe('warehouse export: entries larger than the read-ahead window', () => {
  it('exports and verifies two tables of several MiB of barely compressible CSV each', async () => {
    // md5 hex: about 2 : 1 under deflate, so each CSV entry is well over 1 MiB in the archive.
    const db = await databaseWith(
      'verify_large',
      `CREATE TABLE a_big (id int PRIMARY KEY, h text);
       INSERT INTO a_big SELECT g, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 60000) g;
       CREATE TABLE b_big (id int PRIMARY KEY, h text);
       INSERT INTO b_big SELECT g, md5((-g)::text) || md5(g::text) FROM generate_series(1, 60000) g;`,
    );
    const out = tempDir('exit-plan-verify-large-');
    const result = await exportWarehouse({ connection: db, outDir: out });
    assert.ok(fs.statSync(result.archive).size > 2 * 2 ** 20, 'at least two entries beyond the window');
    const verified = await verifyArchive(result.archive);
    assert.equal(verified.rows, 120000);
    assert.deepEqual(
      unzipArchive(result.archive).manifest.tables.map((t) => [t.name, t.rows]),
      [
        ['a_big', 60000],
        ['b_big', 60000],
      ],
    );
  });
});
