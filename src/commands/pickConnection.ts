import * as vscode from 'vscode';
import { ExitPlanError, describeConnection } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import { isWarehouseNode } from '../views/warehouseTree';
import type { CommandContext } from './context';
import { executeCommand, isRef } from './invoke';

/**
 * The connection a command was run on (tree node, or `{ name }` from code such as an error's "Edit
 * Connection"), or one the user picks; undefined if they back out.
 */
export async function connectionFromArg(ctx: CommandContext, arg: unknown, placeHolder: string): Promise<WarehouseProfile | undefined> {
  // A connection, or the error shown under it (its context menu offers the fixes too).
  if (isWarehouseNode(arg, 'connection') || isWarehouseNode(arg, 'message')) return ctx.connections.get(arg.profile.name) ?? arg.profile;
  if (isRef(arg, 'name')) {
    const named = ctx.connections.get(arg.name);
    if (!named) throw new ExitPlanError(`There is no warehouse connection named "${arg.name}" any more.`);
    return named;
  }
  const profiles = ctx.connections.list();
  if (profiles.length === 0) {
    const add = 'Add Warehouse Connection';
    void vscode.window.showInformationMessage('There is no warehouse connection yet.', add).then((choice) => {
      if (choice === add) void executeCommand('exitPlan.addWarehouseConnection');
    });
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    profiles.map((profile) => ({ label: profile.name, description: describeConnection(profile), profile })),
    { placeHolder },
  );
  return picked?.profile;
}
