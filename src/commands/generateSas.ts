import * as vscode from 'vscode';
import { azure } from '../exporters';
import type { AzureProfile } from '../services/azureConnections';
import { isAzureNode, prefixOf, type AzureNode } from '../views/azureTree';
import { SasPanel } from '../views/sasPanel';
import type { CommandContext } from './context';
import { azureConnectionFromArg, pickContainer } from './pickAzure';
import { runOperation } from './runOperation';
import { openAzureAccount, withAzureAccount } from './azureAccount';

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
  if (isAzureNode(arg, 'blob')) return blobSas(ctx, arg, expiryMinutes);
  const target = await sasTarget(ctx, arg);
  if (!target) return;
  const { profile, account, container, folder } = target;
  const where = `${container}/${folder}`;

  const sign = (minutes: number, signal?: AbortSignal) =>
    withAzureAccount(ctx, profile, () =>
      azure.generateSas(account, { container, folder, expiryMinutes: minutes, signal, log: (line) => ctx.log.info(line) }),
    );
  const link = await runOperation(ctx, `signing a link to ${where}…`, (op) => sign(expiryMinutes, op.signal));
  ctx.log.info(
    `Generated a read/list SAS for ${where} in ${azure.describeStorageAccount(account)}, ` +
      `signed with the ${link.signedWith}, expiring ${link.expiresOn.toISOString()}`,
  );
  SasPanel.open({
    extensionUri: ctx.extensionUri,
    log: ctx.log,
    link,
    expiryMinutes,
    regenerate: (minutes) => sign(minutes),
    isEmulator: account.isEmulator,
    size: ctx.azureTree.knownSize(profile.name, container, folder),
  });
}

/** A read-only link to one blob (its context menu), copied to the clipboard: nothing else is reachable with it. */
async function blobSas(ctx: CommandContext, node: Extract<AzureNode, { kind: 'blob' }>, expiryMinutes: number): Promise<void> {
  const profile = ctx.azureConnections.get(node.profile.name) ?? node.profile;
  const where = `${node.container}/${node.blob.name}`;
  const link = await runOperation(ctx, `signing a link to ${where}…`, (op) =>
    withAzureAccount(ctx, profile, (account) =>
      azure.generateSas(account, { container: node.container, blob: node.blob.name, expiryMinutes, signal: op.signal, log: op.log }),
    ),
  );
  await vscode.env.clipboard.writeText(link.url);
  ctx.log.info(
    `Generated a read-only SAS for ${where}, signed with the ${link.signedWith}, expiring ${link.expiresOn.toISOString()}; copied`,
  );
  void vscode.window.showInformationMessage(
    `Copied a read-only link to ${node.blob.name}: anyone holding it can read this blob until ${link.expiresOn.toLocaleString()}.`,
  );
}

async function sasTarget(ctx: CommandContext, arg: unknown): Promise<SasTarget | undefined> {
  if (isAzureNode(arg, 'container') || isAzureNode(arg, 'folder')) {
    const profile = ctx.azureConnections.get(arg.profile.name) ?? arg.profile;
    const account = await openAzureAccount(ctx, profile);
    return { profile, account, container: arg.container, folder: prefixOf(arg) };
  }
  const profile = await azureConnectionFromArg(ctx, arg, 'Storage account to share from');
  if (!profile) return undefined;
  const account = await openAzureAccount(ctx, profile);
  const container = await withAzureAccount(ctx, profile, () => pickContainer(account, 'Container to share'));
  if (container === undefined) return undefined;
  const folder = await vscode.window.showInputBox({
    title: `Generate SAS for ${container}`,
    prompt: 'Only this folder (a blob name prefix such as photos/2024/); leave empty for the whole container',
    placeHolder: 'photos/2024/',
  });
  if (folder === undefined) return undefined;
  return { profile, account, container, folder: azure.normaliseFolder(folder.trim()) };
}
