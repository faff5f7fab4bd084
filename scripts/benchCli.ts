// Benchmark of the CLI's start-up: wall time and peak RSS of `exit-plan --version`, of each command group's
// `--help` and of a cheap command per group (one that loads the group's code and stops at once: an empty folder,
// a refused connection, a missing setting), for the CLI as built now and for the CLI before issue 14 (one bundle
// that loaded every feature at start), built from git in a temporary folder. Writes its section of
// docs/PERFORMANCE.md (between markers), leaving the rest of the document as it is.
//
//   npm run build:production && npm run compile && node out/scripts/benchCli.js
//   BENCH_CLI_RUNS=3 node out/scripts/benchCli.js      fewer runs
//   BENCH_CLI_BASELINE=none node out/scripts/benchCli.js    without the earlier CLI
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeDocSection } from './lib/perfDoc';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/cli.js');
/** The last commit whose CLI was one bundle that initialised every feature at start. */
const BASELINE_COMMIT = 'abbeb44';
const RUNS = positiveEnv('BENCH_CLI_RUNS', 9);

function positiveEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  const n = raw ? Number(raw) : fallback;
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a whole number above 0 (got "${raw}")`);
  return n;
}

interface Case {
  label: string;
  /** The arguments, after `node`: a script and its arguments. */
  args: (cli: string) => string[];
  /** The exit code it ends with (the cheap commands stop at an empty folder, a refused connection, a missing setting). */
  code: number;
  /** The command group whose code it loads (dist/cli/<group>.mjs); none for --version and --help. */
  group?: string;
  /** Node.js alone, no CLI. */
  bare?: boolean;
}

function cases(empty: string): Case[] {
  const cli = (args: string[]) => (script: string) => [script, ...args];
  return [
    { label: '`node -e 0` (Node.js alone)', args: () => ['-e', '0'], code: 0, bare: true },
    { label: '`exit-plan --version`', args: cli(['--version']), code: 0 },
    { label: '`exit-plan --help`', args: cli(['--help']), code: 0 },
    { label: '`exit-plan warehouse export --help`', args: cli(['warehouse', 'export', '--help']), code: 0 },
    { label: '`exit-plan azure sas --help`', args: cli(['azure', 'sas', '--help']), code: 0 },
    { label: '`exit-plan datasets report --help`', args: cli(['datasets', 'report', '--help']), code: 0 },
    { label: '`exit-plan backups rotate --help`', args: cli(['backups', 'rotate', '--help']), code: 0 },
    { label: '`exit-plan run --help`', args: cli(['run', '--help']), code: 0 },
    {
      label: '`exit-plan warehouse export` (connection refused)',
      args: cli(['warehouse', 'export', '--db', 'postgres://exit@127.0.0.1:1/warehouse', '--quiet']),
      code: 1,
      group: 'warehouse',
    },
    { label: '`exit-plan azure containers` (no connection string)', args: cli(['azure', 'containers']), code: 1, group: 'azure' },
    { label: '`exit-plan datasets report EMPTY`', args: cli(['datasets', 'report', empty]), code: 1, group: 'datasets' },
    { label: '`exit-plan backups list --dir EMPTY`', args: cli(['backups', 'list', '--dir', empty]), code: 0, group: 'backups' },
    { label: '`exit-plan status MISSING.toml`', args: cli(['status', path.join(empty, 'missing.toml')]), code: 1, group: 'exit' },
  ];
}

/** Runs one case once: wall time (spawn to exit) and the kernel's peak RSS of the process. */
function measure(c: Case, script: string, tmp: string): { seconds: number; rssMb: number } {
  const preload = path.join(tmp, 'rss.cjs');
  const out = path.join(tmp, 'rss.json');
  fs.rmSync(out, { force: true });
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--require', preload, ...c.args(script)], {
    cwd: tmp,
    encoding: 'utf8',
    env: { ...process.env, RSS_OUT: out, AZURE_STORAGE_CONNECTION_STRING: '', PGPASSWORD: '' },
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== c.code) throw new Error(`${c.label} ended with ${r.status}, expected ${c.code}: ${r.stderr}`);
  const usage = JSON.parse(fs.readFileSync(out, 'utf8')) as { maxRSS: number };
  return { seconds, rssMb: usage.maxRSS / 1024 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The earlier CLI cannot be built any more (e.g. a dependency it bundled has since been removed from package.json). */
class BaselineUnavailable extends Error {}

/** The CLI of BASELINE_COMMIT, production-built in `dir`; undefined when there is no git checkout to take it from. */
function buildBaseline(dir: string): string | undefined {
  if (process.env.BENCH_CLI_BASELINE === 'none') return undefined;
  const archive = spawnSync(
    'git',
    ['archive', '--format=tar', BASELINE_COMMIT, 'src', 'media', 'scripts', 'package.json', 'tsconfig.json'],
    {
      cwd: ROOT,
      maxBuffer: 1 << 30,
    },
  );
  if (archive.status !== 0) {
    process.stdout.write(`No baseline: git archive ${BASELINE_COMMIT} failed (${archive.stderr.toString().trim()})\n`);
    return undefined;
  }
  fs.mkdirSync(dir, { recursive: true });
  const untar = spawnSync('tar', ['-x', '-C', dir], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar: ${untar.stderr.toString()}`);
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
  const build = spawnSync(process.execPath, ['scripts/build.mjs', '--production'], { cwd: dir, encoding: 'utf8' });
  if (build.status !== 0) throw new BaselineUnavailable(build.stderr.split('\n').find((l) => l.trim() !== '') ?? 'no output');
  return path.join(dir, 'dist', 'cli.js');
}

/**
 * Bytes of JavaScript a command loads before it does anything: the program, its group's file and the chunks that
 * imports (what its functions import when they run comes on top). Before issue 14: the one bundle.
 */
function loadedBytes(cli: string, group: string | undefined): number {
  const dir = path.join(path.dirname(cli), 'cli');
  if (!group || !fs.existsSync(dir)) return fs.statSync(cli).size;
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    for (const m of text.matchAll(/\bimport\s*(?:\{[^}]*\}|[\w$]+|\*\s*as\s+[\w$]+)?\s*(?:from\s*)?"\.\/([^"]+)"/g)) visit(m[1]);
  };
  visit(`${group}.mjs`);
  return fs.statSync(cli).size + [...seen].reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0);
}

/** Bytes of JavaScript a CLI has on disk: the program alone, and everything. */
function sizes(cli: string): { program: number; total: number } {
  const program = fs.statSync(cli).size;
  const dir = path.join(path.dirname(cli), 'cli');
  const groups = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.mjs')) : [];
  return { program, total: program + groups.reduce((sum, f) => sum + fs.statSync(path.join(dir, f)).size, 0) };
}

function main(): void {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build:production` first');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-cli-'));
  try {
    fs.writeFileSync(
      path.join(tmp, 'rss.cjs'),
      `process.on('exit', () => require('fs').writeFileSync(process.env.RSS_OUT, JSON.stringify(process.resourceUsage())));\n`,
    );
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    process.stdout.write(`Building the CLI of ${BASELINE_COMMIT} (before issue 14)…\n`);
    let baseline: string | undefined;
    try {
      baseline = buildBaseline(path.join(tmp, 'baseline'));
    } catch (err) {
      if (!(err instanceof BaselineUnavailable)) throw err;
      // Measuring now without the before column would drop the comparison the section shows: it is kept as it is.
      process.stdout.write(
        `The CLI of ${BASELINE_COMMIT} no longer builds here (${err.message}); the cli-startup section is left as it is ` +
          `(BENCH_CLI_BASELINE=none measures the CLI alone).\n`,
      );
      return;
    }
    const load = os.loadavg()[0];
    const rows: string[] = [];
    for (const c of cases(empty)) {
      const now: { seconds: number; rssMb: number }[] = [];
      const before: { seconds: number; rssMb: number }[] = [];
      // Alternately, so that a busy moment of the machine hits both.
      for (let i = 0; i < RUNS; i++) {
        now.push(measure(c, CLI, tmp));
        if (baseline) before.push(measure(c, baseline, tmp));
      }
      const cell = (runs: { seconds: number; rssMb: number }[]) =>
        runs.length === 0 ? ['', ''] : [median(runs.map((r) => r.seconds)).toFixed(3), median(runs.map((r) => r.rssMb)).toFixed(1)];
      const [nowS, nowMb] = cell(now);
      const [beforeS, beforeMb] = cell(before);
      const kb = (n: number) => Math.round(n / 1024).toLocaleString('en-US');
      const js = c.bare ? '' : kb(loadedBytes(CLI, c.group));
      rows.push(`| ${c.label} | ${beforeS} | ${beforeMb} | ${nowS} | ${nowMb} | ${js} |`);
      process.stdout.write(`${c.label}: now ${nowS} s, ${nowMb} MB; before ${beforeS || '-'} s, ${beforeMb || '-'} MB\n`);
    }
    const loadAfter = os.loadavg()[0];
    const now = sizes(CLI);
    const was = baseline ? sizes(baseline) : undefined;
    const kb = (n: number) => `${Math.round(n / 1024).toLocaleString('en-US')} KB`;
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const busy = Math.max(load, loadAfter) > os.availableParallelism() * 0.5;
    const section = [
      '## CLI start-up',
      '',
      `Last run: ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC, ${cpu}, ${os.availableParallelism()} cores, Node.js ` +
        `${process.version}, production build; load average ${load.toFixed(1)} at the start and ${loadAfter.toFixed(1)} at the end` +
        `${busy ? ' (a busy machine: the times are approximate, the memory is not)' : ''}.`,
      `Median of ${RUNS} runs of each, the CLI before issue 14 (commit ${BASELINE_COMMIT}, one bundle) and now run alternately. ` +
        "Wall time is from spawn to exit; peak RSS is the kernel's maximum resident set size of the process. " +
        "The cheap commands load their group's code and stop at once (an empty folder, a refused connection, a missing setting).",
      '',
      '| Command | Before: wall (s) | Before: peak RSS (MB) | Now: wall (s) | Now: peak RSS (MB) | Now: JS loaded at start (KB) |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `The program that starts for every command, dist/cli.js, is ${kb(now.program)} (commander and the command tree); the command ` +
        `groups and their shared chunks in dist/cli/ are ${kb(now.total - now.program)}, loaded only as a command needs them` +
        `${was ? ` (before: one bundle of ${kb(was.total)}, all of it parsed and initialised for every command)` : ''}. ` +
        '`test/cli.loading.test.ts` checks which modules each command loads.',
      '',
      'What is left above Node.js alone: the program (commander and the whole command tree, about 3 MB), then what the ' +
        'command uses, imported when it runs: the warehouse export pg, the export and its zip writer and check; the azure ' +
        'commands the Azure SDK; datasets TOML; backups only what each command needs (pg for a database, ' +
        "tar for files, croner for a schedule; list and rotate none of these); `status` the plan and the runs' records, " +
        '`run` the runners of every kind of part. The last column is the JavaScript loaded before the command does anything ' +
        "(the program, its group's file and the chunks that file imports).",
    ];
    writeDocSection('cli-startup', section);
    process.stdout.write('Wrote the cli-startup section of docs/PERFORMANCE.md\n');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
