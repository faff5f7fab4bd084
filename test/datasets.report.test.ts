// The datasets report as it reads folders and metrics.csv without an object per parcel or per row: parcel ids read
// from their characters, listings scanned for the newest parcels, metrics.csv indexed. Odd datasets (names that are
// not parcels, a parcel with only a log, metrics.csv out of order or with an id twice, a repeated column) give the
// report export_manager's rules give, down to the text a user reads.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasets } from '../src/exporters';
import { parseCsv, readCsvRecord } from '../src/exporters/datasets/csv';
import { MetricsIndex } from '../src/exporters/datasets/metrics';
import { ParcelListing, parcelTime, scanParcels } from '../src/exporters/datasets/parcels';
import { removeTempDirs, tempDir } from './helpers/datasets';

const NOW = () => new Date('2026-11-30T07:00:00Z');
const DAY = 24 * 60 * 60 * 1000;

interface Layout {
  config?: string | null;
  metrics?: string;
  data?: string[];
  folders?: string[];
  incomplete?: string[];
  log?: string[];
  dirs?: string[];
}

/** A dataset folder written by hand: config.toml, metrics.csv, and empty files (or folders) with the given names. */
function dataset(root: string, name: string, layout: Layout = {}): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  const config = layout.config === undefined ? 'interval = "1 day"\nmetrics.items.cmd = "true"\n' : layout.config;
  if (config !== null) fs.writeFileSync(path.join(dir, 'config.toml'), config);
  if (layout.metrics !== undefined) fs.writeFileSync(path.join(dir, 'metrics.csv'), layout.metrics);
  for (const sub of layout.dirs ?? ['data', 'incomplete', 'log']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const n of layout.data ?? []) fs.writeFileSync(path.join(dir, 'data', n), 'x');
  for (const n of layout.folders ?? []) fs.mkdirSync(path.join(dir, 'data', n), { recursive: true });
  for (const n of layout.incomplete ?? []) fs.writeFileSync(path.join(dir, 'incomplete', n), 'x');
  for (const n of layout.log ?? []) fs.writeFileSync(path.join(dir, 'log', n), n.endsWith('.err') ? 'oops\nlast line\n' : '');
  return dir;
}

/** A metrics.csv of 401 daily rows (some failed, one metric ERROR, the newest hours apart), with every other parcel on disk. */
function history(): { metrics: string; data: string[] } {
  const rows = ['parcel_id,success,files,bytes,items,extra'];
  const data: string[] = [];
  const t0 = Date.UTC(2026, 10, 29, 12, 0, 0);
  for (let i = 400; i >= 0; i--) {
    const id = datasets.parcelIdOf(new Date(t0 - i * DAY - (i % 3) * 60 * 60 * 1000));
    rows.push(`${id},${i % 17 === 5 ? 'N' : 'Y'},1,${1000 - i},${i === 0 ? 'ERROR' : i},${i % 2 ? '' : 'x'.repeat(20)}`);
    if (i % 2 === 0) data.push(`${id}.json`);
  }
  return { metrics: `${rows.join('\r\n')}\r\n`, data };
}

/** The odd datasets, in one root. */
function oddRoot(): string {
  const root = tempDir();
  // Out of order, an id twice (the later row, a failure, counts), a byte order mark, blank lines, a quoted line break.
  dataset(root, 'a-unsorted', {
    metrics:
      '\ufeffparcel_id,success,files,bytes,items\n2026-11-20T000000Z,Y,1,100,5\n\n2026-11-29T000000Z,Y,1,50,"multi\nline"\n' +
      '2026-11-28T000000Z,Y,1,90,4\n2026-11-29T000000Z,N,,,\n,Y,1,1,1\n2026-11-10T000000Z,Y,1,"1,000",3\n',
    data: ['2026-11-20T000000Z.json', '2026-11-28T000000Z.json', '2026-11-10T000000Z.json'],
    incomplete: ['2026-11-29T000000Z.json'],
    log: ['2026-11-29T000000Z.err', '2026-11-29T000000Z.out'],
  });
  // Columns named twice: the last one's value counts (as in an object keyed by the header); a short row.
  dataset(root, 'b-dupcols', {
    metrics:
      'parcel_id,success,files,bytes,success,items,parcel_id\n2026-11-01T000000Z,N,1,10,Y,2,2026-11-02T000000Z\n' +
      '2026-11-03T000000Z,Y,1,10,N,2,\n2026-11-04T000000Z,Y\n',
    data: ['2026-11-02T000000Z.csv', '2026-11-03T000000Z.csv'],
  });
  // Names that are not parcels, a folder parcel, ids Date reads oddly (30 February, 24:00), a month 13.
  dataset(root, 'c-names', {
    metrics:
      'parcel_id,success,files,bytes,items\r\n2026-02-30T000000Z,Y,1,10,1\r\n2026-03-01T000000Z,Y,1,5,1\r\n' +
      '2025-09-01T240000Z,Y,1,20,1\r\n2026-02-20T000000Z,Y,1,30,2\r\n',
    data: ['2026-02-30T000000Z.json', '.hidden', 'notes.txt', '2026-03-01T000000Zx', '2026-02-20T000000Z.json', '2026-02-20T000000Z.extra'],
    folders: ['2026-03-01T000000Z'],
    incomplete: ['2026-03-01T000000Z.part', '2026-13-01T000000Z.json'],
    log: ['2026-11-30T000000Z.out', '2026-12-01T000000Z.log', '2026-12-02T000000Z.outx', '2026-03-01T000000Z.err'],
  });
  // The newest parcel has only a log: the export failed without writing anything.
  dataset(root, 'd-logonly', {
    metrics: 'parcel_id,success,files,bytes\r\n2026-11-01T000000Z,Y,1,1\r\n',
    data: ['2026-11-01T000000Z.json'],
    log: ['2026-11-02T000000Z.err'],
  });
  dataset(root, 'e-empty', { dirs: [] });
  dataset(root, 'f-nometricsid', { metrics: 'id,success\n1,Y\n', data: ['2026-11-01T000000Z.json'] });
  dataset(root, 'g-badconfig', {
    config: 'interval = "sometimes"\n',
    metrics: 'parcel_id,success,files,bytes\n2026-11-01T000000Z,Y,1,1\n',
    data: ['2026-11-01T000000Z.json'],
  });
  dataset(root, 'h-history', history());
  dataset(root, 'i-emptymetrics', { metrics: '', data: ['2026-11-01T000000Z.json'] });
  dataset(root, 'j-headeronly', { metrics: '\n\nparcel_id,success,files,bytes\n' });
  // The newest success is not on disk (its data is in incomplete/): gone, found by listing data/ again.
  dataset(root, 'k-gone', {
    metrics: 'parcel_id,success,files,bytes\n2026-11-01T000000Z,Y,1,1\n2026-11-02T000000Z,Y,1,1\n',
    data: ['2026-11-01T000000Z.json'],
    incomplete: ['2026-11-02T000000Z.json'],
  });
  const datafile = dataset(root, 'l-datafile', {
    metrics: 'parcel_id,success,files,bytes\n2026-11-01T000000Z,Y,1,1\n',
    dirs: ['incomplete', 'log'],
  });
  fs.writeFileSync(path.join(datafile, 'data'), 'not a folder');
  dataset(root, 'm-nometrics', { data: ['2026-11-01T000000Z.json'] });
  return root;
}

/** The text report of the odd datasets, as the report read them before it stopped making an object per parcel and per row. */
const ODD_REPORT = [
  'ERROR: f-nometricsid: ROOT/f-nometricsid/metrics.csv has no parcel_id column: its first line must' +
    ' start with parcel_id,success,files,bytes.',
  'ERROR: g-badconfig: ROOT/g-badconfig/config.toml, line 1: "interval": "sometimes" is not a' +
    ' duration: write it like "1 day", "1 day, 2 hours" or "1w2d3h5m4s" (units w, d, h, m, s).',
  'ERROR: l-datafile: Cannot list the parcels of ROOT/l-datafile: ENOTDIR: not a directory, scandir' + " 'ROOT/l-datafile/data'.",
  'WARNING: no complete parcel for: e-empty, j-headeronly',
  'WARNING: overdue: a-unsorted, b-dupcols, c-names, d-logonly, e-empty, f-nometricsid,' +
    ' i-emptymetrics, j-headeronly, k-gone, l-datafile, m-nometrics',
  'WARNING: most recent parcel is incomplete (failing) for: a-unsorted, c-names, d-logonly, k-gone',
  'WARNING: most recent successful parcel is missing for: k-gone, l-datafile',
  'WARNING: missing metrics in last complete parcel for: b-dupcols, d-logonly, f-nometricsid,' +
    ' h-history, i-emptymetrics, k-gone, m-nometrics',
  'ALERT: c-names: bytes shrank by 50 % from 10 B (2026-02-30T000000Z) to 5 B (2026-03-01T000000Z).',
  '',
  'Newest successes:',
  '-----------------------------------------',
  'a-unsorted      2026-11-28T000000Z',
  'b-dupcols       2026-11-02T000000Z',
  'c-names         2026-03-01T000000Z',
  'd-logonly       2026-11-01T000000Z',
  'e-empty         NONE',
  'f-nometricsid   NONE',
  'g-badconfig     2026-11-01T000000Z',
  'h-history       2026-11-29T120000Z',
  'i-emptymetrics  NONE',
  'j-headeronly    NONE',
  'k-gone          2026-11-02T000000Z (GONE)',
  'l-datafile      2026-11-01T000000Z (GONE)',
  'm-nometrics     NONE',
  '',
  'Metrics for a-unsorted:',
  '',
  '  name   2 days ago  10 days ago',
  '  ------------------------------',
  '  files  1           1',
  '  bytes  90          100',
  '  items  4           5',
  '',
  'Metrics for b-dupcols:',
  '',
  '  name   28 days ago',
  '  ------------------',
  '  files  1',
  '  bytes  10',
  '  items  2',
  '',
  'Metrics for c-names:',
  '',
  '  name   274 days ago  283 days ago  454 days ago',
  '  -----------------------------------------------',
  '  files  1             1             1',
  '  bytes  5             30            20',
  '  items  1             2             1',
  '',
  'Metrics for d-logonly:',
  '',
  '  name   29 days ago',
  '  ------------------',
  '  files  1',
  '  bytes  1',
  '',
  'Metrics for g-badconfig:',
  '',
  '  name   29 days ago',
  '  ------------------',
  '  files  1',
  '  bytes  1',
  '',
  'Metrics for h-history:',
  '',
  '  name   0 days ago            7 days ago  180 days ago',
  '  -----------------------------------------------------',
  '  files  1                     1           1',
  '  bytes  1000                  993         820',
  '  items  ERROR                 7           180',
  '  extra  xxxxxxxxxxxxxxxxxxxx              xxxxxxxxxxxxxxxxxxxx',
  '',
  'Metrics for k-gone:',
  '',
  '  name   28 days ago',
  '  ------------------',
  '  files  1',
  '  bytes  1',
  '',
  'Metrics for l-datafile:',
  '',
  '  name   29 days ago',
  '  ------------------',
  '  files  1',
  '  bytes  1',
  '',
].join('\n');

describe('datasets report: folders and metrics.csv read without an object per parcel or per row', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  it('reads parcel ids into the times Date gives, including the dates Date rolls over, and refuses anything else', () => {
    const ids = [
      '2026-11-30T070000Z',
      '2026-02-29T000000Z',
      '2026-02-30T000000Z',
      '2026-04-31T235959Z',
      '2026-01-01T240000Z',
      '0000-01-01T000000Z',
      '1969-12-31T235959Z',
      '9999-12-31T240000Z',
    ];
    for (const id of ids) {
      const iso = `${id.slice(0, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`;
      assert.equal(parcelTime(id), new Date(iso).getTime(), id);
      assert.equal(datasets.parseParcelId(id)?.toISOString(), new Date(iso).toISOString(), id);
    }
    const notIds = [
      '2026-13-01T000000Z',
      '2026-00-01T000000Z',
      '2026-01-00T000000Z',
      '2026-01-32T000000Z',
      '2026-01-01T240001Z',
      '2026-01-01T250000Z',
      '2026-01-01T236000Z',
      '2026-01-01T235960Z',
      '2026-01-01T000000Z.json',
      '2026-01-01t000000Z',
      '２026-01-01T000000Z',
      '2026-01-01T00000Z',
      '',
    ];
    for (const id of notIds) {
      assert.ok(Number.isNaN(parcelTime(id)), id);
      assert.equal(datasets.parseParcelId(id), undefined, id);
    }
  });

  it('reads CSV one record at a time as Python writes it, and makes only the wanted fields into strings', () => {
    const cases: [string, string[][]][] = [
      [
        'a,"b""c",d\r\n\r\n"x\ny",\n',
        [
          ['a', 'b"c', 'd'],
          ['x\ny', ''],
        ],
      ],
      ['ab"c,d"e\n', [['abc,de']]],
      ['"",\n,\n\r\r\n"q"', [['', ''], ['', ''], ['q']]],
      ['\n\n\n', []],
      ['a,b,\r\nc', [['a', 'b', ''], ['c']]],
      ['x,"y"z"w",\r\n', [['x', 'yzw', '']]],
    ];
    for (const [text, rows] of cases) assert.deepEqual(parseCsv(text), rows, JSON.stringify(text));

    const text = 'id,ok,note\n1,Y,"long, quoted"\n\n2,N,plain\n';
    const fields: string[] = ['left', 'over', 'from', 'before'];
    const seen: string[][] = [];
    for (let at = readCsvRecord(text, 0, fields); at >= 0; at = readCsvRecord(text, at, fields, [true, false, true]))
      seen.push([...fields]);
    assert.deepEqual(seen, [
      ['id', 'ok', 'note'],
      ['1', '', 'long, quoted'],
      ['2', '', 'plain'],
    ]);
  });

  it('indexes metrics.csv as a map of its rows would hold them: sorted, the last row of an id, rows without an id left out', () => {
    const text =
      '\ufeffparcel_id,success,files,bytes,note\n2026-11-20T000000Z,Y,1,100,a\n\n2026-11-29T000000Z,Y,1,50,"x\ny"\n' +
      '2026-11-28T000000Z,N,1,90,b\n2026-11-29T000000Z,N,,,"c, d"\n,Y,1,1,e\n2026-11-10T000000Z,Y\n';
    const index = MetricsIndex.parse(text, 'metrics.csv');
    assert.deepEqual(index.columns, ['parcel_id', 'success', 'files', 'bytes', 'note']);
    assert.deepEqual(index.ids, ['2026-11-10T000000Z', '2026-11-20T000000Z', '2026-11-28T000000Z', '2026-11-29T000000Z']);
    assert.deepEqual(index.success, [true, true, false, false]);
    assert.equal(index.eol, '\n');
    assert.deepEqual(index.get('2026-11-29T000000Z'), {
      parcel_id: '2026-11-29T000000Z',
      success: 'N',
      files: '',
      bytes: '',
      note: 'c, d',
    });
    assert.deepEqual(index.get('2026-11-10T000000Z'), { parcel_id: '2026-11-10T000000Z', success: 'Y', files: '', bytes: '', note: '' });
    assert.equal(index.get('2026-11-11T000000Z'), undefined);
    assert.throws(() => MetricsIndex.parse('id,success\n1,Y\n', 'metrics.csv'), /metrics\.csv has no parcel_id column/);
    assert.deepEqual(MetricsIndex.parse('', 'metrics.csv').columns, ['parcel_id', 'success', 'files', 'bytes']);
  });

  it('finds the newest parcel in the listings as the parcels list has it: only parcel names, a log alone counts', async () => {
    const root = oddRoot();
    for (const name of fs.readdirSync(root)) {
      const dir = path.join(root, name);
      if (name === 'l-datafile') {
        await assert.rejects(scanParcels(dir), /ENOTDIR/);
        continue;
      }
      const parcels = await datasets.listParcels(dir);
      const newest = parcels[parcels.length - 1];
      const complete = parcels.filter(datasets.isComplete).pop();
      const expected: { newest?: { id: string; complete: boolean }; newestComplete?: string } = {};
      if (complete) expected.newestComplete = complete.id;
      if (newest) expected.newest = { id: newest.id, complete: datasets.isComplete(newest) };
      assert.deepEqual(await scanParcels(dir), expected, name);
      const p = datasets.datasetPaths(dir);
      const list = (folder: string) => (fs.existsSync(folder) ? fs.readdirSync(folder) : []);
      const listing = new ParcelListing(list(p.data), list(p.incomplete), list(p.log));
      assert.deepEqual(listing.summary(), expected, name);
    }
    const names = await datasets.listParcels(path.join(root, 'c-names'));
    assert.deepEqual(
      names.map((x) => [x.id, x.data, x.incomplete, x.out, x.err]),
      [
        ['2026-02-20T000000Z', ['2026-02-20T000000Z.extra', '2026-02-20T000000Z.json'], [], false, false],
        ['2026-02-30T000000Z', ['2026-02-30T000000Z.json'], [], false, false],
        ['2026-03-01T000000Z', ['2026-03-01T000000Z'], ['2026-03-01T000000Z.part'], false, true],
        ['2026-11-30T000000Z', [], [], true, false],
        ['2026-13-01T000000Z', [], ['2026-13-01T000000Z.json'], false, false],
      ].map(([id, data, incomplete, out, err]) => [id, (data as string[]).sort(), incomplete, out, err]),
    );
  });

  it('reports odd datasets as before, word for word, and the same with the parcels and the history', async () => {
    const root = oddRoot();
    const found = await datasets.findDatasets([root]);
    const report = await datasets.buildReport(found.datasets, { now: NOW });
    assert.equal(datasets.formatReport(report).split(root).join('ROOT'), ODD_REPORT);

    const by = (name: string) => report.datasets.find((d) => d.name === name)!;
    assert.deepEqual(by('a-unsorted').lastParcel, { id: '2026-11-29T000000Z', complete: false });
    assert.deepEqual(by('a-unsorted').lastError, { parcelId: '2026-11-29T000000Z', line: 'last line' });
    assert.deepEqual(by('c-names').lastParcel, { id: '2026-13-01T000000Z', complete: false });
    assert.deepEqual(
      by('h-history').highlights.map((h) => h.parcelId),
      ['2026-11-29T120000Z', '2026-11-22T110000Z', '2026-06-02T120000Z'],
    );
    assert.deepEqual(
      by('h-history').warnings.map((w) => w.message),
      ['h-history: metrics of 2026-11-29T120000Z: items is ERROR.'],
    );

    // The tree's and the charts' report says the same, plus every parcel and row.
    const full = await datasets.buildReport(found.datasets, { now: NOW, parcels: true, history: true });
    assert.equal(datasets.formatReport(full), datasets.formatReport(report));
    for (const d of full.datasets) {
      const { parcels, history: points, ...rest } = d;
      assert.deepEqual(
        rest,
        report.datasets.find((x) => x.path === d.path),
        d.name,
      );
      if (d.name === 'l-datafile') continue;
      assert.deepEqual(
        parcels!.map((x) => x.id),
        (await datasets.listParcels(d.path)).map((x) => x.id).reverse(),
        d.name,
      );
      const table = d.name === 'f-nometricsid' ? undefined : await datasets.readMetrics(d.path);
      assert.deepEqual(
        points!.map((x) => x.parcelId),
        [...(table?.rows.keys() ?? [])].filter((id) => datasets.parseParcelId(id)).sort(),
        d.name,
      );
      for (const x of parcels!) assert.deepEqual(x.metrics, table?.rows.get(x.id), `${d.name} ${x.id}`);
    }
  });

  it('does not call a dataset failing while a run holds its lock: its newest parcel is still being written', async () => {
    const dir = dataset(tempDir(), 'busy', {
      metrics: 'parcel_id,success,files,bytes\n2026-11-28T000000Z,Y,1,1\n',
      data: ['2026-11-28T000000Z.json'],
      incomplete: ['2026-11-30T060000Z.json'],
      log: ['2026-11-30T060000Z.out'],
    });
    const held = await datasets.withDatasetLock(dir, async () => {
      const report = await datasets.buildReport([dir], { now: NOW });
      const d = report.datasets[0];
      assert.equal(d.running?.pid, process.pid);
      assert.equal(d.failing, false);
      assert.deepEqual(d.lastParcel, { id: '2026-11-30T060000Z', complete: false });
      assert.match(datasets.formatReport(report), new RegExp(`^busy {2}2026-11-28T000000Z \\(running since ${d.running!.since}\\)$`, 'm'));
      return d;
    });
    assert.ok('value' in held);
    const after = (await datasets.buildReport([dir], { now: NOW })).datasets[0];
    assert.equal(after.running, undefined);
    assert.equal(after.failing, true, 'once the lock is gone, the incomplete newest parcel is a failure');
  });
});
