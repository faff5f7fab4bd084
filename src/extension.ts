import * as vscode from 'vscode';
import { registerCommands } from './commands/registry';
import { AzureConnectionStore } from './services/azureConnections';
import { BackupScheduler } from './services/backupScheduler';
import { BackupService } from './services/backupService';
import { ConnectionStore } from './services/connectionStore';
import { DatasetsService } from './services/datasets';
import { DatasetsAutoProcess } from './services/datasetsAutoProcess';
import { ExitPlanService } from './services/exitPlans';
import { RunningTasks } from './services/runningTasks';
import { AZURE_VIEW, AzureTreeProvider } from './views/azureTree';
import { BACKUP_REPORT_VIEW, BackupReportProvider } from './views/backupReport';
import { BACKUPS_VIEW, BackupsTreeProvider } from './views/backupsTree';
import { DatasetsStatus } from './views/datasetsStatus';
import { DATASETS_VIEW, DatasetsTreeProvider } from './views/datasetsTree';
import { EXIT_PLAN_VIEW, ExitPlanTreeProvider } from './views/exitPlanTree';
import { ExitReportPanel } from './views/exitReport';
import { SasPanel } from './views/sasPanel';
import { WAREHOUSE_VIEW, WarehouseTreeProvider } from './views/warehouseTree';

const tasks = new RunningTasks();

/**
 * What the integration suite reads, given only when VS Code runs the extension's tests
 * (ExtensionMode.Test): the tree providers behind the views, and the latest SAS panel.
 */
export interface ExitPlanTestApi {
  warehouseTree: WarehouseTreeProvider;
  azureTree: AzureTreeProvider;
  datasetsTree: DatasetsTreeProvider;
  backupsTree: BackupsTreeProvider;
  exitPlanTree: ExitPlanTreeProvider;
  latestExitReport(): ExitReportPanel | undefined;
  latestSasPanel(): SasPanel | undefined;
}

/** Composes the extension: services, then views, then commands. */
export function activate(context: vscode.ExtensionContext): ExitPlanTestApi | undefined {
  const log = vscode.window.createOutputChannel('Exit Plan', { log: true });
  const connections = new ConnectionStore(context.secrets);
  const warehouseTree = new WarehouseTreeProvider(connections, log);
  const azureConnections = new AzureConnectionStore(context.secrets);
  const azureTree = new AzureTreeProvider(azureConnections, log);
  const datasets = new DatasetsService(log, tasks);
  const datasetsTree = new DatasetsTreeProvider(datasets);
  const backups = new BackupService(connections, tasks, log);
  const backupsTree = new BackupsTreeProvider(backups);
  const backupReport = new BackupReportProvider(backups, context.extensionUri);
  const exitPlans = new ExitPlanService(connections, azureConnections, log);
  const exitPlanTree = new ExitPlanTreeProvider(exitPlans);
  context.subscriptions.push(
    log,
    connections,
    warehouseTree,
    azureConnections,
    azureTree,
    vscode.window.createTreeView(WAREHOUSE_VIEW, { treeDataProvider: warehouseTree, showCollapseAll: true }),
    vscode.window.createTreeView(AZURE_VIEW, { treeDataProvider: azureTree, showCollapseAll: true }),
    datasets,
    datasetsTree,
    vscode.window.createTreeView(DATASETS_VIEW, { treeDataProvider: datasetsTree, showCollapseAll: true }),
    new DatasetsStatus(datasets),
    new DatasetsAutoProcess(datasets, log),
    backups,
    backupsTree,
    backupReport,
    backupsTree.createView(BACKUPS_VIEW),
    vscode.window.registerWebviewViewProvider(BACKUP_REPORT_VIEW, backupReport),
    new BackupScheduler(backups),
    exitPlans,
    exitPlanTree,
    vscode.window.createTreeView(EXIT_PLAN_VIEW, { treeDataProvider: exitPlanTree }),
    ...registerCommands({
      log,
      connections,
      warehouseTree,
      azureConnections,
      azureTree,
      datasets,
      backups,
      exitPlans,
      tasks,
      extensionUri: context.extensionUri,
    }),
  );
  if (context.extensionMode !== vscode.ExtensionMode.Test) return undefined;
  return {
    warehouseTree,
    azureTree,
    datasetsTree,
    backupsTree,
    exitPlanTree,
    latestExitReport: () => ExitReportPanel.latest,
    latestSasPanel: () => SasPanel.latest,
  };
}

/** Cancels running exports and waits for their clean-up, so no half-written file outlives VS Code. */
export function deactivate(): Promise<void> {
  return tasks.cancelAll();
}
