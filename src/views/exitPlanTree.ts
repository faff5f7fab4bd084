import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatAgo, formatBytes, rclone, type exit } from '../exporters';
import type { PartKind, PlanPart } from '../exporters/exit/types';
import type { ExitPlanService, ExitRunInfo } from '../services/exitPlans';

export const EXIT_PLAN_VIEW = 'exitPlan.plan';

export type ExitPlanNode =
  | { kind: 'planFile'; file: string; error?: string }
  | { kind: 'lastRun'; run: ExitRunInfo; failed: number }
  | { kind: 'part'; part: PlanPart; status?: exit.PartStatus; stale: boolean; failed: boolean; maxAge?: string };

/** Commands get whatever VS Code passes them; this tells a tree node of one kind from anything else. */
export function isExitPlanNode<K extends ExitPlanNode['kind']>(value: unknown, kind: K): value is Extract<ExitPlanNode, { kind: K }> {
  if (typeof value !== 'object' || value === null || (value as { kind?: unknown }).kind !== kind) return false;
  return 'file' in value || 'run' in value || 'part' in value;
}

const KIND_ICONS: Record<PartKind, string> = {
  warehouse: 'database',
  azure: 'cloud',
  rclone: 'cloud-download',
  folder: 'folder',
  command: 'terminal',
  backups: 'archive',
  datasets: 'files',
};

/** The plan file, the newest run, then each part with its newest verified copy (age, size); stale or failed in warning colours. */
export class ExitPlanTreeProvider implements vscode.TreeDataProvider<ExitPlanNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExitPlanNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscription: vscode.Disposable;
  private readonly ageTimer: NodeJS.Timeout;

  constructor(private readonly service: ExitPlanService) {
    this.subscription = service.onDidChange(() => this.changed.fire(undefined));
    // Ages ("3 h ago") and stale states move with the clock.
    this.ageTimer = setInterval(() => this.changed.fire(undefined), 5 * 60_000);
  }

  /** No plan file: no rows, so the welcome view (Create Exit Plan) shows. */
  async getChildren(node?: ExitPlanNode): Promise<ExitPlanNode[]> {
    if (node) return [];
    const state = await this.service.state();
    if (!state.file || !state.exists) return [];
    const nodes: ExitPlanNode[] = [{ kind: 'planFile', file: state.file, error: state.plan ? undefined : state.error }];
    if (!state.plan) return nodes;
    if (state.lastRun) nodes.push({ kind: 'lastRun', run: state.lastRun, failed: state.failed.length });
    for (const part of state.plan.parts) {
      const status = state.status?.parts.find((p) => p.name === part.name);
      const failed = state.failed.includes(part.name) || status?.lastError !== undefined;
      nodes.push({ kind: 'part', part, status, stale: status?.stale ?? true, failed, maxAge: state.plan.maxAge?.text });
    }
    return nodes;
  }

  getTreeItem(node: ExitPlanNode): vscode.TreeItem {
    switch (node.kind) {
      case 'planFile': {
        const item = new vscode.TreeItem(path.basename(node.file), vscode.TreeItemCollapsibleState.None);
        item.id = JSON.stringify(['planFile']);
        item.contextValue = node.error ? 'exitPlanFileError' : 'exitPlanFile';
        item.description = node.error ?? path.dirname(node.file);
        item.tooltip = node.error ? `${node.file}\n${node.error}` : node.file;
        item.iconPath = node.error
          ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
          : new vscode.ThemeIcon('checklist');
        item.resourceUri = vscode.Uri.file(node.file);
        item.command = { command: 'vscode.open', title: 'Open Exit Plan', arguments: [vscode.Uri.file(node.file)] };
        return item;
      }
      case 'lastRun': {
        const { run, failed } = node;
        const item = new vscode.TreeItem('Last run', vscode.TreeItemCollapsibleState.None);
        item.id = JSON.stringify(['lastRun']);
        item.contextValue = 'exitRun';
        const state = !run.complete ? 'unfinished' : failed > 0 ? `${failed} failed` : 'all verified';
        item.description = `${run.name} · ${state}`;
        item.tooltip = run.folder;
        item.iconPath =
          run.complete && failed === 0
            ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
            : new vscode.ThemeIcon('warning', new vscode.ThemeColor('problemsWarningIcon.foreground'));
        item.command = { command: 'exitPlan.openExitReport', title: 'Open Exit Report', arguments: [{ folder: run.folder }] };
        return item;
      }
      case 'part': {
        const { part, status, stale, failed } = node;
        const item = new vscode.TreeItem(part.name, vscode.TreeItemCollapsibleState.None);
        item.id = JSON.stringify(['part', part.name]);
        item.contextValue = failed ? 'exitPartFailed' : stale ? 'exitPartStale' : 'exitPart';
        const verified = status?.lastVerified ? Date.parse(status.lastVerified) : undefined;
        const facts: string[] = [part.kind];
        if (verified !== undefined) {
          facts.push(`verified ${formatAgo(Date.now() - verified)}`);
          if (status?.bytes !== undefined) facts.push(formatBytes(status.bytes));
        } else facts.push('no verified copy');
        if (failed) facts.push('failed in the last run');
        else if (stale && verified !== undefined) facts.push(`older than ${node.maxAge ?? 'max_age'}`);
        item.description = facts.join(' · ');
        item.tooltip = [
          `${part.kind} part "${part.name}"`,
          part.kind === 'rclone' ? `from ${rclone.describeRemote(part.remote)}` : undefined,
          status?.folder ? `newest verified copy in ${status.folder}` : undefined,
          status?.lastError ? `failed in the newest run: ${status.lastError}` : undefined,
        ]
          .filter(Boolean)
          .join('\n');
        item.iconPath =
          failed || stale
            ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
            : new vscode.ThemeIcon(KIND_ICONS[part.kind]);
        return item;
      }
    }
  }

  dispose(): void {
    clearInterval(this.ageTimer);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
