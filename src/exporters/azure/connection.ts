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

/** An endpoint from the user: an http(s) URL, or one sentence naming the setting it came from. */
function checkEndpoint(value: string, setting: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new ExitPlanError(`The ${setting} ${JSON.stringify(value)} is not a URL: expected e.g. https://ACCOUNT.blob.core.windows.net.`);
  }
  return value;
}

/** Parses `Key=Value;…`; values may contain `=` (keys end in `==`). */
function parseConnectionString(cs: string): Record<string, string> {
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
    const proxy =
      kv.developmentstorageproxyuri && checkEndpoint(kv.developmentstorageproxyuri, "connection string's DevelopmentStorageProxyUri");
    return fromKey(EMULATOR_ACCOUNT, EMULATOR_KEY, proxy ? `${trimSlash(proxy)}:10000/${EMULATOR_ACCOUNT}` : EMULATOR_ENDPOINT);
  }
  const accountName = kv.accountname;
  const accountKey = kv.accountkey;
  if (!accountName || !accountKey) {
    throw new ExitPlanError(
      kv.sharedaccesssignature
        ? 'This connection string holds a SAS, not an account key: ' +
            'Exit Plan needs AccountName and AccountKey to sign links (or sign in with Microsoft).'
        : 'The connection string needs AccountName and AccountKey (or UseDevelopmentStorage=true for the emulator).',
    );
  }
  const endpoint = kv.blobendpoint
    ? checkEndpoint(kv.blobendpoint, "connection string's BlobEndpoint")
    : checkEndpoint(
        `${kv.defaultendpointsprotocol || 'https'}://${accountName}.blob.${kv.endpointsuffix || 'core.windows.net'}`,
        "blob endpoint made from the connection string's DefaultEndpointsProtocol, AccountName and EndpointSuffix",
      );
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
      return fromKey(connection.accountName, connection.accountKey, connection.endpoint && checkEndpoint(connection.endpoint, 'endpoint'));
    case 'emulator':
      return fromKey(EMULATOR_ACCOUNT, EMULATOR_KEY, checkEndpoint(connection.endpoint ?? EMULATOR_ENDPOINT, 'emulator endpoint'));
    case 'token': {
      const endpoint = trimSlash(
        checkEndpoint(connection.endpoint ?? `https://${connection.accountName}.blob.core.windows.net`, 'endpoint'),
      );
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
  if (!parsed.search.includes('sig='))
    throw new ExitPlanError('The upload URL has no SAS (no sig= parameter): create one with read, create and write permission.');
  // The archive is committed with create + write, and verified (and its name chosen) by reading: all three are needed.
  const sp = parsed.searchParams.get('sp');
  if (sp !== null && (!sp.includes('r') || !(sp.includes('c') || sp.includes('w')))) {
    throw new ExitPlanError(
      `The upload SAS allows only "${sp}" ` +
        `but needs read, create and write (sp=rcw): the archive is written with create + write and ` +
        `verified by reading it back; nothing was exported.`,
    );
  }
  const segments = parsed.pathname.split('/').filter(Boolean);
  const container = isLocalHost(url) ? segments[1] : segments[0];
  if (!container) throw new ExitPlanError('The upload URL names no container.');
  return { containerUrl: url, container: decodeURIComponent(container), anonymous: new AnonymousCredential() };
}

/** Safe to show and log: the account and endpoint, never a key or signature. */
export function describeStorageAccount(account: StorageAccount): string {
  return account.isEmulator ? `${account.accountName} (emulator at ${account.endpoint})` : account.accountName;
}
