import * as vscode from 'vscode';
import type { CommandContext } from './context';
import { exitRunFolder } from './openExitReport';

/** Shows a run folder (the newest by default) in the system's file manager. */
export async function revealExitFolder(ctx: CommandContext, arg?: unknown): Promise<void> {
  const folder = await exitRunFolder(ctx, arg);
  await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(folder));
}
