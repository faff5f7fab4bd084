import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContainerSASPermissions, SASProtocol, StorageSharedKeyCredential, generateBlobSASQueryParameters } from '@azure/storage-blob';
import { azure, exportWarehouse, type PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tempDir } from './helpers/archive';
import { azurite } from './helpers/azure';
import { postgres } from './helpers/postgres';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

describe('warehouse export streamed into Azure Blob Storage (real Azurite)', () => {
  let db: PgConnectionOptions;
  let account: azure.StorageAccount;
  let connectionString: string;

  before(async () => {
    const pg = await postgres();
    db = await pg.createDatabase('to_azure');
    const c = await pg.client('to_azure');
    await c.query(`CREATE TABLE public.observations (id bigint PRIMARY KEY, note text);
      INSERT INTO public.observations SELECT g, 'observation ' || g FROM generate_series(1, 20000) g;
      CREATE TABLE public.big (id bigint, payload text);
      INSERT INTO public.big SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 400000) g;`);
    await c.end();
    const emu = await azurite();
    connectionString = emu.connectionString;
    account = azure.openStorageAccount({ kind: 'connectionString', connectionString });
    for (const name of ['exports', 'sas-exports', 'failed-exports']) await account.service.getContainerClient(name).createIfNotExists();
  });

  async function blobs(container: string): Promise<string[]> {
    const names: string[] = [];
    for await (const b of account.service.getContainerClient(container).listBlobsFlat()) names.push(b.name);
    return names;
  }

  it('uploads the same bytes as the local archive, committed under the archive name', async () => {
    const out = tempDir();
    const result = await exportWarehouse({
      connection: db,
      outDir: out,
      upload: { account, container: 'exports' },
      tables: ['observations'],
    });
    assert.ok(result.uploaded);
    assert.equal(result.uploaded.blob, path.basename(result.archive));
    const downloaded = await account.service.getContainerClient('exports').getBlockBlobClient(result.uploaded.blob).downloadToBuffer();
    assert.ok(downloaded.equals(fs.readFileSync(result.archive)), 'blob and local archive are byte for byte the same');
    assert.ok(!result.uploaded.url.includes('sig='));
  });

  it('uploads without a local copy through a container SAS URL, and verifies the blob by reading it back', async () => {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: 'sas-exports',
        permissions: ContainerSASPermissions.parse('rcw'),
        expiresOn: new Date(Date.now() + 3_600_000),
        protocol: SASProtocol.HttpsAndHttp,
      },
      account.sharedKey as StorageSharedKeyCredential,
    ).toString();
    const url = `${account.endpoint}/sas-exports?${sas}`;
    const cwd = tempDir();
    const r = spawnSync(process.execPath, [CLI, 'warehouse', 'export', '--db', connectionUrl(db), '--upload', url, '--json'], {
      cwd,
      encoding: 'utf8',
      env: { ...process.env, PGPASSWORD: db.password },
    });
    assert.equal(r.status, 0, r.stderr);
    const json = JSON.parse(r.stdout) as {
      archive: string;
      uploaded: { container: string; blob: string; url: string };
      tables: { name: string; rows: number }[];
    };
    assert.equal(json.uploaded.container, 'sas-exports');
    assert.equal(json.archive, json.uploaded.url);
    assert.deepEqual(
      json.tables.map((t) => [t.name, t.rows]),
      [
        ['big', 400000],
        ['observations', 20000],
      ],
    );
    assert.deepEqual(await blobs('sas-exports'), [json.uploaded.blob]);
    assert.deepEqual(listFiles(cwd), [], 'no local copy');
    assert.ok(!r.stderr.includes(new URL(url).searchParams.get('sig')!), 'the SAS never shows in the output');
  });

  it('leaves no blob when the export fails midway', async () => {
    const pg = await postgres();
    const admin = await pg.client();
    let killed = false;
    try {
      await assert.rejects(
        exportWarehouse({
          connection: db,
          upload: { account, container: 'failed-exports' },
          tables: ['big'],
          onProgress: (p) => {
            if (p.phase === 'exporting' && p.rows > 0 && !killed) {
              killed = true;
              void admin.query(
                `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'exit-plan' AND pid <> pg_backend_pid()`,
              );
            }
          },
        }),
        /^.*during the export .*; no archive was written, and no blob was left in the container\.$/,
      );
    } finally {
      await admin.end();
    }
    assert.ok(killed);
    assert.deepEqual(await blobs('failed-exports'), []);
  });
});
