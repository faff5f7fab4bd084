import * as vscode from 'vscode';
import type { CommandContext } from './context';
import { targetFromArg } from './pickBackup';

/** Forgets a backup target (its schedule stops); the folder and every backup in it stay. */
export async function removeBackupTarget(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to remove');
  if (!target) return;
  const remove = 'Remove Target';
  const choice = await vscode.window.showWarningMessage(
    `Remove the backup target "${target.name}"?`,
    { modal: true, detail: `Its schedule stops. The folder ${target.dir} and the backups in it are not touched.` },
    remove,
  );
  if (choice !== remove) return;
  await ctx.backups.targets.remove(target.name);
  ctx.log.info(`Removed backup target "${target.name}" (folder ${target.dir} kept)`);
}
