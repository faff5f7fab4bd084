import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CancelledError, ExitPlanError, describeWriteError, systemCode } from '../shared/errors';
import { formatBytes } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import { PartialFile } from '../shared/partialFile';
import type { StorageAccount } from './connection';
import { describeAzureError } from './listing';

export interface DownloadProgress {
  bytes: number;
  total: number;
}

export interface DownloadedBlob {
  /** Where the blob was written: `<folder>/<name>`, or `<stem>-2<ext>`… when that name was taken. */
  file: string;
  bytes: number;
}

/**
 * Downloads one blob into `folder` under its own name, through a `.partial` file given its final name only
 * when the bytes on disk are as many as the blob holds (never over an existing file). Stops on `signal`; a
 * failure or cancel removes the partial file.
 */
export async function downloadBlob(
  account: StorageAccount,
  container: string,
  blob: string,
  folder: string,
  options: OperationOptions<DownloadProgress> = {},
): Promise<DownloadedBlob> {
  const { signal } = options;
  const name = path.basename(blob) || 'blob';
  const client = account.service.getContainerClient(container).getBlobClient(blob);
  let partial: PartialFile | undefined;
  let total = 0;
  try {
    const response = await client.download(0, undefined, {
      abortSignal: signal,
      onProgress: (p) => options.onProgress?.({ bytes: p.loadedBytes, total }),
    });
    total = response.contentLength ?? 0;
    partial = await PartialFile.create(path.join(folder, name), { log: options.log });
    if (!response.readableStreamBody) throw new ExitPlanError(`Azure Storage sent no content for ${container}/${blob}.`);
    options.onProgress?.({ bytes: 0, total });
    await pipeline(response.readableStreamBody, partial.stream, { signal });
    await partial.closed();
    const written = (await fs.promises.stat(partial.partialPath)).size;
    if (written !== total) {
      throw new ExitPlanError(
        `${container}/${blob} arrived with ${formatBytes(written)} instead of ${formatBytes(total)}; the partial file was removed.`,
      );
    }
    const file = await partial.commit();
    return { file, bytes: written };
  } catch (err) {
    await partial?.discard();
    if (signal?.aborted) throw new CancelledError(`Download of ${blob} cancelled; the partial file was removed.`);
    if (err instanceof ExitPlanError) throw err;
    const writing = describeWriteError(err, path.join(folder, name));
    if (writing) throw new ExitPlanError(writing, systemCode(err), { cause: err });
    if ((err as { statusCode?: number }).statusCode === 404)
      throw new ExitPlanError(`The blob "${blob}" does not exist in ${container} (any more).`, '404', { cause: err });
    throw describeAzureError(err, account, container);
  }
}

/** `1.2 MB of 4.5 MB`: what a download shows while it runs. */
export function describeDownloadProgress(p: DownloadProgress): string {
  return `${formatBytes(p.bytes)} of ${formatBytes(p.total)}`;
}

export function downloadProgressFraction(p: DownloadProgress): number | undefined {
  return p.total > 0 ? p.bytes / p.total : undefined;
}
