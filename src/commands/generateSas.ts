import * as vscode from 'vscode';
import { azure } from '../exporters';
import type { AzureProfile } from '../services/azureConnections';
import { isAzureNode, prefixOf } from '../views/azureTree';
import { SasPanel } from '../views/sasPanel';
import type { CommandContext } from './context';
import { azureConnectionFromArg, pickContainer } from './pickAzure';
import { runOperation } from './runOperation';

const EXPIRY_SETTING = 'exitPlan.sas.expiryMinutes';

interface SasTarget {
  profile: AzureProfile;
  account: azure.StorageAccount;
  container: string;
  folder: string;
}

/**
 * Signs a time-limited read/list link to a container or folder (its context menu, or picked from the
 * palette) and opens the panel that shows it masked, with transfer commands to copy.
 */
export async function generateSas(ctx: CommandContext, arg?: unknown): Promise<void> {
  // Checked first: a bad setting should not cost the user their picks.
  const expiryMinutes = azure.checkExpiryMinutes(
    vscode.workspace.getConfiguration().get<unknown>(EXPIRY_SETTING, azure.SAS_EXPIRY_DEFAULT_MINUTES),
  );
  const target = await sasTarget(ctx, arg);
  if (!target) return;
  const { profile, account, container, folder } = target;
  const where = `${container}/${folder}`;

  const link = await runOperation(ctx, `signing a link to ${where}…`, (op) =>
    azure.generateSas(account, { container, folder, expiryMinutes, signal: op.signal, log: op.log }),
  );
  ctx.log.info(
    `Generated a read/list SAS for ${where} in ${azure.describeStorageAccount(account)}, ` +
      `signed with the ${link.signedWith}, expiring ${link.expiresOn.toISOString()}`,
  );
  SasPanel.open({
    extensionUri: ctx.extensionUri,
    log: ctx.log,
    link,
    isEmulator: account.isEmulator,
    size: ctx.azureTree.knownSize(profile.name, container, folder),
  });
}

async function sasTarget(ctx: CommandContext, arg: unknown): Promise<SasTarget | undefined> {
  if (isAzureNode(arg, 'container') || isAzureNode(arg, 'folder')) {
    const profile = ctx.azureConnections.get(arg.profile.name) ?? arg.profile;
    return { profile, account: await ctx.azureConnections.open(profile), container: arg.container, folder: prefixOf(arg) };
  }
  const profile = await azureConnectionFromArg(ctx, arg, 'Storage account to share from');
  if (!profile) return undefined;
  const account = await ctx.azureConnections.open(profile);
  const container = await pickContainer(account, 'Container to share');
  if (container === undefined) return undefined;
  const folder = await vscode.window.showInputBox({
    title: `Generate SAS for ${container}`,
    prompt: 'Only this folder (a blob name prefix such as photos/2024/); leave empty for the whole container',
    placeHolder: 'photos/2024/',
  });
  if (folder === undefined) return undefined;
  return { profile, account, container, folder: azure.normaliseFolder(folder.trim()) };
}
