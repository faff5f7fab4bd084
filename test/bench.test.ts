// `npm run bench`, its warehouse export part (scripts/bench.ts), at a tiny scale: it runs against the real embedded
// PostgreSQL, the real CLI, psql and zip, and writes its document (to a temp file through BENCH_DOC). Speed is not
// asserted here (the benchmark measures it); what is checked is that every data shape is measured and reported, the
// targets are judged, and the sections other benchmarks wrote are kept.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capture } from '../scripts/lib/capture';

const ROOT = path.resolve(__dirname, '../..');
const BENCH = path.join(ROOT, 'out', 'scripts', 'bench.js');

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, name)));
}

describe('benchmark: warehouse export (npm run bench)', function () {
  this.timeout(600_000);
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-test-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('measures the three data shapes against the manual way and rewrites its part of the doc, keeping marked sections', async function () {
    if (!onPath('psql') || !onPath('zip')) this.skip();
    const doc = path.join(tmp, 'PERFORMANCE.md');
    const kept = '<!-- other-bench:start -->\n## Something else\n\nKept as it is.\n<!-- other-bench:end -->';
    fs.writeFileSync(doc, `# Performance\n\nAn old warehouse export section.\n\n${kept}\n`);
    const r = await capture(process.execPath, [BENCH], {
      env: { ...process.env, BENCH_SCALE: '0.002', BENCH_RUNS: '1', BENCH_DOC: doc },
    });
    assert.equal(r.code, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
    const text = fs.readFileSync(doc, 'utf8');
    assert.ok(!text.includes('An old warehouse export section.'), 'the old section is replaced');
    assert.ok(text.includes(kept), 'the marked section of another benchmark is kept as it was');
    for (const h of ['## Warehouse export', '### Machine', '### Data', '### Results', '### Targets', '### What dominates']) {
      assert.ok(text.includes(`\n${h}\n`), `heading ${h}`);
    }
    assert.ok(text.includes('\n## Scaling beyond 2 cores\n'), 'the section on more cores');
    for (const shape of ['standard', 'compressible', 'incompressible']) {
      // One median row for the export and one for the manual way, per shape.
      assert.match(text, new RegExp(`\\| \`${shape}\` \\| \`exit-plan warehouse export\` \\| 1 \\| [\\d.]+ \\| [\\d.]+ \\|`), shape);
      // At this scale the data is far below 300 MB, and the document says so.
      assert.match(
        text,
        new RegExp(`\\| At least 300 MB of CSV in 8 tables \\| \`${shape}\` \\| [\\d.]+ MB in 8 tables \\| \\*\\*no\\*\\* \\|`),
      );
      assert.match(text, new RegExp(`\\| Wall time at most 0.75 × the manual way's \\| \`${shape}\` \\| [\\d.]+ × `));
      assert.match(text, new RegExp(`#### \`${shape}\``), `the tables of ${shape}`);
    }
    assert.match(text, /\| Peak RSS at most 100 MB whatever the number of parts \| +\| [\d.]+ MB for 200 one-row parts /, 'many parts');
    assert.match(text, /\| \*\*main thread, busy \(not idle\)\*\* \| [\d.]+ \| [\d.]+ \| [\d.]+ \|/, 'the profile of each shape');
    assert.match(text, /\*\*What dominates now\.\*\* On `standard` the export took [\d.]+ s/);
    assert.match(r.stdout, /Wrote .*the bench took/);
  });

  it('BENCH_SHAPES runs only the shapes asked for, and refuses a shape it does not know', async function () {
    const bad = await capture(process.execPath, [BENCH], {
      env: { ...process.env, BENCH_SHAPES: 'standard,huge', BENCH_DOC: path.join(tmp, 'x.md') },
    });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /BENCH_SHAPES takes a comma-separated list of standard, compressible, incompressible \(got "standard,huge"\)/);
    assert.ok(!fs.existsSync(path.join(tmp, 'x.md')));
    if (!onPath('psql') || !onPath('zip')) return;
    const doc = path.join(tmp, 'PERFORMANCE.md');
    const r = await capture(process.execPath, [BENCH], {
      env: { ...process.env, BENCH_SCALE: '0.002', BENCH_RUNS: '1', BENCH_SHAPES: 'incompressible', BENCH_DOC: doc },
    });
    assert.equal(r.code, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
    const text = fs.readFileSync(doc, 'utf8');
    assert.match(text, /\| `incompressible` \| `exit-plan warehouse export` \| 1 \|/);
    assert.ok(!text.includes('`standard`') && !text.includes('`compressible`'), 'only the shape asked for');
    assert.match(text, /\| All three data shapes measured \| +\| only incompressible \(BENCH_SHAPES\) \| \*\*no\*\* \|/);
  });
});

describe('benchmark: rclone sources and command backups (npm run bench)', function () {
  this.timeout(300_000);

  it('measures both shapes against rclone and tar by hand and writes its two sections, keeping the others', async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-test-'));
    try {
      const doc = path.join(tmp, 'PERFORMANCE.md');
      const kept = '<!-- other-bench:start -->\n## Something else\n<!-- other-bench:end -->';
      fs.writeFileSync(doc, `# Performance\n\n${kept}\n\n<!-- rclone-bench:start -->\nAn old rclone section.\n<!-- rclone-bench:end -->\n`);
      const r = await capture(process.execPath, [path.join(ROOT, 'out', 'scripts', 'benchSources.js')], {
        env: { ...process.env, BENCH_SOURCES_SCALE: '0.01', BENCH_RUNS: '1', BENCH_DOC: doc },
      });
      assert.equal(r.code, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
      const text = fs.readFileSync(doc, 'utf8');
      assert.ok(text.includes(kept), 'the marked section of another benchmark is kept as it was');
      assert.ok(!text.includes('An old rclone section.'), 'its own old section is replaced');
      for (const shape of ['many small files', 'a few large files']) {
        // One table per shape in each section: Exit Plan's row and the by-hand rows, each with a time.
        assert.equal(text.split(`**${shape}**`).length - 1, 2, shape);
      }
      assert.match(text, /\| `exit-plan files copy --from REMOTE --to DIR --json --quiet` \| [\d.]+ \| [\d.]+ \|/);
      assert.match(text, /\| by hand, checked: `rclone copy` then `rclone check --one-way` \| [\d.]+ \| [\d.]+ \| .* \| 1\.00 \|/);
      assert.match(text, /\| `exit-plan backups create-command --name media .*` \| [\d.]+ \| [\d.]+ \|/);
      assert.match(text, /\| by hand: `tar -cf FILE -C SRC \.` \| [\d.]+ \| [\d.]+ \| .* \| 1\.00 \|/);
      assert.match(text, /BENCH_SOURCES_SCALE=0\.01: smaller than the default shapes/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('benchmark: subset export (npm run bench)', function () {
  this.timeout(600_000);

  it('measures a tenth of the organisations against the full export and by hand on both shapes, and writes its section', async function () {
    if (!onPath('psql') || !onPath('zip')) this.skip();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-test-'));
    try {
      const doc = path.join(tmp, 'PERFORMANCE.md');
      const kept = '<!-- other-bench:start -->\n## Something else\n<!-- other-bench:end -->';
      fs.writeFileSync(doc, `# Performance\n\n${kept}\n\n<!-- subset-bench:start -->\nAn old subset section.\n<!-- subset-bench:end -->\n`);
      const r = await capture(process.execPath, [path.join(ROOT, 'out', 'scripts', 'benchSubset.js')], {
        env: { ...process.env, BENCH_SCALE: '0.005', BENCH_RUNS: '1', BENCH_DOC: doc },
      });
      assert.equal(r.code, 0, `bench failed:\n${r.stdout}\n${r.stderr}`);
      const text = fs.readFileSync(doc, 'utf8');
      assert.ok(text.includes(kept), 'the marked section of another benchmark is kept as it was');
      assert.ok(!text.includes('An old subset section.'), 'its own old section is replaced');
      assert.equal(text.split('<!-- subset-bench:start -->').length, 2, 'one section');
      assert.ok(text.includes('\n## Subset export: a tenth of the organisations against the full export\n'));
      assert.ok(text.includes('\n### What dominates: the walk or the COPY\n'));
      assert.match(text, /BENCH_SCALE=0\.005: smaller than the default warehouses/);
      for (const shape of ['tenants', 'deep']) {
        const at = text.indexOf(`\n### \`${shape}\`\n`);
        assert.ok(at > 0, `the tables of ${shape}`);
        const part = text.slice(at, text.indexOf('\n### ', at + 1));
        // The subset holds some of the rows and not all of them, and the queries by hand no more than the subset.
        const total = /\| \*\*Total\*\* \| ([\d,]+) \| {2}\| {2}\| ([\d,]+) \| ([\d.]+) % \| ([\d,]+) \| ([\d,]+) \|/.exec(part);
        assert.ok(total, `the total line of ${shape}`);
        const [all, sub, up, hand] = [total[1], total[2], total[4], total[5]].map((n) => Number(n.replace(/,/g, '')));
        assert.ok(sub > 0 && sub < all, `${shape}: ${sub} of ${all} rows in the subset`);
        assert.ok(hand > 0 && hand <= sub, `${shape}: ${hand} rows by hand, ${sub} in the subset`);
        // Both shapes reference rows of other organisations: the up-walk brings them in; the queries by hand select none of them.
        assert.ok(up > 0 && hand <= sub - up, `${shape}: ${up} rows by the up-walk`);
        for (const way of [
          'full: `exit-plan warehouse export',
          'subset: `… --subset',
          "the subset's dry run",
          'subset with `--jobs 2`',
          'by hand: `psql',
        ]) {
          assert.match(
            part,
            new RegExp(`\\| ${way.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*? \\| [\\d.]+ \\| [\\d.]+ \\| `),
            `${shape}: ${way}`,
          );
        }
        // Every foreign key followed has a row, with its direction.
        const child = shape === 'tenants' ? 'users' : 'projects';
        assert.match(
          part,
          new RegExp(`\\| \`public\\.${child}\` \\| \`public\\.organizations\` \\| \`org_id\` \\| down \\| [\\d,]+ \\|`),
          shape,
        );
        // What dominates: the phases of the full export (and the subset's), and what they come to.
        assert.match(text, new RegExp(`\\| \`${shape}\` \\| full \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\|`), `${shape}: phases`);
        assert.match(text, new RegExp(`On \`${shape}\` the subset \\([\\d.]+ % of the rows\\) took [\\d.]+ × the full export's wall time`));
      }
      assert.ok(text.includes('\n### The walk, statement by statement\n'));
      for (const shape of ['tenants', 'deep']) {
        assert.match(
          text,
          new RegExp(`\\| \`${shape}\` \\| [\\d.]+ \\| \\d+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| [\\d.]+ \\| \\d+: [\\d.]+ \\|`),
          `${shape}: walk`,
        );
        assert.match(
          text,
          new RegExp(
            `\\| \`${shape}\` \\| (down|up) \\d+ \\| \`public\\.\\w+\\(\\w+(, \\w+)*\\) → public\\.\\w+\` \\| [\\d,]+ \\| [\\d.]+ \\|`,
          ),
          shape,
        );
      }
      assert.match(
        text,
        /\| `public\.audit_log` \| [\d,]+ \| .* \| none \| left out \| {2}\| {2}\| {2}\|/,
        'the unrelated table is left out',
      );
      assert.match(
        text,
        /\| `public\.messages` \| `public\.users` \| `sender_id` \| up \| [\d,]+ \|/,
        'the up-walk to senders of other organisations',
      );
      assert.match(r.stdout, /Wrote the section subset-bench/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
