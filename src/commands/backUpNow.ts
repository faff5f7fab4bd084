import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatBytes } from '../exporters';
import type { CommandContext } from './context';
import { targetFromArg, withCancellableProgress } from './pickBackup';

/** Backs up a target now: its database with pg_dump and each of its folders as a tar, then verifies them. */
export async function backUpNow(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to back up now');
  if (!target) return;
  const results = await withCancellableProgress(`Exit Plan: backing up ${target.name}`, (report, controller) =>
    ctx.backups.backUp(target, { progress: report, controller }),
  );
  const verified = ctx.backups.targets.verifyAfterBackup() ? ', verified' : '';
  const list = results.map((r) => `${path.basename(r.file)} (${formatBytes(r.bytes)})`).join(', ');
  ctx.log.info(`Backed up "${target.name}": ${results.map((r) => r.file).join(', ')}`);
  const reveal = 'Reveal in File Explorer';
  const rotate = 'Review Rotation…';
  const plan = target.rotation ? await ctx.backups.previewRotation(target).catch(() => undefined) : undefined;
  const buttons = plan && plan.summary.remove > 0 ? [reveal, rotate] : [reveal];
  void vscode.window.showInformationMessage(`Backed up "${target.name}"${verified}: ${list}.`, ...buttons).then((choice) => {
    if (choice === reveal && results[0]) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(results[0].file));
    if (choice === rotate) void vscode.commands.executeCommand('exitPlan.rotateBackups', { kind: 'target', target });
  });
}
