// The azure part of an exit run, on real Azurite: with the real azcopy and with the SDK (no azcopy).
// Containers here are named exit-… (test/azure.test.ts checks the exact container list of the shared Azurite first).
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { azcopyPath } from '../scripts/lib/azurite';
import { azure } from '../src/exporters';
import { describeAzurePartProgress, runAzurePart } from '../src/exporters/exit/parts/azure';
import { ManifestWriter, readManifest, unsafeBlobName } from '../src/exporters/exit/parts/azureFiles';
import { readCsvRows } from '../src/exporters/shared/csvFile';
import type { AzurePart, PartContext, PartOutcome } from '../src/exporters/exit/types';
import { listFiles, tempDir } from './helpers/archive';
import { azurite } from './helpers/azure';

/** Awkward names: spaces, unicode, nested folders, CSV's comma and quote, a 0-byte blob; one without Content-MD5. */
const BLOBS: Record<string, string> = {
  'readme.txt': 'top level',
  'photos/2024/river bank #1.jpg': 'jpeg bytes \u0000\u0001\u0002',
  'photos/2025/été/щука.jpg': 'unicode name',
  'docs/report, "final" (v2).pdf': 'pdf'.repeat(1000),
  'deep/a/b/c/d/e.txt': 'nested',
  'empty.bin': '',
  'no-md5.dat': 'a blob without Content-MD5',
};
const NO_MD5 = 'no-md5.dat';
const MANY = 120;
const MANY_BYTES = 256 * 1024;

function sha(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

function part(container: string, prefix?: string): AzurePart {
  return { kind: 'azure', name: 'datalake', container, prefix, connectionStringEnv: 'AZURE_STORAGE_CONNECTION_STRING' };
}

describe('exit runs: the azure part (real Azurite, with azcopy and with the SDK)', () => {
  let account: azure.StorageAccount;

  function context(dir: string, options: { azcopy: boolean; signal?: AbortSignal; onText?: (text: string) => void }) {
    const logs: string[] = [];
    const texts: string[] = [];
    const ctx: PartContext = {
      dir,
      resuming: false,
      now: () => new Date(),
      signal: options.signal,
      log: (line) => logs.push(line),
      onProgress: (p) => {
        texts.push(p.text);
        options.onText?.(p.text);
      },
      resolvers: {
        warehouse: () => Promise.reject(new Error('no warehouse here')),
        azure: () => Promise.resolve(account),
        azcopy: () => Promise.resolve(options.azcopy ? azcopyPath() : undefined),
      },
    };
    return { ctx, logs, texts };
  }

  let connectionString: string;

  /** Changes a blob before returning (progress callbacks are synchronous). */
  function blobSync(containerName: string, action: 'upload' | 'delete', name: string) {
    const script =
      `const { BlobServiceClient } = require(${JSON.stringify(require.resolve('@azure/storage-blob'))});` +
      `const c = BlobServiceClient.fromConnectionString(process.env.CS).getContainerClient(process.env.CONTAINER);` +
      `const b = c.getBlockBlobClient(process.env.NAME);` +
      `(process.env.ACTION === 'upload' ? b.upload('late', 4) : b.delete()).catch((e) => { console.error(e); process.exit(1); });`;
    execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, CS: connectionString, CONTAINER: containerName, NAME: name, ACTION: action },
      stdio: 'pipe',
    });
  }

  before(async () => {
    const emu = await azurite();
    connectionString = emu.connectionString;
    account = azure.openStorageAccount({ kind: 'connectionString', connectionString });
    const media = account.service.getContainerClient('exit-media');
    await media.createIfNotExists();
    for (const [name, body] of Object.entries(BLOBS)) await media.getBlockBlobClient(name).upload(body, Buffer.byteLength(body));
    // Setting the headers without one removes the Content-MD5 Azurite computed on upload.
    await media.getBlockBlobClient(NO_MD5).setHTTPHeaders({ blobContentType: 'application/octet-stream' });
    const props = await media.getBlockBlobClient(NO_MD5).getProperties();
    assert.equal(props.contentMD5, undefined, 'the test blob really has no Content-MD5');
    const many = account.service.getContainerClient('exit-many');
    await many.createIfNotExists();
    const uploads = [];
    for (let i = 0; i < MANY; i++) {
      const body = Buffer.alloc(MANY_BYTES, i % 251);
      uploads.push(many.getBlockBlobClient(`batch/file-${String(i).padStart(4, '0')}.bin`).upload(body, body.length));
    }
    await Promise.all(uploads);
  });

  async function checkCopy(dir: string, outcome: PartOutcome, logs: string[]) {
    const blobsDir = path.join(dir, 'blobs');
    assert.deepEqual(listFiles(blobsDir), Object.keys(BLOBS).sort());
    for (const [name, body] of Object.entries(BLOBS)) assert.equal(sha(fs.readFileSync(path.join(blobsDir, name))), sha(body), name);
    // files-manifest.csv: header, one row per blob, RFC 4180 quoting (read back by the part's own reader and by hand).
    const csv = fs.readFileSync(path.join(dir, 'files-manifest.csv'), 'utf8');
    assert.ok(csv.startsWith('path,bytes,content_md5,last_modified\r\n'));
    assert.ok(csv.includes('"docs/report, ""final"" (v2).pdf",3000,'), csv);
    const rows = [];
    for await (const row of readManifest(path.join(dir, 'files-manifest.csv'))) rows.push(row);
    assert.deepEqual(rows.map((r) => r.name).sort(), Object.keys(BLOBS).sort());
    for (const row of rows) {
      assert.equal(row.bytes, Buffer.byteLength(BLOBS[row.name]), row.name);
      if (row.name === NO_MD5) assert.equal(row.md5, undefined);
      else assert.equal(row.md5, createHash('md5').update(BLOBS[row.name]).digest('base64'), row.name);
      assert.ok(row.lastModified && !Number.isNaN(Date.parse(row.lastModified)));
    }
    // files-verified.csv: every blob with bytes and hashes; the outcome names the two lists and counts everything.
    const verified = new Map<string, string[]>();
    for await (const row of readCsvRows(path.join(dir, 'files-verified.csv'))) verified.set(row[0], row);
    assert.equal(verified.size, Object.keys(BLOBS).length);
    for (const [name, body] of Object.entries(BLOBS)) {
      const row = verified.get(`blobs/${name}`);
      assert.ok(row, name);
      assert.equal(Number(row[1]), Buffer.byteLength(body));
      assert.equal(row[2], sha(body));
      assert.equal(row[3], name === NO_MD5 ? '' : createHash('md5').update(body).digest('base64'));
    }
    const byPath = new Map(outcome.files.map((f) => [f.path, f]));
    assert.deepEqual([...byPath.keys()], ['files-manifest.csv', 'files-verified.csv']);
    assert.equal(byPath.get('files-verified.csv')?.sha256, sha(fs.readFileSync(path.join(dir, 'files-verified.csv'))));
    const csvBytes = outcome.files.reduce((n, f) => n + f.bytes, 0);
    const blobBytes = Object.values(BLOBS).reduce((n, body) => n + Buffer.byteLength(body), 0);
    assert.deepEqual(outcome.totals, { files: Object.keys(BLOBS).length + 2, bytes: blobBytes + csvBytes });
    assert.equal(byPath.get('files-manifest.csv')?.sha256, sha(csv));
    assert.match(
      outcome.verification,
      /every blob of the listing taken at the start \(7 blobs, .*\) checked against its copy: size, and MD5/,
    );
    assert.equal(outcome.details?.blobs, 7);
    assert.equal(outcome.details?.container, 'exit-media');
    assert.equal(outcome.notes, undefined);
    // No SAS signature anywhere: in the part folder, in the log lines.
    for (const f of listFiles(dir)) assert.ok(!fs.readFileSync(path.join(dir, f), 'latin1').includes('sig='), `${f} holds sig=`);
    for (const line of logs) assert.ok(!/sig=[^…]/.test(line), line);
  }

  for (const withAzcopy of [true, false]) {
    const tool = withAzcopy ? 'azcopy' : 'SDK';

    it(`copies every blob byte for byte with ${tool}, writes files-manifest.csv, and verifies it`, async () => {
      const dir = tempDir('exit-plan-azure-part-');
      const { ctx, logs, texts } = context(dir, { azcopy: withAzcopy });
      const outcome = await runAzurePart(part('exit-media'), ctx);
      assert.equal(outcome.details?.tool, tool);
      assert.equal(outcome.details?.copiedNow, 7);
      assert.equal(outcome.details?.alreadyPresent, 0);
      await checkCopy(dir, outcome, logs);
      assert.ok(texts.some((t) => t.startsWith('Verifying blobs: ')));
      // Run again in the same folder: nothing is copied, every file is left as it was.
      const before = fs.statSync(path.join(dir, 'blobs', 'readme.txt'));
      const again = await runAzurePart(part('exit-media'), context(dir, { azcopy: withAzcopy }).ctx);
      assert.equal(again.details?.copiedNow, 0);
      assert.equal(again.details?.alreadyPresent, 7);
      const after = fs.statSync(path.join(dir, 'blobs', 'readme.txt'));
      assert.equal(after.ino, before.ino);
      assert.equal(after.mtimeMs, before.mtimeMs);
    });

    it(`resumes after a cancel during the copy with ${tool}, without copying the blobs already verified again`, async () => {
      const dir = tempDir('exit-plan-azure-part-');
      const controller = new AbortController();
      const blobsDir = path.join(dir, 'blobs', 'batch');
      const watch = setInterval(() => {
        const n = fs.existsSync(blobsDir) ? fs.readdirSync(blobsDir).filter((f) => !f.startsWith('.')).length : 0;
        if (n >= 5) controller.abort();
      }, 5);
      try {
        await assert.rejects(
          runAzurePart(part('exit-many', 'batch'), context(dir, { azcopy: withAzcopy, signal: controller.signal }).ctx),
          (err: Error) => {
            assert.equal(err.name, 'CancelledError');
            assert.match(err.message, /^The copy of container "exit-many" .*was cancelled; a re-run keeps the blobs already copied\.$/);
            return true;
          },
        );
      } finally {
        clearInterval(watch);
      }
      const kept = fs.readdirSync(blobsDir).filter((f) => !f.startsWith('.'));
      assert.ok(kept.length >= 5 && kept.length < MANY, `${kept.length} blobs arrived before the cancel`);
      assert.deepEqual(
        listFiles(dir).filter((f) => !f.startsWith('blobs/batch/file-') && f !== 'files-manifest.csv'),
        [],
        'nothing half-written is left',
      );
      const stats = new Map(kept.map((f) => [f, fs.statSync(path.join(blobsDir, f))]));

      const { ctx, logs } = context(dir, { azcopy: withAzcopy });
      const outcome = await runAzurePart(part('exit-many', 'batch'), ctx);
      assert.equal(outcome.details?.alreadyPresent, kept.length);
      assert.equal(outcome.details?.copiedNow, MANY - kept.length);
      assert.equal(outcome.details?.prefix, 'batch/');
      assert.equal(listFiles(blobsDir).length, MANY);
      for (const [f, st] of stats) {
        const now = fs.statSync(path.join(blobsDir, f));
        assert.equal(now.ino, st.ino, `${f} was copied again`);
        assert.equal(now.mtimeMs, st.mtimeMs, `${f} was copied again`);
      }
      for (let i = 0; i < MANY; i += 17) {
        const file = path.join(blobsDir, `file-${String(i).padStart(4, '0')}.bin`);
        assert.equal(sha(fs.readFileSync(file)), sha(Buffer.alloc(MANY_BYTES, i % 251)));
      }
      for (const f of listFiles(dir)) assert.ok(!fs.readFileSync(path.join(dir, f), 'latin1').includes('sig='), `${f} holds sig=`);
      for (const line of logs) assert.ok(!/sig=[^…]/.test(line), line);
    });
  }

  it('fails in one sentence for a container that does not exist', async () => {
    const dir = tempDir('exit-plan-azure-part-');
    for (const withAzcopy of [true, false]) {
      await assert.rejects(runAzurePart(part('exit-nope'), context(dir, { azcopy: withAzcopy }).ctx), {
        name: 'ExitPlanError',
        message: 'The container "exit-nope" does not exist in devstoreaccount1.',
      });
    }
  });

  for (const withAzcopy of [true, false]) {
    const tool = withAzcopy ? 'azcopy' : 'SDK';
    it(`notes a blob added after the listing, and fails naming a blob that vanished during the copy (${tool})`, async () => {
      const name = withAzcopy ? 'exit-changing-azcopy' : 'exit-changing-sdk';
      const container = account.service.getContainerClient(name);
      await container.createIfNotExists();
      for (const blob of ['a.txt', 'b.txt', 'c.txt']) await container.getBlockBlobClient(blob).upload(blob, blob.length);
      // Changed on the listing's progress (synchronously): after the listing (one page) was taken, before the copy.
      const changeOnce = (action: 'upload' | 'delete', blob: string) => {
        let done = false;
        return (text: string) => {
          if (!done && text.startsWith('Listing')) {
            done = true;
            blobSync(name, action, blob);
          }
        };
      };
      const dir = tempDir('exit-plan-azure-part-');
      const outcome = await runAzurePart(
        part(name),
        context(dir, { azcopy: withAzcopy, onText: changeOnce('upload', 'late arrival.txt') }).ctx,
      );
      assert.equal(outcome.details?.blobs, 3);
      assert.deepEqual(outcome.notes, ['1 blob appeared after the listing was taken and was not copied: "late arrival.txt".']);

      const fresh = tempDir('exit-plan-azure-part-');
      await assert.rejects(runAzurePart(part(name), context(fresh, { azcopy: withAzcopy, onText: changeOnce('delete', 'b.txt') }).ctx), {
        name: 'ExitPlanError',
        message:
          `1 blob of container "${name}" in devstoreaccount1 is not verified: ` +
          '"b.txt": it vanished from the container during the copy.',
      });
      assert.deepEqual(listFiles(path.join(fresh, 'blobs')), ['a.txt', 'c.txt', 'late arrival.txt']);
    });
  }

  it('refuses blob names that cannot be file names, copies the others, and fails naming them', async () => {
    const container = account.service.getContainerClient('exit-odd');
    await container.createIfNotExists();
    for (const name of ['100% *star*?.txt', '/lead.txt', 'dir//double.txt'])
      await container.getBlockBlobClient(name).upload(name, name.length);
    for (const withAzcopy of [true, false]) {
      const dir = tempDir('exit-plan-azure-part-');
      await assert.rejects(runAzurePart(part('exit-odd'), context(dir, { azcopy: withAzcopy }).ctx), {
        name: 'ExitPlanError',
        message:
          '2 blobs of container "exit-odd" in devstoreaccount1 are not verified: "/lead.txt": its name is refused as a file name, ' +
          'having an empty path segment (a leading, trailing or double "/"); and 1 other blob: "dir//double.txt".',
      });
      assert.deepEqual(listFiles(dir), ['blobs/100% *star*?.txt', 'files-manifest.csv', 'files-verified.csv']);
      assert.equal(fs.readFileSync(path.join(dir, 'blobs', '100% *star*?.txt'), 'utf8'), '100% *star*?.txt');
    }
  });

  it('writes and reads back files-manifest.csv as RFC 4180 (commas, quotes and line breaks in names)', async () => {
    const file = path.join(tempDir('exit-plan-azure-manifest-'), 'files-manifest.csv');
    const rows = [
      { name: 'plain.txt', bytes: 1, md5: 'AAAA', lastModified: '2026-01-01T00:00:00.000Z' },
      { name: 'a, "b"\r\nc\nd.txt', bytes: 0, md5: undefined, lastModified: undefined },
      { name: 'été/щука.jpg', bytes: 12345678901, md5: 'x+y/z==', lastModified: '2026-02-03T04:05:06.000Z' },
    ];
    const writer = new ManifestWriter(file);
    for (const row of rows) await writer.add(row);
    await writer.finish();
    assert.ok(fs.readFileSync(file, 'utf8').includes('\r\n"a, ""b""\r\nc\nd.txt",0,,\r\n'));
    const back = [];
    for await (const row of readManifest(file)) back.push(row);
    assert.deepEqual(back, rows);
  });

  it('tells which blob names cannot be file names', () => {
    for (const bad of ['../up.txt', 'a/../b', './a', 'a/./b', '/abs', 'a//b', 'dir/', 'nul\0byte', 'line\nbreak', `${'x'.repeat(256)}/y`])
      assert.ok(unsafeBlobName(bad), bad);
    for (const good of ['a', 'a/b/c.txt', '..hidden', 'x..y', 'été/щука.jpg', 'a b/c,d "e".txt', '100% *star*?.txt'])
      assert.equal(unsafeBlobName(good), undefined, good);
  });

  it('describes its progress in one line per phase', () => {
    assert.equal(describeAzurePartProgress({ phase: 'listing', blobs: 1234, bytes: 2048 }), 'Listing blobs: 1,234 blobs, 2.0 KB so far');
    assert.equal(
      describeAzurePartProgress({ phase: 'copying', blobs: 3, bytes: 1000, totalBlobs: 10, totalBytes: 4000, tool: 'azcopy' }),
      'Copying blobs with azcopy: 3/10, 1.0 KB of 4.0 KB',
    );
    assert.equal(
      describeAzurePartProgress({ phase: 'verifying', blobs: 10, bytes: 4000, totalBlobs: 10, totalBytes: 4000 }),
      'Verifying blobs: 10/10, 4.0 KB of 4.0 KB',
    );
  });
});
