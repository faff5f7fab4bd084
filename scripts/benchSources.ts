// Benchmarks of issue 15's sources, each against what a person would do instead, on two shapes of data (many small
// files; a few large ones), alternating runs, wall time and peak RSS of the process tree:
// - `exit-plan files copy` from S3 (s3rver on loopback, in a process of its own) against `rclone copy` alone and
//   `rclone copy` followed by `rclone check --one-way`; and a second run into the same folder (nothing to copy).
// - `exit-plan backups create-command` with `tar -cf - -C DIR .` against the same tar writing its file itself.
// Writes the sections `rclone-bench` and `command-backups-bench` of docs/PERFORMANCE.md, leaving the rest.
//
//   node out/scripts/benchSources.js                 after `npm run build && npm run compile` (npm run bench runs it)
//   BENCH_RUNS=1 …                                   fewer alternating runs of each way (default 3)
//   BENCH_SOURCES_SCALE=0.1 …                        smaller shapes (the doc then says so)
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rcloneEnvironment } from '../src/exporters/rclone/environment';
import { capture } from './lib/capture';
import { filesUnder, measured, median, type Measured } from './lib/measure';
import { writeDocSection } from './lib/perfDoc';
import { S3RVER_KEYS } from './lib/s3rver';
import { benchLog, numberEnv } from './lib/benchEnv';

const ROOT = path.resolve(__dirname, '..', '..');
const CLI = path.join(ROOT, 'dist', 'cli.js');
const BUCKET = 'bench';
const MB = 1e6;

const runs = Math.max(1, Math.round(numberEnv('benchSources', 'BENCH_RUNS', 3)));
const scale = numberEnv('benchSources', 'BENCH_SOURCES_SCALE', 1);
const log = benchLog('sources bench');

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const int = (n: number) => Math.round(n).toLocaleString('en-US');
/** A peak in MB; a process that ended before the first 50 ms sample has none: '—'. */
const mbs = (bytes: number) => (bytes > 0 ? f1(bytes / MB) : '—');
const secs = (ms: number[]) => ms.map((m) => f1(m / 1000)).join(', ');

/** A shape of data: files of random (incompressible, like photos and dumps) bytes in folders. */
interface Shape {
  id: string;
  label: string;
  files: number;
  bytesOf: (i: number) => number;
  nameOf: (i: number) => string;
}

const SHAPES: Shape[] = [
  {
    id: 'many-small',
    label: 'many small files',
    files: Math.max(10, Math.round(3000 * scale)),
    bytesOf: (i) => 1024 * (1 + ((i * 7919) % 32)),
    nameOf: (i) => `site-${i % 40}/${2020 + (i % 5)}/photo-${String(i).padStart(6, '0')}.jpg`,
  },
  {
    id: 'few-large',
    label: 'a few large files',
    files: 4,
    bytesOf: () => Math.max(1, Math.round(64 * 1024 * 1024 * scale)),
    nameOf: (i) => `dumps/part-${i}.bin`,
  },
];

/** Writes a shape's files under `dir`; returns their total bytes. */
function makeShape(shape: Shape, dir: string): number {
  let bytes = 0;
  for (let i = 0; i < shape.files; i++) {
    const file = path.join(dir, shape.nameOf(i));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const size = shape.bytesOf(i);
    const fd = fs.openSync(file, 'w');
    for (let left = size; left > 0;) {
      const chunk = crypto.randomBytes(Math.min(left, 1 << 20));
      fs.writeSync(fd, chunk);
      left -= chunk.length;
    }
    fs.closeSync(fd);
    bytes += size;
  }
  return bytes;
}

/** s3rver in a process of its own (scripts/lib/s3rver.ts), so that it does not share this process's event loop. */
async function startS3rverProcess(): Promise<{ endpoint: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(__dirname, 'lib', 's3rver.js'), BUCKET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]);
    });
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code} before it started`)));
  });
  const { endpoint } = JSON.parse(line) as { endpoint: string };
  return { endpoint, stop: () => child.kill('SIGTERM') };
}

function rm(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

interface Row {
  label: string;
  runs: Measured[];
  /** The time a row is compared with (ms), when it has one. */
  base?: number;
}

function table(rows: Row[]): string[] {
  const lines = [
    '| Method | Wall time (s, median) | Runs (s) | Peak RSS, process tree (MB) | Peak RSS, largest process (MB) | Time / by hand |',
    '|---|---:|---|---:|---:|---:|',
  ];
  for (const row of rows) {
    const ms = row.runs.map((r) => r.ms);
    const tree = Math.max(...row.runs.map((r) => r.treeRss));
    const proc = Math.max(...row.runs.map((r) => r.processRss));
    lines.push(
      `| ${row.label} | ${f1(median(ms) / 1000)} | ${secs(ms)} | ${mbs(tree)} | ${mbs(proc)} | ` +
        `${row.base ? f2(median(ms) / row.base) : ''} |`,
    );
  }
  return lines;
}

async function machine(): Promise<string> {
  const rclone = (await capture('rclone', ['version'])).stdout.split('\n')[0].trim();
  const tar = (await capture('tar', ['--version'])).stdout.split('\n')[0].trim();
  const cpu = os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'unknown CPU';
  return `${cpu}, ${os.availableParallelism()} cores, Node.js ${process.version}, ${rclone}, ${tar}`;
}

async function main(): Promise<void> {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first.`);
  const help = await capture(process.execPath, [CLI, 'files', '--help']);
  if (help.code !== 0)
    throw new Error('this build of exit-plan has no `files` commands yet: nothing measured, docs/PERFORMANCE.md unchanged.');
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-bench-sources-'));
  const s3 = await startS3rverProcess();
  const when = new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
  const env: NodeJS.ProcessEnv = {
    ...rcloneEnvironment().env,
    RCLONE_CONFIG: '/dev/null',
    RCLONE_S3_ACCESS_KEY_ID: S3RVER_KEYS.accessKeyId,
    RCLONE_S3_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey,
  };
  const rcloneRows: string[] = [];
  const commandRows: string[] = [];
  const shapesSaid: string[] = [];
  try {
    for (const shape of SHAPES) {
      const source = path.join(work, `${shape.id}-source`);
      const bytes = makeShape(shape, source);
      shapesSaid.push(`${shape.label}: ${int(shape.files)} files, ${mbs(bytes)} MB`);
      log(`${shape.label}: ${int(shape.files)} files, ${mbs(bytes)} MB generated`);
      // s3rver answers path-style requests; it ignores encoding-type=url, so listings are asked for plain.
      const remote = `:s3,provider=Other,endpoint='${s3.endpoint}',list_url_encode=false:${BUCKET}/${shape.id}`;
      const fill = await capture('rclone', ['copy', source, remote, '--transfers', '8'], { env });
      if (fill.code !== 0) throw new Error(`filling s3rver failed: ${fill.stderr.trim().split('\n').pop()}`);
      log(`${shape.label}: uploaded to s3rver`);

      const exitRuns: Measured[] = [];
      const againRuns: Measured[] = [];
      const copyRuns: Measured[] = [];
      const copyAgainRuns: Measured[] = [];
      const checkedRuns: Measured[] = [];
      const cmdRuns: Measured[] = [];
      const tarRuns: Measured[] = [];
      for (let run = 0; run < runs; run++) {
        const ways: (() => Promise<void>)[] = [
          async () => {
            const to = path.join(work, 'exit-plan-copy');
            rm(to);
            exitRuns.push(await measured(process.execPath, [CLI, 'files', 'copy', '--from', remote, '--to', to, '--json', '--quiet'], env));
            const copied = filesUnder(path.join(to, 'files')).length;
            if (copied !== shape.files) throw new Error(`exit-plan files copy wrote ${copied} files, not ${shape.files}`);
            againRuns.push(
              await measured(process.execPath, [CLI, 'files', 'copy', '--from', remote, '--to', to, '--json', '--quiet'], env),
            );
            rm(to);
          },
          async () => {
            const to = path.join(work, 'rclone-copy');
            rm(to);
            copyRuns.push(await measured('rclone', ['copy', remote, to], env));
            copyAgainRuns.push(await measured('rclone', ['copy', remote, to], env));
            rm(to);
            checkedRuns.push(
              await measured('bash', ['-c', 'rclone copy "$1" "$2" && rclone check "$1" "$2" --one-way', 'bash', remote, to], env),
            );
            rm(to);
          },
          async () => {
            const dir = path.join(work, 'command-backups');
            rm(dir);
            const args = ['backups', 'create-command', '--name', 'media', '--cmd', `tar -cf - -C '${source}' .`, '--extension', 'tar'];
            cmdRuns.push(await measured(process.execPath, [CLI, ...args, '--dir', dir, '--json', '--quiet'], env));
            rm(dir);
          },
          async () => {
            const dir = path.join(work, 'tar-by-hand');
            rm(dir);
            fs.mkdirSync(dir, { recursive: true });
            tarRuns.push(await measured('tar', ['-cf', path.join(dir, 'media.tar'), '-C', source, '.'], env));
            rm(dir);
          },
        ];
        // Alternate which way goes first.
        const order = run % 2 === 0 ? ways : [...ways].reverse();
        for (const way of order) await way();
        log(`${shape.label}: run ${run + 1}/${runs} done`);
      }
      const byHand = median(copyRuns.map((r) => r.ms));
      const byHandChecked = median(checkedRuns.map((r) => r.ms));
      rcloneRows.push(
        `**${shape.label}** (${int(shape.files)} files, ${mbs(bytes)} MB):`,
        '',
        ...table([
          { label: '`exit-plan files copy --from REMOTE --to DIR --json --quiet`', runs: exitRuns, base: byHandChecked },
          { label: '… again into the same folder (nothing to copy)', runs: againRuns },
          { label: 'by hand: `rclone copy REMOTE DIR`', runs: copyRuns, base: byHandChecked },
          { label: '… again into the same folder', runs: copyAgainRuns },
          { label: 'by hand, checked: `rclone copy` then `rclone check --one-way`', runs: checkedRuns, base: byHandChecked },
        ]),
        '',
        `Exit Plan against \`rclone copy\` alone: ${f2(median(exitRuns.map((r) => r.ms)) / byHand)}×.`,
        '',
      );
      const tarMs = median(tarRuns.map((r) => r.ms));
      commandRows.push(
        `**${shape.label}** (${int(shape.files)} files, ${mbs(bytes)} MB):`,
        '',
        ...table([
          {
            label: "`exit-plan backups create-command --name media --cmd 'tar -cf - -C SRC .' --extension tar --dir DIR --json --quiet`",
            runs: cmdRuns,
            base: tarMs,
          },
          { label: 'by hand: `tar -cf FILE -C SRC .`', runs: tarRuns, base: tarMs },
        ]),
        '',
      );
      rm(source);
    }
  } finally {
    s3.stop();
    rm(work);
  }
  const scaleSaid = scale === 1 ? '' : ` (BENCH_SOURCES_SCALE=${scale}: smaller than the default shapes)`;
  const how =
    `Each way ran ${runs} time${runs === 1 ? '' : 's'}, alternating; times are medians of wall time, ` +
    'including Node.js start-up for Exit Plan. ' +
    'Peak RSS: the highest sum of the resident memory of the process and everything it started, sampled every 50 ms, and the largest ' +
    'single process (its kernel peak, VmHWM); — for a process that ended before the first sample.';
  writeDocSection('rclone-bench', [
    '## Files from an rclone remote: `exit-plan files copy` against rclone by hand',
    '',
    `Last run: ${when}, ${await machine()}.`,
    `Source: s3rver (a local S3 server from npm, loopback, in a process of its own) holding ${shapesSaid.join('; ')}${scaleSaid}. ` +
      "Credentials in rclone's environment variables. " +
      how,
    'Exit Plan lists the remote into files-manifest.csv (rclone lsjson), copies exactly the listed files (rclone copy), checks them ' +
      '(rclone check --one-way) and every listed size on disk; so the fair comparison is the checked row.',
    '',
    ...rcloneRows,
  ]);
  writeDocSection('command-backups-bench', [
    '## Command backups: `exit-plan backups create-command` against the command alone',
    '',
    `Last run: ${when}, ${await machine()}.`,
    `The same two shapes as the rclone benchmark, as local folders (${shapesSaid.join('; ')}${scaleSaid}), archived by tar. ${how}`,
    'Exit Plan runs the command with `sh -c` in its own process group, streams its stdout into `….partial` while hashing it (SHA-256), ' +
      'fsyncs, writes the sidecar and renames; by hand, tar writes its file and nothing records a checksum.',
    '',
    ...commandRows,
  ]);
  log('docs/PERFORMANCE.md: sections rclone-bench and command-backups-bench written');
}

main().catch((err: unknown) => {
  process.stderr.write(`benchSources: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
