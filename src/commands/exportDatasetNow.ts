import * as vscode from 'vscode';
import { ExitPlanError } from '../exporters';
import type { CommandContext } from './context';
import { datasetFromArg } from './pickDataset';

/** Runs a dataset's export now, whatever its schedule, with progress; Cancel kills the command's process group. */
export async function exportDatasetNow(ctx: CommandContext, arg?: unknown): Promise<void> {
  const dataset = await datasetFromArg(ctx, arg, 'Dataset to export now');
  if (!dataset) return;
  if (dataset.error) throw new ExitPlanError(dataset.error);
  const [result] = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Exit Plan: exporting ${dataset.name}`, cancellable: true },
    async (progress, token) => {
      const controller = new AbortController();
      const onCancel = token.onCancellationRequested(() => controller.abort());
      try {
        return await ctx.datasets.run([dataset.path], {
          force: true,
          controller,
          onProgress: (p) => progress.report({ message: p.message }),
        });
      } finally {
        onCancel.dispose();
      }
    },
  );
  ctx.log.info(`${result.name}: ${result.message}`);
  for (const w of result.warnings) ctx.log.warn(`${result.name}: ${w}`);
  if (result.outcome === 'busy') {
    void vscode.window.showWarningMessage(`${result.name}: ${result.message}`);
    return;
  }
  const openLog = 'Open Log';
  const node = { kind: 'dataset' as const, dataset };
  if (!result.ok) {
    const choice = await vscode.window.showErrorMessage(`${result.name}: ${result.message}`, openLog);
    if (choice === openLog) void vscode.commands.executeCommand('exitPlan.openDatasetLog', node);
    return;
  }
  const warn = result.warnings.length > 0 ? ` ${result.warnings.join(' ')}` : '';
  void vscode.window.showInformationMessage(`${result.name}: ${result.message}${warn}`, openLog).then((choice) => {
    if (choice === openLog) void vscode.commands.executeCommand('exitPlan.openDatasetLog', node);
  });
}
