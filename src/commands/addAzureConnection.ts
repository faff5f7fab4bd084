import * as vscode from 'vscode';
import { CancelledError, azure, errorMessage, maskSecrets, plural, throwIfAborted } from '../exporters';
import {
  STORAGE_SCOPES,
  describeAzureProfile,
  microsoftCredential,
  needsSecret,
  type AzureProfile,
  type AzureProfileKind,
} from '../services/azureConnections';
import type { CommandContext } from './context';
import { runOperation } from './runOperation';
import { runWizard, type WizardItem, type WizardStep } from './wizard';

const ADD_TITLE = 'Add Azure Storage Connection';
const EDIT_TITLE = 'Edit Azure Storage Connection';

const KINDS: (WizardItem & { id: AzureProfileKind })[] = [
  { id: 'connectionString', label: 'Connection string', description: 'DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…' },
  { id: 'accountKey', label: 'Account name and key', description: 'An access key from the storage account' },
  { id: 'emulator', label: 'Local emulator (Azurite)', description: azure.EMULATOR_ENDPOINT },
  { id: 'microsoft', label: 'Sign in with Microsoft', description: 'Your Entra ID account; links are signed with a user delegation key' },
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
export function checkConnectionString(value: string): string | undefined {
  if (value.trim() === '') return 'Paste the connection string.';
  try {
    azure.openStorageAccount({ kind: 'connectionString', connectionString: value.trim() });
    return undefined;
  } catch (err) {
    return maskSecrets(errorMessage(err));
  }
}

/** The answers of the Add and Edit wizards. A secret is only ever in `connectionString` or `accountKey`. */
interface AzureAnswers {
  kind: AzureProfileKind;
  name: string;
  accountName: string;
  endpoint: string;
  connectionString: string;
  accountKey: string;
  /** Edit: the connection as saved (its secret stays in SecretStorage unless a new one is asked). */
  saved?: AzureProfile;
}

/** Whether the wizard must ask the secret: always on Add; on Edit only when the kind or account changed. */
function asksSecret(a: AzureAnswers): boolean {
  if (!needsSecret(a.kind)) return false;
  if (!a.saved) return true;
  return a.saved.kind !== a.kind || (a.kind === 'accountKey' && a.saved.accountName !== a.accountName.trim());
}

function steps(ctx: CommandContext): WizardStep<AzureAnswers>[] {
  return [
    {
      kind: 'pick',
      title: 'Connection Type',
      placeholder: 'How to connect to the storage account',
      items: () => KINDS,
      selected: (a) => [a.kind],
      apply: ([picked], a) => {
        a.kind = picked.id as AzureProfileKind;
      },
    },
    {
      kind: 'input',
      title: 'Connection String',
      when: (a) => a.kind === 'connectionString' && asksSecret(a),
      prompt: "Connection string (Access keys in the Azure portal): kept in VS Code's secret storage, never in settings.",
      password: true,
      value: (a) => a.connectionString,
      validate: checkConnectionString,
      apply: (v, a) => {
        a.connectionString = v.trim();
        a.accountName = azure.openStorageAccount({ kind: 'connectionString', connectionString: a.connectionString }).accountName;
      },
    },
    {
      kind: 'input',
      title: 'Storage Account',
      when: (a) => a.kind === 'accountKey' || a.kind === 'microsoft',
      prompt: (a) =>
        a.kind === 'microsoft'
          ? 'Storage account name (you need a Storage Blob Data Reader role on it, or Contributor for uploads)'
          : 'Storage account name',
      placeholder: 'mystorageaccount',
      value: (a) => a.accountName,
      validate: checkAccountName,
      apply: (v, a) => {
        a.accountName = v.trim();
      },
    },
    {
      kind: 'input',
      title: 'Account Key',
      when: (a) => a.kind === 'accountKey' && asksSecret(a),
      prompt: (a) => `Access key of ${a.accountName}: kept in VS Code's secret storage, never in settings.`,
      password: true,
      value: (a) => a.accountKey,
      validate: (v) => required('the account key')(v) ?? keyProblem(v),
      apply: (v, a) => {
        a.accountKey = v.trim();
      },
    },
    {
      kind: 'input',
      title: 'Emulator Endpoint',
      when: (a) => a.kind === 'emulator',
      prompt: 'Blob endpoint of the emulator',
      value: (a) => a.endpoint || azure.EMULATOR_ENDPOINT,
      validate: checkEndpoint,
      apply: (v, a) => {
        a.endpoint = v.trim();
      },
    },
    {
      kind: 'input',
      title: 'Name',
      prompt: 'A name for this connection, shown in the Azure Storage view',
      value: (a) => a.name || suggestedName(ctx, a),
      validate: (v, a) => {
        const name = v.trim();
        if (name === '') return 'Enter a name.';
        const taken = ctx.azureConnections.list().some((p) => p.name === name && p.name !== a.saved?.name);
        return taken ? `There is already a connection named "${name}".` : undefined;
      },
      apply: (v, a) => {
        a.name = v.trim();
      },
    },
  ];
}

/** An account key is base64: say so at once rather than after the test. */
function keyProblem(value: string): string | undefined {
  return /^[A-Za-z0-9+/]+={0,2}$/.test(value.trim()) ? undefined : 'An account key is base64 (letters, digits, +, / and = at the end).';
}

function suggestedName(ctx: CommandContext, a: AzureAnswers): string {
  const suggested = a.kind === 'emulator' ? 'Azurite' : a.accountName;
  return ctx.azureConnections.list().some((p) => p.name === suggested) ? '' : suggested;
}

/** The profile (settings), the connection to test, and the secret to store (undefined: none, or keep the saved one). */
function draft(a: AzureAnswers): { profile: AzureProfile; connection?: azure.AzureConnection; secret?: string } {
  const name = a.name;
  const keep = a.saved && !asksSecret(a);
  switch (a.kind) {
    case 'connectionString': {
      const accountName = keep ? a.saved?.accountName : a.accountName;
      const profile: AzureProfile = { name, kind: a.kind, ...(accountName && { accountName }) };
      if (keep) return { profile };
      return { profile, connection: { kind: a.kind, connectionString: a.connectionString }, secret: a.connectionString };
    }
    case 'accountKey': {
      const endpoint = a.saved?.kind === 'accountKey' ? a.saved.endpoint : undefined;
      const profile: AzureProfile = { name, kind: a.kind, accountName: a.accountName, ...(endpoint && { endpoint }) };
      if (keep) return { profile };
      return {
        profile,
        connection: { kind: a.kind, accountName: a.accountName, accountKey: a.accountKey, endpoint },
        secret: a.accountKey,
      };
    }
    case 'emulator':
      return { profile: { name, kind: a.kind, endpoint: a.endpoint }, connection: { kind: a.kind, endpoint: a.endpoint } };
    case 'microsoft': {
      const endpoint = a.saved?.kind === 'microsoft' ? a.saved.endpoint : undefined;
      const profile: AzureProfile = { name, kind: a.kind, accountName: a.accountName, ...(endpoint && { endpoint }) };
      return { profile, connection: { kind: 'token', accountName: a.accountName, credential: microsoftCredential(), endpoint } };
    }
  }
}

/** Asks how to reach a storage account, tests it, and saves the profile (settings) and secret (SecretStorage). */
export async function addAzureConnection(ctx: CommandContext): Promise<void> {
  const answers: AzureAnswers = { kind: 'connectionString', name: '', accountName: '', endpoint: '', connectionString: '', accountKey: '' };
  await connectionWizard(ctx, ADD_TITLE, answers);
}

/** The Add wizard over a saved connection's values; its secret is kept unless the kind or account changes. */
export async function editConnectionWizard(ctx: CommandContext, saved: AzureProfile): Promise<void> {
  const answers: AzureAnswers = {
    kind: saved.kind,
    name: saved.name,
    accountName: saved.accountName ?? '',
    endpoint: saved.endpoint ?? '',
    connectionString: '',
    accountKey: '',
    saved,
  };
  await connectionWizard(ctx, EDIT_TITLE, answers);
}

/**
 * Runs the wizard, tests the connection, and saves it; when the test fails, "Edit Connection" (the default)
 * goes back into the wizard with every answer kept, "Save Anyway" saves it as it is.
 */
async function connectionWizard(ctx: CommandContext, title: string, answers: AzureAnswers): Promise<void> {
  for (;;) {
    if (!(await runWizard(title, steps(ctx), answers))) return;
    const { profile, connection, secret } = draft(answers);
    // Signs in now (VS Code asks first), so the test below does not stop for it.
    if (profile.kind === 'microsoft') await vscode.authentication.getSession('microsoft', STORAGE_SCOPES, { createIfNone: true });
    const tested = await testConnection(ctx, profile, connection ?? answers.saved);
    if (tested === 'edit') continue;
    if (tested === undefined) return;
    if (answers.saved) {
      await ctx.azureConnections.update(answers.saved.name, profile, secret);
      ctx.log.info(`Updated Azure Storage connection "${profile.name}" (${describeAzureProfile(profile)})`);
    } else {
      await ctx.azureConnections.add(profile, secret);
      ctx.log.info(`Saved Azure Storage connection "${profile.name}" (${describeAzureProfile(profile)})`);
    }
    if (tested.ok) ctx.azureTree.markConnected(profile.name);
    else ctx.azureTree.markFailed(profile.name, tested.message);
    ctx.azureTree.refreshConnection(profile.name);
    if (tested.ok) {
      const what = answers.saved ? 'saved the changes to' : 'saved it as';
      void vscode.window.showInformationMessage(`Connected to ${describeAzureProfile(profile)} and ${what} "${profile.name}".`);
    }
    return;
  }
}

/**
 * Lists one page of containers (cancellable). `{ ok }` to save (false: the user chose Save Anyway), 'edit' to
 * go back into the wizard, undefined when the user gives up. `connection` is a saved profile when an Edit
 * kept its saved secret.
 */
async function testConnection(
  ctx: CommandContext,
  profile: AzureProfile,
  connection: azure.AzureConnection | AzureProfile | undefined,
): Promise<{ ok: true } | { ok: false; message: string } | 'edit' | undefined> {
  const target = describeAzureProfile(profile);
  try {
    let account: azure.StorageAccount;
    if (connection && 'name' in connection) {
      ctx.azureConnections.reopen(connection.name);
      account = await ctx.azureConnections.open(connection);
    } else account = azure.openStorageAccount(connection!);
    await runOperation(ctx, `connecting to ${target}…`, async (op) => {
      await azure.listContainers(account, undefined, 1);
      throwIfAborted(op.signal, 'Test connection cancelled; nothing was saved.');
    });
    return { ok: true };
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    const message = maskSecrets(errorMessage(err));
    ctx.log.warn(`Test connection to ${target} failed: ${message}`);
    const edit = 'Edit Connection';
    const save = 'Save Anyway';
    const choice = await vscode.window.showWarningMessage(
      `Cannot connect to ${target}.`,
      { modal: true, detail: `${message}\n\nEdit the connection, or save it as it is?` },
      edit,
      save,
    );
    if (choice === edit) return 'edit';
    return choice === save ? { ok: false, message } : undefined;
  }
}

/** "3 containers", "more than 100 containers": what Test Connection found. */
export function describeContainerCount(page: azure.Page<azure.ContainerItem>): string {
  return page.continuation ? `more than ${plural(page.items.length, 'container')}` : plural(page.items.length, 'container');
}
