import * as vscode from 'vscode';
import { ExitPlanError, datasets } from '../exporters';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';
import { datasetFromArg } from './pickDataset';
import { runOperation } from './runOperation';

/** Runs a dataset's export now, whatever its schedule, with progress; Cancel kills the command's process group. */
export async function exportDatasetNow(ctx: CommandContext, arg?: unknown): Promise<void> {
  const dataset = await datasetFromArg(ctx, arg, 'Dataset to export now');
  if (!dataset) return;
  if (dataset.error) throw new ExitPlanError(dataset.error);
  const [result] = await runOperation(ctx, `exporting ${dataset.name}`, (op) =>
    ctx.datasets.run([dataset.path], {
      force: true,
      signal: op.signal,
      onProgress: (p) => op.report(datasets.describeDatasetProgress(p), datasets.datasetProgressFraction(p)),
    }),
  );
  ctx.log.info(`${result.name}: ${result.message}`);
  for (const w of result.warnings) ctx.log.warn(`${result.name}: ${w}`);
  if (result.outcome === 'busy') {
    void vscode.window.showWarningMessage(`${result.name}: ${result.message}`);
    return;
  }
  const openLog = 'Open Dataset Log';
  const ref = { dataset: dataset.path };
  if (!result.ok) {
    // The line that says why (the command's last words on stderr), where the failure is reported.
    const line = result.outcome === 'failed' && result.parcelId ? await datasets.lastErrorLine(dataset.path, result.parcelId) : undefined;
    const why = line ? ` Last error: ${line}` : '';
    const logRef = { dataset: dataset.path, parcel: result.parcelId };
    const choice = await vscode.window.showErrorMessage(`${result.name}: ${result.message}${why}`, openLog);
    if (choice === openLog) void executeCommand('exitPlan.openDatasetLog', logRef);
    return;
  }
  const warn = result.warnings.length > 0 ? ` ${result.warnings.join(' ')}` : '';
  void vscode.window.showInformationMessage(`${result.name}: ${result.message}${warn}`, openLog).then((choice) => {
    if (choice === openLog) void executeCommand('exitPlan.openDatasetLog', ref);
  });
}
