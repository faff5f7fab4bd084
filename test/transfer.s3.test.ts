// The SAS panel's "to S3" and "to Google Cloud Storage" commands, run as the panel runs them (no shell, the
// environment every rclone process gets): Azurite → rclone → s3rver on loopback, every blob compared byte for byte.
// Google Cloud Storage has no local server here: its command goes through rclone's own parser of the remote.
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { azure, maskSecrets, rclone } from '../src/exporters';
import { tempDir } from './helpers/archive';
import { azurite } from './helpers/azure';
import { startS3rver, type S3Server } from './helpers/s3rver';

/** Blobs with awkward names, a nested folder, an empty blob and one of several MB (more than one S3 request part). */
const BLOBS: Record<string, Buffer> = {
  'readme.txt': Buffer.from('top level\n'),
  'photos/2024/river bank #1.jpg': Buffer.from('jpeg bytes \u0000\u0001\u0002'),
  'photos/2024/it\'s a "quote".png': Buffer.from('png'),
  'photos/2025/été/щука.jpg': Buffer.from('unicode name'),
  'docs/report & summary (final).pdf': Buffer.from('pdf'.repeat(1000)),
  'docs/100% done=yes.csv': Buffer.from('a,b\n1,2\n'),
  'docs/empty.txt': Buffer.alloc(0),
  'big/survey.bin': randomBytes(6 * 1024 * 1024 + 17),
};

const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** Every file under `dir`, by its path relative to it (forward slashes). */
function readTree(dir: string, prefix = '', files = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) readTree(path.join(dir, entry.name), rel, files);
    else files.set(rel, fs.readFileSync(path.join(dir, entry.name)));
  }
  return files;
}

/**
 * Runs rclone as the SAS panel's terminal does: argv without a shell, rclone's global flags first (asynchronously:
 * s3rver answers from this process).
 */
function runAsThePanel(
  argv: string[],
  env: NodeJS.ProcessEnv,
  raw = false,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const { env: rcloneEnv, args } = raw ? { env, args: [] } : rclone.rcloneEnvironment(env);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], [...args, ...argv.slice(1)], { env: rcloneEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe("The SAS panel's S3 and Google Cloud Storage commands (real Azurite, rclone and s3rver)", () => {
  let s3: S3Server;
  let link: azure.SasLink;
  // Some machines set AWS_CA_BUNDLE system-wide; it is set here too, so the test means the same everywhere.
  const baseEnv = (): NodeJS.ProcessEnv => ({
    ...process.env,
    AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt',
    RCLONE_CONFIG: '/dev/null',
    RCLONE_LOW_LEVEL_RETRIES: '2',
    RCLONE_RETRIES: '1',
  });

  before(async function () {
    this.timeout(120_000);
    s3 = await startS3rver(['exit-bucket']);
    const emu = await azurite();
    const account = azure.openStorageAccount({ kind: 'connectionString', connectionString: emu.connectionString });
    const container = account.service.getContainerClient('s3-bound');
    await container.createIfNotExists();
    for (const [name, body] of Object.entries(BLOBS)) await container.getBlockBlobClient(name).uploadData(body);
    link = await azure.generateSas(account, { container: 's3-bound' });
  });

  after(async () => {
    await s3?.stop();
  });

  it('copies every blob to S3 byte for byte with the command the panel shows', async function () {
    this.timeout(180_000);
    const plan = azure.transferCommands(link, { isEmulator: true, destinations: { s3: 'exit-bucket/exports/2026' } });
    assert.equal(plan.s3.argv[0], 'rclone');
    assert.equal(plan.s3.argv[3], ':s3,provider=AWS,env_auth=true:exit-bucket/exports/2026');
    const env = { ...baseEnv(), ...s3.awsEnv };

    // Without the environment Exit Plan gives rclone, rclone 1.60 fails on AWS_CA_BUNDLE before any request.
    const raw = await runAsThePanel(plan.s3.argv, env, true);
    assert.notEqual(raw.status, 0);
    assert.match(raw.stderr, /LoadCustomCABundleError|unsupported transport/);

    const run = await runAsThePanel(plan.s3.argv, env);
    assert.equal(run.status, 0, maskSecrets(run.stderr));
    assert.ok(!run.stderr.includes(new URL(link.url).searchParams.get('sig')!), 'rclone printed the signature');

    // Read back from S3 (path-style, a second way in), and compare every object with the blob it came from.
    const back = tempDir('exit-plan-s3-back-');
    const get = await runAsThePanel(['rclone', 'copy', s3.remote('exit-bucket', 'exports/2026'), back], baseEnv());
    assert.equal(get.status, 0, get.stderr);
    const arrived = readTree(back);
    assert.deepEqual([...arrived.keys()].sort(), Object.keys(BLOBS).sort());
    for (const [name, body] of Object.entries(BLOBS)) assert.equal(sha(arrived.get(name)!), sha(body), name);

    // Run again: rclone finds every object there already and copies nothing.
    const again = await runAsThePanel([...plan.s3.argv, '--stats-one-line', '-v'], env);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /There was nothing to transfer|Transferred:\s+0 B/);
  });

  it('gives a Google Cloud Storage command whose remote rclone parses as the bucket and folder asked for', async function () {
    this.timeout(60_000);
    const plan = azure.transferCommands(link, { isEmulator: true, destinations: { gcs: 'field-archive/exports 2026/été' } });
    assert.equal(plan.gcs.argv[3], ':gcs,env_auth=true:field-archive/exports 2026/été');
    // env_auth reads Application Default Credentials: a service account file of our own (no request is made).
    const dir = tempDir('exit-plan-gcs-');
    const key = path.join(dir, 'key.pem');
    spawnSync('openssl', ['genrsa', '-out', key, '2048'], { stdio: 'ignore' });
    const credentials = path.join(dir, 'service-account.json');
    fs.writeFileSync(
      credentials,
      JSON.stringify({
        type: 'service_account',
        project_id: 'exit-plan-test',
        private_key_id: '1',
        private_key: fs.readFileSync(key, 'utf8'),
        client_email: 'exit-plan@exit-plan-test.iam.gserviceaccount.com',
        client_id: '1',
        token_uri: 'http://127.0.0.1:9/token',
      }),
    );
    const features = await runAsThePanel(['rclone', 'backend', 'features', plan.gcs.argv[3]], {
      ...baseEnv(),
      GOOGLE_APPLICATION_CREDENTIALS: credentials,
    });
    assert.equal(features.status, 0, features.stderr);
    const parsed = JSON.parse(features.stdout) as { Name: string; Root: string; String: string; Hashes: string[] };
    assert.equal(parsed.Name, ':gcs');
    assert.equal(parsed.Root, 'field-archive/exports 2026/été');
    assert.equal(parsed.String, 'GCS bucket field-archive path exports 2026/été');
    assert.ok(parsed.Hashes.includes('md5'));
    // The source of both commands is the same rclone remote over the SAS; it parses as the container.
    const source = await runAsThePanel(['rclone', 'backend', 'features', plan.gcs.argv[2]], baseEnv());
    assert.equal(source.status, 0, maskSecrets(source.stderr));
    assert.equal((JSON.parse(source.stdout) as { Root: string }).Root, 's3-bound');
  });
});
