import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CancelledError, exit, type PgConnectionOptions } from '../src/exporters';
import { ownLockInfo } from '../src/exporters/shared/lock';
import { tempDir } from './helpers/archive';
import { CLI, runCli, until } from './helpers/backups';
import { startCapture } from '../scripts/lib/capture';
import { databaseWith } from './helpers/postgres';

const HOUR = 3600_000;

/** A clock the test moves by hand: run folders are named from it. */
function clock(start = '2026-03-01T10:00:00Z') {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    advance(ms: number) {
      t += ms;
    },
  };
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .map((f) => f.split(path.sep).join('/'))
    .sort();
}

describe('exit runs (real PostgreSQL)', () => {
  let db: PgConnectionOptions;
  let url: (database?: string) => string;

  before(async () => {
    db = await databaseWith('exitrun', 'CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 500) g;');
    assert.ok(db.password, 'the test server has a password, so the no-secret check means something');
    url = (database = db.database) => `postgres://${db.user}@${db.host}:${db.port}/${database}`;
  });

  /** A plan file in a new folder; returns the parsed plan. */
  function writePlan(body: string): exit.ExitPlan {
    const dir = tempDir();
    const file = path.join(dir, 'exit-plan.toml');
    fs.writeFileSync(file, body);
    return exit.parsePlan(body, file);
  }

  const resolvers = () => exit.envResolvers({ PGPASSWORD: db.password });

  it('describes its progress in one text with the part i/N and the part’s own progress', () => {
    const p: exit.ExitProgress = { partIndex: 2, partCount: 4, name: 'lake', kind: 'azure', phase: 'part' };
    assert.equal(exit.describeExitProgress(p), 'Part 2/4 lake (azure)…');
    assert.equal(exit.exitProgressFraction(p), 0.25);
    const inPart = { ...p, part: { text: '10/40 blobs, 1.0 MB', fraction: 0.5 } };
    assert.equal(exit.describeExitProgress(inPart), 'Part 2/4 lake (azure) — 10/40 blobs, 1.0 MB');
    assert.equal(exit.exitProgressFraction(inPart), 0.375);
    assert.equal(exit.describeExitProgress({ ...p, phase: 'report' }), 'Writing the exit report…');
    assert.equal(exit.exitProgressFraction({ ...p, phase: 'report' }), 1);
  });

  it('runs every part, records a failing one with its sentence and goes on; the report, manifest and status say so', async () => {
    const plan = writePlan(
      `max_age = "1 day"\nnot_included = ["Windmill run logs"]\n\n` +
        `[[warehouse]]\nname = "broken"\ndb = "${url('no_such_db')}"\n\n` +
        `[[warehouse]]\nname = "wh"\ndb = "${url()}"\nexclude_columns = ["note"]\n`,
    );
    const c = clock();
    const before = await exit.exitStatus(plan, { now: c.now() });
    assert.equal(before.ready, false);
    assert.deepEqual(
      before.parts.map((p) => [p.name, p.lastVerified, p.stale]),
      [
        ['broken', undefined, true],
        ['wh', undefined, true],
      ],
    );

    const progress: string[] = [];
    const result = await exit.runExitPlan(plan, {
      resolvers: resolvers(),
      now: c.now,
      onProgress: (p) => progress.push(exit.describeExitProgress(p)),
    });
    assert.equal(result.folder, path.join(plan.out, 'exit_2026-03-01T100000Z'));
    assert.equal(result.complete, true);
    assert.equal(result.ok, false);
    assert.deepEqual(
      result.parts.map((p) => [p.name, p.status, p.files, p.error]),
      [
        ['broken', 'failed', 0, `The database "no_such_db" does not exist on ${db.host}:${db.port}; no archive was written.`],
        ['wh', 'verified', 1, undefined],
      ],
    );
    assert.ok(progress.includes('Part 1/2 broken (warehouse)…') && progress.includes('Writing the exit report…'), progress.join('\n'));
    assert.ok(
      progress.some((t) => t.startsWith('Part 2/2 wh (warehouse) — Table 1/1 public.orders')),
      progress.join('\n'),
    );

    const record = JSON.parse(fs.readFileSync(path.join(result.folder, 'wh', 'part.json'), 'utf8')) as exit.PartRecord;
    assert.equal(record.status, 'verified');
    assert.equal(record.files.length, 1);
    assert.match(record.files[0].path, /^exitrun_\d+_.*\.zip$/);
    assert.equal(record.files[0].bytes, fs.statSync(path.join(result.folder, 'wh', record.files[0].path)).size);
    assert.match(record.files[0].sha256!, /^[0-9a-f]{64}$/);
    assert.equal(record.bytes, record.files[0].bytes);
    assert.equal(record.details?.rows, 500);
    assert.equal(fs.existsSync(path.join(result.folder, 'broken', 'part.json')), false);

    const manifest = (await exit.readRunManifest(result.folder))!;
    assert.equal(manifest.ok, false);
    assert.deepEqual(
      manifest.parts.map((p) => [p.name, p.status]),
      [
        ['broken', 'failed'],
        ['wh', 'verified'],
      ],
    );
    assert.deepEqual(manifest.notIncluded, ['Windmill run logs']);
    assert.match(manifest.serverVersions.wh, /^\d+/);
    const report = fs.readFileSync(path.join(result.folder, 'EXIT-REPORT.md'), 'utf8');
    assert.match(report, /\*\*1 part failed\*\*, 1 verified/);
    assert.match(report, /- \*\*broken\*\* \(warehouse\): The database "no_such_db" does not exist/);
    assert.match(report, /## Not included\n\n- Windmill run logs\n/);
    assert.match(report, /\| wh \| warehouse \| database exitrun_\d+, 1 table, 500 rows/);

    c.advance(HOUR);
    const after = await exit.exitStatus(plan, { now: c.now() });
    assert.equal(after.ready, false, 'the broken part has no verified copy');
    const [broken, wh] = after.parts;
    assert.equal(broken.lastError, manifest.parts[0].status === 'failed' ? manifest.parts[0].error : '');
    assert.equal(wh.lastVerified, record.finishedAt);
    assert.equal(wh.bytes, record.bytes);
    assert.equal(wh.stale, false);
    assert.equal(wh.folder, result.folder);
    assert.match(exit.describePartStatus(wh, plan.maxAge), /^wh \(warehouse\): verified 1 hour ago, [\d.]+ KB$/);
    c.advance(2 * 24 * HOUR);
    const later = await exit.exitStatus(plan, { now: c.now() });
    assert.equal(later.parts[1].stale, true, 'older than max_age');
    assert.match(exit.describePartStatus(later.parts[1], plan.maxAge), /stale: older than max_age \(1 day\)$/);
  });

  it('resumes an unfinished run: verified parts are kept, the unfinished one is redone in a clean folder', async () => {
    const plan = writePlan(`[[warehouse]]\nname = "one"\ndb = "${url()}"\n\n[[warehouse]]\nname = "two"\ndb = "${url()}"\n`);
    const c = clock();
    // Cancelled while the second part runs.
    const controller = new AbortController();
    await assert.rejects(
      exit.runExitPlan(plan, {
        resolvers: resolvers(),
        now: c.now,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.name === 'two' && p.part) controller.abort(new CancelledError());
        },
      }),
      CancelledError,
    );
    const [run] = await exit.listRuns(plan.out);
    assert.equal(run.complete, false);
    assert.deepEqual(
      filesUnder(run.folder).filter((f) => !f.startsWith('one/')),
      [],
    );
    const one = fs.readFileSync(path.join(run.folder, 'one', 'part.json'), 'utf8');
    // What a killed attempt might leave in the unfinished part.
    fs.mkdirSync(path.join(run.folder, 'two'), { recursive: true });
    fs.writeFileSync(path.join(run.folder, 'two', 'leftover.zip.partial'), 'half');

    c.advance(HOUR);
    const result = await exit.runExitPlan(plan, { resolvers: resolvers(), now: c.now });
    assert.equal(result.folder, run.folder, 'the same run folder');
    assert.equal(result.complete, true);
    assert.equal(result.ok, true);
    assert.deepEqual(
      result.parts.map((p) => [p.name, p.status, p.kept ?? false]),
      [
        ['one', 'verified', true],
        ['two', 'verified', false],
      ],
    );
    assert.equal(fs.readFileSync(path.join(run.folder, 'one', 'part.json'), 'utf8'), one, 'kept as it was');
    assert.equal(fs.existsSync(path.join(run.folder, 'two', 'leftover.zip.partial')), false);
    assert.ok(fs.existsSync(path.join(run.folder, 'two', 'part.json')));

    // Complete: the next run is a new one, and `fresh` starts a new one even over an unfinished one.
    c.advance(HOUR);
    const next = await exit.runExitPlan(plan, { resolvers: resolvers(), now: c.now, only: ['one'] });
    assert.notEqual(next.folder, run.folder);
    assert.equal(next.complete, false, 'part two was not run in it');
    assert.deepEqual(
      next.parts.map((p) => [p.name, p.status]),
      [
        ['one', 'verified'],
        ['two', 'skipped'],
      ],
    );
    c.advance(HOUR);
    const fresh = await exit.runExitPlan(plan, { resolvers: resolvers(), now: c.now, only: ['two'], fresh: true });
    assert.notEqual(fresh.folder, next.folder);
    c.advance(HOUR);
    const rest = await exit.runExitPlan(plan, { resolvers: resolvers(), now: c.now, only: ['one'] });
    assert.equal(rest.folder, fresh.folder, 'the newest unfinished run is continued');
    assert.equal(rest.complete, true);

    await assert.rejects(exit.runExitPlan(plan, { resolvers: resolvers(), only: ['three'] }), {
      message: `The plan ${plan.file} has no part named "three" (its parts: one, two).`,
    });
  });

  it('refuses a second run on the same out while one holds the lock', async () => {
    const plan = writePlan(`[[warehouse]]\nname = "wh"\ndb = "${url()}"\n`);
    fs.mkdirSync(plan.out, { recursive: true });
    const lock = path.join(plan.out, exit.RUN_LOCK_FILE);
    fs.writeFileSync(lock, JSON.stringify(ownLockInfo()));
    await assert.rejects(exit.runExitPlan(plan, { resolvers: resolvers() }), (err: Error) => {
      assert.match(err.message, new RegExp(`^Another exit run \\(process ${process.pid} on .*\\) is writing to ${plan.out}: wait for it`));
      return true;
    });
    assert.deepEqual(await exit.listRuns(plan.out), []);
    fs.rmSync(lock);
  });

  it('keep removes only older complete runs, after a fully verified run', async () => {
    const plan = writePlan(`keep = 2\n\n[[warehouse]]\nname = "wh"\ndb = "${url()}"\n`);
    const c = clock();
    // An unfinished run older than the others: never removed.
    fs.mkdirSync(path.join(plan.out, 'exit_2026-02-01T000000Z', 'wh'), { recursive: true });
    const folders: string[] = [];
    for (let i = 0; i < 4; i++) {
      c.advance(HOUR);
      const r = await exit.runExitPlan(plan, { resolvers: resolvers(), now: c.now, fresh: true });
      folders.push(r.folder);
      assert.deepEqual(r.removedRuns, i < 2 ? [] : [folders[i - 2]]);
    }
    assert.deepEqual(
      (await exit.listRuns(plan.out)).map((r) => [path.basename(r.folder), r.complete]),
      [
        ['exit_2026-02-01T000000Z', false],
        [path.basename(folders[2]), true],
        [path.basename(folders[3]), true],
      ],
    );
    // A run with a failed part removes nothing.
    const failing = exit.parsePlan(`keep = 1\nout = "${plan.out}"\n\n[[warehouse]]\nname = "wh"\ndb = "${url('nope')}"\n`, plan.file);
    c.advance(HOUR);
    const r = await exit.runExitPlan(failing, { resolvers: resolvers(), now: c.now });
    assert.equal(r.ok, false);
    assert.deepEqual(r.removedRuns, []);
    assert.equal((await exit.listRuns(plan.out)).length, 4);
  });

  it('verifies a warehouse whose archive holds more than one entry over 1 MiB (each read from the one open file)', async () => {
    const two = await databaseWith(
      'exittwo',
      'CREATE TABLE a AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 200000) g; ' +
        'CREATE TABLE b AS SELECT * FROM a;',
    );
    const plan = writePlan(`[[warehouse]]\nname = "wh"\ndb = "postgres://${two.user}@${two.host}:${two.port}/${two.database}"\n`);
    const result = await exit.runExitPlan(plan, { resolvers: exit.envResolvers({ PGPASSWORD: two.password }) });
    assert.deepEqual(
      result.parts.map((p) => [p.name, p.status, p.error]),
      [['wh', 'verified', undefined]],
    );
  });

  describe('CLI', () => {
    it('Ctrl-C stops a run: exit 130, nothing half-written is left, and the next run continues the same folder', async () => {
      const big = await databaseWith(
        'exitbig',
        'CREATE TABLE events AS SELECT g AS id, repeat(md5(g::text), 8) AS payload FROM generate_series(1, 900000) g;',
      );
      const dir = tempDir();
      const file = path.join(dir, 'exit-plan.toml');
      fs.writeFileSync(file, `[[warehouse]]\nname = "big"\ndb = "postgres://${big.user}@${big.host}:${big.port}/${big.database}"\n`);
      const env = { ...process.env, PGPASSWORD: big.password };
      const run = startCapture(process.execPath, [CLI, 'run', file], { env });
      const partials = () => {
        const runs = fs.existsSync(path.join(dir, 'exits'))
          ? fs.readdirSync(path.join(dir, 'exits')).filter((n) => n.startsWith('exit_'))
          : [];
        return runs.flatMap((r) =>
          fs.existsSync(path.join(dir, 'exits', r, 'big'))
            ? fs.readdirSync(path.join(dir, 'exits', r, 'big')).filter((f) => f.endsWith('.partial'))
            : [],
        );
      };
      await until(() => partials().length > 0);
      run.child.kill('SIGINT');
      const done = await run.done;
      assert.equal(done.code, 130, done.stderr);
      assert.match(
        done.stderr,
        /\nexit-plan: Export cancelled during public\.events; no archive was written and the partial file was removed\.\n$/,
      );
      const [unfinished] = await exit.listRuns(path.join(dir, 'exits'));
      assert.equal(unfinished.complete, false);
      assert.deepEqual(filesUnder(unfinished.folder), [], 'no partial, no part.json');

      const again = await runCli(['run', file, '--json', '--quiet'], { PGPASSWORD: big.password });
      assert.equal(again.code, 0, again.stdout + again.stderr);
      const out = JSON.parse(again.stdout) as { folder: string; complete: boolean };
      assert.deepEqual([out.folder, out.complete], [unfinished.folder, true]);
    });

    it('plan init writes the template once; run and status keep their exit codes and --json shapes; no secret in the run', async () => {
      const dir = tempDir();
      const file = path.join(dir, 'exit-plan.toml');
      const init = await runCli(['plan', 'init', file]);
      assert.equal(init.code, 0, init.stderr);
      assert.equal(fs.readFileSync(file, 'utf8'), exit.templatePlanText());
      const again = await runCli(['plan', 'init', file]);
      assert.equal(again.code, 1);
      assert.equal(
        again.stderr,
        `exit-plan: ${file} already exists: the exit plan there is left as it is (edit it, or give another file).\n`,
      );

      fs.writeFileSync(
        file,
        `max_age = "1 day"\n\n[[warehouse]]\nname = "wh"\ndb = "${url()}"\npassword_env = "EXIT_TEST_PASSWORD"\n\n` +
          `[[warehouse]]\nname = "saved"\nconnection = "Production"\n`,
      );
      const env = { PGPASSWORD: undefined, EXIT_TEST_PASSWORD: db.password };
      const status0 = await runCli(['status', file, '--json'], env);
      assert.equal(status0.code, 2);
      assert.deepEqual(JSON.parse(status0.stdout), {
        ready: false,
        parts: [
          { name: 'wh', kind: 'warehouse', lastVerified: null, bytes: null },
          { name: 'saved', kind: 'warehouse', lastVerified: null, bytes: null },
        ],
      });

      const run = await runCli(['run', file, '--json', '--quiet'], env);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stderr, '');
      const out = JSON.parse(run.stdout) as { folder: string; complete: boolean; parts: Record<string, unknown>[] };
      assert.deepEqual(Object.keys(out), ['folder', 'complete', 'parts']);
      assert.equal(out.complete, true);
      assert.equal(path.dirname(out.folder), path.join(dir, 'exits'));
      const bytes = JSON.parse(fs.readFileSync(path.join(out.folder, 'wh', 'part.json'), 'utf8')).bytes;
      assert.deepEqual(out.parts, [
        { name: 'wh', kind: 'warehouse', status: 'verified', files: 1, bytes },
        {
          name: 'saved',
          kind: 'warehouse',
          status: 'failed',
          files: 0,
          bytes: 0,
          error:
            'The warehouse part "saved" uses the saved VS Code connection "Production", which only VS Code can open: ' +
            'run it from VS Code, or give the part a db URL (and password_env) instead.',
        },
      ]);
      // No secret anywhere in the run folder.
      for (const f of filesUnder(out.folder)) {
        const content = fs.readFileSync(path.join(out.folder, f));
        assert.equal(content.includes(db.password!), false, `${f} holds the password`);
      }

      const status1 = await runCli(['status', file], env);
      assert.equal(status1.code, 2);
      assert.match(
        status1.stdout,
        /^wh \(warehouse\): verified \d+ seconds? ago, [\d.]+ KB\nsaved \(warehouse\): no verified copy \(last run: The warehouse part "saved" uses/,
      );
      assert.match(status1.stdout, /\nNot ready: a part has no verified copy younger than 1 day\.\n$/);

      // Only the verified part: ready; backdated past max_age: not.
      fs.writeFileSync(file, `max_age = "1 day"\n\n[[warehouse]]\nname = "wh"\ndb = "${url()}"\npassword_env = "EXIT_TEST_PASSWORD"\n`);
      const status2 = await runCli(['status', file, '--json'], env);
      assert.equal(status2.code, 0, status2.stdout);
      assert.equal(JSON.parse(status2.stdout).ready, true);
      const partJson = path.join(out.folder, 'wh', 'part.json');
      const record = JSON.parse(fs.readFileSync(partJson, 'utf8'));
      record.finishedAt = new Date(Date.now() - 2 * 24 * HOUR).toISOString();
      fs.writeFileSync(partJson, JSON.stringify(record));
      const status3 = await runCli(['status', file], env);
      assert.equal(status3.code, 2);
      assert.match(status3.stdout, /^wh \(warehouse\): verified 2 days ago, .* — stale: older than max_age \(1 day\)\n/);

      // Human output of run, and a missing password variable is the part's one sentence.
      const run2 = await runCli(['run', file, '--quiet'], { PGPASSWORD: undefined });
      assert.equal(run2.code, 2);
      assert.equal(
        run2.stderr,
        'wh (warehouse): failed: The warehouse part "wh" takes its password from the environment variable EXIT_TEST_PASSWORD, ' +
          'which is not set.\n',
      );
      assert.match(run2.stdout, /^.*exit_\d{4}-\d\d-\d\dT\d{6}Z: complete, EXIT-REPORT\.md written\.\n$/);
      const run3 = await runCli(['run', file, '--only', 'nope'], env);
      assert.equal(run3.code, 1);
      assert.equal(run3.stderr, `exit-plan: The plan ${file} has no part named "nope" (its parts: wh).\n`);
      const run4 = await runCli(['run', file], env);
      assert.equal(run4.code, 0, run4.stderr);
      assert.match(run4.stdout, /^wh \(warehouse\): verified, 1 file, [\d.]+ KB\n/);
      assert.match(run4.stderr, /Part 1\/1 wh \(warehouse\)/);
    });
  });
});
