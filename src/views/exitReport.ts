import * as path from 'node:path';
import * as fs from 'node:fs';
import * as vscode from 'vscode';
import { errorMessage, maskSecrets } from '../exporters';
import { RUN_FILES } from '../exporters/exit/types';
import type { ExitPlanService, ExitRunReport } from '../services/exitPlans';
import { executeCommand } from '../commands/invoke';
import { createReportPanel } from './webviewPage';
import { isExitReportMessage, type ExitReportToWebview, type ExitReportView } from './webviewMessages';

export const EXIT_REPORT_PANEL = 'exitPlan.exitReport';

function toView(r: ExitRunReport): ExitReportView {
  return {
    run: r.run.name,
    folder: r.run.folder,
    complete: r.run.complete,
    parts: r.records.map((p) => ({
      name: p.name,
      kind: p.kind,
      files: p.fileCount,
      bytes: p.bytes,
      verification: maskSecrets(p.verification ?? ''),
      durationMs: p.durationMs,
      finishedAt: p.finishedAt,
      notes: (p.notes ?? []).map(maskSecrets),
    })),
    failures: r.failures.map((f) => ({ ...f, error: maskSecrets(f.error) })),
    missing: r.missing,
    notIncluded: r.notIncluded,
  };
}

export interface ExitReportDeps {
  extensionUri: vscode.Uri;
  service: ExitPlanService;
  log: vscode.LogOutputChannel;
}

/** The report of one exit run: parts, a chart of sizes, how each was verified, failures, what was not included. One panel. */
export class ExitReportPanel {
  private static current: ExitReportPanel | undefined;
  private readonly disposables: vscode.Disposable[] = [];

  /** The open panel, if any (the integration suite reads what it shows). */
  static get latest(): ExitReportPanel | undefined {
    return ExitReportPanel.current;
  }

  /** What the page was last sent. */
  shown: ExitReportView | undefined;

  static show(deps: ExitReportDeps, folder: string): void {
    const current = ExitReportPanel.current;
    if (current) {
      current.folder = folder;
      current.panel.title = `Exit Report: ${path.basename(folder)}`;
      current.panel.reveal();
      void current.render();
      return;
    }
    const panel = createReportPanel(deps.extensionUri, {
      viewType: EXIT_REPORT_PANEL,
      title: `Exit Report: ${path.basename(folder)}`,
      pageTitle: 'Exit Report',
      bundle: 'exitReport',
      body: REPORT_BODY,
    });
    ExitReportPanel.current = new ExitReportPanel(panel, deps, folder);
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: ExitReportDeps,
    private folder: string,
  ) {
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
      deps.service.onDidChange(() => void this.render()),
    );
  }

  private dispose(): void {
    if (ExitReportPanel.current === this) ExitReportPanel.current = undefined;
    for (const d of this.disposables) d.dispose();
  }

  private async receive(message: unknown): Promise<void> {
    if (!isExitReportMessage(message)) return;
    switch (message.type) {
      case 'ready':
      case 'refresh':
        return this.render();
      case 'revealFolder':
        void executeCommand('exitPlan.revealExitFolder', { folder: this.folder });
        return;
      case 'openMarkdown': {
        const file = path.join(this.folder, RUN_FILES.report);
        if (fs.existsSync(file)) void vscode.window.showTextDocument(vscode.Uri.file(file));
        return;
      }
    }
  }

  private async render(): Promise<void> {
    try {
      this.shown = toView(await this.deps.service.report(this.folder));
    } catch (err) {
      this.deps.log.error(`Exit report: ${errorMessage(err)}`);
      return;
    }
    void this.post({ type: 'render', report: this.shown, generatedAt: new Date().toISOString() });
  }

  private post(message: ExitReportToWebview): Thenable<boolean> {
    return this.panel.webview.postMessage(message);
  }
}

/** The page: a shell the script fills in from `render` messages. */
const REPORT_BODY = `<header class="top">
  <h1>Exit Report</h1>
  <span id="run" class="muted"></span>
  <button type="button" id="reveal" class="secondary">Reveal Exit Folder</button>
  <button type="button" id="markdown" class="secondary">Open EXIT-REPORT.md</button>
  <button type="button" id="refresh" class="secondary">Refresh</button>
</header>
<p id="summary" class="summary">Loading…</p>
<section id="failures" hidden><h2>Failed</h2><ul id="failureList" class="failures"></ul></section>
<section><h2>Sizes</h2><div id="chart" class="chart" role="img" aria-label="Size of each part"></div></section>
<section><h2>Parts</h2>
<table class="parts"><thead><tr>
<th>Part</th><th>Kind</th><th>Status</th><th class="num">Files</th><th class="num">Size</th><th>Verified by</th><th class="num">Took</th>
</tr></thead>
<tbody id="parts"></tbody></table></section>
<section><h2>Not included</h2><ul id="notIncluded"></ul></section>`;
