// On servers: `npm pack` makes a package whose `exit-plan` works after `npm install -g ./exit-plan-<version>.tgz`,
// offline, with no build step and no dependencies. Real npm: the tarball is packed from this checkout (the build the
// suite already made; `--ignore-scripts` skips prepack's production build), installed into a temporary prefix and run
// from a folder outside the repository, so nothing in the repository's node_modules can be reached.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { capture, type Captured } from '../scripts/lib/capture';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import type { PgConnectionOptions } from '../src/exporters';
import { listFiles, tempDir, unzipArchive } from './helpers/archive';
import { CLI, ROOT } from './helpers/backups';
import { databaseWith } from './helpers/postgres';

/** The CLI's files: the program (dist/cli.js) and its command groups with their shared chunks (dist/cli/*.mjs). */
function cliFiles(): string[] {
  const groups = fs.readdirSync(path.join(ROOT, 'dist', 'cli')).filter((f) => f.endsWith('.mjs'));
  return ['dist/cli.js', ...groups.map((f) => `dist/cli/${f}`)];
}

/** npm with a cache of its own (nothing shared with the user's), never asking the network. */
function npm(args: string[], cwd: string, cache: string): string {
  return execFileSync('npm', [...args, '--cache', cache, '--no-audit', '--no-fund', '--no-update-notifier'], {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_PATH: '' },
  });
}

describe('npm pack: the exit-plan command on a server', () => {
  let work: string;
  let cache: string;
  let tarball: string;
  let files: string[];
  let bin: string;
  /** A folder outside the repository, the working directory of every run of the installed command. */
  let elsewhere: string;
  let PACKED: string[];
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

  function exitPlan(args: string[], env: Record<string, string> = {}): Promise<Captured> {
    return capture(bin, args, { cwd: elsewhere, env: { ...process.env, NODE_PATH: '', ...env } });
  }

  before(function () {
    this.timeout(300_000);
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first');
    work = tempDir('exit-plan-pack-');
    cache = path.join(work, 'npm-cache');
    elsewhere = tempDir('exit-plan-server-');
    const out = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', work], ROOT, cache);
    const [packed] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, packed.filename);
    files = packed.files.map((f) => f.path).sort();
    bin = path.join(work, 'prefix', 'bin', 'exit-plan');
    // What the package holds: the CLI and what npm always adds.
    PACKED = ['LICENSE', 'README.md', ...cliFiles(), 'package.json'].sort();
  });

  after(() => {
    for (const dir of [work, elsewhere]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the tarball is exit-plan-<version>.tgz and holds the CLI bundle, README, LICENSE and package.json only', () => {
    assert.equal(path.basename(tarball), `exit-plan-${version}.tgz`);
    assert.ok(fs.existsSync(tarball));
    assert.deepEqual(files, PACKED, 'not the extension bundle, webviews, sourcemaps, sources or tests');
  });

  it('its package.json asks for no dependency and runs nothing at install', () => {
    const unpacked = path.join(work, 'unpacked');
    fs.mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    assert.deepEqual(listFiles(path.join(unpacked, 'package')).sort(), PACKED);
    const pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package', 'package.json'), 'utf8')) as Record<string, unknown>;
    for (const key of ['dependencies', 'optionalDependencies', 'peerDependencies', 'bundleDependencies', 'bundledDependencies']) {
      assert.deepEqual(pkg[key] ?? {}, {}, `${key} must be empty: the bundle has everything inside`);
    }
    const scripts = (pkg.scripts ?? {}) as Record<string, string>;
    for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(scripts[hook], undefined, hook);
    assert.deepEqual(pkg.bin, { 'exit-plan': 'dist/cli.js' });
    assert.match(fs.readFileSync(path.join(unpacked, 'package', 'dist', 'cli.js'), 'utf8').slice(0, 30), /^#!\/usr\/bin\/env node\n/);
  });

  it('the CLI loads only Node built-ins and its own files (pg-native, which pg loads only when asked to, stays outside)', () => {
    const required = new Set<string>();
    for (const file of cliFiles()) {
      // Without comment lines (a development build keeps JSDoc such as `{import("./Expression.js").default}`).
      const text = fs
        .readFileSync(path.join(ROOT, file), 'utf8')
        .split('\n')
        .filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line))
        .join('\n');
      // esbuild prints every string in double quotes.
      const pattern =
        /\brequire\(\s*"([^"]+)"\s*\)|\bimport\(\s*"([^"]+)"\s*\)|\bimport\s*(?:\{[^}]*\}|[\w$]+|\*\s*as\s+[\w$]+)?\s*(?:from\s*)?"([^"]+)"/g;
      for (const m of text.matchAll(pattern)) {
        const name = m[1] ?? m[2] ?? m[3];
        // One of the CLI's own files, next to this one.
        if (name.startsWith('./')) assert.ok(fs.existsSync(path.join(ROOT, path.dirname(file), name)), `${file} loads ${name}`);
        else required.add(name);
      }
    }
    const builtin = new Set(builtinModules);
    const foreign = [...required].filter((name) => !name.startsWith('node:') && !builtin.has(name) && name !== 'pg-native');
    assert.deepEqual(foreign, []);
  });

  it('npm install -g --offline installs it with nothing else; exit-plan --version prints the version', async () => {
    npm(['install', '-g', '--prefix', path.join(work, 'prefix'), tarball, '--offline'], elsewhere, cache);
    const installed = path.join(work, 'prefix', 'lib', 'node_modules');
    assert.deepEqual(fs.readdirSync(installed), ['exit-plan']);
    assert.deepEqual(fs.readdirSync(path.join(installed, 'exit-plan')).sort(), ['LICENSE', 'README.md', 'dist', 'package.json']);
    const r = await exitPlan(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${version}\n`);
  });

  it('the installed exit-plan lists and exports a real warehouse from a folder outside the repository', async () => {
    const db: PgConnectionOptions = await databaseWith(
      'pack',
      `CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites VALUES (1, 'Nairobi'), (2, 'Kisumu');`,
    );
    const env = { PGPASSWORD: db.password! };
    const tables = await exitPlan(['warehouse', 'tables', '--db', connectionUrl(db), '--json'], env);
    assert.equal(tables.code, 0, tables.stderr);
    const json = JSON.parse(tables.stdout) as { tables: { schema: string; name: string }[] };
    assert.deepEqual(
      json.tables.map((t) => `${t.schema}.${t.name}`),
      ['public.sites'],
    );

    const out = path.join(elsewhere, 'exports');
    const exported = await exitPlan(['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--json', '--quiet'], env);
    assert.equal(exported.code, 0, exported.stderr);
    const archive = (JSON.parse(exported.stdout) as { archive: string }).archive;
    assert.equal(path.dirname(archive), out);
    const { dir, manifest } = unzipArchive(archive);
    assert.equal(manifest.tool.version, version);
    assert.deepEqual(
      manifest.tables.map((t) => [t.name, t.rows]),
      [['sites', 2]],
    );
    assert.equal(fs.readFileSync(path.join(dir, 'public', 'sites.csv'), 'utf8'), 'id,name\n1,Nairobi\n2,Kisumu\n');
  });

  it('the installed exit-plan writes a plan template, runs an exit plan from cron-like surroundings, and status says ready', async () => {
    const init = await exitPlan(['plan', 'init', 'template.toml']);
    assert.equal(init.code, 0, init.stderr);
    assert.ok(fs.existsSync(path.join(elsewhere, 'template.toml')));

    const db = await databaseWith(
      'pack_exit',
      `CREATE TABLE sites (id int PRIMARY KEY, name text); INSERT INTO sites VALUES (1, 'Nairobi');`,
    );
    const plan = path.join(elsewhere, 'exit-plan.toml');
    fs.writeFileSync(
      plan,
      [
        'out = "exits"',
        'max_age = "1 day"',
        '[[warehouse]]',
        'name = "warehouse"',
        `db = "${connectionUrl(db)}"`,
        'password_env = "WAREHOUSE_PASSWORD"',
        '',
      ].join('\n'),
    );
    // As cron runs it: the secret from the environment, no terminal, --quiet.
    const run = await exitPlan(['run', plan, '--json', '--quiet'], { WAREHOUSE_PASSWORD: db.password! });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '');
    const result = JSON.parse(run.stdout) as { folder: string; complete: boolean; parts: { name: string; status: string }[] };
    assert.equal(result.complete, true);
    assert.deepEqual(
      result.parts.map((p) => [p.name, p.status]),
      [['warehouse', 'verified']],
    );
    assert.ok(fs.existsSync(path.join(result.folder, 'EXIT-REPORT.md')));
    const status = await exitPlan(['status', plan]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
  });
});
