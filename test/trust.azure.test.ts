// Issue 10: Azure items as a user meets them through the built CLI (node dist/cli.js), against real Azurite,
// real PostgreSQL and the real azcopy.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ContainerSASPermissions, SASProtocol, generateBlobSASQueryParameters, type StorageSharedKeyCredential } from '@azure/storage-blob';
import { azure, type PgConnectionOptions } from '../src/exporters';
import { EMULATOR_KEY } from '../src/exporters/azure/connection';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tempDir } from './helpers/archive';
import { azcopyEnv, azurite } from './helpers/azure';
import { CLI, runCli } from './helpers/backups';
import { postgres } from './helpers/postgres';

describe('trust: Azure Storage through the CLI (real Azurite and azcopy)', () => {
  let account: azure.StorageAccount;
  let connectionString: string;

  before(async () => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is missing: run `npm run build` first');
    const emu = await azurite();
    connectionString = emu.connectionString;
    account = azure.openStorageAccount({ kind: 'connectionString', connectionString });
  });

  async function blobs(container: string): Promise<string[]> {
    const names: string[] = [];
    for await (const b of account.service.getContainerClient(container).listBlobsFlat()) names.push(b.name);
    return names;
  }

  function containerSas(container: string, permissions: string): string {
    const sas = generateBlobSASQueryParameters(
      {
        containerName: container,
        permissions: ContainerSASPermissions.parse(permissions),
        expiresOn: new Date(Date.now() + 3_600_000),
        protocol: SASProtocol.HttpsAndHttp,
      },
      account.sharedKey as StorageSharedKeyCredential,
    ).toString();
    return `${account.endpoint}/${container}?${sas}`;
  }

  describe('warehouse export --upload with a SAS', () => {
    let db: PgConnectionOptions;

    before(async () => {
      const pg = await postgres();
      db = await pg.createDatabase('trust_azure_upload');
      const c = await pg.client('trust_azure_upload');
      await c.query(
        `CREATE TABLE public.readings (id int, value numeric); ` +
          `INSERT INTO public.readings SELECT g, g / 7.0 FROM generate_series(1, 5000) g;`,
      );
      await c.end();
      await account.service.getContainerClient('upload-perms').createIfNotExists();
    });

    it('says before exporting that a create + write SAS also needs read, and writes nothing', async () => {
      const url = containerSas('upload-perms', 'cw');
      const out = tempDir();
      const r = await runCli(['warehouse', 'export', '--db', connectionUrl(db), '--upload', url, '--out', out, '--quiet'], {
        PGPASSWORD: db.password,
      });
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        'exit-plan: The upload SAS allows only "cw" ' +
          'but needs read, create and write (sp=rcw): the archive is written with create + write and ' +
          'verified by reading it back; nothing was exported.\n',
      );
      assert.equal(r.stdout, '');
      assert.deepEqual(listFiles(out), []);
      assert.deepEqual(await blobs('upload-perms'), []);
    });

    it('uploads and verifies with a read + create + write SAS', async () => {
      const r = await runCli(
        ['warehouse', 'export', '--db', connectionUrl(db), '--upload', containerSas('upload-perms', 'rcw'), '--json', '--quiet'],
        { PGPASSWORD: db.password },
      );
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { uploaded: { blob: string }; tables: { name: string; rows: number }[] };
      assert.deepEqual(
        json.tables.map((t) => [t.name, t.rows]),
        [['readings', 5000]],
      );
      assert.deepEqual(await blobs('upload-perms'), [json.uploaded.blob]);
    });
  });

  it('names the BlobEndpoint setting when it is not a URL', async () => {
    const cs = `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${EMULATOR_KEY};BlobEndpoint=not a url;`;
    for (const command of [['containers'], ['sas', '--container', 'x'], ['size', '--container', 'x']]) {
      const r = await runCli(['azure', ...command, '--connection-string', cs]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `exit-plan: The connection string's BlobEndpoint "not a url" is not a URL: expected e.g. https://ACCOUNT.blob.core.windows.net.\n`,
      );
    }
  });

  it('azure sas for a container that does not exist fails in one sentence, with no link', async () => {
    const r = await runCli(['azure', 'sas', '--connection-string', connectionString, '--container', 'no-such-container']);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'exit-plan: The container "no-such-container" does not exist in devstoreaccount1; no link was made.\n');
  });

  it('gives an azcopy command that copies a folder whose name holds * and other URL-special characters', async () => {
    const container = account.service.getContainerClient('special-folders');
    await container.createIfNotExists();
    const content: Record<string, string> = {
      'raw*2024/a*b.csv': 'star',
      "raw*2024/it's (1)!.txt": 'quote',
      'rawX2024/not-this.csv': 'a sibling that a wildcard would match',
      'raw*2024X/not-this-either.csv': 'a prefix match that the folder must exclude',
    };
    for (const [name, body] of Object.entries(content)) await container.getBlockBlobClient(name).upload(body, body.length);
    const cases: [string, string[]][] = [
      ['raw*2024', ['raw*2024/a*b.csv', "raw*2024/it's (1)!.txt"]],
      ["it's (1)!", ["it's (1)!/x.csv"]],
    ];
    await container.getBlockBlobClient("it's (1)!/x.csv").upload('x', 1);
    for (const [folder, expected] of cases) {
      const r = await runCli([
        'azure',
        'sas',
        '--connection-string',
        connectionString,
        '--container',
        'special-folders',
        '--folder',
        folder,
        '--json',
      ]);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(r.stdout) as { url: string; commands: { local: string } };
      const dest = tempDir('exit-plan-dl-');
      // The printed command, run as printed by bash, with the real azcopy.
      execFileSync('bash', ['-c', json.commands.local], { cwd: dest, env: azcopyEnv().env, stdio: 'pipe' });
      const got = path.join(dest, 'special-folders-export');
      assert.deepEqual(listFiles(got), expected);
      for (const name of expected) assert.equal(fs.readFileSync(path.join(got, name), 'utf8'), content[name] ?? 'x');
    }
  });
});
