import * as vscode from 'vscode';
import { ExitPlanError, azure } from '../exporters';
import { isAzureNode } from '../views/azureTree';
import { withAzureAccount } from './azureAccount';
import type { CommandContext } from './context';

/** Copies a blob's URL without any SAS (its context menu): a link for people who already have access. */
export async function copyBlobUrl(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (!isAzureNode(arg, 'blob')) throw new ExitPlanError('Copy Blob URL works on a blob: right-click one in the Azure Storage view.');
  const profile = ctx.azureConnections.get(arg.profile.name) ?? arg.profile;
  const url = await withAzureAccount(ctx, profile, async (account) => azure.blobUrl(account, arg.container, arg.blob.name));
  await vscode.env.clipboard.writeText(url);
  ctx.log.info(`Copied the URL of ${arg.container}/${arg.blob.name} (no SAS)`);
  vscode.window.setStatusBarMessage(`Copied the URL of ${arg.blob.name} (without a SAS: it opens only for those with access)`, 5000);
}
