import * as vscode from 'vscode';
import { ExitPlanError, errorMessage, isCancelled } from '../exporters';
import { addWarehouseConnection } from './addWarehouseConnection';
import type { CommandContext } from './context';
import { exportTable } from './exportTable';
import { exportWarehouse } from './exportWarehouse';
import { refreshWarehouse } from './refreshWarehouse';
import { removeWarehouseConnection } from './removeWarehouseConnection';
import { showLog } from './showLog';

/** A command: `arg` is whatever VS Code passes (a tree node from a menu, nothing from the palette). */
export type CommandHandler = (ctx: CommandContext, arg?: unknown) => Promise<void> | void;

/** Every command of the extension; package.json's `contributes.commands` lists the same ids. */
export const COMMANDS = {
  'exitPlan.addWarehouseConnection': addWarehouseConnection,
  'exitPlan.removeWarehouseConnection': removeWarehouseConnection,
  'exitPlan.exportWarehouse': exportWarehouse,
  'exitPlan.exportTable': exportTable,
  'exitPlan.refreshWarehouse': refreshWarehouse,
  'exitPlan.showLog': showLog,
} as const satisfies Record<`exitPlan.${string}`, CommandHandler>;

export type CommandId = keyof typeof COMMANDS;

export function registerCommands(ctx: CommandContext): vscode.Disposable[] {
  return (Object.keys(COMMANDS) as CommandId[]).map((id) =>
    vscode.commands.registerCommand(id, (arg?: unknown) => runCommand(ctx, id, COMMANDS[id], arg)),
  );
}

/**
 * The one wrapper around every command: logs start and finish, shows an ExitPlanError's sentence as-is,
 * any other error as "Exit Plan: …" with its stack in the log, and a cancellation as information.
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
      const message = isCancelled(err) ? err.message : 'Exit Plan: cancelled.';
      ctx.log.info(`${id} cancelled: ${message}`);
      void vscode.window.showInformationMessage(message);
      return;
    }
    let message: string;
    if (err instanceof ExitPlanError) {
      message = err.message;
      ctx.log.error(`${id} failed: ${message}${err.cause instanceof Error ? ` (cause: ${err.cause.message})` : ''}`);
    } else {
      message = `Exit Plan: ${errorMessage(err)}`;
      ctx.log.error(`${id} failed: ${err instanceof Error && err.stack ? err.stack : message}`);
    }
    const show = 'Show Log';
    void vscode.window.showErrorMessage(message, show).then((choice) => {
      if (choice === show) ctx.log.show();
    });
  }
}
