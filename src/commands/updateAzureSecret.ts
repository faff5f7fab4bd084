import * as vscode from 'vscode';
import { CancelledError, azure, errorMessage, maskSecrets, throwIfAborted } from '../exporters';
import { STORAGE_SCOPES, describeAzureProfile, type AzureProfile } from '../services/azureConnections';
import { checkConnectionString } from './addAzureConnection';
import type { CommandContext } from './context';
import { azureConnectionFromArg } from './pickAzure';
import { runOperation } from './runOperation';

const TITLE = 'Update Azure Storage Secret';

/**
 * A new connection string or account key for a saved connection (per its kind), tested before it is saved;
 * a Microsoft sign-in signs in again. The emulator has no secret.
 */
export async function updateAzureSecret(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await azureConnectionFromArg(ctx, arg, 'Azure Storage connection whose secret to update');
  if (!profile) return;
  switch (profile.kind) {
    case 'emulator':
      void vscode.window.showInformationMessage(
        `"${profile.name}" uses the emulator's public development key: there is no secret to update ` +
          '(Edit Azure Storage Connection changes its endpoint).',
      );
      return;
    case 'microsoft': {
      await vscode.authentication.getSession('microsoft', STORAGE_SCOPES, {
        forceNewSession: { detail: `Sign in again for "${profile.name}".` },
      });
      ctx.azureConnections.reopen(profile.name);
      ctx.log.info(`Signed in again for Azure Storage connection "${profile.name}"`);
      ctx.azureTree.refreshConnection(profile.name);
      void vscode.window.showInformationMessage(`Signed in again for "${profile.name}".`);
      return;
    }
    case 'connectionString':
    case 'accountKey':
      return updateSecret(ctx, profile);
  }
}

async function updateSecret(ctx: CommandContext, profile: AzureProfile): Promise<void> {
  const isString = profile.kind === 'connectionString';
  let secret = '';
  for (;;) {
    const answered = await vscode.window.showInputBox({
      title: TITLE,
      prompt: isString
        ? `New connection string for "${profile.name}": kept in VS Code's secret storage, never in settings.`
        : `New access key of ${profile.accountName ?? profile.name}: kept in VS Code's secret storage, never in settings.`,
      password: true,
      ignoreFocusOut: true,
      value: secret,
      validateInput: (v) => (isString ? checkConnectionString(v) : v.trim() === '' ? 'Enter the account key.' : undefined),
    });
    if (answered === undefined) return;
    secret = answered.trim();
    const connection: azure.AzureConnection = isString
      ? { kind: 'connectionString', connectionString: secret }
      : { kind: 'accountKey', accountName: profile.accountName ?? '', accountKey: secret, endpoint: profile.endpoint };
    const problem = await test(ctx, profile, connection);
    if (problem === 'again') continue;
    if (problem === 'stop') return;
    const accountName = isString ? azure.openStorageAccount(connection).accountName : profile.accountName;
    if (isString && accountName !== profile.accountName)
      await ctx.azureConnections.update(profile.name, { ...profile, accountName }, secret);
    else await ctx.azureConnections.setSecret(profile.name, secret);
    ctx.azureConnections.reopen(profile.name);
    ctx.log.info(`Updated the ${isString ? 'connection string' : 'account key'} of Azure Storage connection "${profile.name}"`);
    if (problem === undefined) ctx.azureTree.markConnected(profile.name);
    else ctx.azureTree.markFailed(profile.name, problem);
    ctx.azureTree.refreshConnection(profile.name);
    if (problem === undefined)
      void vscode.window.showInformationMessage(
        `Connected to ${describeAzureProfile({ ...profile, accountName })} with the new secret and saved it.`,
      );
    return;
  }
}

/** undefined when it works; the message to save anyway; 'again' to enter it again; 'stop' to keep the old one. */
async function test(
  ctx: CommandContext,
  profile: AzureProfile,
  connection: azure.AzureConnection,
): Promise<string | 'again' | 'stop' | undefined> {
  try {
    await runOperation(ctx, `testing the new secret of "${profile.name}"…`, async (op) => {
      await azure.listContainers(azure.openStorageAccount(connection), undefined, 1);
      throwIfAborted(op.signal, 'Test cancelled; the saved secret is unchanged.');
    });
    return undefined;
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    const message = maskSecrets(errorMessage(err));
    ctx.log.warn(`The new secret of "${profile.name}" does not connect: ${message}`);
    const again = 'Enter Again';
    const save = 'Save Anyway';
    const choice = await vscode.window.showWarningMessage(
      `Cannot connect to "${profile.name}" with the new secret.`,
      { modal: true, detail: `${message}\n\nEnter it again, or save it as it is?` },
      again,
      save,
    );
    return choice === again ? 'again' : choice === save ? message : 'stop';
  }
}
