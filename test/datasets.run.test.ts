// A run over several datasets: export now exports each of them, and one progress text for the CLI and VS Code.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { datasets } from '../src/exporters';
import { namesIn, removeTempDirs, tempDir, writeExportManagerDataset } from './helpers/datasets';

const CONFIG = `cmd = "echo exported > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\n`;

describe('datasets: runs over several datasets', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  it('export now exports every dataset it is given, not only the first', async () => {
    const root = tempDir();
    const dirs = ['alpha', 'beta', 'gamma'].map((name) => writeExportManagerDataset(path.join(root, name), CONFIG));
    // Processing first: each is due (no parcel yet), so each gets one.
    const processed = await datasets.processDatasets(dirs);
    assert.deepEqual(
      processed.map((r) => [r.name, r.outcome]),
      dirs.map((d) => [path.basename(d), 'exported']),
    );
    // Not due any more; export now exports each of them all the same.
    const exported = await datasets.exportDatasets(dirs);
    assert.deepEqual(
      exported.map((r) => [r.name, r.outcome, r.ok]),
      dirs.map((d) => [path.basename(d), 'exported', true]),
    );
    for (const dir of dirs) assert.equal(namesIn(dir, 'data').length, 2, `${dir} has two parcels`);
    assert.equal(fs.readFileSync(path.join(dirs[2], 'data', namesIn(dirs[2], 'data')[1]), 'utf8'), 'exported\n');
  });

  it('describes its progress in one text, and counts finished datasets for the bar', async () => {
    const root = tempDir();
    const dirs = ['one', 'two'].map((name) => writeExportManagerDataset(path.join(root, name), `${CONFIG}keep = 5\n`));
    const seen: { text: string; fraction: number; phase: datasets.DatasetPhase }[] = [];
    const results = await datasets.exportDatasets(dirs, {
      onProgress: (p) =>
        seen.push({ text: datasets.describeDatasetProgress(p), fraction: datasets.datasetProgressFraction(p), phase: p.phase }),
    });
    const [a, b] = results.map((r) => r.parcelId!);
    assert.deepEqual(seen, [
      { text: `[1/2] one: exporting ${a}`, fraction: 0, phase: 'exporting' },
      { text: `[1/2] one: measuring ${a}`, fraction: 0, phase: 'metrics' },
      { text: '[1/2] one: removing old parcels', fraction: 0, phase: 'cleaning' },
      { text: `[1/2] one: ${results[0].message}`, fraction: 0.5, phase: 'done' },
      { text: `[2/2] two: exporting ${b}`, fraction: 0.5, phase: 'exporting' },
      { text: `[2/2] two: measuring ${b}`, fraction: 0.5, phase: 'metrics' },
      { text: '[2/2] two: removing old parcels', fraction: 0.5, phase: 'cleaning' },
      { text: `[2/2] two: ${results[1].message}`, fraction: 1, phase: 'done' },
    ]);
  });

  it('says what each step is doing, as the CLI always printed it', () => {
    const base = { dataset: '/d/todoist', name: 'todoist', index: 1, count: 1 };
    const id = '2025-03-01T021500Z';
    assert.deepEqual(
      [
        datasets.describeDatasetProgress({ ...base, phase: 'ingesting', source: '/home/me/Downloads/export-1.zip' }),
        datasets.describeDatasetProgress({ ...base, phase: 'exporting', parcelId: id, attempt: 1, attempts: 1 }),
        datasets.describeDatasetProgress({ ...base, phase: 'exporting', parcelId: id, attempt: 2, attempts: 3 }),
        datasets.describeDatasetProgress({ ...base, phase: 'waiting', parcelId: id, attempt: 2, attempts: 3, retryInMs: 90_000 }),
        datasets.describeDatasetProgress({ ...base, phase: 'committing' }),
        datasets.describeDatasetProgress({ ...base, index: 3, count: 4, phase: 'done', message: 'not due for 5 hours.' }),
      ],
      [
        'todoist: ingesting export-1.zip',
        `todoist: exporting ${id}`,
        `todoist: exporting ${id} (attempt 2 of 3)`,
        'todoist: attempt 1 failed; retrying in 1 minute 30 seconds',
        'todoist: committing to git',
        '[3/4] todoist: not due for 5 hours.',
      ],
    );
  });
});
