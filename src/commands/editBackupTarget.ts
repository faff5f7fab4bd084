import type { CommandContext } from './context';
import { editTargetWizard } from './addBackupTarget';
import { targetFromArg } from './pickBackup';

/**
 * Edits a backup target (its tree node, a `BackupTargetRef`, or one picked): the Add Backup Target wizard over
 * its saved values, every answer kept; its name stays. The password is its warehouse connection's.
 */
export async function editBackupTarget(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to edit');
  if (!target) return;
  await editTargetWizard(ctx, target.name);
}
