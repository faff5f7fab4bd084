// Benchmark of `exit-plan datasets report` over 200 datasets × 1,000 parcels each, in export_manager's layout
// (config.toml, metrics.csv, data/, incomplete/, log/). Reports wall time and peak RSS of the CLI, and writes
// its section of docs/PERFORMANCE.md (between markers), leaving the rest of the document as it is.
//
//   npm run build && npm run compile && node out/scripts/benchDatasets.js
//   BENCH_DATASETS=20 BENCH_PARCELS=100 node out/scripts/benchDatasets.js     a quick, smaller run
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { utcStamp } from '../src/exporters/shared/format';
import { PERFORMANCE_DOC, writeDocSection } from './lib/perfDoc';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
const DATASETS = positiveEnv('BENCH_DATASETS', 200);
const PARCELS = positiveEnv('BENCH_PARCELS', 1000);
const RUNS = 3;
const DAY_MS = 24 * 60 * 60 * 1000;

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number above 0 (got "${raw}")`);
  return n;
}

/**
 * One dataset as a long-running daily export leaves it: a parcel a day for PARCELS days (data file, .out and
 * .err logs, a metrics.csv row with a custom metric). Every 10th dataset's newest export failed (incomplete/),
 * every 20th is overdue. Files are tiny (hard links to a few templates): the report reads names and metrics.csv, never the data.
 */
function generateDataset(dir: string, index: number, now: number, templates: string): void {
  for (const sub of ['data', 'incomplete', 'log']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'config.toml'),
    `cmd = "curl -fsS https://example.invalid/export > $PARCEL_PATH.json"\ninterval = "1 day"\nkeep = ${PARCELS}\nmetrics.items.cmd = "jq '.items | length' $PARCEL_PATH"\n`,
  );
  const overdue = index % 20 === 19;
  const failing = index % 10 === 9;
  const newest = now - (overdue ? 3 * DAY_MS : 60 * 60 * 1000);
  const rows = ['parcel_id,success,files,bytes,items'];
  // Hard links to a few template files: one system call per file, so 600,000 files take seconds, not minutes.
  for (let p = PARCELS - 1; p >= 0; p--) {
    const id = utcStamp(new Date(newest - p * DAY_MS));
    const ok = !(failing && p === 0);
    fs.linkSync(path.join(templates, `body-${p % 50}.json`), path.join(dir, ok ? 'data' : 'incomplete', `${id}.json`));
    fs.linkSync(path.join(templates, 'empty'), path.join(dir, 'log', `${id}.out`));
    fs.linkSync(path.join(templates, ok ? 'empty' : 'error'), path.join(dir, 'log', `${id}.err`));
    rows.push(`${id},${ok ? 'Y' : 'N'},1,${body(p % 50).length},${(p % 50) + 1}`);
  }
  fs.writeFileSync(path.join(dir, 'metrics.csv'), `${rows.join('\r\n')}\r\n`);
}

const body = (n: number) => `{"items":[${'1,'.repeat(n)}1]}\n`;

function writeTemplates(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  for (let n = 0; n < 50; n++) fs.writeFileSync(path.join(dir, `body-${n}.json`), body(n));
  fs.writeFileSync(path.join(dir, 'empty'), '');
  fs.writeFileSync(path.join(dir, 'error'), 'curl: (22) The requested URL returned error: 503\n');
}

/** Runs the CLI once; wall time, the kernel's peak RSS of that process, and its output size. */
function measure(args: string[], tmp: string, n: number): { seconds: number; rssMb: number; stdout: string } {
  const preload = path.join(tmp, 'rss.cjs');
  const out = path.join(tmp, `rss-${n}.json`);
  fs.writeFileSync(
    preload,
    `process.on('exit', () => require('fs').writeFileSync(process.env.RSS_OUT, JSON.stringify(process.resourceUsage())));\n`,
  );
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, CLI, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    env: { ...process.env, RSS_OUT: out },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`exit-plan ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  const usage = JSON.parse(fs.readFileSync(out, 'utf8')) as { maxRSS: number };
  return { seconds, rssMb: usage.maxRSS / 1024, stdout: r.stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function main(): void {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run npm run build first');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-datasets-'));
  try {
    const root = path.join(tmp, 'exports');
    const now = Date.now();
    const t0 = process.hrtime.bigint();
    process.stdout.write(`Generating ${DATASETS} datasets × ${PARCELS} parcels…\n`);
    for (let i = 0; i < DATASETS; i++) {
      // Templates per dataset: a file system allows only so many hard links to one file (65,000 on ext4).
      const templates = path.join(tmp, 'templates', String(i));
      writeTemplates(templates);
      generateDataset(path.join(root, `dataset-${String(i).padStart(3, '0')}`), i, now, templates);
    }
    const generateSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const files = DATASETS * (PARCELS * 3 + 2);
    process.stdout.write(`Generated ${files.toLocaleString('en-US')} files in ${generateSeconds.toFixed(1)} s\n`);

    const kinds = [
      { label: '`exit-plan datasets report ROOT`', args: ['datasets', 'report', root] },
      { label: '`exit-plan datasets report ROOT --json`', args: ['datasets', 'report', root, '--json'] },
    ];
    const rows: { label: string; seconds: number; rssMb: number; outKb: number; all: number[] }[] = [];
    let n = 0;
    for (const kind of kinds) {
      const runs = Array.from({ length: RUNS }, () => measure(kind.args, tmp, n++));
      const check = runs[0].stdout;
      if (kind.args.includes('--json')) {
        const report = JSON.parse(check) as { datasets: unknown[]; attention: number };
        if (report.datasets.length !== DATASETS) throw new Error(`the report has ${report.datasets.length} datasets, expected ${DATASETS}`);
      } else if (!check.includes('WARNING: overdue:') && DATASETS >= 20) {
        throw new Error('the text report lacks the overdue warning');
      }
      const row = {
        label: kind.label,
        seconds: median(runs.map((r) => r.seconds)),
        rssMb: median(runs.map((r) => r.rssMb)),
        outKb: check.length / 1024,
        all: runs.map((r) => r.seconds),
      };
      rows.push(row);
      process.stdout.write(
        `${kind.label}: ${row.seconds.toFixed(2)} s (runs: ${row.all.map((s) => s.toFixed(2)).join(', ')}), peak RSS ` +
          `${row.rssMb.toFixed(1)} MB\n`,
      );
    }
    const baseline = measure(['--version'], tmp, n++);

    const section = [
      '## Datasets: report',
      '',
      `Last run: ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC, on a shared ${os.cpus().length}-core machine, so the ` +
        `times are approximate.`,
      `\`exit-plan datasets report\` over ${DATASETS} datasets × ${PARCELS.toLocaleString('en-US')} parcels each in export_manager's ` +
        `layout: per parcel a data file`,
      'and `.out`/`.err` logs, and a `metrics.csv` row with a custom metric; every 10th dataset failing, every 20th overdue',
      `(${files.toLocaleString('en-US')} files, generated in ${generateSeconds.toFixed(0)} s, not counted). The report reads three ` +
        `folder listings, config.toml`,
      'and metrics.csv per dataset (16 datasets at a time) and never opens the data. Median of 3 runs; wall time includes Node.js',
      `start-up (\`exit-plan --version\` alone: ${baseline.seconds.toFixed(2)} s, ${baseline.rssMb.toFixed(1)} MB).`,
      '',
      '| Command | Wall time (s) | Parcels/s | Peak RSS (MB) | Output (KB) |',
      '|---|---:|---:|---:|---:|',
      ...rows.map(
        (r) =>
          `| ${r.label} | ${r.seconds.toFixed(2)} | ${Math.round((DATASETS * PARCELS) / r.seconds).toLocaleString('en-US')} | ` +
          `${r.rssMb.toFixed(1)} | ${r.outKb.toFixed(0)} |`,
      ),
    ];
    writeDocSection('datasets-report-bench', section);
    process.stdout.write(`Wrote ${path.relative(ROOT, PERFORMANCE_DOC)}\n`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
