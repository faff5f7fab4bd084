import { CancelledError, ExitPlanError, throwIfAborted } from '../shared/errors';
import { formatBytes, plural } from '../shared/format';
import type { OperationOptions } from '../shared/operation';
import type { StorageAccount } from './connection';

export const PAGE_SIZE = 100;

export interface ContainerItem {
  name: string;
  lastModified?: Date;
  /** Anonymous read access: `container` (list and read), `blob` (read by URL), undefined (private). */
  publicAccess?: 'container' | 'blob';
}

export interface BlobItem {
  name: string;
  size: number;
  lastModified?: Date;
}

export interface Page<T> {
  items: T[];
  /** Pass back to get the next page; undefined on the last page. */
  continuation?: string;
}

/** One page of containers. */
export async function listContainers(account: StorageAccount, continuation?: string, pageSize = PAGE_SIZE): Promise<Page<ContainerItem>> {
  try {
    for await (const page of account.service.listContainers().byPage({ continuationToken: continuation, maxPageSize: pageSize })) {
      return {
        items: page.containerItems.map((c) => ({
          name: c.name,
          lastModified: c.properties.lastModified,
          ...(c.properties.publicAccess && { publicAccess: c.properties.publicAccess }),
        })),
        continuation: page.continuationToken || undefined,
      };
    }
    return { items: [] };
  } catch (err) {
    throw describeAzureError(err, account);
  }
}

/** One page of a virtual folder: sub-folders (`/` delimiter) and blobs directly inside it. */
export async function listFolder(
  account: StorageAccount,
  container: string,
  prefix: string,
  continuation?: string,
  pageSize = PAGE_SIZE,
): Promise<Page<{ kind: 'folder'; prefix: string } | ({ kind: 'blob' } & BlobItem)>> {
  try {
    const client = account.service.getContainerClient(container);
    for await (const page of client
      .listBlobsByHierarchy('/', { prefix })
      .byPage({ continuationToken: continuation, maxPageSize: pageSize })) {
      const folders = (page.segment.blobPrefixes ?? []).map((p) => ({ kind: 'folder' as const, prefix: p.name }));
      const blobs = page.segment.blobItems.map((b) => ({
        kind: 'blob' as const,
        name: b.name,
        size: b.properties.contentLength ?? 0,
        lastModified: b.properties.lastModified,
      }));
      return { items: [...folders, ...blobs], continuation: page.continuationToken || undefined };
    }
    return { items: [] };
  } catch (err) {
    throw describeAzureError(err, account, container);
  }
}

export interface SizeProgress {
  blobs: number;
  bytes: number;
}

/**
 * Counts blobs and bytes under a container or folder, page by page (1,000 at a time): memory stays flat
 * however many blobs there are. Stops on `signal`.
 */
export async function computeSize(
  account: StorageAccount,
  container: string,
  prefix = '',
  options: OperationOptions<SizeProgress> = {},
): Promise<SizeProgress> {
  const total = { blobs: 0, bytes: 0 };
  const client = account.service.getContainerClient(container);
  try {
    // 1,000 a page: each parsed page is garbage once counted, so a smaller page keeps the peak lower.
    for await (const page of client
      .listBlobsFlat({ prefix: prefix || undefined, abortSignal: options.signal })
      .byPage({ maxPageSize: 1000 })) {
      for (const blob of page.segment.blobItems) {
        total.blobs++;
        total.bytes += blob.properties.contentLength ?? 0;
      }
      options.onProgress?.({ ...total });
      throwIfAborted(options.signal);
    }
  } catch (err) {
    if (options.signal?.aborted) throw new CancelledError(`Size count cancelled after ${total.blobs} blobs.`);
    throw describeAzureError(err, account, container);
  }
  return total;
}

/** One sentence for a storage error. */
export function describeAzureError(err: unknown, account: StorageAccount, container?: string): ExitPlanError {
  if (err instanceof ExitPlanError) return err;
  const e = err as { statusCode?: number; code?: string; message?: string };
  const where = container ? `container "${container}" in ${account.accountName}` : `storage account ${account.accountName}`;
  const make = (text: string) => new ExitPlanError(text, e.code ?? (e.statusCode ? String(e.statusCode) : undefined), { cause: err });
  if (e.code === 'ECONNREFUSED') return make(`Cannot reach ${account.endpoint}: the connection was refused.`);
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return make(`Cannot reach ${account.endpoint}: the host was not found.`);
  switch (e.statusCode) {
    case 403:
      return make(`Access to ${where} was refused (HTTP 403): check the account key, or that shared-key access is allowed.`);
    case 404:
      return make(
        container
          ? `The container "${container}" does not exist in ${account.accountName}.`
          : `Nothing answers as a storage account at ${account.endpoint} (HTTP 404): check the account name or endpoint.`,
      );
    default:
      return make(`Azure Storage error for ${where}: ${(e.message ?? String(err)).split('\n')[0]}`);
  }
}

/** `1 blob, 2.1 MB`, `12,345 blobs, 3.4 GB`. */
export function describeSize(size: SizeProgress): string {
  return `${plural(size.blobs, 'blob')}, ${formatBytes(size.bytes)}`;
}

/** `12,345 blobs, 3.4 GB so far`: what a size count shows while it runs. */
export function describeSizeProgress(p: SizeProgress): string {
  return `${describeSize(p)} so far`;
}
