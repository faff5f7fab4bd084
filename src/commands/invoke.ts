import * as vscode from 'vscode';
import type { CommandId } from './registry';

/*
 * What a command takes when other code (a notification button, a webview, the scheduler) runs it: a typed
 * argument, never a tree node made up outside its tree. A command absent here takes nothing from code. The
 * handler accepts the same shape (as well as its tree node, from a menu).
 */

/** Warehouse and export commands. */
export interface WarehouseCommandArgs {
  'exitPlan.showLog': undefined;
}

/** Azure Storage commands. */
export interface AzureCommandArgs {
  'exitPlan.addAzureConnection': undefined;
}

/** Datasets commands. */
export interface DatasetsCommandArgs {
  'exitPlan.openDatasetReport': undefined;
}

/** Backups commands. */
export interface BackupsCommandArgs {
  'exitPlan.addBackupTarget': undefined;
}

export interface CommandArgs extends WarehouseCommandArgs, AzureCommandArgs, DatasetsCommandArgs, BackupsCommandArgs {}

/** Runs one of the extension's commands with its typed argument (`undefined`: the command takes none). */
export function executeCommand<Id extends keyof CommandArgs & CommandId>(
  id: Id,
  ...args: undefined extends CommandArgs[Id] ? [] : [CommandArgs[Id]]
): Thenable<void> {
  return vscode.commands.executeCommand(id, ...args);
}
