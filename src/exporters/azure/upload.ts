import { PassThrough, Readable } from 'node:stream';
import { ContainerClient, type BlockBlobClient } from '@azure/storage-blob';
import yauzl from 'yauzl';
import { CancelledError, ExitPlanError, throwIfAborted } from '../shared/errors';
import type { OperationOptions } from '../shared/operation';
import { maskSecrets } from '../shared/mask';
import { containerFromSasUrl, type StorageAccount } from './connection';

/** Where an upload goes: a container of a connected account, or a container URL with a write SAS. */
export type UploadTarget = { account: StorageAccount; container: string } | { containerSasUrl: string };

/** Bounded memory: at most BUFFER × (CONCURRENCY + 1) bytes are held while blocks upload. */
const BUFFER = 8 * 1024 * 1024;
const CONCURRENCY = 2;

function containerClient(target: UploadTarget): { client: ContainerClient; label: string } {
  if ('containerSasUrl' in target) {
    const { container } = containerFromSasUrl(target.containerSasUrl);
    return { client: new ContainerClient(target.containerSasUrl), label: `container "${container}"` };
  }
  return {
    client: target.account.service.getContainerClient(target.container),
    label: `container "${target.container}" in ${target.account.accountName}`,
  };
}

/**
 * A blob written as a stream of blocks and committed only when the stream ends: until then nothing
 * exists under its name, and a failure leaves no blob. Never overwrites: a taken name gets `-2`, `-3`, …,
 * and the commit itself is conditional (If-None-Match: *).
 */
export class BlobUpload {
  readonly stream = new PassThrough({ highWaterMark: 1 << 20 });
  private readonly abort = new AbortController();
  private readonly done: Promise<unknown>;
  private committed = false;

  private constructor(
    readonly blob: BlockBlobClient,
    readonly label: string,
  ) {
    this.done = blob.uploadStream(this.stream, BUFFER, CONCURRENCY, {
      abortSignal: this.abort.signal,
      blobHTTPHeaders: { blobContentType: 'application/zip' },
      conditions: { ifNoneMatch: '*' },
    });
    this.done.then(
      () => (this.committed = true),
      () => undefined,
    );
  }

  /**
   * Picks a free name (`wantedName`, else `-2`, `-3`, …) and starts the upload. The operation contract: `signal`
   * stops the name checks (the upload itself stops with `discard`), `log` says when the wanted name was taken.
   */
  static async start(target: UploadTarget, wantedName: string, options: OperationOptions<never> = {}): Promise<BlobUpload> {
    const { signal, log } = options;
    const { client, label } = containerClient(target);
    let name = wantedName;
    try {
      throwIfAborted(signal);
      const exists = (blob: string) => client.getBlockBlobClient(blob).exists({ abortSignal: signal });
      for (let n = 2; await exists(name); n++) name = wantedName.replace(/(\.zip)?$/, `-${n}$1`);
    } catch (err) {
      if (signal?.aborted) throw new CancelledError(`The upload to ${label} was cancelled before it started.`);
      throw uploadError(err, label);
    }
    if (name !== wantedName) log?.(`${wantedName} is taken in ${label}: uploading as ${name}`);
    return new BlobUpload(client.getBlockBlobClient(name), label);
  }

  get name(): string {
    return this.blob.name;
  }

  /** The blob's URL without any SAS: safe to show. */
  get publicUrl(): string {
    return this.blob.url.split('?')[0];
  }

  /** Rejects with the upload's error as soon as it fails. */
  get failed(): Promise<never> {
    return this.done.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => Promise.reject(uploadError(err, this.label)),
    );
  }

  /** Waits until the blob is committed (after the stream has been ended). */
  async finished(): Promise<void> {
    try {
      await this.done;
    } catch (err) {
      throw uploadError(err, this.label);
    }
  }

  async size(): Promise<number> {
    return (await this.blob.getProperties()).contentLength ?? 0;
  }

  /** Stops the upload; deletes the blob if it had already been committed. */
  async discard(): Promise<void> {
    this.abort.abort();
    // With an error: the SDK's block scheduler waits for 'end' or 'error', never for a bare 'close'.
    this.stream.destroy(new Error('The upload was stopped.'));
    await this.done.catch(() => undefined);
    if (this.committed) await this.blob.deleteIfExists().catch(() => undefined);
  }

  /** Opens the committed blob as a zip, reading byte ranges on demand (for verification). */
  async openZip(): Promise<yauzl.ZipFile> {
    const size = await this.size();
    const blob = this.blob;
    class BlobReader extends yauzl.RandomAccessReader {
      _readStreamForRange(start: number, end: number): Readable {
        const out = new PassThrough();
        blob.download(start, end - start).then(
          (res) => {
            const body = res.readableStreamBody as Readable | undefined;
            if (!body) out.destroy(new Error('empty download'));
            else body.on('error', (e) => out.destroy(e)).pipe(out);
          },
          (err: unknown) => out.destroy(err as Error),
        );
        return out;
      }
    }
    return yauzl.fromRandomAccessReaderPromise(new BlobReader(), size, { lazyEntries: true, validateEntrySizes: true, autoClose: false });
  }
}

function uploadError(err: unknown, label: string): ExitPlanError {
  if (err instanceof ExitPlanError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string; name?: string };
  if (e.name === 'AbortError') return new ExitPlanError(`The upload to ${label} was stopped.`, 'ABORTED', { cause: err });
  const why =
    e.statusCode === 403
      ? 'access was refused (HTTP 403): the SAS or key must allow read, create and write (the archive is verified by reading it back)'
      : e.statusCode === 404
        ? 'the container does not exist'
        : e.statusCode === 409 || e.statusCode === 412
          ? 'a blob with that name appeared meanwhile, and it is never overwritten'
          : maskSecrets((e.message ?? String(err)).split('\n')[0]);
  return new ExitPlanError(`Uploading to ${label} failed: ${why}.`, e.code, { cause: err });
}
