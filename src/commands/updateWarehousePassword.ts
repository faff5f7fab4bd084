import * as vscode from 'vscode';
import { describeConnection } from '../exporters';
import type { CommandContext } from './context';
import { connectionFromArg } from './pickConnection';
import { checkConnection } from './warehouseConnection';
import { inputBox, isBack } from './wizard';

/** One password box; the connection is tested with the new password, which is saved to SecretStorage only if it works. */
export async function updateWarehousePassword(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await connectionFromArg(ctx, arg, 'Warehouse connection whose password to update');
  if (!profile) return;
  const target = describeConnection(profile);
  const password = await inputBox(
    { title: `Update Warehouse Password: "${profile.name}"`, step: 0, totalSteps: 0, canGoBack: false },
    {
      prompt: `New password for ${target}: kept in VS Code's secret storage, never in settings. Leave empty if the server asks for none.`,
      password: true,
      value: '',
    },
  );
  if (password === undefined || isBack(password)) return;
  // Tested first: a wrong new password is not saved over the old one (the error offers Edit Connection).
  const version = await checkConnection(ctx, profile, { password, title: `testing the new password for ${target}…` });
  await ctx.connections.setPassword(profile.name, password || undefined);
  ctx.log.info(`Updated the password of warehouse connection "${profile.name}" (${target})`);
  await ctx.warehouseTree.reveal(profile, version);
  void vscode.window.showInformationMessage(
    `Connected to ${target} (PostgreSQL ${version}) and saved the new password of "${profile.name}".`,
  );
}
