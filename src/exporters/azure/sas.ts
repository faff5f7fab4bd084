import {
  BlobSASPermissions,
  ContainerSASPermissions,
  SASProtocol,
  generateBlobSASQueryParameters,
  type UserDelegationKey,
} from '@azure/storage-blob';
import { CancelledError, ExitPlanError, throwIfAborted } from '../shared/errors';
import type { OperationOptions } from '../shared/operation';
import type { StorageAccount } from './connection';
import { describeAzureError } from './listing';

export const SAS_EXPIRY_DEFAULT_MINUTES = 120;
export const SAS_EXPIRY_MAX_MINUTES = 10080;
/** Start time this far back, for clocks that run behind. */
const CLOCK_SKEW_MS = 5 * 60_000;
const CANCELLED = 'Signing cancelled; no link was made.';

/** What to sign; `signal` (the operation contract) stops the requests it makes. Signing reports no progress. */
export interface SasRequest extends OperationOptions<never> {
  container: string;
  /** A virtual folder (prefix) inside the container, e.g. `photos/2024/`. */
  folder?: string;
  /** One blob instead of a folder: the link reads only that blob (permission `r`). */
  blob?: string;
  expiryMinutes?: number;
  /** The time the link is made (tests move it back to get an already-expiring link). */
  now?: Date;
}

export interface SasLink {
  /** The container's (or folder's) URL with the SAS: the secret. */
  url: string;
  /** The container URL with the SAS (tools such as rclone want the container). */
  containerUrl: string;
  account: string;
  container: string;
  folder?: string;
  /** Set when the link is to one blob. */
  blob?: string;
  startsOn: Date;
  expiresOn: Date;
  /** Read and list for a container or folder; read only for one blob. */
  permissions: 'rl' | 'r';
  /** How the link was signed. */
  signedWith: 'account key' | 'user delegation key';
}

/** The expiry the user asked for, or one clear sentence on why it cannot be used. */
export function checkExpiryMinutes(value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > SAS_EXPIRY_MAX_MINUTES) {
    throw new ExitPlanError(
      `The SAS expiry must be a whole number of minutes from 1 to ${SAS_EXPIRY_MAX_MINUTES} (7 days); got ${JSON.stringify(value)}.`,
    );
  }
  return n;
}

/** Normalises a folder prefix: no leading slash, one trailing slash; empty for the whole container. */
export function normaliseFolder(folder: string | undefined): string {
  const f = (folder ?? '').replace(/^\/+/, '');
  return f === '' || f.endsWith('/') ? f : `${f}/`;
}

/**
 * Encodes a blob path for a URL, keeping the `/` separators. `!'()*` are encoded too: azcopy reads a bare `*`
 * in the path as a wildcard (and asks for `%2A`); Azure decodes them all alike.
 */
function encodeBlobPath(path: string): string {
  return path
    .split('/')
    .map((segment) => encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`))
    .join('/');
}

/**
 * A read + list SAS for a container (or read only, for one blob), time-limited, HTTPS only (HTTP allowed only for the local emulator),
 * starting 5 minutes back for clock skew. Signed with the account key, or, for a signed-in account whose
 * shared-key access is disabled, with a user delegation key (Microsoft Entra ID).
 */
export async function generateSas(account: StorageAccount, request: SasRequest): Promise<SasLink> {
  const { signal } = request;
  const minutes = checkExpiryMinutes(request.expiryMinutes ?? SAS_EXPIRY_DEFAULT_MINUTES);
  const now = request.now ?? new Date();
  const startsOn = new Date(now.getTime() - CLOCK_SKEW_MS);
  const expiresOn = new Date(now.getTime() + minutes * 60_000);
  const folder = normaliseFolder(request.folder);
  // A link to a container that does not exist reads nothing: say so instead.
  throwIfAborted(signal, CANCELLED);
  let exists: boolean;
  const containerClient = account.service.getContainerClient(request.container);
  try {
    exists = await (request.blob ? containerClient.getBlobClient(request.blob) : containerClient).exists({ abortSignal: signal });
  } catch (err) {
    if (signal?.aborted) throw new CancelledError(CANCELLED);
    throw describeAzureError(err, account, request.container);
  }
  if (!exists) {
    throw new ExitPlanError(
      request.blob
        ? `The blob "${request.blob}" does not exist in ${request.container}; no link was made.`
        : `The container "${request.container}" does not exist in ${account.accountName}; no link was made.`,
    );
  }
  const values = {
    containerName: request.container,
    ...(request.blob
      ? { blobName: request.blob, permissions: BlobSASPermissions.parse('r') }
      : { permissions: ContainerSASPermissions.parse('rl') }),
    startsOn,
    expiresOn,
    protocol: account.isEmulator ? SASProtocol.HttpsAndHttp : SASProtocol.Https,
  };
  let query: string;
  let signedWith: SasLink['signedWith'];
  if (account.sharedKey) {
    query = generateBlobSASQueryParameters(values, account.sharedKey).toString();
    signedWith = 'account key';
  } else if (account.token) {
    let key: UserDelegationKey;
    try {
      key = await account.service.getUserDelegationKey(startsOn, expiresOn, { abortSignal: signal });
    } catch (err) {
      if (signal?.aborted) throw new CancelledError(CANCELLED);
      throw describeAzureError(err, account, request.container);
    }
    query = generateBlobSASQueryParameters(values, key, account.accountName).toString();
    signedWith = 'user delegation key';
  } else {
    throw new ExitPlanError('This connection can neither sign with an account key nor with a user delegation key.');
  }
  const containerBase = `${account.endpoint}/${encodeBlobPath(request.container)}`;
  const path = request.blob ?? folder;
  return {
    url: `${containerBase}${path ? `/${encodeBlobPath(path)}` : ''}?${query}`,
    containerUrl: `${containerBase}?${query}`,
    account: account.accountName,
    container: request.container,
    folder: request.blob ? undefined : folder || undefined,
    ...(request.blob && { blob: request.blob }),
    startsOn,
    expiresOn,
    permissions: request.blob ? 'r' : 'rl',
    signedWith,
  };
}

/** The URL of a blob without any SAS: what "Copy URL" gives (it reads only where the container is public). */
export function blobUrl(account: StorageAccount, container: string, blob: string): string {
  return `${account.endpoint}/${encodeBlobPath(container)}/${encodeBlobPath(blob)}`;
}
