import * as vscode from 'vscode';
import { ExitPlanError } from '../exporters';
import type { CommandContext } from './context';
import { withErrorAction } from './errorActions';
import { executeCommand } from './invoke';
import { targetFromArg } from './pickBackup';
import { runOperation } from './runOperation';
import { offerConnectionFixes } from './warehouseConnection';

/**
 * Tests a backup target without backing up: the pre-flight a backup does (folder writable, free space, the
 * database connection with its stored password, pg_dump's version against the server, each folder of files
 * readable), one line per check in the log and in the result. A failure offers the fix: Edit Connection or
 * Update Password for the database (the target's password is its warehouse connection's), Edit Backup Target
 * for the rest.
 */
export async function testBackupTarget(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to test');
  if (!target) return;
  const result = await runOperation(ctx, `testing ${target.name}`, (op) =>
    ctx.backups.check(target, { signal: op.signal, onProgress: (label) => op.report(label) }),
  );
  if (target.warehouseConnection && result.checks.some((c) => c.kind === 'database' && c.ok))
    ctx.warehouseTree.connectionSucceeded(target.warehouseConnection);
  for (const c of result.checks) ctx.log.info(`Test of "${target.name}": ${c.ok ? 'ok' : 'FAILED'} ${c.kind}: ${c.message}`);
  if (result.ok) {
    // A short line per check; the full sentences are in the log.
    const details = 'Show Log';
    void vscode.window
      .showInformationMessage(
        `Backup target "${target.name}" is ready to back up: ${result.checks.map((c) => `✓ ${c.summary}`).join(' · ')}.`,
        details,
      )
      .then((choice) => {
        if (choice === details) ctx.log.show();
      });
    return;
  }
  const failed = result.checks.filter((c) => !c.ok);
  let err = new ExitPlanError(
    `Backup target "${target.name}" failed ${failed.length} of ${result.checks.length} checks: ${failed.map((c) => c.message).join(' ')}`,
  );
  const connection = target.warehouseConnection;
  if (connection && failed.some((c) => c.kind === 'database')) err = offerConnectionFixes(err, connection);
  if (failed.some((c) => c.kind !== 'database')) {
    err = withErrorAction(err, {
      title: 'Edit Backup Target',
      run: () => executeCommand('exitPlan.editBackupTarget', { targetName: target.name }),
    });
  }
  throw err;
}
