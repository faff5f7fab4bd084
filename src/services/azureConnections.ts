import * as vscode from 'vscode';
import { ExitPlanError, azure } from '../exporters';
import { UserSettingList, settingText } from './userSettingList';

const AZURE_PROFILE_KINDS = ['connectionString', 'accountKey', 'emulator', 'microsoft'] as const;
export type AzureProfileKind = (typeof AZURE_PROFILE_KINDS)[number];

/** A saved Azure Storage connection. Never holds the connection string or key: those live in SecretStorage. */
export interface AzureProfile {
  name: string;
  kind: AzureProfileKind;
  /** Required for `accountKey` and `microsoft`; shown for the others when known. */
  accountName?: string;
  /** Blob endpoint, e.g. https://acct.blob.core.windows.net or the emulator's http://127.0.0.1:10000/devstoreaccount1. */
  endpoint?: string;
}

type TokenCredential = Extract<azure.AzureConnection, { kind: 'token' }>['credential'];

const SECTION = 'exitPlan';
const KEY = 'azure.connections';
const AZURE_CONNECTIONS_SETTING = `${SECTION}.${KEY}`;
/** The scope for Blob Storage data access with a Microsoft Entra account. */
export const STORAGE_SCOPES = ['https://storage.azure.com/user_impersonation'];
/**
 * How long the Azure SDK may reuse a token before asking again. VS Code refreshes its sessions itself, so
 * each ask returns a token that is still valid; asking often keeps the SDK from holding a stale one.
 */
const TOKEN_REUSE_MS = 10 * 60_000;

const secretKey = (name: string) => `exitPlan.azure.secret.${name}`;

/** The code of the error thrown when a connection's secret is not in SecretStorage. */
export const NO_SECRET = 'NO_SECRET';

/** Whether connections of this kind keep a secret (a connection string or an account key) in SecretStorage. */
export function needsSecret(kind: AzureProfileKind): boolean {
  return kind === 'connectionString' || kind === 'accountKey';
}

/**
 * Azure connection profiles in the user setting `exitPlan.azure.connections` (global scope only, so a
 * workspace can never point a saved key at another endpoint) and their secrets in SecretStorage.
 */
export class AzureConnectionStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  /** Opened accounts by profile name, so listings reuse one client; dropped whenever a profile or secret changes. */
  private readonly accounts = new Map<string, Promise<azure.StorageAccount>>();
  private readonly disposables: vscode.Disposable[];
  private readonly setting = new UserSettingList(SECTION, KEY);

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.disposables = [
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(AZURE_CONNECTIONS_SETTING)) this.forget();
      }),
      secrets.onDidChange((e) => {
        if (e.key.startsWith(secretKey(''))) this.forget();
      }),
    ];
  }

  list(): AzureProfile[] {
    return this.setting.parsed(toProfile);
  }

  get(name: string): AzureProfile | undefined {
    return this.list().find((p) => p.name === name);
  }

  async add(profile: AzureProfile, secret: string | undefined): Promise<void> {
    // The secret first: saving the profile refreshes the tree, which reads the secret.
    if (secret) await this.secrets.store(secretKey(profile.name), secret);
    else await this.secrets.delete(secretKey(profile.name));
    await this.setting.put(profile);
  }

  /**
   * Replaces the connection saved as `oldName` (an Edit, possibly renaming it). `secret` replaces the saved
   * secret; without one, the saved secret is kept (moved to the new name) when the new kind needs one.
   */
  async update(oldName: string, profile: AzureProfile, secret?: string): Promise<void> {
    const kept = secret ?? (needsSecret(profile.kind) ? await this.secrets.get(secretKey(oldName)) : undefined);
    if (kept) await this.secrets.store(secretKey(profile.name), kept);
    else await this.secrets.delete(secretKey(profile.name));
    if (oldName !== profile.name) {
      await this.setting.remove(oldName);
      await this.secrets.delete(secretKey(oldName));
    }
    await this.setting.put(profile);
  }

  /** Saves a new connection string or account key for a saved connection (Update Azure Storage Secret). */
  async setSecret(name: string, secret: string): Promise<void> {
    await this.secrets.store(secretKey(name), secret);
  }

  /** Forgets the opened account of a connection, so the next use signs in (or reads its secret) again. */
  reopen(name: string): void {
    this.accounts.delete(name);
  }

  async remove(name: string): Promise<void> {
    await this.setting.remove(name);
    await this.secrets.delete(secretKey(name));
  }

  /** The account ready for the core: client and signing credential (secret from SecretStorage). */
  open(profile: AzureProfile): Promise<azure.StorageAccount> {
    let account = this.accounts.get(profile.name);
    if (!account) {
      account = this.connection(profile).then(azure.openStorageAccount);
      // A failure is not cached: the next try reads the secret again.
      const opening = account;
      opening.catch(() => {
        if (this.accounts.get(profile.name) === opening) this.accounts.delete(profile.name);
      });
      this.accounts.set(profile.name, opening);
    }
    return account;
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private async connection(profile: AzureProfile): Promise<azure.AzureConnection> {
    switch (profile.kind) {
      case 'connectionString':
        return { kind: 'connectionString', connectionString: await this.secret(profile, 'connection string') };
      case 'accountKey':
        return {
          kind: 'accountKey',
          accountName: requireAccount(profile),
          accountKey: await this.secret(profile, 'account key'),
          endpoint: profile.endpoint,
        };
      case 'emulator':
        return { kind: 'emulator', endpoint: profile.endpoint };
      case 'microsoft':
        return { kind: 'token', accountName: requireAccount(profile), credential: microsoftCredential(), endpoint: profile.endpoint };
    }
  }

  private async secret(profile: AzureProfile, what: string): Promise<string> {
    const secret = await this.secrets.get(secretKey(profile.name));
    if (!secret) {
      throw new ExitPlanError(
        `The ${what} of "${profile.name}" is not in this machine's secret storage: enter it with Update Azure Storage Secret.`,
        NO_SECRET,
      );
    }
    return secret;
  }

  private forget(): void {
    this.accounts.clear();
    this.changed.fire();
  }
}

/** A credential that asks VS Code's Microsoft sign-in for a Storage token (signing in when needed). */
export function microsoftCredential(): TokenCredential {
  return {
    getToken: async () => {
      const session = await vscode.authentication.getSession('microsoft', STORAGE_SCOPES, { createIfNone: true });
      return { token: session.accessToken, expiresOnTimestamp: Date.now() + TOKEN_REUSE_MS };
    },
  };
}

/** Safe to show: how the connection signs in and where it points, never a secret. */
export function describeAzureProfile(profile: AzureProfile): string {
  switch (profile.kind) {
    case 'connectionString':
      return profile.accountName ? `${profile.accountName} (connection string)` : 'connection string';
    case 'accountKey':
      return `${profile.accountName ?? '?'} (account key)`;
    case 'emulator':
      return `emulator at ${profile.endpoint ?? azure.EMULATOR_ENDPOINT}`;
    case 'microsoft':
      return `${profile.accountName ?? '?'} (Microsoft sign-in)`;
  }
}

function requireAccount(profile: AzureProfile): string {
  if (!profile.accountName) {
    throw new ExitPlanError(
      `The connection "${profile.name}" names no storage account: set "accountName" in ${AZURE_CONNECTIONS_SETTING}.`,
    );
  }
  return profile.accountName;
}

/** A settings entry as a profile; undefined when it is unusable. */
function toProfile(entry: unknown): AzureProfile | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const name = settingText(e.name);
  const kind = AZURE_PROFILE_KINDS.find((k) => k === e.kind);
  if (!name || !kind) return undefined;
  const accountName = settingText(e.accountName);
  const endpoint = settingText(e.endpoint);
  return { name, kind, ...(accountName && { accountName }), ...(endpoint && { endpoint }) };
}
