import * as assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { azure, maskSecrets } from '../src/exporters';
import { listFiles, tempDir } from './helpers/archive';
import { azcopyEnv, azurite } from './helpers/azure';
import { selfSignedCertificate } from './helpers/tls';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

/** Blobs with awkward names, in folders. */
const BLOBS: Record<string, string> = {
  'readme.txt': 'top level',
  'photos/2024/river bank #1.jpg': 'jpeg bytes \u0000\u0001\u0002',
  'photos/2024/it\'s a "quote".png': 'png',
  'photos/2025/été/щука.jpg': 'unicode name',
  'docs/report & summary (final).pdf': 'pdf'.repeat(1000),
  'docs/100% done=yes.csv': 'a,b\n1,2\n',
};

function sha(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function sigOf(url: string): string {
  return decodeURIComponent(new URL(url).searchParams.get('sig')!);
}

describe('Azure Storage (real Azurite, azcopy and rclone)', () => {
  let account: azure.StorageAccount;
  let connectionString: string;

  before(async () => {
    const emu = await azurite();
    connectionString = emu.connectionString;
    account = azure.openStorageAccount({ kind: 'connectionString', connectionString });
    const photos = account.service.getContainerClient('field-media');
    await photos.createIfNotExists();
    for (const [name, body] of Object.entries(BLOBS)) await photos.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
    const many = account.service.getContainerClient('many');
    await many.createIfNotExists();
    const uploads = [];
    for (let i = 0; i < 250; i++)
      uploads.push(many.getBlockBlobClient(`batch/file-${String(i).padStart(4, '0')}.bin`).upload('x'.repeat(i), i));
    await Promise.all(uploads);
  });

  it('lists containers and folders page by page', async () => {
    const containers = await azure.listContainers(account);
    assert.deepEqual(containers.items.map((c) => c.name).sort(), ['field-media', 'many']);
    const top = await azure.listFolder(account, 'field-media', '');
    assert.deepEqual(
      top.items.map((i) => (i.kind === 'folder' ? i.prefix : i.name)),
      ['docs/', 'photos/', 'readme.txt'],
    );
    const first = await azure.listFolder(account, 'many', 'batch/');
    assert.equal(first.items.length, 100);
    assert.ok(first.continuation);
    const second = await azure.listFolder(account, 'many', 'batch/', first.continuation);
    assert.equal(second.items.length, 100);
    const third = await azure.listFolder(account, 'many', 'batch/', second.continuation);
    assert.equal(third.items.length, 50);
    assert.equal(third.continuation, undefined);
  });

  it('computes size by streaming the listing, and stops when cancelled', async () => {
    const size = await azure.computeSize(account, 'many', 'batch/');
    assert.deepEqual(size, { blobs: 250, bytes: (249 * 250) / 2 });
    const folder = await azure.computeSize(account, 'field-media', 'photos/');
    assert.equal(folder.blobs, 3);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(azure.computeSize(account, 'many', '', { signal: controller.signal }), /cancelled/);
  });

  it('signs a read-only link to one blob: it reads that blob, nothing else, and cannot list', async () => {
    const link = await azure.generateSas(account, { container: 'field-media', blob: 'photos/2024/river bank #1.jpg', expiryMinutes: 5 });
    assert.equal(link.permissions, 'r');
    assert.equal(link.blob, 'photos/2024/river bank #1.jpg');
    assert.equal(new URL(link.url).searchParams.get('sp'), 'r');
    assert.equal(new URL(link.url).searchParams.get('sr'), 'b');
    const read = await fetch(link.url);
    assert.equal(read.status, 200);
    assert.equal(await read.text(), BLOBS['photos/2024/river bank #1.jpg']);
    const query = link.url.split('?')[1];
    assert.equal((await fetch(`${azure.blobUrl(account, 'field-media', 'readme.txt')}?${query}`)).status, 403, 'another blob');
    assert.equal((await fetch(`${account.endpoint}/field-media?restype=container&comp=list&${query}`)).status, 403, 'a listing');
    await assert.rejects(
      azure.generateSas(account, { container: 'field-media', blob: 'no such blob.txt' }),
      /^ExitPlanError: The blob "no such blob.txt" does not exist in field-media; no link was made\.$/,
    );
  });

  it('gives a blob URL without a SAS, each path segment encoded', () => {
    assert.equal(
      azure.blobUrl(account, 'field-media', 'photos/2024/river bank #1.jpg'),
      `${account.endpoint}/field-media/photos/2024/river%20bank%20%231.jpg`,
    );
  });

  it('lists whether a container is public', async () => {
    const open = account.service.getContainerClient('public-read');
    await open.createIfNotExists({ access: 'blob' });
    try {
      const listed = (await azure.listContainers(account)).items;
      assert.equal(listed.find((c) => c.name === 'public-read')?.publicAccess, 'blob');
      assert.equal(listed.find((c) => c.name === 'field-media')?.publicAccess, undefined);
    } finally {
      await open.delete();
    }
  });

  it('downloads one blob through a partial file, never over an existing file, and removes the partial on cancel', async () => {
    const dir = tempDir('exit-plan-download-');
    const name = 'docs/report & summary (final).pdf';
    const seen: number[] = [];
    const first = await azure.downloadBlob(account, 'field-media', name, dir, { onProgress: (p) => seen.push(p.bytes) });
    assert.equal(first.file, path.join(dir, 'report & summary (final).pdf'));
    assert.equal(fs.readFileSync(first.file, 'utf8'), BLOBS[name]);
    assert.equal(first.bytes, Buffer.byteLength(BLOBS[name]));
    assert.ok(seen.length > 0, 'progress was reported');
    const second = await azure.downloadBlob(account, 'field-media', name, dir);
    assert.equal(second.file, path.join(dir, 'report & summary (final)-2.pdf'));
    assert.equal(fs.readFileSync(first.file, 'utf8'), BLOBS[name], 'the first file is untouched');

    const cancelled = new AbortController();
    cancelled.abort();
    await assert.rejects(
      azure.downloadBlob(account, 'field-media', name, dir, { signal: cancelled.signal }),
      /cancelled; the partial file was removed/,
    );
    await assert.rejects(azure.downloadBlob(account, 'field-media', 'gone.txt', dir), /The blob "gone.txt" does not exist in field-media/);
    assert.deepEqual(listFiles(dir), ['report & summary (final)-2.pdf', 'report & summary (final).pdf']);
  });

  it('refuses an expiry outside 1…10080 minutes in one sentence', () => {
    for (const bad of [0, 10081, 1.5, 'soon', -5]) {
      assert.throws(() => azure.checkExpiryMinutes(bad), /The SAS expiry must be a whole number of minutes from 1 to 10080 \(7 days\)/);
    }
    assert.equal(azure.checkExpiryMinutes('60'), 60);
  });

  it('makes a read + list link whose local command copies every blob byte for byte with the real azcopy', async () => {
    const link = await azure.generateSas(account, { container: 'field-media', expiryMinutes: 30 });
    const params = new URL(link.url).searchParams;
    assert.equal(params.get('sp'), 'rl');
    assert.equal(params.get('spr'), 'https,http', 'HTTP only because this is the emulator');
    assert.ok(Date.parse(params.get('st')!) <= Date.now() - 4 * 60_000, 'starts 5 minutes back');

    const dest = tempDir('exit-plan-dl-');
    const plan = azure.transferCommands(link, { isEmulator: true, destinations: { local: path.join(dest, 'my export') } });
    assert.ok(plan.local.line.includes('--from-to BlobLocal'));
    const { env, logs } = azcopyEnv();
    execFileSync('bash', ['-c', plan.local.line], { env, stdio: 'pipe' });
    const got = path.join(dest, 'my export', 'field-media');
    assert.deepEqual(listFiles(got), Object.keys(BLOBS).sort());
    for (const [name, body] of Object.entries(BLOBS)) {
      assert.equal(sha(path.join(got, name)), createHash('sha256').update(body).digest('hex'), name);
    }
    // azcopy's own logs never hold the signature.
    const sig = sigOf(link.url);
    for (const f of listFiles(logs))
      assert.ok(!fs.readFileSync(path.join(logs, f), 'latin1').includes(sig), `${f} holds the SAS signature`);
  });

  it('scopes the commands to a folder', async () => {
    const link = await azure.generateSas(account, { container: 'field-media', folder: 'photos/2024' });
    assert.equal(link.folder, 'photos/2024/');
    const dest = tempDir('exit-plan-dl-');
    const plan = azure.transferCommands(link, { isEmulator: true, destinations: { local: dest } });
    execFileSync('bash', ['-c', plan.local.line], { env: azcopyEnv().env, stdio: 'pipe' });
    assert.deepEqual(listFiles(dest), ['2024/it\'s a "quote".png', '2024/river bank #1.jpg']);
  });

  it('cannot write or delete with the link (HTTP 403)', async () => {
    const link = await azure.generateSas(account, { container: 'field-media' });
    const [base, query] = link.containerUrl.split('?');
    const put = await fetch(`${base}/new-blob.txt?${query}`, { method: 'PUT', body: 'x', headers: { 'x-ms-blob-type': 'BlockBlob' } });
    assert.equal(put.status, 403);
    const del = await fetch(`${base}/readme.txt?${query}`, { method: 'DELETE' });
    assert.equal(del.status, 403);
    const list = await fetch(`${base}?restype=container&comp=list&${query}`);
    assert.equal(list.status, 200);
  });

  it('stops working when it expires', async () => {
    // Made as if 58 s ago with the shortest expiry (1 minute): it works now and expires in about 2 s.
    const link = await azure.generateSas(account, { container: 'field-media', expiryMinutes: 1, now: new Date(Date.now() - 58_000) });
    const [base, query] = link.containerUrl.split('?');
    const listUrl = `${base}?restype=container&comp=list&${query}`;
    assert.equal((await fetch(listUrl)).status, 200);
    await new Promise((r) => setTimeout(r, Math.max(0, link.expiresOn.getTime() - Date.now()) + 1500));
    assert.equal((await fetch(listUrl)).status, 403);
  });

  it('gives an rclone command that rclone accepts and runs (destination swapped for a local folder)', async function () {
    const link = await azure.generateSas(account, { container: 'field-media', folder: 'docs/' });
    const plan = azure.transferCommands(link, { isEmulator: true, destinations: { s3: 'my-bucket/exports' } });
    assert.equal(plan.s3.argv[3], ':s3,provider=AWS,env_auth=true:my-bucket/exports');
    assert.ok(plan.gcs.line.includes(':gcs,env_auth=true:'));
    assert.match(
      plan.s3TwoStep,
      /^azcopy copy '[^']+' \.\/field-media-export --recursive --from-to BlobLocal && aws s3 sync \.\/field-media-export s3:\/\/my-bucket\/exports$/,
    );
    const dest = tempDir('exit-plan-rclone-');
    const argv = [...plan.s3.argv.slice(0, 3), dest];
    const line = azure.commandLine(argv, 'posix');
    const r = spawnSync('bash', ['-c', line], { encoding: 'utf8', env: { ...process.env, RCLONE_CONFIG: '/dev/null' } });
    assert.equal(r.status, 0, maskSecrets(r.stderr));
    assert.deepEqual(listFiles(dest), ['100% done=yes.csv', 'report & summary (final).pdf']);
  });

  it('quotes every word so that bash gives back exactly what was meant', () => {
    const awkward = ["it's", 'a "b"', '100% & more=yes', 'tab\there', 'new\nline', '$HOME `x` \\ !', "''", 'sig=a%2Bb&se=2026'];
    const line = azure.commandLine(['printf', '%s\\0', ...awkward], 'posix');
    const out = execFileSync('bash', ['-c', line]).toString('utf8');
    assert.deepEqual(out.split('\0').slice(0, -1), awkward);
    assert.equal(azure.quotePowerShell("it's ‘x’"), "'it''s ‘‘x’’'");
  });

  it('masks the signature and keys in anything meant for logs', () => {
    const link = 'https://acct.blob.core.windows.net/c?sv=2024&sp=rl&sig=abc%2Bdef%3D&se=2026';
    assert.equal(maskSecrets(`copy '${link}' done`), "copy 'https://acct.blob.core.windows.net/c?sv=2024&sp=rl&sig=…&se=2026' done");
    assert.equal(maskSecrets('AccountName=a;AccountKey=abc==;EndpointSuffix=x'), 'AccountName=a;AccountKey=…;EndpointSuffix=x');
    assert.equal(maskSecrets('postgres://u:pw@h/db'), 'postgres://u:…@h/db');
  });

  it('signs with a user delegation key when signed in with Microsoft (request checked on a local endpoint)', async () => {
    const seen: { method?: string; url?: string; auth?: string; body: string } = { body: '' };
    // Bearer tokens only travel over TLS: a throwaway self-signed certificate for a loopback endpoint.
    const tls = selfSignedCertificate('127.0.0.1');
    const server = https.createServer({ key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) }, (req, res) => {
      seen.method = req.method;
      seen.url = req.url;
      seen.auth = req.headers.authorization;
      req.on('data', (d: Buffer) => (seen.body += d.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/xml', 'x-ms-request-id': '1', 'x-ms-version': '2025-01-05' });
        res.end(
          '<?xml version="1.0" encoding="utf-8"?><UserDelegationKey><SignedOid>oid-1</SignedOid><SignedTid>tid-1</SignedTid>' +
            '<SignedStart>2026-01-01T00:00:00Z</SignedStart><SignedExpiry>2026-01-02T00:00:00Z</SignedExpiry>' +
            '<SignedService>b</SignedService>' +
            '<SignedVersion>2025-01-05</SignedVersion><Value>' +
            Buffer.from('k'.repeat(32)).toString('base64') +
            '</Value></UserDelegationKey>',
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const credential = { getToken: async () => ({ token: 'entra-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
      const signedIn = azure.openStorageAccount({
        kind: 'token',
        accountName: 'acct',
        credential,
        endpoint: `https://127.0.0.1:${port}/acct`,
      });
      const trust = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
      let link: azure.SasLink;
      try {
        link = await azure.generateSas(signedIn, { container: 'media', expiryMinutes: 60 });
      } finally {
        if (trust === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
        else process.env.NODE_TLS_REJECT_UNAUTHORIZED = trust;
      }
      assert.equal(seen.method, 'POST');
      assert.match(seen.url!, /[?&]restype=service&comp=userdelegationkey/);
      assert.equal(seen.auth, 'Bearer entra-token');
      assert.match(seen.body, /<KeyInfo><Start>.+<\/Start><Expiry>.+<\/Expiry><\/KeyInfo>/);
      const q = new URL(link.url).searchParams;
      assert.equal(link.signedWith, 'user delegation key');
      assert.equal(q.get('skoid'), 'oid-1');
      assert.equal(q.get('sp'), 'rl');
      assert.ok(q.get('sig'));
    } finally {
      server.close();
    }
  });

  describe('CLI contract', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

    it('azure containers --json', () => {
      const r = run(['azure', 'containers', '--connection-string', connectionString, '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual((JSON.parse(r.stdout) as { containers: { name: string }[] }).containers.map((c) => c.name).sort(), [
        'field-media',
        'many',
      ]);
    });

    it('azure sas --json gives url, expiresOn and the four commands', async () => {
      const r = run([
        'azure',
        'sas',
        '--connection-string',
        connectionString,
        '--container',
        'field-media',
        '--folder',
        'docs',
        '--expiry-minutes',
        '15',
        '--json',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { url: string; expiresOn: string; commands: Record<string, string> };
      assert.deepEqual(Object.keys(json.commands), ['local', 'azure', 's3', 'gcs']);
      assert.ok(Math.abs(Date.parse(json.expiresOn) - (Date.now() + 15 * 60_000)) < 60_000);
      assert.ok(json.url.includes('/field-media/docs/?'));
      assert.match(
        json.commands.local,
        /^azcopy copy '[^']+\/field-media\/docs\/\?[^']+' \.\/field-media-export --recursive --from-to BlobLocal$/,
      );
      assert.ok(json.commands.azure.includes('<destination SAS>'));
      const dest = tempDir('exit-plan-dl-');
      execFileSync('bash', ['-c', json.commands.local], { cwd: dest, env: azcopyEnv().env, stdio: 'pipe' });
      assert.deepEqual(listFiles(path.join(dest, 'field-media-export')), ['docs/100% done=yes.csv', 'docs/report & summary (final).pdf']);
    });

    it('azure size --json counts blobs and bytes under a folder', () => {
      const r = run(['azure', 'size', '--connection-string', connectionString, '--container', 'many', '--folder', 'batch', '--json']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), { blobs: 250, bytes: (249 * 250) / 2 });
    });

    it('refuses a bad expiry with one line and no link', () => {
      const r = run(['azure', 'sas', '--connection-string', connectionString, '--container', 'field-media', '--expiry-minutes', '20000']);
      assert.notEqual(r.status, 0);
      assert.equal(r.stdout, '');
      assert.match(
        r.stderr.trim(),
        /^exit-plan: The SAS expiry must be a whole number of minutes from 1 to 10080 \(7 days\); got "20000"\.$/,
      );
    });
  });

  it('a container client from the SDK sees what the tests uploaded (sanity)', async () => {
    const svc = BlobServiceClient.fromConnectionString(connectionString);
    assert.ok(await svc.getContainerClient('field-media').getBlockBlobClient('readme.txt').exists());
  });
});
