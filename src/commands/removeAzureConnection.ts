import * as vscode from 'vscode';
import { describeAzureProfile } from '../services/azureConnections';
import type { CommandContext } from './context';
import { azureConnectionFromArg } from './pickAzure';

/** Removes an Azure connection's profile and its saved secret, after a modal confirmation. */
export async function removeAzureConnection(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await azureConnectionFromArg(ctx, arg, 'Azure Storage connection to remove');
  if (!profile) return;
  const remove = 'Remove';
  const detail = [describeAzureProfile(profile)];
  if (profile.kind === 'connectionString' || profile.kind === 'accountKey') detail.push('Its saved secret is deleted too.');
  detail.push('Nothing in the storage account is touched, and links already shared stay valid until they expire.');
  const choice = await vscode.window.showWarningMessage(
    `Remove the Azure Storage connection "${profile.name}"?`,
    { modal: true, detail: detail.join('\n\n') },
    remove,
  );
  if (choice !== remove) return;
  await ctx.azureConnections.remove(profile.name);
  ctx.log.info(`Removed Azure Storage connection "${profile.name}" (${describeAzureProfile(profile)})`);
}
