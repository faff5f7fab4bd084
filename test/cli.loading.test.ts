// The CLI loads only what the command it runs needs (issue 14). dist/cli.js is the program: the command tree and
// nothing else; a command's action imports its group's file (dist/cli/<group>.mjs) and the chunks that imports.
// Each test runs the CLI as a user does, with Node's module hooks recording every file it loads, then reads which
// modules those files hold: a development build names each module it bundles in a comment (`// src/…`,
// `// node_modules/pg/…`). The build is made here, from a copy of the sources, so it does not matter whether the
// repository's dist/ is a production build. No PostgreSQL or Azure is needed: the commands stop at a connection
// refused or a missing setting, after loading what they load.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capture, type Captured } from '../scripts/lib/capture';

const ROOT = path.resolve(__dirname, '../..');

/** What the program itself may hold of the core: the small modules its help and error line use. */
const PROGRAM_CORE = [
  'src/exporters/shared/errors.ts',
  'src/exporters/shared/format.ts',
  'src/exporters/shared/mask.ts',
  'src/exporters/shared/lockTimeout.ts',
  'src/exporters/version.ts',
];

/** What a warehouse export has no use for: the Azure SDK (unless it uploads), tar, cron expressions, TOML. */
const NOT_FOR_EXPORT = (m: string) => m.startsWith('@azure/') || ['tar', 'croner', '@iarna/toml'].includes(m);

/** The package (`pg`, `@azure/storage-blob`) or the source file (`src/cli/run/warehouse.ts`) a bundled module is. */
function moduleName(comment: string): string {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(comment);
  return pkg ? pkg[1] : comment;
}

interface Loaded {
  run: Captured;
  /** The files Node loaded, relative to dist/ (`cli.js`, `cli/warehouse.mjs`, `cli/chunk-….mjs`). */
  files: string[];
  /** Per file, the modules it holds. */
  modules: Map<string, Set<string>>;
  /** Every module the command loaded besides the program (whose share of the core the first test checks). */
  all: Set<string>;
}

describe('the CLI loads only what the command it runs needs', function () {
  this.timeout(180_000);
  let tree: string;
  let dist: string;
  let hooks: string;
  let empty: string;

  before(() => {
    tree = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-loading-'));
    for (const entry of ['src', 'media', 'scripts', 'package.json', 'tsconfig.json']) {
      fs.cpSync(path.join(ROOT, entry), path.join(tree, entry), { recursive: true });
    }
    fs.symlinkSync(fs.realpathSync(path.join(ROOT, 'node_modules')), path.join(tree, 'node_modules'), 'dir');
    const build = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: tree, encoding: 'utf8' });
    assert.equal(build.status, 0, build.stderr);
    dist = path.join(tree, 'dist');
    // Node's module hooks (on their own thread) see every file an import loads, the CommonJS program included.
    hooks = path.join(tree, 'record-loads.mjs');
    fs.writeFileSync(
      path.join(tree, 'record-hooks.mjs'),
      "import { appendFileSync } from 'node:fs';\n" +
        'export async function load(url, context, nextLoad) {\n' +
        "  if (url.startsWith('file:')) appendFileSync(process.env.EXIT_PLAN_LOADED, url + '\\n');\n" +
        '  return nextLoad(url, context);\n' +
        '}\n',
    );
    fs.writeFileSync(hooks, "import { register } from 'node:module';\nregister('./record-hooks.mjs', import.meta.url);\n");
    empty = path.join(tree, 'empty');
    fs.mkdirSync(empty);
  });

  after(() => {
    if (tree) fs.rmSync(tree, { recursive: true, force: true });
  });

  let runs = 0;
  async function load(args: string[], env: Record<string, string> = {}): Promise<Loaded> {
    const record = path.join(tree, `loaded-${++runs}.txt`);
    fs.writeFileSync(record, '');
    const run = await capture(process.execPath, ['--import', hooks, path.join(dist, 'cli.js'), ...args], {
      cwd: empty,
      env: { ...process.env, AZURE_STORAGE_CONNECTION_STRING: '', PGPASSWORD: '', ...env, EXIT_PLAN_LOADED: record },
    });
    const urls = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean);
    const files = [...new Set(urls.map((u) => path.relative(dist, new URL(u).pathname)))];
    assert.deepEqual(
      files.filter((f) => f.startsWith('..')),
      [],
      'only files of dist/',
    );
    const modules = new Map<string, Set<string>>();
    const all = new Set<string>();
    for (const file of files) {
      const text = fs.readFileSync(path.join(dist, file), 'utf8');
      const names = new Set([...text.matchAll(/^\/\/ (\S+\.(?:[cm]?js|ts|json))$/gm)].map((m) => moduleName(m[1])));
      modules.set(file, names);
      if (file !== 'cli.js') for (const name of names) all.add(name);
    }
    return { run, files, modules, all };
  }

  function assertNone(loaded: Loaded, forbidden: (name: string) => boolean, what: string): void {
    assert.deepEqual([...loaded.all].filter(forbidden), [], `${what} loaded by ${loaded.files.join(', ')}`);
  }

  it('--version loads only the program, which holds commander, the command tree and a few small modules of the core', async () => {
    const loaded = await load(['--version']);
    assert.equal(loaded.run.code, 0, loaded.run.stderr);
    assert.match(loaded.run.stdout, /^\d+\.\d+\.\d+\n$/);
    assert.deepEqual(loaded.files, ['cli.js']);
    const program = loaded.modules.get('cli.js')!;
    assert.ok(program.has('src/cli/warehouse.ts') && program.has('commander'), [...program].join(', '));
    const packages = [...program].filter((m) => !m.startsWith('src/') && m !== 'package.json');
    assert.deepEqual(packages, ['commander'], 'no package but commander');
    assertNone(loaded, (m) => m.startsWith('src/cli/run/'), "the commands' implementations");
    // The help quotes limits of the core (MAX_JOBS, …): their modules are in, only for those constants.
    const text = fs.readFileSync(path.join(dist, 'cli.js'), 'utf8');
    const core = text.split(/^(?=\/\/ \S+\.(?:[cm]?js|ts|json)$)/m).filter((part) => part.startsWith('// src/exporters/'));
    const large = core.filter((part) => !PROGRAM_CORE.includes(part.slice(3, part.indexOf('\n'))) && part.length > 2000);
    assert.deepEqual(
      large.map((part) => part.slice(0, part.indexOf('\n'))),
      [],
      'only constants of other core modules',
    );
  });

  it("every command group's --help loads only the program", async () => {
    for (const args of [
      ['--help'],
      ['warehouse', 'export', '--help'],
      ['azure', 'sas', '--help'],
      ['files', 'copy', '--help'],
      ['datasets', 'report', '--help'],
      ['backups', 'rotate', '--help'],
      ['plan', 'init', '--help'],
      ['run', '--help'],
    ]) {
      const loaded = await load(args);
      assert.equal(loaded.run.code, 0, loaded.run.stderr);
      assert.match(loaded.run.stdout, /^Usage: exit-plan /);
      assert.deepEqual(loaded.files, ['cli.js'], args.join(' '));
    }
  });

  it('a usage error is found by the program alone', async () => {
    const loaded = await load(['warehouse', 'export', '--jobs', 'x']);
    assert.equal(loaded.run.code, 1);
    assert.match(loaded.run.stderr, /^error: option '--jobs <n>' argument 'x' is invalid\. expected a whole number from 1 to 16\.\n/);
    assert.deepEqual(loaded.files, ['cli.js']);
  });

  it('warehouse export loads pg and the export, not the Azure SDK, tar, croner, TOML or the datasets, backups, exit code', async () => {
    const loaded = await load(['warehouse', 'export', '--db', 'postgres://exit@127.0.0.1:1/warehouse', '--quiet']);
    assert.equal(loaded.run.code, 1);
    assert.match(loaded.run.stderr, /^exit-plan: Cannot reach PostgreSQL at 127\.0\.0\.1:1/);
    assert.ok(loaded.files.includes('cli/warehouse.mjs'), loaded.files.join(', '));
    assert.ok(loaded.all.has('pg') && loaded.all.has('src/exporters/warehouse/export.ts'));
    assertNone(loaded, NOT_FOR_EXPORT, 'the Azure SDK, tar, croner, TOML');
    assertNone(
      loaded,
      (m) => /^src\/(exporters\/(azure|datasets|backups|exit)|cli\/run\/(azure|datasets|backups|exit))\b/.test(m),
      'other groups',
    );
  });

  it('warehouse export --upload loads the Azure part when it is asked for', async () => {
    const sas = 'https://account.blob.core.windows.net/exports?sv=2024-08-04&sp=r&sig=abc';
    const loaded = await load(['warehouse', 'export', '--db', 'postgres://exit@127.0.0.1:1/warehouse', '--upload', sas, '--quiet']);
    assert.equal(loaded.run.code, 1);
    assert.match(loaded.run.stderr, /needs read, create and write \(sp=rcw\)/);
    assert.ok(loaded.files.includes('cli/azure.mjs'), loaded.files.join(', '));
    assert.ok(loaded.all.has('@azure/storage-blob'));
  });

  it('datasets report loads TOML and the datasets code, not pg, the Azure SDK, tar or croner', async () => {
    const loaded = await load(['datasets', 'report', empty]);
    assert.equal(loaded.run.code, 1);
    assert.match(loaded.run.stderr, /is not a dataset \(no config\.toml\) and holds none/);
    assert.ok(loaded.all.has('@iarna/toml') && loaded.all.has('src/exporters/datasets/report.ts'));
    assertNone(loaded, (m) => ['pg', 'tar', 'croner', 'archiver', 'yauzl'].includes(m) || m.startsWith('@azure/'), 'other groups');
    assertNone(loaded, (m) => /^src\/exporters\/(warehouse|azure|backups|exit)\//.test(m), 'other groups');
  });

  it('azure commands load the Azure SDK, not pg, tar, croner or TOML', async () => {
    const loaded = await load(['azure', 'containers']);
    assert.equal(loaded.run.code, 1);
    assert.match(loaded.run.stderr, /Give --connection-string or set AZURE_STORAGE_CONNECTION_STRING\./);
    assert.ok(loaded.files.includes('cli/azure.mjs'));
    assertNone(loaded, (m) => ['pg', 'tar', 'croner', '@iarna/toml', 'archiver'].includes(m), 'other groups');
    assertNone(loaded, (m) => /^src\/exporters\/(warehouse|datasets|backups|exit)\//.test(m), 'other groups');
  });

  it('files size loads the rclone core only: not pg, the Azure SDK, tar, croner, TOML or the other groups', async () => {
    const loaded = await load(['files', 'size', '--from', 'myremote:bucket'], { EXIT_PLAN_RCLONE: path.join(empty, 'no-rclone') });
    assert.equal(loaded.run.code, 1);
    assert.match(loaded.run.stderr, /^exit-plan: rclone is not installed \(.*no-rclone was not found\)/);
    assert.ok(loaded.files.includes('cli/files.mjs'), loaded.files.join(', '));
    assert.ok(loaded.all.has('src/exporters/rclone/copy.ts'));
    assertNone(loaded, (m) => ['pg', 'tar', 'croner', '@iarna/toml', 'archiver'].includes(m) || m.startsWith('@azure/'), 'other packages');
    assertNone(loaded, (m) => /^src\/exporters\/(warehouse|azure|datasets|backups|exit)\//.test(m), 'other groups');
  });

  it('backups list and rotate (which cron runs after every backup) load neither pg, tar, croner, the Azure SDK nor TOML', async () => {
    for (const args of [
      ['backups', 'list', '--dir', empty],
      ['backups', 'rotate', '--dir', empty, '--keep-last', '3'],
    ]) {
      const loaded = await load(args);
      assert.equal(loaded.run.code, 0, loaded.run.stderr);
      assert.ok(loaded.all.has('src/exporters/backups/list.ts'), args.join(' '));
      assertNone(loaded, (m) => ['pg', 'tar', 'croner', '@iarna/toml'].includes(m) || m.startsWith('@azure/'), args.join(' '));
      assertNone(loaded, (m) => /^src\/exporters\/(warehouse|azure|datasets|exit)\//.test(m), 'other groups');
    }
  });

  it('backups cron loads croner, and a backup loads pg and tar, only in the commands that use them', async () => {
    const cron = await load(['backups', 'cron', '--db', 'postgres://exit@db:5432/forms', '--dir', empty, '--schedule', '0 2 * * *']);
    assert.equal(cron.run.code, 0, cron.run.stderr);
    assert.match(cron.run.stdout, /^0 2 \* \* \* /m);
    assert.ok(cron.all.has('croner'));
    const create = await load([
      'backups',
      'create-files',
      '--source',
      empty,
      '--name',
      'media',
      '--dir',
      path.join(tree, 'backups'),
      '--quiet',
    ]);
    assert.equal(create.run.code, 0, create.run.stderr);
    assert.ok(create.all.has('tar'));
    assertNone(create, (m) => m.startsWith('@azure/') || m === '@iarna/toml', 'the Azure SDK, TOML');
  });

  it('exit-plan status reads the plan without loading the runners of its parts (the Azure SDK, tar, croner)', async () => {
    const plan = path.join(tree, 'exit-plan.toml');
    fs.writeFileSync(plan, 'out = "exits"\n\n[[folder]]\nname = "docs"\npath = "."\n');
    const loaded = await load(['status', plan]);
    assert.equal(loaded.run.code, 2, loaded.run.stderr);
    assert.match(loaded.run.stdout, /^Not ready/m);
    assert.ok(loaded.all.has('src/exporters/exit/status.ts'));
    assertNone(loaded, (m) => ['tar', 'croner', 'archiver'].includes(m) || m.startsWith('@azure/'), 'the runners of parts');
    assertNone(loaded, (m) => m.startsWith('src/exporters/exit/parts/'), 'the runners of parts');
  });
});
