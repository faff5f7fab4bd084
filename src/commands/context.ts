import type * as vscode from 'vscode';
import type { AzureConnectionStore } from '../services/azureConnections';
import type { BackupService } from '../services/backupService';
import type { ConnectionStore } from '../services/connectionStore';
import type { DatasetsService } from '../services/datasets';
import type { ExitPlanService } from '../services/exitPlans';
import type { RecentExports } from '../services/recentExports';
import type { RunningTasks } from '../services/runningTasks';
import type { AzureTreeProvider } from '../views/azureTree';
import type { DatasetsTreeProvider } from '../views/datasetsTree';
import type { WarehouseTreeProvider } from '../views/warehouseTree';

/** What every command handler gets: the services built once in `activate`. */
export interface CommandContext {
  readonly log: vscode.LogOutputChannel;
  readonly connections: ConnectionStore;
  /** Exports and other long work; cancelled when the extension deactivates. */
  readonly tasks: RunningTasks;
  readonly warehouseTree: WarehouseTreeProvider;
  /** The last exports of each warehouse connection, and the folder each last exported to. */
  readonly recentExports: RecentExports;
  readonly azureConnections: AzureConnectionStore;
  readonly azureTree: AzureTreeProvider;
  /** Datasets under `exitPlan.datasets.roots`: the cached report, and runs through `tasks`. */
  readonly datasets: DatasetsService;
  /** The Datasets tree, to reveal what a command added or created. */
  readonly datasetsTree: DatasetsTreeProvider;
  /** Backup targets from `exitPlan.backups.targets`: cached reports, and operations through `tasks`. */
  readonly backups: BackupService;
  /** The workspace's exit plan (exit-plan.toml or exitPlan.planFile): state for the view, and runs through `tasks`. */
  readonly exitPlans: ExitPlanService;
  /** This workspace's state (e.g. the last subset predicate of each table). */
  readonly workspaceState: vscode.Memento;
  /** Where media/ (the SAS panel's script and styles) is found. */
  readonly extensionUri: vscode.Uri;
}
