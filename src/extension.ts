import * as vscode from 'vscode';
import { registerCommands } from './commands/registry';
import { ConnectionStore } from './services/connectionStore';
import { RunningTasks } from './services/runningTasks';
import { WAREHOUSE_VIEW, WarehouseTreeProvider } from './views/warehouseTree';

const tasks = new RunningTasks();

/** Composes the extension: services, then views, then commands. */
export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('Exit Plan', { log: true });
  const connections = new ConnectionStore(context.secrets);
  const warehouseTree = new WarehouseTreeProvider(connections, log);
  context.subscriptions.push(
    log,
    connections,
    warehouseTree,
    vscode.window.createTreeView(WAREHOUSE_VIEW, { treeDataProvider: warehouseTree, showCollapseAll: true }),
    ...registerCommands({ log, connections, warehouseTree, tasks }),
  );
}

/** Cancels running exports and waits for their clean-up, so no half-written file outlives VS Code. */
export function deactivate(): Promise<void> {
  return tasks.cancelAll();
}
