import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CommandContext } from './context';
import { exitRunFolder } from './openExitReport';

/**
 * Shows a run folder (the newest by default) in the system's file manager; where VS Code has none (a remote or
 * web window), in the Explorer when the folder is in the workspace, else its path in a notification.
 */
export async function revealExitFolder(ctx: CommandContext, arg?: unknown): Promise<void> {
  const folder = await exitRunFolder(ctx, arg);
  const uri = vscode.Uri.file(folder);
  const commands = new Set(await vscode.commands.getCommands(true));
  if (commands.has('revealFileInOS') && vscode.env.remoteName === undefined) {
    await vscode.commands.executeCommand('revealFileInOS', uri);
    return;
  }
  const inWorkspace = vscode.workspace.workspaceFolders?.some((f) => {
    const relative = path.relative(f.uri.fsPath, folder);
    return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  });
  if (inWorkspace) {
    await vscode.commands.executeCommand('revealInExplorer', uri);
    return;
  }
  void vscode.window.showInformationMessage(`The exit run is in ${folder}.`);
}
