import * as vscode from 'vscode';
import { createReportPanel } from './webviewPage';
import { isDatasetsReportMessage, type DatasetView, type DatasetsReportToWebview } from './webviewMessages';
import { datasets } from '../exporters';
import { executeCommand } from '../commands/invoke';
import { ago } from './datasetsTree';
import type { DatasetsService, DatasetsState } from '../services/datasets';

function toView(d: datasets.DatasetReport, active: boolean): DatasetView {
  const history = d.history ?? [];
  return {
    name: d.name,
    path: d.path,
    error: d.error,
    lastSuccess: d.lastSuccess,
    lastSuccessGone: d.lastSuccessGone,
    overdue: d.overdue,
    failing: d.failing,
    running: active || d.running !== undefined,
    state: datasets.datasetState(d, active),
    lastError: d.lastError,
    lastSuccessAgo: d.lastSuccess ? ago(d.lastSuccess) : undefined,
    interval: d.interval,
    nextDue: d.nextDue,
    keep: d.keep,
    shrinkAlert: d.shrinkAlert,
    warnings: datasets.distinctWarnings(d, datasets.datasetState(d, active)),
    columns: d.columns,
    highlights: d.highlights,
    history: {
      times: history.map((h) => h.time / 1000),
      success: history.map((h) => h.success),
      values: Object.fromEntries(d.columns.map((c) => [c, history.map((h) => h.values[c] ?? null)])),
    },
  };
}

export interface DatasetsReportDeps {
  extensionUri: vscode.Uri;
  service: DatasetsService;
  log: vscode.LogOutputChannel;
}

/** The report of every dataset under the roots: warnings, newest successes, metrics, a chart per metric. One panel. */
export class DatasetsReportPanel {
  private static current: DatasetsReportPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  static show(deps: DatasetsReportDeps): void {
    if (DatasetsReportPanel.current) {
      DatasetsReportPanel.current.panel.reveal();
      deps.service.refresh();
      return;
    }
    const panel = createReportPanel(deps.extensionUri, {
      viewType: 'exitPlan.datasetsReport',
      title: 'Datasets Report',
      pageTitle: 'Datasets Report',
      bundle: 'datasetsReport',
      body: REPORT_BODY,
      dataImages: true,
    });
    DatasetsReportPanel.current = new DatasetsReportPanel(panel, deps);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: DatasetsReportDeps,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
      deps.service.onDidChange(() => void this.render()),
    );
  }

  private dispose(): void {
    DatasetsReportPanel.current = undefined;
    for (const d of this.disposables) d.dispose();
  }

  private async receive(message: unknown): Promise<void> {
    if (!isDatasetsReportMessage(message)) return;
    if (message.type === 'ready') return this.render();
    if (message.type === 'refresh') return this.deps.service.refresh();
    // Only datasets of the current report: the page cannot name any other folder.
    const state = await this.deps.service.state();
    const dataset = state.report.datasets.find((d) => d.path === message.dataset);
    if (!dataset) return;
    if (message.type === 'exportNow') void executeCommand('exitPlan.exportDatasetNow', { dataset: dataset.path });
    if (message.type === 'openLog') void executeCommand('exitPlan.openDatasetLog', { dataset: dataset.path });
    if (message.type === 'openConfig') void vscode.window.showTextDocument(vscode.Uri.file(datasets.datasetPaths(dataset.path).config));
  }

  private async render(): Promise<void> {
    void this.post({ type: 'busy', busy: true });
    let state: DatasetsState;
    try {
      state = await this.deps.service.state();
    } catch (err) {
      this.deps.log.error(`Datasets report: ${(err as Error).message}`);
      return;
    }
    void this.post({
      type: 'render',
      generatedAt: state.report.generatedAt,
      shrinkAlert: state.report.shrinkAlert,
      datasets: state.report.datasets.map((d) => toView(d, this.deps.service.isActive(d.path))),
      problems: state.problems.map((p) => p.message),
      roots: state.roots.length,
      summary: datasets.describeDatasetsSummary(
        datasets.summarizeDatasets(state.report.datasets, (d) => this.deps.service.isActive((d as datasets.DatasetReport).path)),
      ),
    });
  }

  private post(message: DatasetsReportToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }
}

/** The page: a shell the script fills in from `render` messages. uPlot and the script are bundled by esbuild. */
const REPORT_BODY = `<header class="top">
  <h1>Datasets</h1>
  <span id="generated" class="muted"></span>
  <button type="button" id="refresh" class="secondary">Refresh</button>
</header>
<p id="summary" class="summary">Loading…</p>
<ul id="problems" class="warnings"></ul>
<main id="datasets"></main>`;
