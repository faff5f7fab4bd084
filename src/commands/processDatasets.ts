import * as vscode from 'vscode';
import { ExitPlanError, datasets } from '../exporters';
import type { CommandContext } from './context';

/** Processes every dataset under the roots (ingest, export if due, metrics, git, clean) with a cancellable progress. */
export async function processDatasets(ctx: CommandContext): Promise<void> {
  const found = await ctx.datasets.discover();
  for (const p of found.problems) ctx.log.warn(`Datasets: ${p.message}`);
  if (found.datasets.length === 0) {
    throw new ExitPlanError('No datasets to process: add folders to the setting exitPlan.datasets.roots, or run Exit Plan: Init Dataset.');
  }
  const results = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: 'Exit Plan: processing datasets', cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const onCancel = token.onCancellationRequested(() => controller.abort());
      let done = 0;
      try {
        return await ctx.datasets.run(found.datasets, {
          controller,
          onProgress: (p) => {
            const increment = p.phase === 'done' ? 100 / p.count : 0;
            if (p.phase === 'done') done++;
            progress.report({ message: `${done}/${p.count} — ${p.name}: ${p.message}`, increment });
          },
        });
      } finally {
        onCancel.dispose();
      }
    },
  );
  for (const r of results) (r.ok ? ctx.log.info : ctx.log.warn).call(ctx.log, `${r.name}: ${r.message}`);

  const count = (o: datasets.DatasetOutcome) => results.filter((r) => r.outcome === o).length;
  const failed = results.filter((r) => !r.ok);
  const parts = [`${count('exported')} exported`, `${count('notDue')} not due`];
  if (count('busy') > 0) parts.push(`${count('busy')} busy in another run`);
  if (failed.length > 0) {
    const report = 'Open Report';
    const log = 'Show Log';
    const choice = await vscode.window.showWarningMessage(
      `Processed ${results.length} datasets (${parts.join(', ')}); ${failed.length} failed: ${failed.map((r) => r.name).join(', ')}.`,
      report,
      log,
    );
    if (choice === report) void vscode.commands.executeCommand('exitPlan.openDatasetReport');
    if (choice === log) ctx.log.show();
    return;
  }
  void vscode.window.showInformationMessage(`Processed ${results.length} dataset${results.length === 1 ? '' : 's'}: ${parts.join(', ')}.`);
}
