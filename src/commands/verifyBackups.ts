import * as vscode from 'vscode';
import { backups, formatCount } from '../exporters';
import { isBackupNode } from '../views/backupsTree';
import type { CommandContext } from './context';
import { targetFromArg } from './pickBackup';
import { runOperation } from './runOperation';

/**
 * Verifies backups (a file, a group, or a whole target, from its tree node or a `BackupTargetRef`): sidecar
 * checksum, then pg_restore --list or a full read of the tar; each result is recorded in the backup's sidecar
 * and shown in the tree.
 */
export async function verifyBackups(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to verify');
  if (!target) return;
  const files = isBackupNode(arg, 'backup') ? [arg.entry.file] : isBackupNode(arg, 'group') ? arg.entries.map((e) => e.file) : undefined;
  const results = await runOperation(ctx, `verifying backups of ${target.name}`, (op) =>
    ctx.backups.verify(target, files, {
      signal: op.signal,
      onProgress: (p) => op.report(backups.describeVerifyProgress(p), backups.verifyProgressFraction(p)),
    }),
  );
  const failed = results.filter((r) => r.state === 'failed');
  if (results.length === 0) {
    void vscode.window.showInformationMessage(`Backup target "${target.name}" has no backups to verify.`);
    return;
  }
  if (failed.length === 0) {
    void vscode.window.showInformationMessage(
      results.length === 1
        ? `${results[0].name} is verified: ${results[0].message}`
        : `All ${formatCount(results.length)} backups of "${target.name}" are verified.`,
    );
    return;
  }
  for (const f of failed) ctx.log.warn(`Verification failed: ${f.file}: ${f.message}`);
  const show = 'Show Log';
  void vscode.window
    .showWarningMessage(
      `${formatCount(failed.length)} of ${formatCount(results.length)} backups of "${target.name}" failed verification; ` +
        `first: ${failed[0].name}: ${failed[0].message}`,
      show,
    )
    .then((choice) => {
      if (choice === show) ctx.log.show();
    });
}
