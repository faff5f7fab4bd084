import * as vscode from 'vscode';
import { CancelledError, azure, errorMessage, maskSecrets, throwIfAborted } from '../exporters';
import {
  STORAGE_SCOPES,
  describeAzureProfile,
  microsoftCredential,
  type AzureProfile,
  type AzureProfileKind,
} from '../services/azureConnections';
import type { CommandContext } from './context';
import { runOperation } from './runOperation';

const TITLE = 'Add Azure Storage Connection';

const KINDS: (vscode.QuickPickItem & { profileKind: AzureProfileKind; steps: number })[] = [
  {
    profileKind: 'connectionString',
    steps: 3,
    label: 'Connection string',
    description: 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…',
  },
  { profileKind: 'accountKey', steps: 4, label: 'Account name and key', description: 'An access key from the storage account' },
  { profileKind: 'emulator', steps: 3, label: 'Local emulator (Azurite)', description: azure.EMULATOR_ENDPOINT },
  {
    profileKind: 'microsoft',
    steps: 3,
    label: 'Sign in with Microsoft',
    description: 'Your Entra ID account; links are signed with a user delegation key',
  },
];

const required = (what: string) => (value: string) => (value.trim() === '' ? `Enter ${what}.` : undefined);

/** Storage account names: 3 to 24 lower-case letters and digits. */
function checkAccountName(value: string): string | undefined {
  return /^[a-z0-9]{3,24}$/.test(value.trim()) ? undefined : 'A storage account name has 3 to 24 lower-case letters and digits.';
}

function checkEndpoint(value: string): string | undefined {
  try {
    const url = new URL(value.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? undefined : 'Enter an http:// or https:// URL.';
  } catch {
    return 'Enter a URL such as http://127.0.0.1:10000/devstoreaccount1.';
  }
}

/** Where the connection string points; undefined with the reason when the core cannot use it. */
function checkConnectionString(value: string): string | undefined {
  if (value.trim() === '') return 'Paste the connection string.';
  try {
    azure.openStorageAccount({ kind: 'connectionString', connectionString: value.trim() });
    return undefined;
  } catch (err) {
    return maskSecrets(errorMessage(err));
  }
}

/** Asks how to reach a storage account, tests it, and saves the profile (settings) and secret (SecretStorage). */
export async function addAzureConnection(ctx: CommandContext): Promise<void> {
  const picked = await vscode.window.showQuickPick(KINDS, { title: TITLE, placeHolder: 'How to connect', ignoreFocusOut: true });
  if (!picked) return;
  let step = 1;
  const ask = (options: vscode.InputBoxOptions) =>
    vscode.window.showInputBox({ title: `${TITLE} (${++step}/${picked.steps})`, ignoreFocusOut: true, ...options });

  const draft = await askDetails(picked.profileKind, ask);
  if (!draft) return;
  const taken = new Set(ctx.azureConnections.list().map((p) => p.name));
  const suggested = draft.profile.accountName ?? (picked.profileKind === 'emulator' ? 'Azurite' : '');
  const name = await ask({
    prompt: 'A name for this connection, shown in the Azure Storage view',
    value: taken.has(suggested) ? '' : suggested,
    validateInput: (v) => required('a name')(v) ?? (taken.has(v.trim()) ? `There is already a connection named "${v.trim()}".` : undefined),
  });
  if (name === undefined) return;

  const profile: AzureProfile = { name: name.trim(), ...draft.profile };
  const connected = await testConnection(ctx, profile, draft.connection);
  if (connected === undefined) return;
  await ctx.azureConnections.add(profile, draft.secret);
  ctx.log.info(`Saved Azure Storage connection "${profile.name}" (${describeAzureProfile(profile)})`);
  if (connected)
    void vscode.window.showInformationMessage(`Connected to ${describeAzureProfile(profile)} and saved it as "${profile.name}".`);
}

interface Draft {
  profile: Omit<AzureProfile, 'name'>;
  connection: azure.AzureConnection;
  /** The connection string or account key, for SecretStorage. */
  secret?: string;
}

async function askDetails(
  kind: AzureProfileKind,
  ask: (options: vscode.InputBoxOptions) => Thenable<string | undefined>,
): Promise<Draft | undefined> {
  switch (kind) {
    case 'connectionString': {
      const cs = await ask({
        prompt: "Connection string (Access keys in the Azure portal): kept in VS Code's secret storage, never in settings.",
        password: true,
        validateInput: checkConnectionString,
      });
      if (cs === undefined) return undefined;
      const connectionString = cs.trim();
      const accountName = azure.openStorageAccount({ kind, connectionString }).accountName;
      return { profile: { kind, accountName }, connection: { kind, connectionString }, secret: connectionString };
    }
    case 'accountKey': {
      const accountName = await ask({ prompt: 'Storage account name', placeHolder: 'mystorageaccount', validateInput: checkAccountName });
      if (accountName === undefined) return undefined;
      const key = await ask({
        prompt: `Access key of ${accountName.trim()}: kept in VS Code's secret storage, never in settings.`,
        password: true,
        validateInput: required('the account key'),
      });
      if (key === undefined) return undefined;
      const connection = { kind, accountName: accountName.trim(), accountKey: key.trim() } as const;
      return { profile: { kind, accountName: connection.accountName }, connection, secret: connection.accountKey };
    }
    case 'emulator': {
      const endpoint = await ask({ prompt: 'Blob endpoint of the emulator', value: azure.EMULATOR_ENDPOINT, validateInput: checkEndpoint });
      if (endpoint === undefined) return undefined;
      return { profile: { kind, endpoint: endpoint.trim() }, connection: { kind, endpoint: endpoint.trim() } };
    }
    case 'microsoft': {
      const accountName = await ask({
        prompt: 'Storage account name (you need a Storage Blob Data Reader role on it, or Contributor for uploads)',
        placeHolder: 'mystorageaccount',
        validateInput: checkAccountName,
      });
      if (accountName === undefined) return undefined;
      // Signs in now (VS Code asks first), so the test below does not stop for it.
      await vscode.authentication.getSession('microsoft', STORAGE_SCOPES, { createIfNone: true });
      const account = accountName.trim();
      return {
        profile: { kind, accountName: account },
        connection: { kind: 'token', accountName: account, credential: microsoftCredential() },
      };
    }
  }
}

/** True when listing containers works; false to save anyway; undefined when the user gives up. */
async function testConnection(ctx: CommandContext, profile: AzureProfile, connection: azure.AzureConnection): Promise<boolean | undefined> {
  const target = describeAzureProfile(profile);
  try {
    await runOperation(ctx, `connecting to ${target}…`, async (op) => {
      await azure.listContainers(azure.openStorageAccount(connection), undefined, 1);
      throwIfAborted(op.signal, 'Test connection cancelled; nothing was saved.');
    });
    return true;
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    const message = maskSecrets(errorMessage(err));
    ctx.log.warn(`Test connection to ${target} failed: ${message}`);
    const save = 'Save Anyway';
    const choice = await vscode.window.showWarningMessage(
      `Cannot connect to ${target}.`,
      { modal: true, detail: `${message}\n\nSave the connection anyway?` },
      save,
    );
    return choice === save ? false : undefined;
  }
}
