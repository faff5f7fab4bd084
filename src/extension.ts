import * as vscode from 'vscode';
import { registerCommands } from './commands/registry';
import { AzureConnectionStore } from './services/azureConnections';
import { BackupScheduler } from './services/backupScheduler';
import { BackupService } from './services/backupService';
import { ConnectionStore } from './services/connectionStore';
import { DatasetsService } from './services/datasets';
import { DatasetsAutoProcess } from './services/datasetsAutoProcess';
import { ExitPlanService } from './services/exitPlans';
import { RecentExports } from './services/recentExports';
import { RunningTasks } from './services/runningTasks';
import { AZURE_VIEW, AzureTreeProvider } from './views/azureTree';
import { BACKUP_REPORT_VIEW, BackupReportProvider } from './views/backupReport';
import { BACKUPS_VIEW, BackupsTreeProvider } from './views/backupsTree';
import { DatasetsStatus } from './views/datasetsStatus';
import { DatasetsTreeProvider } from './views/datasetsTree';
import { EXIT_PLAN_VIEW, ExitPlanTreeProvider } from './views/exitPlanTree';
import { ExitReportPanel } from './views/exitReport';
import { SasPanel } from './views/sasPanel';
import { WarehouseTreeProvider } from './views/warehouseTree';

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
  const recentExports = new RecentExports(context.globalState);
  const warehouseTree = new WarehouseTreeProvider(connections, log, recentExports);
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
    recentExports,
    warehouseTree,
    azureConnections,
    azureTree,
    warehouseTree.createView(),
    vscode.window.createTreeView(AZURE_VIEW, { treeDataProvider: azureTree, showCollapseAll: true }),
    datasets,
    datasetsTree,
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
      recentExports,
      azureConnections,
      azureTree,
      datasets,
      datasetsTree,
      backups,
      exitPlans,
      tasks,
      workspaceState: context.workspaceState,
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
