import type { TokenCredential } from '@azure/core-auth';
import { AnonymousCredential, BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { ExitPlanError } from '../shared/errors';

/** Azurite's public development account (the same in every emulator; not a secret). */
export const EMULATOR_ACCOUNT = 'devstoreaccount1';
export const EMULATOR_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const EMULATOR_ENDPOINT = `http://127.0.0.1:10000/${EMULATOR_ACCOUNT}`;

/** How to reach a storage account. Keys and connection strings are held in memory only (SecretStorage). */
export type AzureConnection =
  | { kind: 'connectionString'; connectionString: string }
  | { kind: 'accountKey'; accountName: string; accountKey: string; endpoint?: string }
  /** The local emulator (Azurite); `endpoint` like http://127.0.0.1:10000/devstoreaccount1. */
  | { kind: 'emulator'; endpoint?: string }
  /** Microsoft Entra sign-in (shared-key access disabled): SAS come from a user delegation key. */
  | { kind: 'token'; accountName: string; credential: TokenCredential; endpoint?: string };

/** A connection made ready: the client plus what signing needs. */
export interface StorageAccount {
  service: BlobServiceClient;
  accountName: string;
  /** The blob endpoint without a trailing slash, e.g. https://acct.blob.core.windows.net. */
  endpoint: string;
  isEmulator: boolean;
  sharedKey?: StorageSharedKeyCredential;
  token?: TokenCredential;
}

function isLocalHost(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || host === '::1';
  } catch {
    return false;
  }
}

function trimSlash(s: string): string {
  return s.replace(/\/+$/, '');
}

/** Parses `Key=Value;…`; values may contain `=` (keys end in `==`). */
export function parseConnectionString(cs: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of cs.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    out[part.slice(0, at).trim().toLowerCase()] = part.slice(at + 1).trim();
  }
  return out;
}

function fromConnectionString(cs: string): StorageAccount {
  const kv = parseConnectionString(cs);
  if (kv.usedevelopmentstorage?.toLowerCase() === 'true') {
    const proxy = kv.developmentstorageproxyuri;
    return fromKey(EMULATOR_ACCOUNT, EMULATOR_KEY, proxy ? `${trimSlash(proxy)}:10000/${EMULATOR_ACCOUNT}` : EMULATOR_ENDPOINT);
  }
  const accountName = kv.accountname;
  const accountKey = kv.accountkey;
  if (!accountName || !accountKey) {
    throw new ExitPlanError(
      kv.sharedaccesssignature
        ? 'This connection string holds a SAS, not an account key: Exit Plan needs AccountName and AccountKey to sign links (or sign in with Microsoft).'
        : 'The connection string needs AccountName and AccountKey (or UseDevelopmentStorage=true for the emulator).',
    );
  }
  const endpoint = kv.blobendpoint
    ? kv.blobendpoint
    : `${kv.defaultendpointsprotocol || 'https'}://${accountName}.blob.${kv.endpointsuffix || 'core.windows.net'}`;
  return fromKey(accountName, accountKey, endpoint);
}

function fromKey(accountName: string, accountKey: string, endpoint?: string): StorageAccount {
  const url = trimSlash(endpoint ?? `https://${accountName}.blob.core.windows.net`);
  let sharedKey: StorageSharedKeyCredential;
  try {
    sharedKey = new StorageSharedKeyCredential(accountName, accountKey);
  } catch {
    throw new ExitPlanError(`The account key for ${accountName} is not valid base64.`);
  }
  return {
    service: new BlobServiceClient(url, sharedKey),
    accountName,
    endpoint: url,
    isEmulator: isLocalHost(url) || accountName === EMULATOR_ACCOUNT,
    sharedKey,
  };
}

export function openStorageAccount(connection: AzureConnection): StorageAccount {
  switch (connection.kind) {
    case 'connectionString':
      return fromConnectionString(connection.connectionString);
    case 'accountKey':
      return fromKey(connection.accountName, connection.accountKey, connection.endpoint);
    case 'emulator':
      return fromKey(EMULATOR_ACCOUNT, EMULATOR_KEY, connection.endpoint ?? EMULATOR_ENDPOINT);
    case 'token': {
      const endpoint = trimSlash(connection.endpoint ?? `https://${connection.accountName}.blob.core.windows.net`);
      return {
        service: new BlobServiceClient(endpoint, connection.credential),
        accountName: connection.accountName,
        endpoint,
        isEmulator: isLocalHost(endpoint),
        token: connection.credential,
      };
    }
  }
}

/** A container reached through a SAS URL (for uploads from the CLI): no key involved. */
export function containerFromSasUrl(url: string): { containerUrl: string; container: string; anonymous: AnonymousCredential } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ExitPlanError('The upload URL is not valid: expected https://<account>.blob.core.windows.net/<container>?<SAS>.');
  }
  if (!parsed.search.includes('sig=')) throw new ExitPlanError('The upload URL has no SAS (no sig= parameter): create one with write and create permission.');
  const segments = parsed.pathname.split('/').filter(Boolean);
  const container = isLocalHost(url) ? segments[1] : segments[0];
  if (!container) throw new ExitPlanError('The upload URL names no container.');
  return { containerUrl: url, container: decodeURIComponent(container), anonymous: new AnonymousCredential() };
}

/** Safe to show and log: the account and endpoint, never a key or signature. */
export function describeStorageAccount(account: StorageAccount): string {
  return account.isEmulator ? `${account.accountName} (emulator at ${account.endpoint})` : account.accountName;
}
