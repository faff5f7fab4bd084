import * as vscode from 'vscode';
import { exit, formatBytes, plural } from '../exporters';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';
import { runOperation } from './runOperation';

/**
 * Runs the exit plan in one progress notification (part i/N and the part's own progress; Cancel stops the run),
 * with saved connections resolved by name. A failed part is a result: the notification at the end says how many.
 */
export async function runExitPlan(ctx: CommandContext): Promise<void> {
  const plan = await ctx.exitPlans.plan();
  const result = await runOperation(ctx, 'running the exit plan', (op) =>
    ctx.exitPlans.run(plan, {
      signal: op.signal,
      onProgress: (p) => op.report(exit.describeExitProgress(p), exit.exitProgressFraction(p)),
      log: op.log,
    }),
  );
  // Parts verified now through saved connections: those connections work, and their views say so.
  for (const part of plan.parts) {
    const done = result.parts.find((p) => p.name === part.name);
    if (done?.status !== 'verified' || done.kept || !('connection' in part) || !part.connection) continue;
    if (part.kind === 'warehouse') ctx.warehouseTree.connectionSucceeded(part.connection);
    if (part.kind === 'azure') ctx.azureTree.markConnected(part.connection);
  }
  const folder = { folder: result.folder };
  const report = 'Open Exit Report';
  const reveal = 'Reveal Exit Folder';
  const verified = result.parts.filter((p) => p.status === 'verified');
  const failed = result.parts.filter((p) => p.status === 'failed');
  const bytes = formatBytes(verified.reduce((sum, p) => sum + p.bytes, 0));
  const complete = result.complete ? 'complete' : 'unfinished';
  ctx.log.info(`Exit run ${result.folder}: ${plural(verified.length, 'part')} verified, ${failed.length} failed, ${complete}`);
  for (const removed of result.removedRuns) ctx.log.info(`Exit run removed by keep: ${removed}`);
  if (result.ok) {
    void vscode.window
      .showInformationMessage(`Exit run complete: all ${plural(verified.length, 'part')} verified (${bytes}).`, report, reveal)
      .then((choice) => {
        if (choice === report) void executeCommand('exitPlan.openExitReport', folder);
        if (choice === reveal) void executeCommand('exitPlan.revealExitFolder', folder);
      });
    return;
  }
  const names = failed.map((p) => `"${p.name}"`).join(', ');
  void vscode.window
    .showWarningMessage(
      `Exit run: ${failed.length} of ${plural(result.parts.length, 'part')} failed (${names}); the others are verified.`,
      report,
    )
    .then((choice) => {
      if (choice === report) void executeCommand('exitPlan.openExitReport', folder);
    });
}
