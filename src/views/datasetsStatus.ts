import * as vscode from 'vscode';
import { plural } from '../exporters';
import type { DatasetsService } from '../services/datasets';

/**
 * A status-bar item with the number of datasets that are overdue or failing (or whose config.toml is broken);
 * it opens the report. Hidden when no dataset is configured.
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
    const bad = all.filter((d) => d.overdue || d.failing || d.error !== undefined);
    if (bad.length === 0) {
      this.item.text = '$(pass) Datasets';
      this.item.tooltip = `${plural(all.length, 'dataset')}, none overdue or failing. Click for the report.`;
      this.item.backgroundColor = undefined;
    } else {
      this.item.text = `$(warning) ${plural(bad.length, 'dataset')}`;
      const md = new vscode.MarkdownString(`**${bad.length} of ${all.length} datasets overdue or failing**\n\n`);
      for (const d of bad.slice(0, 10)) {
        md.appendMarkdown('- ');
        md.appendText(`${d.name}: ${d.error ? 'config.toml cannot be read' : describeTrouble(d)}`);
        md.appendMarkdown('\n');
      }
      if (bad.length > 10) md.appendMarkdown(`- … and ${bad.length - 10} more\n`);
      md.appendMarkdown('\nClick for the report.');
      this.item.tooltip = md;
      this.item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
    }
    this.item.show();
  }
}

/** `failing, overdue`: what is wrong with a readable dataset. */
function describeTrouble(d: { failing: boolean; overdue: boolean }): string {
  return [d.failing && 'failing', d.overdue && 'overdue'].filter(Boolean).join(', ');
}
