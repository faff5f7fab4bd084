import * as assert from 'node:assert/strict';
import { CancelledError, azure } from '../src/exporters';
import { azurite } from './helpers/azure';

// Its own containers (named ops-…): azure.test.ts lists the account's containers and runs first.
describe('Azure Storage: the operation contract (real Azurite)', () => {
  let account: azure.StorageAccount;

  before(async () => {
    const emu = await azurite();
    account = azure.openStorageAccount({ kind: 'connectionString', connectionString: emu.connectionString });
    const size = account.service.getContainerClient('ops-size');
    await size.createIfNotExists();
    for (let i = 0; i < 3; i++) await size.getBlockBlobClient(`f/${i}.bin`).upload('x'.repeat(1000), 1000);
    await account.service.getContainerClient('ops-upload').createIfNotExists();
  });

  it('describes a size count while it runs and when it is done, in the same words', async () => {
    const texts: string[] = [];
    const size = await azure.computeSize(account, 'ops-size', 'f/', { onProgress: (p) => texts.push(azure.describeSizeProgress(p)) });
    assert.deepEqual(size, { blobs: 3, bytes: 3000 });
    assert.deepEqual(texts, ['3 blobs, 3.0 KB so far']);
    assert.equal(azure.describeSize(size), '3 blobs, 3.0 KB');
    assert.equal(azure.describeSizeProgress({ blobs: 1, bytes: 0 }), '1 blob, 0 B so far');
  });

  it('signing a link stops on its signal and says no link was made', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      azure.generateSas(account, { container: 'ops-size', signal: controller.signal }),
      (err: Error) => err instanceof CancelledError && err.message === 'Signing cancelled; no link was made.',
    );
  });

  it('an upload that finds its name taken logs the name it takes instead; its start stops on its signal', async () => {
    const container = account.service.getContainerClient('ops-upload');
    await container.getBlockBlobClient('archive.zip').upload('taken', 5);
    const lines: string[] = [];
    const upload = await azure.BlobUpload.start({ account, container: 'ops-upload' }, 'archive.zip', { log: (line) => lines.push(line) });
    assert.equal(upload.name, 'archive-2.zip');
    assert.deepEqual(lines, [`archive.zip is taken in container "ops-upload" in ${account.accountName}: uploading as archive-2.zip`]);
    await upload.discard();
    assert.equal(await container.getBlockBlobClient('archive-2.zip').exists(), false, 'a discarded upload leaves no blob');

    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      azure.BlobUpload.start({ account, container: 'ops-upload' }, 'other.zip', { signal: controller.signal }),
      (err: Error) => err instanceof CancelledError,
    );
  });
});
