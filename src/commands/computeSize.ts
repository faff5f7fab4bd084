import * as vscode from 'vscode';
import { ExitPlanError, azure, formatBytes, formatCount } from '../exporters';
import { isAzureNode, prefixOf } from '../views/azureTree';
import type { CommandContext } from './context';

/** Counts the blobs and bytes of a container or folder (its context menu), cancellable; the tree remembers the result. */
export async function computeSize(ctx: CommandContext, arg?: unknown): Promise<void> {
  const node = isAzureNode(arg, 'container') || isAzureNode(arg, 'folder') ? arg : undefined;
  if (!node) throw new ExitPlanError('Compute Size works on a container or folder: right-click one in the Azure Storage view.');
  const account = await ctx.azureConnections.open(ctx.azureConnections.get(node.profile.name) ?? node.profile);
  const prefix = prefixOf(node);
  const where = `${node.container}/${prefix}`;

  const size = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Exit Plan: computing the size of ${where}`, cancellable: true },
    async (progress, token) => {
      const abort = new AbortController();
      const onCancel = token.onCancellationRequested(() => abort.abort());
      try {
        return await ctx.tasks.run(
          (signal) =>
            azure.computeSize(account, node.container, prefix, {
              signal,
              onProgress: (p) => progress.report({ message: `${formatCount(p.blobs)} blobs, ${formatBytes(p.bytes)} so far` }),
            }),
          abort.signal,
        );
      } finally {
        onCancel.dispose();
      }
    },
  );

  ctx.azureTree.rememberSize(node, size);
  ctx.log.info(`Size of ${where} in "${node.profile.name}": ${azure.describeSize(size)} (${size.bytes} bytes)`);
  void vscode.window.showInformationMessage(`${where}: ${azure.describeSize(size)}.`);
}
