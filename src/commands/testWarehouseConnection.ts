import * as vscode from 'vscode';
import { describeConnection } from '../exporters';
import type { CommandContext } from './context';
import { connectionFromArg } from './pickConnection';
import { checkConnection } from './warehouseConnection';

/** Connects with a cancellable progress and says the result; a failure's notification offers Edit Connection (and Update Password). */
export async function testWarehouseConnection(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await connectionFromArg(ctx, arg, 'Warehouse connection to test');
  if (!profile) return;
  const target = describeConnection(profile);
  const version = await checkConnection(ctx, profile, { title: `testing ${target}…` });
  ctx.log.info(`Test connection to ${target}: connected (PostgreSQL ${version})`);
  void vscode.window.showInformationMessage(`Connected to "${profile.name}": PostgreSQL ${version} at ${target}.`);
}
