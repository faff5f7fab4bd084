import * as vscode from 'vscode';
import { registerCommands } from './commands/registry';
import { AzureConnectionStore } from './services/azureConnections';
import { ConnectionStore } from './services/connectionStore';
import { RunningTasks } from './services/runningTasks';
import { AZURE_VIEW, AzureTreeProvider } from './views/azureTree';
import { WAREHOUSE_VIEW, WarehouseTreeProvider } from './views/warehouseTree';

const tasks = new RunningTasks();

/** Composes the extension: services, then views, then commands. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Exit Plan', { log: true });
  const connections = new ConnectionStore(context.secrets);
  const warehouseTree = new WarehouseTreeProvider(connections, log);
  const azureConnections = new AzureConnectionStore(context.secrets);
  const azureTree = new AzureTreeProvider(azureConnections, log);
  context.subscriptions.push(
    log,
    connections,
    warehouseTree,
    azureConnections,
    azureTree,
    vscode.window.createTreeView(WAREHOUSE_VIEW, { treeDataProvider: warehouseTree, showCollapseAll: true }),
    vscode.window.createTreeView(AZURE_VIEW, { treeDataProvider: azureTree, showCollapseAll: true }),
    ...registerCommands({ log, connections, warehouseTree, azureConnections, azureTree, tasks, extensionUri: context.extensionUri }),
  );
}

/** Cancels running exports and waits for their clean-up, so no half-written file outlives VS Code. */
export function deactivate(): Promise<void> {
  return tasks.cancelAll();
}
