import { isAzureNode } from '../views/azureTree';
import type { CommandContext } from './context';

/** A "Load more…" node was clicked: lists the next page under its parent. */
export async function loadMoreAzure(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (isAzureNode(arg, 'loadMore')) await ctx.azureTree.loadMore(arg);
}
