// The development loop: `npm run watch` (scripts/build.mjs --watch) rebuilds the extension and the CLI on a
// change under src/, and tsc --watch keeps out/ current; production builds ship no sourcemaps. Each test
// works on a copy of the tree, so the repository's dist/ and out/ stay as they are.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const DEADLINE_MS = 120_000;

/** A copy of what a build reads (sources, scripts, configuration), with the shared node_modules linked in. */
function copyTree(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-devloop-'));
  for (const entry of ['src', 'media', 'scripts', 'package.json', 'tsconfig.json']) {
    fs.cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Polls until `ready()` holds, failing with `what` (and the watcher's output) after the deadline. */
async function until(what: string, ready: () => boolean, output: () => string): Promise<void> {
  const deadline = Date.now() + DEADLINE_MS;
  while (!ready()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${DEADLINE_MS / 1000} s. The watch printed:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('development loop', function () {
  this.timeout(4 * DEADLINE_MS);
  let dir: string | undefined;
  let watcher: ChildProcess | undefined;

  afterEach(async () => {
    const child = watcher;
    watcher = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('npm run watch rebuilds dist/extension.js and dist/cli.js (and out/ through tsc) on a change under src/', async () => {
    const tree = (dir = copyTree());
    const script = JSON.parse(fs.readFileSync(path.join(tree, 'package.json'), 'utf8')).scripts.watch as string;
    assert.equal(script, 'node scripts/build.mjs --watch');
    let output = '';
    // Its own process group, so the watcher, tsc and esbuild's service stop together.
    watcher = spawn(process.execPath, ['scripts/build.mjs', '--watch'], { cwd: tree, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    watcher.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    watcher.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const log = () => output;
    const finished = () => output.match(/^\[watch\] extension\+cli: build finished, ok/gm)?.length ?? 0;

    const extension = path.join(tree, 'dist', 'extension.js');
    const cli = path.join(tree, 'dist', 'cli.js');
    const compiled = path.join(tree, 'out', 'src', 'exporters', 'shared', 'format.js');
    await until('the first build', () => finished() >= 1 && /Watching for file changes/.test(output), log);
    assert.ok(fs.existsSync(extension) && fs.existsSync(cli) && fs.existsSync(compiled));
    assert.ok(fs.existsSync(`${extension}.map`), 'a development build has a sourcemap');
    assert.match(read(extension), /\/\/# sourceMappingURL=extension\.js\.map\s*$/);

    // A change in a module both bundles use, with an effect esbuild keeps.
    const probe = `watch-probe-${process.pid}-${Date.now()}`;
    const source = path.join(tree, 'src', 'exporters', 'shared', 'format.ts');
    fs.appendFileSync(source, `\nif (process.env.EXIT_PLAN_WATCH_PROBE) console.log('${probe}');\n`);
    await until('dist/extension.js rebuilt', () => read(extension).includes(probe), log);
    await until('dist/cli.js rebuilt', () => read(cli).includes(probe), log);
    await until('out/ recompiled by tsc', () => read(compiled).includes(probe), log);
    // The CLI's command groups (dist/cli/*.mjs) are a build of their own; the line comes when every bundle is done.
    const groups = () => (fs.existsSync(path.join(tree, 'dist', 'cli')) ? fs.readdirSync(path.join(tree, 'dist', 'cli')) : []);
    await until(
      'dist/cli/*.mjs rebuilt',
      () => groups().some((f) => f.endsWith('.mjs') && read(path.join(tree, 'dist', 'cli', f)).includes(probe)),
      log,
    );
    await until('one line per rebuild', () => finished() >= 2, log);

    // A broken change: the error with its place (what the watch task's problem matcher reads), then the line.
    fs.appendFileSync(source, '\nexport const broken = ;\n');
    await until('the failed rebuild reported', () => /^\[watch\] extension\+cli: build finished, 1 error/m.test(output), log);
    assert.match(output, /✘ \[ERROR\] .*\n\n {4}src\/exporters\/shared\/format\.ts:\d+:\d+:/);
  });

  it('a production build is minified and leaves no sourcemap', () => {
    const tree = (dir = copyTree());
    const dev = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: tree, encoding: 'utf8' });
    assert.equal(dev.status, 0, dev.stderr);
    assert.ok(fs.existsSync(path.join(tree, 'dist', 'webview', 'backupReport.js.map')));
    const devSize = fs.statSync(path.join(tree, 'dist', 'extension.js')).size;
    const prod = spawnSync(process.execPath, ['scripts/build.mjs', '--production'], { cwd: tree, encoding: 'utf8' });
    assert.equal(prod.status, 0, prod.stderr);
    const files = fs.readdirSync(path.join(tree, 'dist'), { recursive: true }) as string[];
    assert.deepEqual(
      files.filter((f) => f.endsWith('.map')),
      [],
    );
    for (const f of ['extension.js', 'cli.js', 'webview/datasetsReport.js', 'webview/backupReport.js']) {
      assert.ok(files.includes(f), f);
      assert.doesNotMatch(read(path.join(tree, 'dist', f)), /sourceMappingURL/, f);
    }
    assert.ok(fs.statSync(path.join(tree, 'dist', 'extension.js')).size < devSize * 0.75, 'minified');
  });

  it('bundles the extension under 2 MB (as the .vsix ships it: the production build)', () => {
    const tree = (dir = copyTree());
    const prod = spawnSync(process.execPath, ['scripts/build.mjs', '--production'], { cwd: tree, encoding: 'utf8' });
    assert.equal(prod.status, 0, prod.stderr);
    const size = fs.statSync(path.join(tree, 'dist/extension.js')).size;
    assert.ok(size < 2 * 1024 * 1024, `dist/extension.js is ${size} bytes`);
  });
});
