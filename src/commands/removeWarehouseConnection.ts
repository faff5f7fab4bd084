import * as vscode from 'vscode';
import { describeConnection } from '../exporters';
import type { CommandContext } from './context';
import { connectionFromArg } from './pickConnection';

/** Removes a connection's profile and its saved password, after a modal confirmation. */
export async function removeWarehouseConnection(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await connectionFromArg(ctx, arg, 'Warehouse connection to remove');
  if (!profile) return;
  const remove = 'Remove';
  const choice = await vscode.window.showWarningMessage(
    `Remove the warehouse connection "${profile.name}"?`,
    {
      modal: true,
      detail: `${describeConnection(profile)}\n\nIts saved password is deleted too. Archives already exported are not touched.`,
    },
    remove,
  );
  if (choice !== remove) return;
  await ctx.connections.remove(profile.name);
  await ctx.recentExports.forget(profile.name);
  ctx.log.info(`Removed warehouse connection "${profile.name}" (${describeConnection(profile)})`);
}
