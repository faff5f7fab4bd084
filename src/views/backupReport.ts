import * as vscode from 'vscode';
import { webviewPage } from './webviewPage';
import { isBackupReportMessage, type BackupReportToWebview, type BackupTargetView, type ReportAction } from './webviewMessages';
import { executeCommand, type BackupsCommandArgs } from '../commands/invoke';
import { backups, errorMessage } from '../exporters';
import type { BackupService } from '../services/backupService';
import type { BackupTarget } from '../services/backupTargets';

export const BACKUP_REPORT_VIEW = 'exitPlan.backupReport';

/** The command each report button runs, on the target it names. */
const ACTION_COMMANDS = {
  backUpNow: 'exitPlan.backUpNow',
  verify: 'exitPlan.verifyBackups',
  drill: 'exitPlan.restoreDrill',
  rotate: 'exitPlan.rotateBackups',
} as const satisfies Record<ReportAction, keyof BackupsCommandArgs>;

/**
 * The sidebar backup report: a webview view in the Exit Plan container showing, per target, the last
 * backup and its age against the schedule, the last successful drill, total size with a chart of sizes
 * over time, what rotation would remove next, and buttons that run the commands.
 */
export class BackupReportProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private pending: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly service: BackupService,
    private readonly extensionUri: vscode.Uri,
  ) {
    this.disposables.push(service.onDidChange(() => this.scheduleRender()));
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    view.webview.options = { enableScripts: true, enableCommandUris: false, localResourceRoots: [dist] };
    view.webview.html = reportHtml(view.webview, dist);
    this.disposables.push(
      view.webview.onDidReceiveMessage((message: unknown) => this.receive(message)),
      view.onDidChangeVisibility(() => {
        if (view.visible) this.scheduleRender();
      }),
      view.onDidDispose(() => {
        this.view = undefined;
        clearInterval(this.ticker);
      }),
    );
    // Overdue states and "next run" move with the clock.
    this.ticker = setInterval(() => {
      if (this.view?.visible) void this.render();
    }, 60_000);
  }

  dispose(): void {
    clearTimeout(this.pending);
    clearInterval(this.ticker);
    for (const d of this.disposables) d.dispose();
  }

  private receive(message: unknown): void {
    if (!isBackupReportMessage(message)) return;
    if (message.type === 'ready') {
      void this.render();
      return;
    }
    if (message.type === 'addTarget') {
      void executeCommand('exitPlan.addBackupTarget');
      return;
    }
    // Only targets of the settings: the page cannot name any other.
    if (this.service.get(message.target)) void executeCommand(ACTION_COMMANDS[message.action], { targetName: message.target });
  }

  private scheduleRender(): void {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => void this.render(), 150);
  }

  private async render(): Promise<void> {
    const view = this.view;
    if (!view?.visible) return;
    const targets = await Promise.all(this.service.list().map((t) => this.targetView(t)));
    const message: BackupReportToWebview = { type: 'render', targets, generatedAt: new Date().toISOString() };
    await view.webview.postMessage(message);
  }

  private async targetView(target: BackupTarget): Promise<BackupTargetView> {
    const base: BackupTargetView = {
      name: target.name,
      dir: target.dir,
      busy: this.service.busy(target.name),
      canDrill: Boolean(target.warehouseConnection),
      problems: [...target.problems],
      count: 0,
      totalBytes: 0,
      counts: { verified: 0, failed: 0, unverified: 0 },
      series: [],
    };
    let report: backups.TargetReport;
    try {
      report = await this.service.report(target);
    } catch (err) {
      return { ...base, problems: [...base.problems, errorMessage(err)] };
    }
    const newest = report.newest;
    return {
      ...base,
      problems: [...new Set([...base.problems, ...report.problems])],
      canDrill: base.canDrill && report.backups.some((b) => b.kind === 'postgres'),
      count: report.backups.length,
      totalBytes: report.totalBytes,
      counts: report.counts,
      lastBackup: newest && { name: newest.name, at: newest.time.toISOString(), bytes: newest.bytes, state: newest.state },
      groups: report.groups
        .filter((g) => g.backups.length > 0)
        .map((g) => {
          const first = g.backups.reduce((a, b) => (b.time > a.time ? b : a));
          return {
            label: g.label,
            count: g.backups.length,
            newest: { name: first.name, at: first.time.toISOString(), state: first.state },
          };
        }),
      schedule: report.schedule && {
        expression: report.schedule.schedule,
        words: backups.describeSchedule(report.schedule.schedule),
        previous: report.schedule.previousRun?.toISOString(),
        next: report.schedule.nextRun?.toISOString(),
        overdue: report.schedule.overdue,
        firstPending: report.schedule.firstPending,
      },
      lastSuccessfulDrill: report.lastSuccessfulDrill && { at: report.lastSuccessfulDrill.at, file: report.lastSuccessfulDrill.file },
      lastDrill: report.lastDrill && { at: report.lastDrill.at, ok: report.lastDrill.ok, message: report.lastDrill.message },
      series: report.groups.map((g) => ({
        label: g.label,
        points: g.backups.map((b): [number, number] => [Math.floor(b.time.getTime() / 1000), b.bytes]).reverse(),
      })),
      rotation: target.rotation &&
        report.rotation && {
          policy: backups.describePolicy(target.rotation),
          removeBytes: report.rotation.summary.removeBytes,
          suspects: report.rotation.summary.suspects,
          remove: report.rotation.remove.map((b) => ({ name: b.name, at: b.time.toISOString(), bytes: b.bytes })),
        },
    };
  }
}

/** The page: static structure only; everything else arrives in `render` messages and goes in as text. */
function reportHtml(webview: vscode.Webview, dist: vscode.Uri): string {
  return webviewPage(webview, {
    title: 'Backup report',
    stylesheet: vscode.Uri.joinPath(dist, 'backupReport.css'),
    script: vscode.Uri.joinPath(dist, 'backupReport.js'),
    body: `<main id="targets" aria-live="polite"><p class="muted">Loading…</p></main>
<template id="empty">
  <p class="muted">No backup targets to report on.</p>
</template>`,
  });
}
