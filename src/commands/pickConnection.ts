import * as vscode from 'vscode';
import { describeConnection } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import { isWarehouseNode } from '../views/warehouseTree';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';

/** The connection a command was run on (tree node), or one the user picks; undefined if they back out. */
export async function connectionFromArg(ctx: CommandContext, arg: unknown, placeHolder: string): Promise<WarehouseProfile | undefined> {
  if (isWarehouseNode(arg, 'connection')) return ctx.connections.get(arg.profile.name) ?? arg.profile;
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
