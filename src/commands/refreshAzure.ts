import { isAzureNode } from '../views/azureTree';
import type { CommandContext } from './context';

/** Lists again: one connection, container or folder (its context menu) or everything (the view's title bar). */
export function refreshAzure(ctx: CommandContext, arg?: unknown): void {
  const node = isAzureNode(arg, 'connection') || isAzureNode(arg, 'container') || isAzureNode(arg, 'folder') ? arg : undefined;
  ctx.azureTree.refresh(node);
}
