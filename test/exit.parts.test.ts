// The folder, command, backups and datasets parts of an exit run, each run directly with a PartContext, on real
// components: tar, pg_dump dumps of the embedded PostgreSQL, export_manager datasets, sh.
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, ExitPlanError, backups, datasets, type PgConnectionOptions } from '../src/exporters';
import { backupsPartProgressFraction, describeBackupsPartProgress, runBackupsPart } from '../src/exporters/exit/parts/backups';
import { commandPartProgressFraction, describeCommandPartProgress, runCommandPart } from '../src/exporters/exit/parts/command';
import { datasetsPartProgressFraction, describeDatasetsPartProgress, runDatasetsPart } from '../src/exporters/exit/parts/datasets';
import { describeFolderPartProgress, folderPartProgressFraction, runFolderPart } from '../src/exporters/exit/parts/folder';
import type { PartContext, PartOutcome, PartProgress } from '../src/exporters/exit/types';
import { listFiles, tempDir } from './helpers/archive';
import { Clock, eventually, processGone, writeExportManagerDataset } from './helpers/datasets';
import { databaseWith } from './helpers/postgres';

/** A part's context as the run gives it: a fresh part folder, progress collected. */
function context(extra: Partial<PartContext> = {}): PartContext & { progress: PartProgress[] } {
  const progress: PartProgress[] = [];
  return {
    dir: path.join(tempDir('exit-plan-part-'), 'part'),
    resuming: false,
    resolvers: {
      warehouse: () => Promise.reject(new Error('not used')),
      azure: () => Promise.reject(new Error('not used')),
    },
    now: () => new Date(),
    onProgress: (p) => progress.push(p),
    progress,
    ...extra,
  };
}

const sha256 = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Every file the outcome lists is in the part's folder with that size and SHA-256, and nothing else is. */
function assertFilesRecorded(dir: string, outcome: PartOutcome): void {
  assert.deepEqual(
    outcome.files.map((f) => f.path).sort(),
    listFiles(dir).map((f) => f.split(path.sep).join('/')),
  );
  for (const f of outcome.files) {
    const file = path.join(dir, f.path);
    assert.equal(f.bytes, fs.statSync(file).size, f.path);
    assert.equal(f.sha256, sha256(file), f.path);
  }
}

/** Path → SHA-256 and mode of every file of a folder, to show it is byte-identical before and after. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    listFiles(dir).map((f) => {
      const st = fs.statSync(path.join(dir, f));
      return [f, `${sha256(path.join(dir, f))} ${st.size} ${st.mtimeMs}`];
    }),
  );
}

describe('exit parts: folder, command, backups, datasets', () => {
  it('each kind has one progress line and a share done', () => {
    const archiving = { phase: 'archiving' as const, backup: { phase: 'archiving' as const, bytes: 3_100_000, entries: 1204 } };
    assert.equal(describeFolderPartProgress(archiving), 'Archiving — 1,204 entries, 3.1 MB written');
    assert.equal(folderPartProgressFraction(archiving), undefined);
    const verifying = { phase: 'verifying' as const, verify: { file: '/x/media_media__2026.11.30.02_00.tar', bytes: 50, total: 100 } };
    assert.equal(describeFolderPartProgress(verifying), 'Verifying media_media__2026.11.30.02_00.tar — 50 B of 100 B');
    assert.equal(folderPartProgressFraction(verifying), 0.75);

    assert.equal(
      describeCommandPartProgress({ phase: 'running', lines: 12, elapsedMs: 41_400 }),
      'Running the command — 12 lines of output, 41 s',
    );
    assert.equal(commandPartProgressFraction({ phase: 'running', lines: 1, elapsedMs: 0 }), undefined);
    const hashing = { phase: 'hashing' as const, files: 3, file: 2, bytes: 3_000_000, total: 9_000_000 };
    assert.equal(describeCommandPartProgress(hashing), 'Recording checksums of 2/3 files — 3.0 MB of 9.0 MB');
    assert.equal(commandPartProgressFraction({ ...hashing, phase: 'verifying' }), 0.5 + 0.5 / 3);
    assert.equal(commandPartProgressFraction({ ...hashing, bytes: 0, total: 0 }), 0.5, 'no bytes to read: that pass is done');

    const copying = {
      phase: 'copying' as const,
      index: 2,
      count: 3,
      file: 'postgres_backup_app__2026.11.30.02_00.pg_restore',
      bytes: 41e6,
      total: 120e6,
    };
    assert.equal(describeBackupsPartProgress(copying), 'Copying 2/3 postgres_backup_app__2026.11.30.02_00.pg_restore — 41.0 MB of 120 MB');
    assert.equal(describeBackupsPartProgress({ ...copying, phase: 'verifying' }).startsWith('Verifying the copy of 2/3 '), true);
    assert.equal(backupsPartProgressFraction(copying), 41 / 120);

    const dataset = { index: 2, count: 5, dataset: 'photos', parcel: '2025-03-01T021500Z', bytes: 0, total: 0 };
    assert.equal(describeDatasetsPartProgress(dataset), 'Copying dataset 2/5 photos, parcel 2025-03-01T021500Z — 0 B of 0 B');
    assert.equal(datasetsPartProgressFraction(dataset), 1);
  });

  describe('folder', () => {
    it('archives the folder as a files backup with its sidecar, verified by reading it back', async () => {
      const source = tempDir('exit-plan-folder-');
      fs.mkdirSync(path.join(source, 'sub'));
      fs.writeFileSync(path.join(source, 'a.txt'), 'alpha\n');
      fs.writeFileSync(path.join(source, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
      const ctx = context();
      fs.mkdirSync(ctx.dir, { recursive: true });
      fs.writeFileSync(path.join(ctx.dir, 'left-by-an-interrupted-attempt.tar.partial'), 'x');
      const outcome = await runFolderPart({ kind: 'folder', name: 'media', path: source }, ctx);
      assertFilesRecorded(ctx.dir, outcome);
      const tar = outcome.files.find((f) => f.path.endsWith('.tar'))!;
      assert.match(tar.path, /^media_media__\d{4}\.\d{2}\.\d{2}\.\d{2}_\d{2}\.tar$/);
      assert.ok(outcome.files.some((f) => f.path === `${tar.path}.json`));
      const sidecar = JSON.parse(fs.readFileSync(path.join(ctx.dir, `${tar.path}.json`), 'utf8')) as backups.Sidecar;
      assert.equal(sidecar.verification?.state, 'verified');
      assert.equal(sidecar.files?.entries, 4);
      assert.match(
        outcome.verification,
        /^The tar archive's size and SHA-256 match its sidecar and all 4 entries \(300 KB\) were read back\.$/,
      );
      assert.ok(ctx.progress.some((p) => p.text.startsWith('Archiving')));
      assert.ok(ctx.progress.some((p) => p.text.startsWith('Verifying') && p.fraction !== undefined));
    });

    it('fails with the backup sentence when the folder does not exist', async () => {
      await assert.rejects(
        runFolderPart({ kind: 'folder', name: 'media', path: path.join(tempDir(), 'nope') }, context()),
        (err: Error) => err instanceof ExitPlanError && /does not exist/.test(err.message),
      );
    });
  });

  describe('command', () => {
    const command = (cmd: string, timeout?: { text: string; ms: number }) => ({
      kind: 'command' as const,
      name: 'dashboards',
      cmd,
      timeout,
    });

    it('records every file the command wrote, verifies them by reading again, and masks secrets in command.log', async () => {
      const ctx = context();
      const outcome = await runCommandPart(
        command(
          'mkdir -p "$OUTPUT_DIR/nested" && printf dash > "$OUTPUT_DIR/dashboards.zip"' +
            ' && head -c 200000 /dev/zero > "$OUTPUT_DIR/nested/big.bin"' +
            ' && echo "connecting to postgres://admin:hunter2@db/x" && echo "AccountKey=c2VjcmV0;EndpointSuffix=x" >&2',
        ),
        ctx,
      );
      assertFilesRecorded(ctx.dir, outcome);
      assert.deepEqual(
        outcome.files.map((f) => f.path),
        ['output/dashboards.zip', 'output/nested/big.bin', 'command.log'],
      );
      const log = fs.readFileSync(path.join(ctx.dir, 'command.log'), 'utf8');
      assert.ok(!log.includes('hunter2') && !log.includes('c2VjcmV0'), log);
      assert.match(log, /postgres:\/\/admin:…@db\/x/);
      assert.match(log, /AccountKey=…/);
      assert.match(
        outcome.verification,
        /^The command exited 0, and the SHA-256 and size of its 2 files \(200 KB\), recorded when it ended, matched/,
      );
      assert.ok(ctx.progress.some((p) => p.text.startsWith('Verifying 2/2 files')));
    });

    it('fails with one sentence when the command exits 1, writes nothing, or times out', async () => {
      await assert.rejects(runCommandPart(command('echo out > "$OUTPUT_DIR/x"; exit 1'), context()), {
        message: 'The command of part "dashboards" exited with code 1 (its output is in command.log).',
      });
      await assert.rejects(runCommandPart(command('echo nothing written'), context()), {
        message: 'The command of part "dashboards" exited 0 but wrote no file into $OUTPUT_DIR (its output is in command.log).',
      });
      const ctx = context();
      const started = Date.now();
      await assert.rejects(runCommandPart(command('echo "$$" > "$OUTPUT_DIR/pid"; sleep 30', { text: '1 s', ms: 1000 }), ctx), {
        message: 'The command of part "dashboards" did not finish within 1 s and was stopped (its output is in command.log).',
      });
      assert.ok(Date.now() - started < 20_000);
      assert.ok(processGone(Number(fs.readFileSync(path.join(ctx.dir, 'output', 'pid'), 'utf8'))));
    });

    it('a cancel stops the command and everything it started', async () => {
      const controller = new AbortController();
      const ctx = context({ signal: controller.signal });
      const running = runCommandPart(command('sleep 600 & echo $! > "$OUTPUT_DIR/child.pid"; echo started; wait'), ctx);
      const pidFile = path.join(ctx.dir, 'output', 'child.pid');
      assert.ok(await eventually(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, 'utf8').trim() !== ''));
      const child = Number(fs.readFileSync(pidFile, 'utf8'));
      controller.abort();
      await assert.rejects(running, (err: Error) => err instanceof CancelledError && /the command was stopped/.test(err.message));
      assert.ok(await eventually(() => processGone(child)), `the command's child ${child} is still running`);
    });
  });

  describe('backups', () => {
    let connection: PgConnectionOptions;
    before(async () => {
      connection = await databaseWith(
        'exitparts',
        'CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g;',
      );
    });

    it('copies the newest verifying backup of each group with its sidecar, verifies the copies, leaves the source untouched', async () => {
      const dir = tempDir('exit-plan-backups-');
      const media = tempDir('exit-plan-media-');
      fs.writeFileSync(path.join(media, 'photo.jpg'), Buffer.alloc(5000, 1));
      const older = await backups.createPostgresBackup({ connection, dir });
      const newest = await backups.createPostgresBackup({ connection, dir });
      const files = await backups.createFilesBackup({ source: media, name: 'media', dir });
      // The newest archive of "media" is corrupt (changed after it was written, same size): the older one is taken.
      const corrupt = await backups.createFilesBackup({ source: media, name: 'media', dir });
      const bytes = fs.readFileSync(corrupt.file);
      bytes[600] ^= 0xff;
      fs.writeFileSync(corrupt.file, bytes);
      const before = snapshot(dir);

      const ctx = context();
      const outcome = await runBackupsPart({ kind: 'backups', name: 'backups', dir }, ctx);
      assert.deepEqual(snapshot(dir), before, 'the source backup folder is byte-identical');
      assertFilesRecorded(ctx.dir, outcome);
      const names = outcome.files.map((f) => f.path).sort();
      const base = (f: string) => path.basename(f);
      assert.deepEqual(names, [base(files.file), `${base(files.file)}.json`, base(newest.file), `${base(newest.file)}.json`].sort());
      assert.ok(!names.includes(base(older.file)));
      for (const copy of [base(files.file), base(newest.file)]) {
        const sidecar = JSON.parse(fs.readFileSync(path.join(ctx.dir, `${copy}.json`), 'utf8')) as backups.Sidecar;
        assert.equal(sidecar.verification?.state, 'verified', 'the verification is recorded in the copy');
        assert.equal(sidecar.sha256, sha256(path.join(ctx.dir, copy)));
      }
      assert.ok(
        outcome.notes?.some((n) => n.startsWith(`${base(corrupt.file)} failed verification`)),
        JSON.stringify(outcome.notes),
      );
      assert.equal(
        outcome.verification,
        'Each of the 2 copied backups matches the size and SHA-256 its sidecar records, and pg_restore lists each dump, ' +
          'and every entry of each tar archive was read back.',
      );
      assert.ok(ctx.progress.some((p) => p.text.startsWith('Copying 1/2 ')));
      assert.ok(!listFiles(ctx.dir).some((f) => f.includes('tmp')));
    });

    it('fails naming the group that has no backup passing verification', async () => {
      const dir = tempDir('exit-plan-backups-');
      const media = tempDir('exit-plan-media-');
      fs.writeFileSync(path.join(media, 'doc.txt'), 'hello');
      const only = await backups.createFilesBackup({ source: media, name: 'docs', dir });
      fs.writeFileSync(only.file, Buffer.alloc(fs.statSync(only.file).size, 0));
      await backups.createPostgresBackup({ connection, dir });
      const before = snapshot(dir);
      await assert.rejects(runBackupsPart({ kind: 'backups', name: 'backups', dir }, context()), (err: Error) => {
        assert.match(
          err.message,
          /^In the backup folder .*, no backup of the files "docs" passes verification \(the newest, docs_media__[\d._]+\.tar: the size or SHA-256 of the copy does not match its sidecar: the backup is corrupt or was changed\)\.$/,
        );
        return true;
      });
      assert.deepEqual(snapshot(dir), before);
      await assert.rejects(runBackupsPart({ kind: 'backups', name: 'backups', dir: path.join(dir, 'nope') }, context()), /does not exist/);
    });

    it('a cancel while copying removes the unfinished copy', async () => {
      const dir = tempDir('exit-plan-backups-');
      const media = tempDir('exit-plan-media-');
      fs.writeFileSync(path.join(media, 'big.bin'), Buffer.alloc(40_000_000, 3));
      await backups.createFilesBackup({ source: media, name: 'big', dir });
      const controller = new AbortController();
      const ctx = context({
        signal: controller.signal,
        onProgress: (p) => {
          if (p.text.startsWith('Copying') && !p.text.includes('— 0 B')) controller.abort();
        },
      });
      await assert.rejects(runBackupsPart({ kind: 'backups', name: 'backups', dir }, ctx), CancelledError);
      assert.deepEqual(listFiles(ctx.dir), []);
    });
  });

  describe('datasets', () => {
    it('copies the newest complete parcel of each dataset with metrics.csv and config.toml, checked against metrics.csv', async () => {
      const root = tempDir('exit-plan-datasets-');
      const clock = new Clock();
      const photos = writeExportManagerDataset(
        path.join(root, 'photos'),
        'cmd = "mkdir -p \\"$PARCEL_PATH/sub\\" && date +%s%N > \\"$PARCEL_PATH/a.txt\\"' +
          ' && head -c 1000 /dev/zero > \\"$PARCEL_PATH/sub/b.bin\\""\n',
      );
      const notes = writeExportManagerDataset(path.join(root, 'notes'), 'cmd = "echo note > \\"$PARCEL_PATH.txt\\""\n');
      for (const dir of [photos, notes]) {
        assert.equal((await datasets.exportDataset(dir, { now: clock.now })).outcome, 'exported');
      }
      clock.days(1);
      assert.equal((await datasets.exportDataset(photos, { now: clock.now })).outcome, 'exported');
      const newest = datasets.parcelIdOf(clock.now());
      // A newer export of notes that fails leaves only an incomplete parcel: the complete one before it is taken.
      fs.writeFileSync(path.join(notes, 'config.toml'), 'cmd = "echo half > \\"$PARCEL_PATH.txt\\"; exit 3"\n');
      clock.days(1);
      assert.equal((await datasets.exportDataset(notes, { now: clock.now })).outcome, 'failed');

      const ctx = context();
      const outcome = await runDatasetsPart({ kind: 'datasets', name: 'exports', dirs: [root] }, ctx);
      assertFilesRecorded(ctx.dir, outcome);
      assert.deepEqual(
        outcome.files.map((f) => f.path).sort(),
        [
          'notes/config.toml',
          'notes/data/2025-03-01T021500Z.txt',
          'notes/metrics.csv',
          'photos/config.toml',
          `photos/data/${newest}/a.txt`,
          `photos/data/${newest}/sub/b.bin`,
          'photos/metrics.csv',
        ].sort(),
      );
      assert.equal(
        fs.readFileSync(path.join(ctx.dir, 'photos/data', newest, 'a.txt'), 'utf8'),
        fs.readFileSync(path.join(photos, 'data', newest, 'a.txt'), 'utf8'),
      );
      assert.equal(
        outcome.verification,
        "Each of the 2 copied parcels holds the number of files and bytes that its dataset's metrics.csv records for it.",
      );
      assert.ok(ctx.progress.some((p) => p.text.startsWith('Copying dataset 2/2 photos')));
    });

    it('a cancel while copying a parcel removes the unfinished copy', async () => {
      const root = tempDir('exit-plan-datasets-');
      const dir = writeExportManagerDataset(path.join(root, 'big'), 'cmd = "head -c 40000000 /dev/zero > \\"$PARCEL_PATH.bin\\""\n');
      assert.equal((await datasets.exportDataset(dir, { now: new Clock().now })).outcome, 'exported');
      const controller = new AbortController();
      const ctx = context({
        signal: controller.signal,
        onProgress: (p) => {
          if (!p.text.endsWith('— 0 B of 40.0 MB')) controller.abort();
        },
      });
      await assert.rejects(runDatasetsPart({ kind: 'datasets', name: 'exports', dirs: [root] }, ctx), CancelledError);
      assert.deepEqual(listFiles(ctx.dir), []);
    });

    it('fails naming a dataset without a complete parcel, and one whose copy does not match metrics.csv', async () => {
      const root = tempDir('exit-plan-datasets-');
      writeExportManagerDataset(path.join(root, 'empty'), 'cmd = "exit 1"\n');
      await assert.rejects(runDatasetsPart({ kind: 'datasets', name: 'exports', dirs: [root] }, context()), {
        message: `The datasets part "exports" cannot be taken: ${path.join(root, 'empty')} has no complete parcel.`,
      });

      const other = tempDir('exit-plan-datasets-');
      const dir = writeExportManagerDataset(path.join(other, 'grows'), 'cmd = "echo one > \\"$PARCEL_PATH.txt\\""\n');
      assert.equal((await datasets.exportDataset(dir, { now: new Clock().now })).outcome, 'exported');
      fs.appendFileSync(path.join(dir, 'data', '2025-03-01T021500Z.txt'), 'changed since\n');
      await assert.rejects(runDatasetsPart({ kind: 'datasets', name: 'exports', dirs: [dir] }, context()), {
        message: `The copy of parcel 2025-03-01T021500Z of ${dir} holds 1 file (18 bytes) but metrics.csv records 1 file (4 bytes).`,
      });
    });
  });
});
