import * as assert from 'node:assert/strict';
import {
  CancelledError,
  describeExportProgress,
  describeTablesProgress,
  exportProgressFraction,
  exportWarehouse,
  listWarehouseTables,
  type ExportProgress,
  type LockWait,
  type PgConnectionOptions,
} from '../src/exporters';
import { listFiles, tempDir } from './helpers/archive';
import { databaseWith } from './helpers/postgres';

const WAIT: LockWait = {
  table: 'public.orders',
  schema: 'public',
  name: 'orders',
  pid: 4321,
  application: 'psql',
  state: 'idle in transaction',
};

function progress(p: Partial<ExportProgress>): ExportProgress {
  return { phase: 'connecting', tableIndex: 0, tableCount: 0, rows: 0, bytes: 0, ...p };
}

describe('warehouse export and table list: the operation contract (real PostgreSQL)', () => {
  let source: PgConnectionOptions;

  before(async () => {
    const tables = Array.from(
      { length: 7 },
      (_, i) => `CREATE TABLE public.t${i} AS SELECT g AS id FROM generate_series(1, ${(i + 1) * 100}) g;`,
    );
    source = await databaseWith('operations', tables.join('\n'));
  });

  it('describes each phase of an export in one text, and a lock wait before anything else', () => {
    assert.equal(describeExportProgress(progress({ phase: 'connecting' })), 'Connecting…');
    assert.equal(
      describeExportProgress(
        progress({ phase: 'exporting', tableIndex: 3, tableCount: 12, table: 'public.orders', rows: 120_000, bytes: 2048 }),
      ),
      'Table 3/12 public.orders — 120,000 rows, 2.0 KB',
    );
    assert.equal(describeExportProgress(progress({ phase: 'verifying', bytes: 0 })), 'Verifying archive — 0 B read');
    assert.equal(describeExportProgress(progress({ phase: 'done' })), 'Done');
    assert.equal(
      describeExportProgress(progress({ phase: 'exporting', tableIndex: 1, tableCount: 2, waiting: WAIT })),
      'Waiting for a lock on public.orders held by session 4321 (psql, idle in transaction)…',
    );
    assert.equal(
      describeTablesProgress({ waiting: WAIT }),
      'Waiting for a lock on public.orders held by session 4321 (psql, idle in transaction)…',
    );
    assert.equal(describeTablesProgress({}), 'Listing tables…');
  });

  it('the share of the work done: tables started up to 90 %, verifying the rest', () => {
    assert.equal(exportProgressFraction(progress({ phase: 'connecting' })), 0);
    assert.equal(exportProgressFraction(progress({ phase: 'exporting', tableIndex: 1, tableCount: 4 })), 0);
    assert.equal(exportProgressFraction(progress({ phase: 'exporting', tableIndex: 3, tableCount: 4 })), 0.45);
    assert.equal(exportProgressFraction(progress({ phase: 'verifying' })), 0.9);
    assert.equal(exportProgressFraction(progress({ phase: 'done' })), 1);
  });

  it('a real export reports texts of those shapes and a share that never goes back, from 0 to 1', async () => {
    const seen: { text: string; fraction: number }[] = [];
    await exportWarehouse({
      connection: source,
      outDir: tempDir(),
      jobs: 3,
      onProgress: (p) => seen.push({ text: describeExportProgress(p), fraction: exportProgressFraction(p) }),
    });
    assert.equal(seen[0].text, 'Connecting…');
    assert.equal(seen[0].fraction, 0);
    assert.deepEqual(seen.at(-1), { text: 'Done', fraction: 1 });
    for (const { text } of seen) {
      assert.match(
        text,
        /^(Connecting…|Table [1-7]\/7 public\.t[0-6] — [\d,]+ rows, [\d.]+ [KMG]?B|Verifying archive — [\d.]+ [KMG]?B read|Done)$/,
      );
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].fraction >= seen[i - 1].fraction, `${seen[i - 1].text} then ${seen[i].text}`);
  });

  it('with several connections every table is exported once, in the archive in the order listed', async () => {
    const result = await exportWarehouse({ connection: source, outDir: tempDir(), jobs: 3 });
    assert.deepEqual(
      result.tables.map((t) => [t.name, t.rows]),
      Array.from({ length: 7 }, (_, i) => [`t${i}`, (i + 1) * 100]),
    );
  });

  it('a cancel while several connections copy stops them all and leaves nothing behind', async () => {
    const out = tempDir();
    const controller = new AbortController();
    const exporting = exportWarehouse({
      connection: source,
      outDir: out,
      jobs: 3,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === 'exporting' && p.tableIndex >= 2) controller.abort();
      },
    });
    await assert.rejects(exporting, (err: Error) => err instanceof CancelledError && /^Export cancelled/.test(err.message));
    assert.deepEqual(listFiles(out), []);
  });

  it('the table list takes a signal: cancelled before it starts, it says so and connects to nothing', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      listWarehouseTables(source, { signal: controller.signal }),
      (err: Error) => err instanceof CancelledError && err.message === 'Listing cancelled.',
    );
  });
});
