// Memory stays flat in the number of parts and zip entries: `--max-rows-per-file 1` on a table of 20,000 rows
// exports and verifies within a 96 MB JavaScript heap (before, the central directory's million tiny writes and
// verify's list of every entry ran it out of memory).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { capture } from '../scripts/lib/capture';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { tempDir } from './helpers/archive';
import { CLI } from './helpers/backups';
import { postgres } from './helpers/postgres';

const ROWS = 20_000;

describe('Memory flat in the number of parts', function () {
  this.timeout(300_000);

  const partsTitle =
    `exports ${ROWS.toLocaleString('en-US')} one-row parts with a 96 MB heap, and the archive verifies and lists every ` + `part`;
  it(partsTitle, async function () {
    const pg = await postgres();
    const db = await pg.createDatabase('trust_memory_parts');
    const client = await pg.client(db.database);
    try {
      await client.query(`CREATE TABLE events AS SELECT i AS id, md5(i::text) AS payload FROM generate_series(1, ${ROWS}) AS i`);
    } finally {
      await client.end();
    }
    const out = tempDir('exit-plan-memory-');
    try {
      const result = await capture(
        process.execPath,
        [
          '--max-old-space-size=96',
          CLI,
          'warehouse',
          'export',
          '--db',
          connectionUrl(db),
          '--out',
          out,
          '--max-rows-per-file',
          '1',
          '--quiet',
          '--json',
        ],
        { env: { ...process.env, PGPASSWORD: db.password } },
      );
      assert.equal(result.stderr, '');
      assert.equal(result.code, 0);
      const summary = JSON.parse(result.stdout) as { archive: string; rows: number; tables: { files: string[] }[] };
      assert.equal(summary.rows, ROWS);
      assert.equal(summary.tables[0].files.length, ROWS);
      assert.deepEqual(fs.readdirSync(out), [path.basename(summary.archive)]);
      // unzip itself reads the whole archive back: every part, with its CRC-32, and the archive's own files.
      execFileSync('unzip', ['-tq', summary.archive]);
      const names = execFileSync('unzip', ['-Z1', summary.archive], { encoding: 'utf8', maxBuffer: 64 << 20 })
        .trim()
        .split('\n');
      assert.equal(names.length, ROWS + 4);
      assert.equal(names.filter((n) => n.startsWith('public/events') && n.endsWith('.csv')).length, ROWS);
      const first = execFileSync('unzip', ['-p', summary.archive, summary.tables[0].files[0]], { encoding: 'utf8' });
      assert.equal(first, 'id,payload\n1,c4ca4238a0b923820dcc509a6f75849b\n');
    } finally {
      fs.rmSync(out, { recursive: true, force: true });
    }
  });
});
