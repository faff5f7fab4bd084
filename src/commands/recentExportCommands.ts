import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, formatBytes, formatCount, plural, verifyArchive } from '../exporters';
import type { RecentExport } from '../services/recentExports';
import { isWarehouseNode } from '../views/warehouseTree';
import type { CommandContext } from './context';
import { isRef } from './invoke';
import { runOperation } from './runOperation';

/** The archive of a Recent Exports entry (its context menu), or `{ archive }` from code (the export's notification). */
function entryFromArg(arg: unknown, command: string): Pick<RecentExport, 'archive'> {
  if (isWarehouseNode(arg, 'recentExport')) return arg.entry;
  if (isRef(arg, 'archive')) return { archive: arg.archive };
  throw new ExitPlanError(`${command} works on one export: right-click it under Recent Exports in the Warehouse view.`);
}

function mustExist(entry: Pick<RecentExport, 'archive'>): void {
  if (!fs.existsSync(entry.archive)) {
    throw new ExitPlanError(`The archive ${entry.archive} is no longer there: it was moved or deleted.`);
  }
}

/**
 * Shows the archive in the system's file manager; where VS Code has none (a remote or web window), in the
 * Explorer when it is in the workspace, else its path in a notification with Copy Path.
 */
export async function revealExport(_ctx: CommandContext, arg?: unknown): Promise<void> {
  const entry = entryFromArg(arg, 'Reveal Export Archive');
  mustExist(entry);
  const uri = vscode.Uri.file(entry.archive);
  const commands = new Set(await vscode.commands.getCommands(true));
  if (commands.has('revealFileInOS') && vscode.env.remoteName === undefined) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return;
  }
  const inWorkspace = vscode.workspace.workspaceFolders?.some((f) => {
    const relative = path.relative(f.uri.fsPath, entry.archive);
    return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  });
  if (inWorkspace) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return;
  }
  const copy = 'Copy Path';
  const choice = await vscode.window.showInformationMessage(`The archive is ${entry.archive}.`, copy);
  if (choice === copy) await vscode.env.clipboard.writeText(entry.archive);
}

export async function copyExportPath(_ctx: CommandContext, arg?: unknown): Promise<void> {
  const entry = entryFromArg(arg, 'Copy Export Archive Path');
  await vscode.env.clipboard.writeText(entry.archive);
  vscode.window.setStatusBarMessage(`$(check) Copied ${entry.archive}`, 4000);
}

/** Reads the archive again (every entry's CRC-32, every CSV's SHA-256 and rows against its manifest) and says the result. */
export async function verifyExport(ctx: CommandContext, arg?: unknown): Promise<void> {
  const entry = entryFromArg(arg, 'Verify Export Archive');
  mustExist(entry);
  const name = path.basename(entry.archive);
  let read = 0;
  const result = await runOperation(ctx, `verifying ${name}`, (op) =>
    verifyArchive(entry.archive, {
      signal: op.signal,
      onBytes: (n) => {
        read += n;
        op.report(`${formatBytes(read)} read`);
      },
    }),
  );
  const message =
    `${name} verified: every checksum and row count matches its manifest ` +
    `(${plural(result.files, 'CSV file')}, ${formatCount(result.rows)} rows).`;
  ctx.log.info(`${message} (${entry.archive})`);
  void vscode.window.showInformationMessage(message);
}
