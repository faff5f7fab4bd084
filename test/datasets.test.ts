import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import TOML from '@iarna/toml';
import { CancelledError, datasets } from '../src/exporters';
import {
  Clock,
  HOUR,
  cli,
  cliAsync,
  eventually,
  gitIn,
  gitRepo,
  metricsRows,
  namesIn,
  processGone,
  removeTempDirs,
  tempDir,
  writeExportManagerDataset,
} from './helpers/datasets';

/** The config of export_manager's README, with a command anyone has (cp) instead of exporteer_todoist. */
const README_CONFIG = `# Command to invoke. $PARCEL_PATH will be set to <dataset>/incomplete/DATETIME
# $DATASET_PATH is also available and will be set to the dataset folder
cmd = "cp \\"$DATASET_PATH/source.txt\\" \\"$PARCEL_PATH.txt\\""
# Only get a new export if the last one is at least 1 day old.
interval = "1 day"
# Only keep the most recent 3 successful exports.
keep = 3
metrics.lines.cmd = "wc -l < \\"$PARCEL_PATH\\""
`;

function source(dir: string, lines: number): void {
  fs.writeFileSync(path.join(dir, 'source.txt'), Array.from({ length: lines }, (_, i) => `task ${i + 1}\n`).join(''));
}

describe('datasets (export_manager folders)', function () {
  this.timeout(60_000);
  after(removeTempDirs);

  describe('durations and config.toml', () => {
    it('parses export_manager durations and refuses anything else in one sentence', () => {
      assert.equal(datasets.parseInterval('1 day'), 86_400_000);
      assert.equal(datasets.parseInterval('1 day, 2 hours'), 93_600_000);
      assert.equal(datasets.parseInterval('5 minutes 3 seconds'), 303_000);
      assert.equal(datasets.parseInterval('1w2d3h5m4s'), (7 * 86400 + 2 * 86400 + 3 * 3600 + 5 * 60 + 4) * 1000);
      assert.equal(datasets.parseInterval('2 wk 1 hr 3 mins 4 secs'), (14 * 86400 + 3600 + 180 + 4) * 1000);
      for (const bad of ['', 'daily', '1 fortnight', '1.5 days', 'day 1']) {
        assert.throws(() => datasets.parseInterval(bad), /is not a duration: write it like "1 day"/);
      }
    });

    it('names the file and line of a TOML syntax error and of an unknown key', () => {
      assert.throws(() => datasets.parseConfig('cmd = "x"\ninterval = \n', '/d/config.toml'), {
        message: /^\/d\/config\.toml, line 2, column \d+ is not valid TOML: .+\.$/,
      });
      assert.throws(() => datasets.parseConfig('cmd = "x"\n\nintervall = "1 day"\n', '/d/config.toml'), {
        message:
          /^\/d\/config\.toml, line 3: unknown key "intervall" \(known keys: cmd, interval, keep, git, metrics, ingest, timeout, retries, retry_delay, shrink_alert\)\.$/,
      });
      assert.throws(() => datasets.parseConfig('[metrics.tasks]\ncommand = "jq"\n', '/d/config.toml'), {
        message: '/d/config.toml, line 2: unknown key "metrics.tasks.command" (a metric has only a cmd).',
      });
      assert.throws(() => datasets.parseConfig('interval = "every day"\n', '/d/config.toml'), {
        message: /^\/d\/config\.toml, line 1: "interval": "every day" is not a duration/,
      });
      assert.throws(() => datasets.parseConfig('keep = "five"\n', '/d/config.toml'), { message: /line 1: "keep" must be a whole number/ });
      const ok = datasets.parseConfig(
        README_CONFIG + 'timeout = 90\nretries = 2\nretry_delay = "10s"\nshrink_alert = "50%"\n',
        '/d/config.toml',
      );
      assert.deepEqual(
        {
          interval: ok.interval?.ms,
          keep: ok.keep,
          metrics: ok.metrics.map((m) => m.name),
          timeout: ok.timeout?.ms,
          retries: ok.retries,
          retryDelay: ok.retryDelayMs,
          share: ok.shrinkAlert,
        },
        { interval: 86_400_000, keep: 3, metrics: ['lines'], timeout: 90_000, retries: 2, retryDelay: 10_000, share: 0.5 },
      );
    });
  });

  describe('metrics.csv', () => {
    it("reads and writes it as Python's csv module does: quoted fields, the file's own line ends, new columns appended", async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'quoted'),
        'cmd = "printf \'a,b\' > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\nmetrics.first.cmd = "cat \\"$PARCEL_PATH\\""\n',
      );
      // Written by export_manager on another machine, with LF line ends and a quoted value.
      fs.writeFileSync(
        path.join(dir, 'metrics.csv'),
        'parcel_id,success,files,bytes,note\n2025-01-01T000000Z,Y,1,5,"said ""hi"", twice"\n',
      );
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      assert.equal(r.outcome, 'exported', r.message);
      assert.equal(
        fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8'),
        'parcel_id,success,files,bytes,note,first\n2025-01-01T000000Z,Y,1,5,"said ""hi"", twice",\n2025-03-01T021500Z,Y,1,3,,"a,b"\n',
      );
      const table = await datasets.readMetrics(dir);
      assert.deepEqual(table.rows.get('2025-01-01T000000Z')?.note, 'said "hi", twice');
      assert.deepEqual(table.rows.get('2025-03-01T021500Z')?.first, 'a,b');
    });
  });

  describe('process over simulated days', () => {
    const daily = 'runs an export_manager folder daily with keep = 3: due with the 5-minute margin, failures kept until the next success';
    it(daily, async () => {
      const dir = writeExportManagerDataset(path.join(tempDir(), 'todoist'), README_CONFIG);
      const clock = new Clock();
      const ids: string[] = [];
      const run = () => datasets.processDataset(dir, { now: clock.now });

      for (let day = 0; day < 9; day++) {
        if (day === 3) fs.rmSync(path.join(dir, 'source.txt'));
        else source(dir, 10 + day);
        const r = await run();
        const id = datasets.parcelIdOf(clock.now());
        ids.push(id);
        if (day === 3) {
          assert.equal(r.outcome, 'failed');
          assert.equal(r.ok, false);
          assert.match(
            r.message,
            new RegExp(
              `^export ${id} failed: the command exited with code 1; nothing was kept, ` +
                `and its output is in log/${id}\\.out and log/${id}\\.err\\.$`,
            ),
          );
          assert.match(fs.readFileSync(path.join(dir, 'log', `${id}.err`), 'utf8'), /No such file/);
          const report = await datasets.buildReport([dir], { now: clock.now });
          assert.equal(report.datasets[0].failing, true);
          assert.equal(report.attention, 1);
        } else {
          assert.equal(r.outcome, 'exported', r.message);
          assert.equal(r.message.startsWith(`exported ${id} (1 file, `), true, r.message);
        }
        // An hour later nothing is due.
        clock.advance(HOUR);
        const again = await run();
        assert.equal(again.outcome, day === 3 ? 'failed' : 'notDue', again.message);
        if (day === 3) ids.push(datasets.parcelIdOf(clock.now()));
        else assert.match(again.message, /^not due for 22 hours 55 minutes\.$/);
        // The next run comes 4 minutes early, as cron jobs do: still due thanks to the 5-minute margin.
        clock.advance(23 * HOUR - 4 * 60 * 1000);
      }

      const complete = ids.filter((_, i) => i !== 3 && i !== 4);
      assert.deepEqual(
        namesIn(dir, 'data'),
        complete.slice(-3).map((id) => `${id}.txt`),
      );
      assert.deepEqual(namesIn(dir, 'incomplete'), []);
      assert.deepEqual(
        namesIn(dir, 'log'),
        complete.slice(-3).flatMap((id) => [`${id}.err`, `${id}.out`]),
      );
      // metrics.csv keeps every parcel, in export_manager's layout (CRLF, sorted, custom columns appended).
      const text = fs.readFileSync(path.join(dir, 'metrics.csv'), 'utf8');
      assert.ok(text.startsWith('parcel_id,success,files,bytes,lines\r\n'), JSON.stringify(text.slice(0, 60)));
      const rows = metricsRows(dir);
      assert.deepEqual(
        rows.map((r) => r.parcel_id),
        ids,
      );
      assert.deepEqual(
        rows.map((r) => r.success),
        ids.map((_, i) => (i === 3 || i === 4 ? 'N' : 'Y')),
      );
      assert.equal(ids.length, 10);
      assert.deepEqual(rows[9], {
        parcel_id: ids[9],
        success: 'Y',
        files: '1',
        bytes: String(fs.statSync(path.join(dir, 'data', `${ids[9]}.txt`)).size),
        lines: '18',
      });
      assert.deepEqual(rows[3], { parcel_id: ids[3], success: 'N', files: '', bytes: '', lines: '' });

      // The report puts the newest success beside the one about 7 days before it.
      const report = await datasets.buildReport([dir], { now: clock.now });
      const d = report.datasets[0];
      assert.deepEqual(d.warnings, []);
      assert.equal(d.lastSuccess, ids[9]);
      assert.deepEqual(
        d.highlights.map((h) => [h.parcelId, h.daysAgo, h.values.lines]),
        [
          [ids[9], 0, '18'],
          [ids[1], 7, '11'],
        ],
      );
      const text2 = datasets.formatReport(report);
      assert.match(text2, /^No warnings!\n/);
      assert.match(
        text2,
        /Metrics for todoist:\n\n {2}name +0 days ago +7 days ago\n {2}-+\n {2}files +1 +1\n {2}bytes +\d+ +\d+\n {2}lines +18 +11\n/,
      );
    });

    it('ingests files that ingest.paths finds, named by their modification time', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'feeds'),
        'ingest.paths = ["inbox/*.opml"]\ningest.time_source = "mtime"\nkeep = 5\n',
      );
      fs.mkdirSync(path.join(dir, 'inbox'));
      const file = path.join(dir, 'inbox', 'subscriptions.opml');
      fs.writeFileSync(file, '<opml/>\n');
      fs.utimesSync(file, new Date('2025-02-01T10:20:30Z'), new Date('2025-02-01T10:20:30Z'));
      fs.writeFileSync(path.join(dir, 'inbox', 'notes.txt'), 'not matched');
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      assert.equal(r.ok, true, r.message);
      assert.deepEqual(r.ingested, [{ parcelId: '2025-02-01T102030Z', from: file }]);
      assert.equal(r.message, 'ingested 1 parcel; no cmd in config.toml.');
      assert.deepEqual(namesIn(dir, 'data'), ['2025-02-01T102030Z.opml']);
      assert.deepEqual(namesIn(dir, 'inbox'), ['notes.txt']);
      assert.deepEqual(metricsRows(dir), [{ parcel_id: '2025-02-01T102030Z', success: 'Y', files: '1', bytes: '8' }]);
    });
  });

  describe('report', () => {
    it('warns about overdue, failing, missing metrics, a missing newest success and a shrinking export', async () => {
      const root = tempDir();
      const clock = new Clock();
      const make = (name: string, extra = '') => {
        const dir = writeExportManagerDataset(path.join(root, name), `${README_CONFIG}${extra}`);
        source(dir, 100);
        return dir;
      };
      const overdue = make('overdue');
      const failing = make('failing');
      fs.writeFileSync(path.join(failing, 'config.toml'), 'cmd = "echo broken >&2; exit 3"\ninterval = "1 day"\n');
      const metric = writeExportManagerDataset(
        path.join(root, 'metric'),
        `${README_CONFIG.replace(/metrics\.lines\.cmd = .*/, 'metrics.lines.cmd = "echo no jq here >&2; exit 127"')}`,
      );
      source(metric, 5);
      const shrinking = make('shrinking');
      const tolerant = make('tolerant', 'shrink_alert = 0.995\n');
      const gone = make('gone');
      const unmeasured = make('unmeasured');

      for (const dir of [overdue, failing, metric, shrinking, tolerant, gone, unmeasured])
        await datasets.processDataset(dir, { now: clock.now });
      clock.days(1);
      // A parcel copied into data/ by hand: complete, but metrics.csv knows nothing of it.
      fs.writeFileSync(path.join(unmeasured, 'data', `${datasets.parcelIdOf(clock.now())}.txt`), 'copied\n');
      source(shrinking, 1);
      source(tolerant, 1);
      for (const dir of [shrinking, tolerant, gone])
        assert.equal((await datasets.processDataset(dir, { now: clock.now })).outcome, 'exported');
      const newestGone = namesIn(gone, 'data').pop()!;
      fs.rmSync(path.join(gone, 'data', newestGone));
      clock.advance(HOUR);

      const report = await datasets.buildReport([overdue, failing, metric, shrinking, tolerant, gone, unmeasured], { now: clock.now });
      const kinds = Object.fromEntries(report.datasets.map((d) => [d.name, d.warnings.map((w) => w.kind)]));
      const by = (name: string) => report.datasets.find((d) => d.name === name)!;
      assert.deepEqual(kinds, {
        overdue: ['overdue'],
        failing: ['noComplete', 'overdue', 'failing'],
        metric: ['overdue', 'metrics'],
        shrinking: ['shrank', 'shrank'],
        tolerant: [],
        gone: ['overdue', 'failing', 'gone'],
        unmeasured: ['metrics'],
      });
      assert.equal(
        by('unmeasured').warnings[0].message,
        'unmeasured: metrics.csv has no row for the newest complete parcel, 2025-03-02T021500Z.',
      );
      assert.equal(
        by('overdue').warnings[0].message,
        'overdue: overdue: the newest complete parcel, 2025-03-01T021500Z, is 1 day 1 hour old (interval 1 day).',
      );
      assert.equal(by('metric').warnings[1].message, 'metric: metrics of 2025-03-01T021500Z: lines is ERROR.');
      const bytes100 = Array.from({ length: 100 }, (_, i) => `task ${i + 1}\n`).join('').length;
      assert.deepEqual(
        by('shrinking').alerts.map((a) => [a.metric, a.previous, a.current]),
        [
          ['bytes', bytes100, 7],
          ['lines', 100, 1],
        ],
      );
      assert.equal(
        by('shrinking').warnings[1].message,
        'shrinking: lines shrank by 99 % from 100 (2025-03-01T021500Z) to 1 (2025-03-02T021500Z).',
      );
      assert.equal(by('gone').lastSuccessGone, true);
      assert.equal(report.attention, 4);

      const text = datasets.formatReport(report);
      assert.match(text, /^WARNING: no complete parcel for: failing$/m);
      assert.match(text, /^WARNING: overdue: overdue, failing, metric, gone$/m);
      assert.match(text, /^WARNING: most recent parcel is incomplete \(failing\) for: failing, gone$/m);
      assert.match(text, /^WARNING: most recent successful parcel is missing for: gone$/m);
      assert.match(text, /^WARNING: missing metrics in last complete parcel for: metric, unmeasured$/m);
      assert.match(
        text,
        new RegExp(
          `^ALERT: shrinking: bytes shrank by 99 % from ${bytes100} B \\(2025-03-01T021500Z\\) to 7 B \\(2025-03-02T021500Z\\)\\.$`,
          'm',
        ),
      );
      assert.match(text, /^gone +2025-03-02T021500Z \(GONE\)$/m);
      assert.match(text, /^failing +NONE$/m);

      // The share comes from config.toml, else from the caller; 1 turns the alert off.
      const off = await datasets.buildReport([shrinking], { now: clock.now, shrinkAlert: 1 });
      assert.deepEqual(off.datasets[0].alerts, []);
    });
  });

  describe('commands that misbehave', () => {
    it('kills a command that hangs past its timeout, with everything it started, and records a failure', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'hangs'),
        // The background child ignores SIGTERM: only the SIGKILL to the whole process group stops it.
        `cmd = "sh -c 'trap \\"\\" TERM; sleep 600' & echo $! > \\"$DATASET_PATH/child.pid\\"; ` +
          `echo partial > \\"$PARCEL_PATH.txt\\"; wait"\ninterval = "1 day"\ntimeout = "1s"\n`,
      );
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      const child = Number(fs.readFileSync(path.join(dir, 'child.pid'), 'utf8'));
      assert.ok(child > 0);
      assert.ok(await eventually(() => processGone(child)), `the command's child ${child} is still running`);
      assert.equal(r.outcome, 'failed');
      assert.match(
        r.message,
        /^export 2025-03-01T021500Z failed: the command timed out after 1s and was killed with everything it started; what it wrote stays in incomplete\/2025-03-01T021500Z\.txt, and its output is in log\//,
      );
      assert.deepEqual(namesIn(dir, 'incomplete'), ['2025-03-01T021500Z.txt']);
      assert.deepEqual(metricsRows(dir), [{ parcel_id: '2025-03-01T021500Z', success: 'N', files: '1', bytes: '8' }]);
    });

    it('counts a command that exits 0 without writing anything as a failure', async () => {
      const dir = writeExportManagerDataset(path.join(tempDir(), 'silent'), 'cmd = "echo all good"\ninterval = "1 day"\n');
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      assert.equal(r.outcome, 'failed');
      assert.match(
        r.message,
        /the command exited 0 but wrote nothing at \$PARCEL_PATH \(.*\/incomplete\/2025-03-01T021500Z, with or without an extension\); nothing was kept/,
      );
      assert.equal(fs.readFileSync(path.join(dir, 'log', '2025-03-01T021500Z.out'), 'utf8'), 'all good\n');
      assert.deepEqual(namesIn(dir, 'data'), []);
    });

    it('records ERROR for a metric command that fails, and keeps the parcel', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'metric'),
        `${README_CONFIG}metrics.words.cmd = "no-such-program \\"$PARCEL_PATH\\""\n`,
      );
      source(dir, 3);
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      assert.equal(r.outcome, 'exported');
      assert.equal(r.ok, true);
      assert.match(r.warnings[0], /^The metric "words" exited with code 127 \(.*not found\)\.$/);
      assert.deepEqual(metricsRows(dir)[0], {
        parcel_id: '2025-03-01T021500Z',
        success: 'Y',
        files: '1',
        bytes: '21',
        lines: '3',
        words: 'ERROR',
      });
    });

    it('retries a failed export with backoff, in the same parcel', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'flaky'),
        'cmd = "n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; echo try $n >&2; ' +
          '[ $n -ge 3 ] && echo ok > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\nretries = 3\nretry_delay = "0s"\n',
      );
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      assert.equal(r.outcome, 'exported', r.message);
      assert.equal(r.attempts, 3);
      assert.match(r.message, /on attempt 3\.$/);
      const err = fs.readFileSync(path.join(dir, 'log', '2025-03-01T021500Z.err'), 'utf8');
      assert.match(
        err,
        /^try 1\n\[exit-plan\] attempt 1 of 4 failed: the command exited with code 1\n\[exit-plan\] retrying in 0 seconds \(attempt 2 of 4\)\ntry 2\n/,
      );
    });

    it('stops a running export on cancel: the process group is killed and the half-written parcel and logs removed', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'cancel'),
        `cmd = "sleep 600 & echo $! > \\"$DATASET_PATH/sleep.pid\\"; mkdir \\"$PARCEL_PATH\\"; ` +
          `echo half > \\"$PARCEL_PATH/a.json\\"; wait"\n`,
      );
      const controller = new AbortController();
      const running = datasets.exportDataset(dir, { signal: controller.signal });
      assert.ok(
        await eventually(() =>
          fs.existsSync(path.join(dir, 'incomplete', fs.readdirSync(path.join(dir, 'incomplete'))[0] ?? 'x', 'a.json')),
        ),
      );
      controller.abort();
      await assert.rejects(running, (err: unknown) => {
        assert.ok(err instanceof CancelledError);
        assert.match(
          err.message,
          /^Cancelled: the export of cancel was stopped and its half-written parcel \d{4}-\d\d-\d\dT\d{6}Z and logs were removed\.$/,
        );
        return true;
      });
      assert.ok(await eventually(() => processGone(Number(fs.readFileSync(path.join(dir, 'sleep.pid'), 'utf8')))));
      assert.deepEqual([namesIn(dir, 'incomplete'), namesIn(dir, 'log'), namesIn(dir, 'data')], [[], [], []]);
      assert.equal(fs.existsSync(path.join(dir, datasets.LOCK_FILE)), false);
    });
  });

  describe('locking', () => {
    it('never lets two concurrent `process` runs export the same dataset', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'shared'),
        'cmd = "touch started; while [ ! -e release ]; do sleep 0.05; done; echo one >> exports.log; ' +
          'echo data > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\n',
      );
      const first = cliAsync(['datasets', 'process', dir]);
      assert.ok(await eventually(() => fs.existsSync(path.join(dir, 'started'))), 'the first run never started its export');
      const second = cli(['datasets', 'process', dir]);
      assert.equal(second.status, 0, second.stderr);
      assert.match(
        second.stdout,
        new RegExp(`^shared: skipped: another run \\(pid ${first.child.pid} on ${os.hostname()}, since .+\\) is processing it\\.\\n$`),
      );
      fs.writeFileSync(path.join(dir, 'release'), '');
      const done = await first.done;
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /^shared: exported /);
      assert.equal(fs.readFileSync(path.join(dir, 'exports.log'), 'utf8'), 'one\n');
      assert.equal(namesIn(dir, 'data').length, 1);
      assert.equal(fs.existsSync(path.join(dir, datasets.LOCK_FILE)), false);
    });

    it('takes over a lock left by a run that died', async () => {
      const dir = writeExportManagerDataset(path.join(tempDir(), 'stale'), 'cmd = "echo x > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\n');
      const dead = spawnSync('true').pid!;
      fs.writeFileSync(
        path.join(dir, datasets.LOCK_FILE),
        JSON.stringify({ pid: dead, host: os.hostname(), since: '2025-01-01T00:00:00.000Z' }),
      );
      const r = await datasets.processDataset(dir, { now: new Clock().now });
      assert.equal(r.outcome, 'exported', r.message);
      assert.equal(fs.existsSync(path.join(dir, datasets.LOCK_FILE)), false);
    });
  });

  describe('git', () => {
    it('commits each new parcel with metrics.csv, and each clean, in the dataset repository', async () => {
      const dir = path.join(tempDir(), 'goodreads');
      gitRepo(dir);
      const init = cli(['datasets', 'init', dir, '--git']);
      assert.equal(init.status, 0, init.stderr);
      fs.appendFileSync(path.join(dir, 'config.toml'), 'cmd = "cp source.txt \\"$PARCEL_PATH.csv\\""\ninterval = "1 day"\nkeep = 2\n');
      const clock = new Clock();
      const ids: string[] = [];
      for (let run = 0; run < 3; run++) {
        source(dir, run + 1);
        ids.push(datasets.parcelIdOf(clock.now()));
        const r = await datasets.processDataset(dir, { now: clock.now });
        assert.equal(r.ok, true, r.message);
        clock.days(1);
      }
      assert.deepEqual(gitIn(dir, 'log', '--format=%s').trim().split('\n'), [
        `[exit-plan] clean (keep = 2): ${ids[0]}`,
        `[exit-plan] process new parcels: ${ids[2]}`,
        `[exit-plan] process new parcels: ${ids[1]}`,
        `[exit-plan] process new parcels: ${ids[0]}`,
        '[exit-plan] initialize',
      ]);
      assert.deepEqual(gitIn(dir, 'ls-tree', '-r', '--name-only', 'HEAD').trim().split('\n'), [
        '.gitignore',
        'config.toml',
        `data/${ids[1]}.csv`,
        `data/${ids[2]}.csv`,
        'metrics.csv',
      ]);
      assert.equal(gitIn(dir, 'show', `HEAD:data/${ids[2]}.csv`), 'task 1\ntask 2\ntask 3\n');
      assert.equal(gitIn(dir, 'show', 'HEAD:metrics.csv').split('\r\n').length, 5);
      // Data and metrics are committed; logs, incomplete parcels and the lock are ignored.
      assert.equal(gitIn(dir, 'status', '--porcelain', '--', 'data', 'metrics.csv', 'log', 'incomplete'), '');
    });
  });

  describe('CLI contract', () => {
    it('init makes the export_manager layout with a commented config.toml, and --git a first commit', () => {
      const root = tempDir();
      const r = cli(['datasets', 'init', path.join(root, 'todoist')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(
        r.stdout,
        /todoist: made data\/, incomplete\/, log\/, config\.toml, metrics\.csv\. Edit .*config\.toml to set cmd and interval\.\n$/,
      );
      assert.deepEqual(fs.readdirSync(path.join(root, 'todoist')).sort(), ['config.toml', 'data', 'incomplete', 'log', 'metrics.csv']);
      assert.equal(fs.readFileSync(path.join(root, 'todoist', 'metrics.csv'), 'utf8'), 'parcel_id,success,files,bytes');
      const config = fs.readFileSync(path.join(root, 'todoist', 'config.toml'), 'utf8');
      assert.deepEqual(TOML.parse(config), {});
      assert.match(config, /^# cmd = ".*\$PARCEL_PATH/m);
      assert.match(config, /^# interval = "1 day"$/m);
      assert.match(config, /^# keep = 5$/m);
      // Running it again changes nothing.
      fs.writeFileSync(path.join(root, 'todoist', 'config.toml'), 'cmd = "mine"\n');
      assert.match(cli(['datasets', 'init', path.join(root, 'todoist')]).stdout, /everything was there already/);
      assert.equal(fs.readFileSync(path.join(root, 'todoist', 'config.toml'), 'utf8'), 'cmd = "mine"\n');

      const repo = path.join(root, 'notes');
      gitRepo(repo);
      assert.equal(cli(['datasets', 'init', repo, '--git']).status, 0);
      assert.deepEqual(TOML.parse(fs.readFileSync(path.join(repo, 'config.toml'), 'utf8')), { git: true });
      assert.equal(gitIn(repo, 'log', '--format=%s').trim(), '[exit-plan] initialize');
      assert.match(fs.readFileSync(path.join(repo, '.gitignore'), 'utf8'), /^incomplete\/$/m);
    });

    it('process exits 2 when a dataset fails, names a broken config.toml and its line, and runs the others', () => {
      const root = tempDir();
      writeExportManagerDataset(path.join(root, 'broken'), 'cmd = "echo x > $PARCEL_PATH.txt"\ninterval = \n');
      writeExportManagerDataset(path.join(root, 'typo'), 'cmd = "echo x > $PARCEL_PATH.txt"\nintervall = "1 day"\n');
      writeExportManagerDataset(path.join(root, 'good'), 'cmd = "echo x > \\"$PARCEL_PATH.txt\\""\ninterval = "1 day"\n');
      const r = cli(['datasets', 'process', root]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`^broken: ${path.join(root, 'broken', 'config.toml')}, line 2, column \\d+ is not valid TOML: .+\\.$`, 'm'),
      );
      assert.match(r.stderr, new RegExp(`^typo: ${path.join(root, 'typo', 'config.toml')}, line 2: unknown key "intervall"`, 'm'));
      assert.match(r.stdout, /^good: exported \d{4}-\d\d-\d\dT\d{6}Z \(1 file, 2 B\)\.$/m);
      assert.equal(namesIn(path.join(root, 'good'), 'data').length, 1);

      // Once the broken ones are fixed (or left out), a run with nothing due exits 0.
      const again = cli(['datasets', 'process', path.join(root, 'good')]);
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /^good: not due for 23 hours 5\d minutes\.$/m);
    });

    it('export runs now whatever the schedule; report prints text or --json; a bad flag is one sentence', () => {
      const dir = writeExportManagerDataset(path.join(tempDir(), 'now'), `${README_CONFIG}`);
      source(dir, 4);
      assert.equal(cli(['datasets', 'process', dir]).status, 0);
      const e = cli(['datasets', 'export', dir]);
      assert.equal(e.status, 0, e.stderr);
      assert.match(e.stdout, /^now: exported \S+ \(1 file, 28 B\)\.\n$/);
      assert.equal(namesIn(dir, 'data').length, 2);

      const text = cli(['datasets', 'report', dir]);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /^No warnings!\n\nNewest successes:\n/);
      assert.match(text.stdout, /Metrics for now:\n\n {2}name +0 days ago\n/);

      fs.writeFileSync(path.join(dir, 'config.toml'), 'cmd = "exit 1"\ninterval = "1 day"\n');
      const failed = cli(['datasets', 'export', dir]);
      assert.equal(failed.status, 2);
      assert.match(failed.stderr, /^now: export \S+ failed: the command exited with code 1; nothing was kept/);
      const json = cli(['datasets', 'report', dir, '--json', '--shrink-alert', '30%']);
      assert.equal(json.status, 0, json.stderr);
      const report = JSON.parse(json.stdout) as datasets.DatasetsReport;
      assert.equal(report.shrinkAlert, 0.3);
      assert.deepEqual(
        report.datasets[0].warnings.map((w) => w.kind),
        ['failing'],
      );
      assert.equal(report.attention, 1);

      const bad = cli(['datasets', 'report', dir, '--shrink-alert', '150%']);
      assert.equal(bad.status, 1);
      assert.match(bad.stderr, /--shrink-alert.*expected a share from 0 to 1/);
      const missing = cli(['datasets', 'export', path.join(dir, 'nope')]);
      assert.equal(missing.status, 2);
      assert.match(missing.stderr, /nope is not a folder\./);
    });

    it('Ctrl-C stops `export`: exit 130, the command is killed and nothing half-written is left', async () => {
      const dir = writeExportManagerDataset(
        path.join(tempDir(), 'interrupted'),
        'cmd = "echo $$ > sh.pid; echo half > \\"$PARCEL_PATH.txt\\"; sleep 600"\n',
      );
      const run = cliAsync(['datasets', 'export', dir]);
      assert.ok(await eventually(() => namesIn(dir, 'incomplete').length === 1 && fs.existsSync(path.join(dir, 'sh.pid'))));
      run.child.kill('SIGINT');
      const done = await run.done;
      assert.equal(done.code, 130, done.stderr);
      assert.match(
        done.stderr,
        /^exit-plan: Cancelled: the export of interrupted was stopped and its half-written parcel \S+ and logs were removed\.\n$/,
      );
      assert.ok(await eventually(() => processGone(Number(fs.readFileSync(path.join(dir, 'sh.pid'), 'utf8')))));
      assert.deepEqual([namesIn(dir, 'incomplete'), namesIn(dir, 'log')], [[], []]);
    });
  });
});
