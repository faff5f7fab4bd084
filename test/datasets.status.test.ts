// One state per dataset (src/exporters/datasets/status.ts): what the report's summary, the status bar and the tree
// say, each dataset counted once; and the last error line of a failed parcel's log, from a real failed export.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasets } from '../src/exporters';
import { timeAxisRange } from '../src/exporters/datasets/chart';
import { removeTempDirs, tempDir, writeExportManagerDataset } from './helpers/datasets';

type Fields = datasets.StateFields;
const PARCEL = { id: '2026-11-29T020000Z', complete: true };
const ok: Fields = { overdue: false, failing: false, lastParcel: PARCEL };
const overdue: Fields = { ...ok, overdue: true };
const failing: Fields = { ...ok, failing: true, lastParcel: { ...PARCEL, complete: false } };
const failingAndOverdue: Fields = { ...failing, overdue: true };
const neverRun: Fields = { overdue: true, failing: false };
const broken: Fields = { ...ok, error: 'config.toml: bad interval.' };

function summary(...list: Fields[]): datasets.DatasetsSummary {
  return datasets.summarizeDatasets(list);
}

describe('datasets: one state per dataset', () => {
  after(removeTempDirs);

  it('gives each dataset one state, the worst first; a dataset that never ran is not overdue', () => {
    assert.equal(datasets.datasetState(broken), 'error');
    assert.equal(datasets.datasetState(failingAndOverdue), 'failing');
    assert.equal(datasets.datasetState(overdue), 'overdue');
    assert.equal(datasets.datasetState(neverRun), 'neverRun', 'never run: no parcel at all, even with an interval');
    assert.equal(datasets.datasetState(ok), 'ok');
    assert.equal(datasets.datasetState(ok, true), 'running', 'exporting in this window');
    assert.equal(datasets.datasetState({ ...overdue, running: { pid: 1, host: 'h', since: '' } as never }), 'running');
  });

  it('counts a dataset that is failing and overdue once: "2 datasets: 1 failing (also overdue), 1 ok"', () => {
    assert.equal(datasets.describeDatasetsSummary(summary(failingAndOverdue, ok)), '2 datasets: 1 failing (also overdue), 1 ok');
    assert.equal(
      datasets.describeDatasetsSummary(summary(failingAndOverdue, failing, overdue, neverRun)),
      '4 datasets: 2 failing (1 also overdue), 1 overdue, 1 never run',
    );
    assert.equal(datasets.describeDatasetsSummary(summary(broken, ok, ok)), '3 datasets: 1 with a config error, 2 ok');
    assert.equal(datasets.describeDatasetsSummary(summary()), 'No datasets.');
    const s = summary(failingAndOverdue, overdue, ok);
    assert.equal(
      Object.values(s.counts).reduce((a, b) => a + b, 0),
      s.total,
      'the counts add up to the datasets',
    );
  });

  it('leaves out the warnings the state already says', () => {
    const w = (...kinds: datasets.WarningKind[]) => kinds.map((kind) => ({ kind, message: kind }));
    const kinds = (d: Fields & { warnings: { kind: datasets.WarningKind }[] }) => datasets.distinctWarnings(d).map((x) => x.kind);
    assert.deepEqual(kinds({ ...failingAndOverdue, warnings: w('noComplete', 'overdue', 'failing') }), ['overdue', 'failing']);
    assert.deepEqual(kinds({ ...neverRun, warnings: w('noComplete', 'overdue') }), []);
    assert.deepEqual(kinds({ ...overdue, warnings: w('overdue', 'shrank') }), ['overdue', 'shrank']);
  });

  it('names the state in the status bar', () => {
    const text = (...list: Fields[]) => {
      const t = datasets.datasetsStatusText(summary(...list));
      return `${t.icon}${t.warning ? '!' : ''} ${t.text}`;
    };
    assert.equal(text(failing), 'warning! 1 dataset failing');
    assert.equal(text(overdue, overdue, ok), 'warning! 2 datasets overdue');
    assert.equal(text(failingAndOverdue, overdue, overdue), 'warning! Datasets: 1 failing (also overdue), 2 overdue');
    assert.equal(text(broken), 'warning! 1 dataset with a config error');
    assert.equal(text(neverRun), 'circle 1 dataset: never run', 'no check mark for a dataset that never ran');
    assert.equal(text(ok, neverRun), 'pass 2 datasets: 1 never run');
    assert.equal(text(ok, ok), 'pass 2 datasets ok');
  });

  it('fits the report chart’s time axis to the parcels: today’s parcels never show on an axis years ahead', () => {
    const day = 24 * 3600;
    const t = Date.parse('2026-11-30T02:00:00Z') / 1000;
    // Six daily parcels: the axis spans them, padded by 5 % of six days.
    const [from, to] = timeAxisRange(t - 5 * day, t);
    assert.equal(to - t, 0.05 * 5 * day);
    assert.equal(t - 5 * day - from, 0.05 * 5 * day);
    // Parcels minutes apart today: the axis ends within minutes of the last one.
    const [a, b] = timeAxisRange(t - 600, t);
    assert.ok(b - t <= 60 && t - 600 - a <= 60, `${a} ${b}`);
    // One parcel: an hour either side; none: the last day.
    assert.deepEqual(timeAxisRange(t, t), [t - 3600, t + 3600]);
    assert.deepEqual(timeAxisRange(null, null, t), [t - day, t]);
  });

  it('reads the last error line of a failed export: the command’s own last line on stderr, in the report too', async () => {
    const dir = path.join(tempDir(), 'notes');
    writeExportManagerDataset(dir, `cmd = "echo starting; echo 'curl: (6) Could not resolve host: api.example.com' >&2; exit 6"\n`);
    const [result] = await datasets.exportDatasets([dir]);
    assert.equal(result.outcome, 'failed', result.message);
    const line = await datasets.lastErrorLine(dir, result.parcelId!);
    assert.equal(line, 'curl: (6) Could not resolve host: api.example.com');

    const report = await datasets.buildReport([dir]);
    assert.deepEqual(report.datasets[0].lastError, { parcelId: result.parcelId, line });
    assert.equal(datasets.datasetState(report.datasets[0]), 'failing');

    // Only Exit Plan's own note in the .err (the command wrote nothing there): that note, without its prefix.
    const log = datasets.datasetPaths(dir).log;
    fs.writeFileSync(path.join(log, `${result.parcelId}.err`), '[exit-plan] attempt 1 of 1 failed: the command exited with code 6\n');
    assert.equal(await datasets.lastErrorLine(dir, result.parcelId!), 'attempt 1 of 1 failed: the command exited with code 6');
    // Control characters are escaped; a missing log gives nothing.
    fs.writeFileSync(path.join(log, `${result.parcelId}.err`), 'bad \u001b[31mred\u001b[0m\n\n');
    assert.equal(await datasets.lastErrorLine(dir, result.parcelId!), 'bad \\x1b[31mred\\x1b[0m');
    assert.equal(await datasets.lastErrorLine(dir, '2020-01-01T000000Z'), undefined);
  });
});
