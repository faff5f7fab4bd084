import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, backups, formatBytes, isCancelled } from '../exporters';
import type { CommandContext } from './context';
import { withErrorAction } from './errorActions';
import { executeCommand } from './invoke';
import { targetFromArg } from './pickBackup';
import { runOperation } from './runOperation';

/** The warehouse connection commands (another area's), offered by id with `{ name }` when connecting fails. */
const EDIT_CONNECTION = 'exitPlan.editWarehouseConnection';
const UPDATE_PASSWORD = 'exitPlan.updateWarehousePassword';

/**
 * Backs up a target now (its tree node, or a `BackupTargetRef`): its database with pg_dump and each of its
 * folders as a tar, then verifies them.
 */
export async function backUpNow(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to back up now');
  if (!target) return;
  // Where the backup stood when it failed: a failure while connecting is the connection's to fix.
  let connecting = Boolean(target.warehouseConnection) && target.blocking.length === 0;
  const result = await runOperation(ctx, `backing up ${target.name}`, (op) =>
    ctx.backups.backUp(target, {
      signal: op.signal,
      onProgress: (p) => {
        connecting = p.step === 'database' && (!p.backup || p.backup.phase === 'connecting');
        op.report(backups.describeTargetBackupProgress(p), backups.targetBackupProgressFraction(p));
      },
    }),
  ).catch((err: unknown) => {
    const connection = target.warehouseConnection;
    if (connection && connecting && !isCancelled(err)) {
      withErrorAction(err, { title: 'Edit Connection', run: () => vscode.commands.executeCommand(EDIT_CONNECTION, { name: connection }) });
      withErrorAction(err, { title: 'Update Password', run: () => vscode.commands.executeCommand(UPDATE_PASSWORD, { name: connection }) });
    }
    throw err;
  });
  if (!result.ok) throw new ExitPlanError(result.message);
  const verified = result.verifications.length > 0 ? ', verified' : '';
  const list = result.backups.map((r) => `${path.basename(r.file)} (${formatBytes(r.bytes)})`).join(', ');
  ctx.log.info(`Backed up "${target.name}": ${result.backups.map((r) => r.file).join(', ')}`);
  const reveal = 'Reveal in File Explorer';
  const rotate = 'Review Rotation…';
  const plan = target.rotation ? await ctx.backups.previewRotation(target).catch(() => undefined) : undefined;
  const buttons = plan && plan.summary.remove > 0 ? [reveal, rotate] : [reveal];
  void vscode.window.showInformationMessage(`Backed up "${target.name}"${verified}: ${list}.`, ...buttons).then((choice) => {
    const first = result.backups[0];
    if (choice === reveal && first) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(first.file));
    if (choice === rotate) void executeCommand('exitPlan.rotateBackups', { targetName: target.name });
  });
}
