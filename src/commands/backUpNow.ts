import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, backups, formatBytes, isCancelled } from '../exporters';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';
import { targetFromArg } from './pickBackup';
import { runOperation } from './runOperation';
import { offerConnectionFixes } from './warehouseConnection';

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
    if (connection && connecting && !isCancelled(err)) offerConnectionFixes(err, connection);
    throw err;
  });
  // pg_dump got in: the Warehouse view shows that connection as working (even if it said otherwise before).
  if (target.warehouseConnection && result.backups.some((b) => b.kind === 'postgres'))
    ctx.warehouseTree.connectionSucceeded(target.warehouseConnection);
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
