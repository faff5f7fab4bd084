import * as vscode from 'vscode';
import { webviewPage } from './webviewPage';
import { datasets } from '../exporters';
import type { DatasetsService, DatasetsState } from '../services/datasets';

// Messages between the report panel and its webview, defined here only (media/datasetsReport.js mirrors
// them). The webview gets plain data and asks the extension to act; it never gets a command line.

/** One dataset as the page shows it. */
export interface DatasetView {
  name: string;
  path: string;
  error?: string;
  lastSuccess?: string;
  lastSuccessGone: boolean;
  overdue: boolean;
  failing: boolean;
  running: boolean;
  interval?: string;
  nextDue?: string;
  keep?: number;
  shrinkAlert: number;
  warnings: datasets.ReportWarning[];
  /** Metric columns: files, bytes, then custom ones. */
  columns: string[];
  highlights: datasets.Highlight[];
  /** Every metrics.csv row with a parcel time: seconds since the epoch, success, one value per column. */
  history: { times: number[]; success: boolean[]; values: Record<string, (number | null)[]> };
}

export type ToWebview =
  | { type: 'render'; generatedAt: string; shrinkAlert: number; datasets: DatasetView[]; problems: string[]; roots: number }
  | { type: 'busy'; busy: boolean };

export type FromWebview =
  | { type: 'ready' }
  | { type: 'refresh' }
  | { type: 'exportNow'; dataset: string }
  | { type: 'openLog'; dataset: string }
  | { type: 'openConfig'; dataset: string };

/** Checks what the webview sent; anything else is ignored. */
function parseMessage(value: unknown): FromWebview | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'refresh':
      return { type: m.type };
    case 'exportNow':
    case 'openLog':
    case 'openConfig':
      return typeof m.dataset === 'string' && m.dataset.length < 4096 ? { type: m.type, dataset: m.dataset } : undefined;
    default:
      return undefined;
  }
}

export function toView(d: datasets.DatasetReport, active: boolean): DatasetView {
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
    interval: d.interval,
    nextDue: d.nextDue,
    keep: d.keep,
    shrinkAlert: d.shrinkAlert,
    warnings: d.warnings,
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
    const panel = vscode.window.createWebviewPanel('exitPlan.datasetsReport', 'Datasets Report', vscode.ViewColumn.Active, {
      enableScripts: true,
      enableCommandUris: false,
      localResourceRoots: [vscode.Uri.joinPath(deps.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(deps.extensionUri, 'media')],
    });
    DatasetsReportPanel.current = new DatasetsReportPanel(panel, deps);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: DatasetsReportDeps,
  ) {
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'exit-plan.svg');
    panel.webview.html = reportHtml(panel.webview, deps.extensionUri);
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

  private async receive(value: unknown): Promise<void> {
    const message = parseMessage(value);
    if (!message) return;
    if (message.type === 'ready') return this.render();
    if (message.type === 'refresh') return this.deps.service.refresh();
    // Only datasets of the current report: the page cannot name any other folder.
    const state = await this.deps.service.state();
    const dataset = state.report.datasets.find((d) => d.path === message.dataset);
    if (!dataset) return;
    const node = { kind: 'dataset' as const, dataset };
    if (message.type === 'exportNow') void vscode.commands.executeCommand('exitPlan.exportDatasetNow', node);
    if (message.type === 'openLog') void vscode.commands.executeCommand('exitPlan.openDatasetLog', node);
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
    });
  }

  private post(message: ToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }
}

/** The page: a shell the script fills in from `render` messages. uPlot and the script are bundled by esbuild. */
function reportHtml(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  const asset = (file: string) => vscode.Uri.joinPath(extensionUri, 'dist', 'webview', file);
  return webviewPage(webview, {
    title: 'Datasets Report',
    stylesheet: asset('datasetsReport.css'),
    script: asset('datasetsReport.js'),
    dataImages: true,
    body: `<header class="top">
  <h1>Datasets</h1>
  <span id="generated" class="muted"></span>
  <button type="button" id="refresh" class="secondary">Refresh</button>
</header>
<p id="summary" class="summary">Loading…</p>
<ul id="warnings" class="warnings"></ul>
<main id="datasets"></main>`,
  });
}
