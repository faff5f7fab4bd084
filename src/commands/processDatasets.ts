import * as vscode from 'vscode';
import { datasets, plural } from '../exporters';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';
import { noDatasets } from './pickDataset';
import { runOperation } from './runOperation';

/** Processes every dataset under the roots (ingest, export if due, metrics, git, clean) with a cancellable progress. */
export async function processDatasets(ctx: CommandContext): Promise<void> {
  const found = await ctx.datasets.discover();
  for (const p of found.problems) ctx.log.warn(`Datasets: ${p.message}`);
  if (found.datasets.length === 0) throw noDatasets('No datasets to process');
  const results = await runOperation(ctx, 'processing datasets', (op) =>
    ctx.datasets.run(found.datasets, {
      signal: op.signal,
      onProgress: (p) => op.report(datasets.describeDatasetProgress(p), datasets.datasetProgressFraction(p)),
    }),
  );
  for (const r of results) (r.ok ? ctx.log.info : ctx.log.warn).call(ctx.log, `${r.name}: ${r.message}`);

  const count = (o: datasets.DatasetOutcome) => results.filter((r) => r.outcome === o).length;
  const failed = results.filter((r) => !r.ok);
  const parts = [`${count('exported')} exported`, `${count('notDue')} not due`];
  if (count('busy') > 0) parts.push(`${count('busy')} busy in another run`);
  if (failed.length > 0) {
    const report = 'Open Datasets Report';
    const log = 'Show Log';
    const choice = await vscode.window.showWarningMessage(
      `Processed ${results.length} datasets (${parts.join(', ')}); ${failed.length} failed: ${failed.map((r) => r.name).join(', ')}.`,
      report,
      log,
    );
    if (choice === report) void executeCommand('exitPlan.openDatasetReport');
    if (choice === log) ctx.log.show();
    return;
  }
  void vscode.window.showInformationMessage(`Processed ${plural(results.length, 'dataset')}: ${parts.join(', ')}.`);
}
