import * as vscode from 'vscode';
import { describeConnection } from '../exporters';
import { connectionWizard, type ConnectionAnswers } from './addWarehouseConnection';
import type { CommandContext } from './context';
import { connectionFromArg } from './pickConnection';

/**
 * The Add wizard's steps over a saved connection's values (the name stays: backup targets and exit plans
 * refer to it; the password stays unless Update Warehouse Password changes it), tested, then saved.
 */
export async function editWarehouseConnection(ctx: CommandContext, arg?: unknown): Promise<void> {
  const saved = await connectionFromArg(ctx, arg, 'Warehouse connection to edit');
  if (!saved) return;
  const state: ConnectionAnswers = {
    mode: 'edit',
    name: saved.name,
    host: saved.host,
    port: String(saved.port),
    user: saved.user,
    database: saved.database,
    sslmode: saved.sslmode,
    password: '',
  };
  const result = await connectionWizard(ctx, `Edit Warehouse Connection "${saved.name}"`, state, async () => {
    return (await ctx.connections.connectionOptions(saved)).password;
  });
  if (!result) return;
  const { profile, serverVersion, error } = result;
  await ctx.connections.update(profile);
  ctx.log.info(`Updated warehouse connection "${profile.name}": ${describeConnection(saved)} → ${describeConnection(profile)}`);
  if (error !== undefined) ctx.warehouseTree.noteFailed(profile, error);
  await ctx.warehouseTree.reveal(profile, serverVersion);
  if (serverVersion !== undefined)
    void vscode.window.showInformationMessage(`Connected to ${describeConnection(profile)} and saved the changes to "${profile.name}".`);
}
