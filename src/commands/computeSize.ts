import * as vscode from 'vscode';
import { ExitPlanError, azure } from '../exporters';
import { isAzureNode, prefixOf } from '../views/azureTree';
import type { CommandContext } from './context';
import { runOperation } from './runOperation';
import { withAzureAccount } from './azureAccount';

/** Counts the blobs and bytes of a container or folder (its context menu), cancellable; the tree remembers the result. */
export async function computeSize(ctx: CommandContext, arg?: unknown): Promise<void> {
  const node = isAzureNode(arg, 'container') || isAzureNode(arg, 'folder') ? arg : undefined;
  if (!node) throw new ExitPlanError('Compute Size works on a container or folder: right-click one in the Azure Storage view.');
  const profile = ctx.azureConnections.get(node.profile.name) ?? node.profile;
  const prefix = prefixOf(node);
  const where = `${node.container}/${prefix}`;

  const size = await runOperation(ctx, `computing the size of ${where}`, (op) =>
    withAzureAccount(ctx, profile, (account) =>
      azure.computeSize(account, node.container, prefix, {
        signal: op.signal,
        log: op.log,
        onProgress: (p) => op.report(azure.describeSizeProgress(p)),
      }),
    ),
  );

  ctx.azureTree.rememberSize(node, size);
  ctx.log.info(`Size of ${where} in "${node.profile.name}": ${azure.describeSize(size)} (${size.bytes} bytes)`);
  void vscode.window.showInformationMessage(`${where}: ${azure.describeSize(size)}.`);
}
