import * as vscode from 'vscode';
import { datasets } from '../exporters';
import type { DatasetsService } from '../services/datasets';

/**
 * A status-bar item that names the datasets' state ("1 dataset failing", "2 datasets overdue", "1 dataset: never
 * run", "3 datasets ok"), each dataset counted once; its tooltip lists them; it opens the report. Hidden when no
 * dataset is configured.
 */
export class DatasetsStatus implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly listener: vscode.Disposable;
  private generation = 0;

  constructor(private readonly service: DatasetsService) {
    this.item = vscode.window.createStatusBarItem('exitPlan.datasetsStatus', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Exit Plan Datasets';
    this.item.command = 'exitPlan.openDatasetReport';
    this.listener = service.onDidChange(() => void this.update());
    void this.update();
  }

  dispose(): void {
    this.listener.dispose();
    this.item.dispose();
  }

  private async update(): Promise<void> {
    const generation = ++this.generation;
    let state;
    try {
      state = await this.service.state();
    } catch {
      return;
    }
    if (generation !== this.generation) return;
    const all = state.report.datasets;
    if (all.length === 0) {
      this.item.hide();
      return;
    }
    const active = (d: datasets.StateFields) => this.service.isActive((d as datasets.DatasetReport).path);
    const summary = datasets.summarizeDatasets(all, active);
    const status = datasets.datasetsStatusText(summary);
    this.item.text = `$(${ICONS[status.icon]}) ${status.text}`;
    this.item.backgroundColor = status.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.accessibilityInformation = { label: `Exit Plan: ${status.text}. Open the Datasets Report.` };
    // The tooltip lists the datasets that are not simply fine, each with its state (and why it fails).
    const md = new vscode.MarkdownString();
    md.appendMarkdown('**');
    md.appendText(datasets.describeDatasetsSummary(summary));
    md.appendMarkdown('**\n\n');
    const listed = all
      .map((d) => ({ d, state: datasets.datasetState(d, active(d)) }))
      .filter((x) => x.state !== 'ok')
      .sort((a, b) => ORDER.indexOf(a.state) - ORDER.indexOf(b.state));
    for (const { d, state: s } of listed.slice(0, MAX_LISTED)) {
      md.appendMarkdown('- ');
      md.appendText(`${d.name}: ${describe(d, s)}`);
      md.appendMarkdown('\n');
    }
    if (listed.length > MAX_LISTED) md.appendMarkdown(`- … and ${listed.length - MAX_LISTED} more\n`);
    md.appendMarkdown('\nClick for the Datasets Report.');
    this.item.tooltip = md;
    this.item.show();
  }
}

const MAX_LISTED = 10;
const ORDER: datasets.DatasetState[] = ['error', 'failing', 'overdue', 'running', 'neverRun', 'ok'];
const ICONS: Record<datasets.StatusText['icon'], string> = {
  warning: 'warning',
  pass: 'pass',
  sync: 'sync~spin',
  circle: 'circle-large-outline',
};

/** "failing (also overdue): curl: (6) Could not resolve host", "overdue", "never run". */
function describe(d: datasets.DatasetReport, state: datasets.DatasetState): string {
  switch (state) {
    case 'error':
      return 'config.toml cannot be read';
    case 'failing': {
      const also = d.overdue ? ' (also overdue)' : '';
      return d.lastError?.line ? `failing${also}: ${d.lastError.line}` : `failing${also}`;
    }
    case 'running':
      return 'exporting';
    case 'neverRun':
      return d.interval ? 'never run (due at the next processing)' : 'never run';
    default:
      return state;
  }
}
