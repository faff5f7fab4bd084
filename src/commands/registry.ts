import * as vscode from 'vscode';
import { ExitPlanError, errorMessage, isCancelled, maskSecrets } from '../exporters';
import { addAzureConnection } from './addAzureConnection';
import { addWarehouseConnection } from './addWarehouseConnection';
import { copyExportPath, revealExport, verifyExport } from './recentExportCommands';
import { editWarehouseConnection } from './editWarehouseConnection';
import { testWarehouseConnection } from './testWarehouseConnection';
import { updateWarehousePassword } from './updateWarehousePassword';
import { computeSize } from './computeSize';
import { copyBlobUrl } from './copyBlobUrl';
import { downloadBlob } from './downloadBlob';
import { editAzureConnection } from './editAzureConnection';
import { testAzureConnection } from './testAzureConnection';
import { updateAzureSecret } from './updateAzureSecret';
import type { CommandContext } from './context';
import { errorActions } from './errorActions';
import { exportSubset } from './exportSubset';
import { exportTable } from './exportTable';
import { exportWarehouse } from './exportWarehouse';
import { exportWarehouseToAzure } from './exportWarehouseToAzure';
import { generateSas } from './generateSas';
import { loadMoreAzure } from './loadMoreAzure';
import { refreshAzure } from './refreshAzure';
import { refreshWarehouse } from './refreshWarehouse';
import { removeAzureConnection } from './removeAzureConnection';
import { removeWarehouseConnection } from './removeWarehouseConnection';
import { showLog } from './showLog';
import { exportDatasetNow } from './exportDatasetNow';
import { initDataset } from './initDataset';
import { openDatasetLog } from './openDatasetLog';
import { openDatasetReport } from './openDatasetReport';
import { processDatasets } from './processDatasets';
import { refreshDatasets } from './refreshDatasets';
import { addDatasetFolder } from './addDatasetFolder';
import { removeDatasetFolder } from './removeDatasetFolder';
import { addBackupTarget } from './addBackupTarget';
import { backUpNow } from './backUpNow';
import { refreshBackups } from './refreshBackups';
import { editBackupTarget } from './editBackupTarget';
import { removeBackupTarget } from './removeBackupTarget';
import { testBackupTarget } from './testBackupTarget';
import { restoreBackup } from './restoreBackup';
import { restoreDrill } from './restoreDrill';
import { rotateBackups } from './rotateBackups';
import { showBackupReport } from './showBackupReport';
import { verifyBackups } from './verifyBackups';
import { addRclonePart } from './addRclonePart';
import { createExitPlan } from './createExitPlan';
import { openExitReport } from './openExitReport';
import { revealExitFolder } from './revealExitFolder';
import { runExitPlan } from './runExitPlan';

/** A command: `arg` is whatever VS Code passes (a tree node from a menu, nothing from the palette). */
export type CommandHandler = (ctx: CommandContext, arg?: unknown) => Promise<void> | void;

/** Every command of the extension; package.json's `contributes.commands` lists the same ids. */
export const COMMANDS = {
  'exitPlan.addWarehouseConnection': addWarehouseConnection,
  'exitPlan.removeWarehouseConnection': removeWarehouseConnection,
  'exitPlan.exportWarehouse': exportWarehouse,
  'exitPlan.exportTable': exportTable,
  'exitPlan.exportSubset': exportSubset,
  'exitPlan.refreshWarehouse': refreshWarehouse,
  'exitPlan.editWarehouseConnection': editWarehouseConnection,
  'exitPlan.updateWarehousePassword': updateWarehousePassword,
  'exitPlan.testWarehouseConnection': testWarehouseConnection,
  'exitPlan.revealExport': revealExport,
  'exitPlan.copyExportPath': copyExportPath,
  'exitPlan.verifyExport': verifyExport,
  'exitPlan.showLog': showLog,
  'exitPlan.exportWarehouseToAzure': exportWarehouseToAzure,
  'exitPlan.addAzureConnection': addAzureConnection,
  'exitPlan.removeAzureConnection': removeAzureConnection,
  'exitPlan.refreshAzure': refreshAzure,
  'exitPlan.loadMoreAzure': loadMoreAzure,
  'exitPlan.computeSize': computeSize,
  'exitPlan.generateSas': generateSas,
  'exitPlan.editAzureConnection': editAzureConnection,
  'exitPlan.updateAzureSecret': updateAzureSecret,
  'exitPlan.testAzureConnection': testAzureConnection,
  'exitPlan.copyBlobUrl': copyBlobUrl,
  'exitPlan.downloadBlob': downloadBlob,
  'exitPlan.initDataset': initDataset,
  'exitPlan.processDatasets': processDatasets,
  'exitPlan.exportDatasetNow': exportDatasetNow,
  'exitPlan.openDatasetReport': openDatasetReport,
  'exitPlan.openDatasetLog': openDatasetLog,
  'exitPlan.refreshDatasets': refreshDatasets,
  'exitPlan.addDatasetFolder': addDatasetFolder,
  'exitPlan.removeDatasetFolder': removeDatasetFolder,
  'exitPlan.backUpNow': backUpNow,
  'exitPlan.verifyBackups': verifyBackups,
  'exitPlan.rotateBackups': rotateBackups,
  'exitPlan.restoreBackup': restoreBackup,
  'exitPlan.restoreDrill': restoreDrill,
  'exitPlan.showBackupReport': showBackupReport,
  'exitPlan.refreshBackups': refreshBackups,
  'exitPlan.addBackupTarget': addBackupTarget,
  'exitPlan.removeBackupTarget': removeBackupTarget,
  'exitPlan.editBackupTarget': editBackupTarget,
  'exitPlan.testBackupTarget': testBackupTarget,
  'exitPlan.createExitPlan': createExitPlan,
  'exitPlan.addRclonePart': addRclonePart,
  'exitPlan.runExitPlan': runExitPlan,
  'exitPlan.openExitReport': openExitReport,
  'exitPlan.revealExitFolder': revealExitFolder,
} as const satisfies Record<`exitPlan.${string}`, CommandHandler>;

export type CommandId = keyof typeof COMMANDS;

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return (Object.keys(COMMANDS) as CommandId[]).map((id) =>
    vscode.commands.registerCommand(id, (arg?: unknown) => runCommand(ctx, id, COMMANDS[id], arg)),
  );
}

/**
 * The one wrapper around every command: logs start and finish, shows an ExitPlanError's sentence as-is,
 * any other error as "Exit Plan: …" with its stack in the log, and a cancellation as information. An error's
 * fixes (errorActions.ts, e.g. "Edit Connection") are offered as buttons before Show Log.
 * Everything shown or logged passes through maskSecrets (Azure SDK errors can echo signed URLs).
 * Never rejects.
 */
async function runCommand(ctx: CommandContext, id: CommandId, handler: CommandHandler, arg: unknown): Promise<void> {
  const started = Date.now();
  ctx.log.info(`${id} started`);
  try {
    await handler(ctx, arg);
    ctx.log.info(`${id} finished in ${Date.now() - started} ms`);
  } catch (err) {
    if (isCancelled(err) || err instanceof vscode.CancellationError) {
      const message = isCancelled(err) ? maskSecrets(err.message) : 'Exit Plan: cancelled.';
      ctx.log.info(`${id} cancelled: ${message}`);
      void vscode.window.showInformationMessage(message);
      return;
    }
    let message: string;
    if (err instanceof ExitPlanError) {
      message = maskSecrets(err.message);
      ctx.log.error(`${id} failed: ${message}${err.cause instanceof Error ? ` (cause: ${maskSecrets(err.cause.message)})` : ''}`);
    } else {
      message = `Exit Plan: ${maskSecrets(errorMessage(err))}`;
      ctx.log.error(`${id} failed: ${err instanceof Error && err.stack ? maskSecrets(err.stack) : message}`);
    }
    const actions = errorActions(err);
    const show = 'Show Log';
    void vscode.window.showErrorMessage(message, ...actions.map((a) => a.title), show).then((choice) => {
      if (choice === show) ctx.log.show();
      else void actions.find((a) => a.title === choice)?.run();
    });
  }
}
