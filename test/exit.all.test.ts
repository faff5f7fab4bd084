// A whole exit plan end to end through the built CLI: one part of every kind against the real embedded PostgreSQL,
// Azurite (with the real azcopy, and with the SDK), tar, sh, a backup folder and an export_manager datasets root.
// Containers here are named exitall-… (test/azure.test.ts checks the exact container list of the shared Azurite first).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { azcopyPath } from '../scripts/lib/azurite';
import { startCapture } from '../scripts/lib/capture';
import { azure, datasets, type PgConnectionOptions } from '../src/exporters';
import { listFiles, tempDir } from './helpers/archive';
import { azcopyEnv, azurite } from './helpers/azure';
import { CLI, runCli, sha256Of, until } from './helpers/backups';
import { writeExportManagerDataset } from './helpers/datasets';
import { databaseWith } from './helpers/postgres';

/** Awkward names: spaces, unicode, nested folders, CSV's comma and quote, a 0-byte blob; and filler up to 40 blobs. */
const AWKWARD: Record<string, string> = {
  'readme.txt': 'top level',
  'photos/2024/river bank #1.jpg': 'jpeg bytes \u0000\u0001\u0002',
  'photos/2025/été/щука.jpg': 'unicode name',
  'docs/report, "final" (v2).pdf': 'pdf'.repeat(1000),
  'deep/a/b/c/d/e.txt': 'nested',
  'empty.bin': '',
};
const LAKE: Record<string, Buffer> = Object.fromEntries([
  ...Object.entries(AWKWARD).map(([name, body]) => [name, Buffer.from(body)]),
  ...Array.from({ length: 34 }, (_, i) => [`batch/part-${String(i).padStart(2, '0')}.bin`, Buffer.alloc(1000 + i * 97, i)]),
]);
/** The container a cancel interrupts: enough bytes that the SDK copy takes a while. */
const BIG_BLOBS = 120;
const BIG_BYTES = 1024 * 1024;

const COMMAND_SECRET = 'Zq7-command-secret-4711';

interface RunJson {
  folder: string;
  complete: boolean;
  parts: { name: string; kind: string; status: string; files: number; bytes: number; error?: string }[];
}

/** Regular files under `dir` that are not in-progress `.partial` copies. */
function doneFiles(dir: string): string[] {
  return listFiles(dir).filter((f) => !f.endsWith('.partial'));
}

describe('exit runs end to end: a plan with every kind of part, through the CLI', () => {
  let db: PgConnectionOptions;
  let account: azure.StorageAccount;
  let connectionString: string;
  let accountKey: string;
  let backupDir: string;
  let datasetsRoot: string;
  let folderSource: string;

  before(async () => {
    db = await databaseWith('exitall', 'CREATE TABLE orders AS SELECT g AS id, md5(g::text) AS note FROM generate_series(1, 300) g;');
    assert.ok(db.password, 'the test server has a password, so the no-secret check means something');

    const emu = await azurite();
    connectionString = emu.connectionString;
    accountKey = /AccountKey=([^;]+)/.exec(connectionString)![1];
    account = azure.openStorageAccount({ kind: 'connectionString', connectionString });
    const lake = account.service.getContainerClient('exitall-lake');
    await lake.createIfNotExists();
    await Promise.all(Object.entries(LAKE).map(([name, body]) => lake.getBlockBlobClient(name).upload(body, body.length)));
    const big = account.service.getContainerClient('exitall-big');
    await big.createIfNotExists();
    const uploads = [];
    for (let i = 0; i < BIG_BLOBS; i++) {
      const body = Buffer.alloc(BIG_BYTES, i % 251);
      uploads.push(big.getBlockBlobClient(`big/blob-${String(i).padStart(4, '0')}.bin`).upload(body, body.length));
    }
    await Promise.all(uploads);

    // A folder (for the folder part, and for a files backup).
    folderSource = tempDir('exit-plan-all-folder-');
    fs.mkdirSync(path.join(folderSource, 'sub dir'));
    fs.writeFileSync(path.join(folderSource, 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(folderSource, 'sub dir', 'b.bin'), Buffer.alloc(50_000, 7));

    // A backup folder made with the CLI: a pg_dump backup and a files backup.
    backupDir = tempDir('exit-plan-all-backups-');
    const url = `postgres://${db.user}@${db.host}:${db.port}/${db.database}`;
    const pgBackup = await runCli(['backups', 'create', '--db', url, '--dir', backupDir, '--quiet'], { PGPASSWORD: db.password });
    assert.equal(pgBackup.code, 0, pgBackup.stderr);
    const filesBackup = await runCli([
      'backups',
      'create-files',
      '--source',
      folderSource,
      '--name',
      'media',
      '--dir',
      backupDir,
      '--quiet',
    ]);
    assert.equal(filesBackup.code, 0, filesBackup.stderr);

    // A datasets root with one exported dataset.
    datasetsRoot = tempDir('exit-plan-all-datasets-');
    const photos = writeExportManagerDataset(
      path.join(datasetsRoot, 'photos'),
      'cmd = "mkdir -p \\"$PARCEL_PATH/sub\\" && echo photo > \\"$PARCEL_PATH/a.txt\\"' +
        ' && head -c 1000 /dev/zero > \\"$PARCEL_PATH/sub/b.bin\\""\n',
    );
    assert.equal((await datasets.exportDataset(photos)).outcome, 'exported');
  });

  /** A plan file with one part of every kind, in a new folder; returns its path. */
  function writeFullPlan(container = 'exitall-lake'): string {
    const dir = tempDir('exit-plan-all-');
    const file = path.join(dir, 'exit-plan.toml');
    fs.writeFileSync(
      file,
      `max_age = "1 day"\nnot_included = ["Windmill run logs"]\n\n` +
        `[[warehouse]]\nname = "wh"\ndb = "postgres://${db.user}@${db.host}:${db.port}/${db.database}"\npassword_env = "EXIT_ALL_PASSWORD"\n\n` +
        `[[azure]]\nname = "lake"\nconnection_string_env = "EXIT_ALL_AZURE"\ncontainer = "${container}"\n\n` +
        `[[folder]]\nname = "media"\npath = ${JSON.stringify(folderSource)}\n\n` +
        `[[command]]\nname = "dashboards"\n` +
        `cmd = "echo dashboards > \\"$OUTPUT_DIR/dashboards.txt\\" && echo \\"connecting with Password=${COMMAND_SECRET}\\""\n\n` +
        `[[backups]]\nname = "backups"\ndir = ${JSON.stringify(backupDir)}\n\n` +
        `[[datasets]]\nname = "exports"\ndirs = [${JSON.stringify(datasetsRoot)}]\n`,
    );
    return file;
  }

  const secretsEnv = () => ({ EXIT_ALL_PASSWORD: db.password, EXIT_ALL_AZURE: connectionString, PGPASSWORD: undefined });

  /** The environment without azcopy: EXIT_PLAN_AZCOPY unset and no folder of PATH holding an azcopy. */
  function sdkEnv(): Record<string, string | undefined> {
    const PATH = (process.env.PATH ?? '')
      .split(':')
      .filter((d) => d !== '' && !fs.existsSync(path.join(d, 'azcopy')))
      .join(':');
    return { ...secretsEnv(), EXIT_PLAN_AZCOPY: undefined, PATH };
  }

  function azcopyRunEnv(): Record<string, string | undefined> {
    return { ...azcopyEnv().env, ...secretsEnv(), EXIT_PLAN_AZCOPY: azcopyPath() };
  }

  /** No password, account key, SAS signature with a value or the command's secret in any file of the run. */
  function assertNoSecret(folder: string, atLeast: number): void {
    const files = listFiles(folder);
    assert.ok(files.length >= atLeast, files.join('\n'));
    for (const f of files) {
      const content = fs.readFileSync(path.join(folder, f));
      assert.equal(content.includes(db.password!), false, `${f} holds the PostgreSQL password`);
      assert.equal(content.includes(accountKey), false, `${f} holds the account key`);
      assert.equal(content.includes(COMMAND_SECRET), false, `${f} holds the command's secret`);
      assert.doesNotMatch(content.toString('latin1'), /sig=[A-Za-z0-9%+/]/, `${f} holds a SAS signature`);
    }
  }

  /** Every blob of the container is in `<part>/blobs/` byte-identical to what Azurite serves. */
  async function assertBlobsIdentical(partDir: string, container: string, expected: string[]): Promise<void> {
    const blobsDir = path.join(partDir, 'blobs');
    assert.deepEqual(listFiles(blobsDir), [...expected].sort());
    const client = account.service.getContainerClient(container);
    for (const name of expected) {
      const served = await client.getBlockBlobClient(name).downloadToBuffer();
      assert.ok(served.equals(fs.readFileSync(path.join(blobsDir, name))), name);
    }
  }

  async function runFullPlan(env: Record<string, string | undefined>, tool: 'azcopy' | 'SDK'): Promise<void> {
    const file = writeFullPlan();
    const status0 = await runCli(['status', file, '--json'], env);
    assert.equal(status0.code, 2, status0.stderr);
    const before = JSON.parse(status0.stdout) as { ready: boolean; parts: { name: string; lastVerified: string | null }[] };
    assert.equal(before.ready, false);
    assert.deepEqual(
      before.parts.map((p) => [p.name, p.lastVerified]),
      ['wh', 'lake', 'media', 'dashboards', 'backups', 'exports'].map((n) => [n, null]),
    );

    const run = await runCli(['run', file, '--json', '--quiet'], env);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stderr, '');
    const out = JSON.parse(run.stdout) as RunJson;
    assert.equal(out.complete, true);
    assert.deepEqual(
      out.parts.map((p) => [p.name, p.kind, p.status, p.error]),
      [
        ['wh', 'warehouse', 'verified', undefined],
        ['lake', 'azure', 'verified', undefined],
        ['media', 'folder', 'verified', undefined],
        ['dashboards', 'command', 'verified', undefined],
        ['backups', 'backups', 'verified', undefined],
        ['exports', 'datasets', 'verified', undefined],
      ],
    );
    for (const p of out.parts) {
      assert.ok(p.files > 0 && p.bytes > 0, `${p.name}: ${p.files} files, ${p.bytes} bytes`);
      const record = JSON.parse(fs.readFileSync(path.join(out.folder, p.name, 'part.json'), 'utf8'));
      assert.equal(record.status, 'verified', p.name);
      assert.equal(record.kind, p.kind, p.name);
    }
    const lake = JSON.parse(fs.readFileSync(path.join(out.folder, 'lake', 'part.json'), 'utf8'));
    assert.equal(lake.details.tool, tool);
    assert.equal(lake.details.blobs, Object.keys(LAKE).length);
    await assertBlobsIdentical(path.join(out.folder, 'lake'), 'exitall-lake', Object.keys(LAKE));
    assert.equal(fs.readFileSync(path.join(out.folder, 'dashboards', 'output', 'dashboards.txt'), 'utf8'), 'dashboards\n');
    assert.match(fs.readFileSync(path.join(out.folder, 'dashboards', 'command.log'), 'utf8'), /Password=…/);

    const manifest = JSON.parse(fs.readFileSync(path.join(out.folder, 'exit-manifest.json'), 'utf8'));
    assert.equal(manifest.ok, true);
    assert.deepEqual(
      manifest.parts.map((p: { name: string; status: string }) => [p.name, p.status]),
      out.parts.map((p) => [p.name, 'verified']),
    );
    assert.deepEqual(manifest.notIncluded, ['Windmill run logs']);
    const report = fs.readFileSync(path.join(out.folder, 'EXIT-REPORT.md'), 'utf8');
    for (const p of out.parts) assert.match(report, new RegExp(`\\| ${p.name} \\| ${p.kind} \\|`), `${p.name} in the report`);
    assert.match(report, /## Not included\n\n- Windmill run logs\n/);

    assertNoSecret(out.folder, Object.keys(LAKE).length + 15);

    const status1 = await runCli(['status', file, '--json'], env);
    assert.equal(status1.code, 0, status1.stdout + status1.stderr);
    const after = JSON.parse(status1.stdout) as { ready: boolean; parts: { name: string; lastVerified: string | null; bytes: number }[] };
    assert.equal(after.ready, true);
    for (const p of after.parts) assert.ok(p.lastVerified !== null && p.bytes > 0, p.name);
  }

  it('with the real azcopy: every part verified, blobs byte-identical, report and manifest complete, no secret', async () => {
    await runFullPlan(azcopyRunEnv(), 'azcopy');
  });

  it('without azcopy (the SDK): every part verified, blobs byte-identical, report and manifest complete, no secret', async () => {
    await runFullPlan(sdkEnv(), 'SDK');
  });

  it('Ctrl-C during the azure part exits 130; the next run completes the same folder without copying kept blobs again', async () => {
    const dir = tempDir('exit-plan-all-cancel-');
    const file = path.join(dir, 'exit-plan.toml');
    fs.writeFileSync(
      file,
      `[[folder]]\nname = "media"\npath = ${JSON.stringify(folderSource)}\n\n` +
        `[[azure]]\nname = "big"\nconnection_string_env = "EXIT_ALL_AZURE"\ncontainer = "exitall-big"\n`,
    );
    const env = sdkEnv();
    const full = { ...process.env, ...env } as NodeJS.ProcessEnv;
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k];
    const run = startCapture(process.execPath, [CLI, 'run', file], { env: full });
    const blobsDirs = () => {
      const exits = path.join(dir, 'exits');
      if (!fs.existsSync(exits)) return [];
      return fs
        .readdirSync(exits)
        .filter((n) => n.startsWith('exit_'))
        .map((n) => path.join(exits, n, 'big', 'blobs'));
    };
    const copied = () => blobsDirs().reduce((n, d) => n + doneFiles(d).length, 0);
    await until(() => copied() > 0);
    run.child.kill('SIGINT');
    const done = await run.done;
    assert.equal(done.code, 130, done.stdout + done.stderr);
    const [blobsDir] = blobsDirs();
    const kept = doneFiles(blobsDir);
    assert.ok(kept.length > 0 && kept.length < BIG_BLOBS, `${kept.length} of ${BIG_BLOBS} blobs copied before the cancel`);
    const stats = Object.fromEntries(
      kept.map((f) => {
        const st = fs.statSync(path.join(blobsDir, f));
        return [f, { ino: st.ino, mtimeMs: st.mtimeMs, sha256: sha256Of(path.join(blobsDir, f)) }];
      }),
    );
    const folder = path.dirname(path.dirname(blobsDir));
    assert.equal(fs.existsSync(path.join(folder, 'exit-manifest.json')), false, 'the cancelled run is not complete');

    const again = await runCli(['run', file, '--json', '--quiet'], env);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const out = JSON.parse(again.stdout) as RunJson;
    assert.deepEqual([out.folder, out.complete], [folder, true]);
    assert.deepEqual(
      out.parts.map((p) => [p.name, p.status]),
      [
        ['media', 'verified'],
        ['big', 'verified'],
      ],
    );
    for (const [f, before] of Object.entries(stats)) {
      const st = fs.statSync(path.join(blobsDir, f));
      assert.deepEqual({ ino: st.ino, mtimeMs: st.mtimeMs, sha256: sha256Of(path.join(blobsDir, f)) }, before, `${f} was copied again`);
    }
    assert.equal(doneFiles(blobsDir).length, BIG_BLOBS);
    assert.equal(listFiles(blobsDir).length, BIG_BLOBS, 'no .partial left');
    const record = JSON.parse(fs.readFileSync(path.join(folder, 'big', 'part.json'), 'utf8'));
    assert.ok(record.details.alreadyPresent >= kept.length, JSON.stringify(record.details));
    assert.equal(record.details.alreadyPresent + record.details.copiedNow, BIG_BLOBS, JSON.stringify(record.details));
  });

  it('a part that fails (no such container): exit 2, the others verified, the report and --json name the failure', async () => {
    const file = writeFullPlan('exitall-no-such-container');
    const run = await runCli(['run', file, '--json', '--quiet'], sdkEnv());
    assert.equal(run.code, 2, run.stdout + run.stderr);
    const out = JSON.parse(run.stdout) as RunJson;
    assert.equal(out.complete, true);
    assert.deepEqual(
      out.parts.map((p) => [p.name, p.status]),
      [
        ['wh', 'verified'],
        ['lake', 'failed'],
        ['media', 'verified'],
        ['dashboards', 'verified'],
        ['backups', 'verified'],
        ['exports', 'verified'],
      ],
    );
    const lake = out.parts[1];
    assert.match(lake.error ?? '', /exitall-no-such-container/);
    assert.equal(fs.existsSync(path.join(out.folder, 'lake', 'part.json')), false);
    const report = fs.readFileSync(path.join(out.folder, 'EXIT-REPORT.md'), 'utf8');
    assert.match(report, /\*\*1 part failed\*\*, 5 verified/);
    assert.ok(report.includes(`- **lake** (azure): ${lake.error}`), report);
    const manifest = JSON.parse(fs.readFileSync(path.join(out.folder, 'exit-manifest.json'), 'utf8'));
    assert.equal(manifest.ok, false);
    assert.deepEqual(manifest.parts[1], { ...manifest.parts[1], name: 'lake', status: 'failed', error: lake.error });
    assertNoSecret(out.folder, 15);

    const status = await runCli(['status', file, '--json'], sdkEnv());
    assert.equal(status.code, 2, status.stdout);
    assert.equal(JSON.parse(status.stdout).ready, false);
  });
});
