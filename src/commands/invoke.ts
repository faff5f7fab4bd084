import * as vscode from 'vscode';
import type { SubsetSkip } from '../exporters';
import type { CommandId } from './registry';

/*
 * What a command takes when other code (a notification button, a webview, the scheduler) runs it: a typed
 * argument, never a tree node made up outside its tree. A command absent here takes nothing from code. The
 * handler accepts the same shape (as well as its tree node, from a menu).
 */

/** Warehouse and export commands. */
export interface WarehouseCommandArgs {
  'exitPlan.showLog': undefined;
  'exitPlan.addWarehouseConnection': undefined;
  'exitPlan.editWarehouseConnection': WarehouseConnectionRef;
  'exitPlan.updateWarehousePassword': WarehouseConnectionRef;
  'exitPlan.testWarehouseConnection': WarehouseConnectionRef;
  'exitPlan.revealExport': ExportArchiveRef;
  'exitPlan.exportSubset': SubsetTableRef;
}

/** An export's archive by its absolute path, as code passes it to a command. */
export interface ExportArchiveRef {
  archive: string;
}

/** A warehouse connection named by its name in exitPlan.warehouse.connections, as code passes it to a command. */
export interface WarehouseConnectionRef {
  name: string;
}

/**
 * The table a subset starts from, in a warehouse connection, and the choices kept from a dry run that failed
 * (its "Edit Predicate" runs Export Subset again with them); the predicate is the one remembered for the table.
 */
export interface SubsetTableRef extends WarehouseConnectionRef {
  schema: string;
  table: string;
  includeUnrelated?: boolean;
  skip?: SubsetSkip[];
}

/** Azure Storage commands. */
export interface AzureCommandArgs {
  'exitPlan.addAzureConnection': undefined;
  'exitPlan.editAzureConnection': AzureConnectionRef;
  'exitPlan.updateAzureSecret': AzureConnectionRef;
  'exitPlan.testAzureConnection': AzureConnectionRef;
}

/** An Azure Storage connection named by its name in exitPlan.azure.connections, as code passes it to a command. */
export interface AzureConnectionRef {
  connection: string;
}

/** Datasets commands. */
export interface DatasetsCommandArgs {
  'exitPlan.openDatasetReport': undefined;
  /** The dataset's folder (absolute). */
  'exitPlan.exportDatasetNow': DatasetRef;
  'exitPlan.openDatasetLog': DatasetLogRef;
  'exitPlan.addDatasetFolder': undefined;
  /** The folder to remove from the roots, or a dataset (the root that shows it is removed). */
  'exitPlan.removeDatasetFolder': DatasetRef;
  /** Where to create it (skips the Where step). */
  'exitPlan.initDataset': DatasetParentRef | undefined;
}

/** A dataset named by its folder, as code passes it to a command. */
export interface DatasetRef {
  dataset: string;
}

/** A dataset's log: of the parcel (an id), else of its newest parcel with a log. */
export interface DatasetLogRef extends DatasetRef {
  parcel?: string;
}

/** The folder a new dataset is created in. */
export interface DatasetParentRef {
  parent: string;
}

/** Backups commands. */
export interface BackupsCommandArgs {
  'exitPlan.addBackupTarget': undefined;
  'exitPlan.backUpNow': BackupTargetRef;
  'exitPlan.verifyBackups': BackupTargetRef;
  'exitPlan.restoreDrill': BackupTargetRef;
  'exitPlan.rotateBackups': BackupTargetRef;
  'exitPlan.editBackupTarget': BackupTargetRef;
  'exitPlan.testBackupTarget': BackupTargetRef;
}

/** A backup target named by its name in exitPlan.backups.targets, as code passes it to a command. */
export interface BackupTargetRef {
  targetName: string;
}

/** Exit plan commands. */
export interface ExitCommandArgs {
  'exitPlan.createExitPlan': undefined;
  'exitPlan.runExitPlan': undefined;
  'exitPlan.openExitReport': ExitRunRef;
  'exitPlan.revealExitFolder': ExitRunRef;
}

/** An exit run named by its folder (absolute), as code passes it to a command. */
export interface ExitRunRef {
  folder: string;
}

/** Whether a command's argument is a typed reference made by `executeCommand` (rather than a tree node). */
export function isRef<K extends string>(value: unknown, key: K): value is Record<K, string> {
  return typeof value === 'object' && value !== null && !('kind' in value) && typeof (value as Record<string, unknown>)[key] === 'string';
}

export interface CommandArgs extends WarehouseCommandArgs, AzureCommandArgs, DatasetsCommandArgs, BackupsCommandArgs, ExitCommandArgs {}

/** Runs one of the extension's commands with its typed argument (`undefined`: the command takes none). */
export function executeCommand<Id extends keyof CommandArgs & CommandId>(
  id: Id,
  ...args: undefined extends CommandArgs[Id] ? [] : [CommandArgs[Id]]
): Thenable<void> {
  return vscode.commands.executeCommand(id, ...args);
}
