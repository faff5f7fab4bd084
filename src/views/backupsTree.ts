import * as vscode from 'vscode';
import { backups, errorMessage, formatAgo, formatBytes, formatCount, localTime, maskSecrets, plural } from '../exporters';
import type { BackupService } from '../services/backupService';
import type { BackupTarget } from '../services/backupTargets';

export const BACKUPS_VIEW = 'exitPlan.backups';

export type BackupNode =
  | { kind: 'target'; target: BackupTarget }
  | { kind: 'group'; target: BackupTarget; key: string; label: string; sourceKind: backups.BackupKind; entries: backups.BackupEntry[] }
  | { kind: 'backup'; target: BackupTarget; entry: backups.BackupEntry }
  | { kind: 'message'; target: BackupTarget; severity: 'error' | 'warning' | 'info' | 'pending'; text: string };

/** Each kind of backup's icon, in its group and nowhere else. */
const KIND_ICONS: Record<backups.BackupKind, string> = { postgres: 'database', files: 'file-zip', command: 'terminal' };
/** The contextValue suffix of each kind (backupGroupPostgres, backupFiles, backupCommand…) for the menus' `when`. */
const KIND_CONTEXT: Record<backups.BackupKind, string> = { postgres: 'Postgres', files: 'Files', command: 'Command' };

/** Commands get whatever VS Code passes them; this tells a tree node of one kind from anything else. */
export function isBackupNode<K extends BackupNode['kind']>(value: unknown, kind: K): value is Extract<BackupNode, { kind: K }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind && 'target' in value;
}

/** Targets → backups grouped by kind (PostgreSQL per database, files per folder) → files, newest first. */
export class BackupsTreeProvider implements vscode.TreeDataProvider<BackupNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<BackupNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly subscriptions: vscode.Disposable[];
  private readonly ageTimer: NodeJS.Timeout;
  private view: vscode.TreeView<BackupNode> | undefined;

  constructor(private readonly service: BackupService) {
    // Targets are rebuilt on each change (they are cheap); their reports stay cached in the service.
    this.subscriptions = [
      service.onDidChange(() => this.changed.fire(undefined)),
      service.onDidAskReveal((name) => void this.reveal(name)),
    ];
    // Ages ("3 h ago") and overdue states move with the clock.
    this.ageTimer = setInterval(() => this.changed.fire(undefined), 5 * 60_000);
  }

  /** The Backups view over this provider (made once, by the extension's composition). */
  createView(viewId: string = BACKUPS_VIEW): vscode.TreeView<BackupNode> {
    this.view = vscode.window.createTreeView(viewId, { treeDataProvider: this, showCollapseAll: true });
    return this.view;
  }

  /** Selects a target's row, opening the view when it is collapsed. */
  private async reveal(name: string): Promise<void> {
    const target = this.service.get(name);
    if (!target || !this.view) return;
    await this.view.reveal({ kind: 'target', target }, { select: true, focus: false, expand: true }).then(undefined, () => undefined);
  }

  /** Only targets are revealed; any other node's target stands for its parent. */
  getParent(node: BackupNode): BackupNode | undefined {
    return node.kind === 'target' ? undefined : { kind: 'target', target: node.target };
  }

  async getChildren(node?: BackupNode): Promise<BackupNode[]> {
    if (!node) return this.service.list().map((target) => ({ kind: 'target', target }));
    if (node.kind === 'group') return node.entries.map((entry) => ({ kind: 'backup', target: node.target, entry }));
    if (node.kind !== 'target') return [];
    const { target } = node;
    const messages: BackupNode[] = target.problems.map((text) => ({ kind: 'message', target, severity: 'error', text }));
    let report: backups.TargetReport;
    try {
      report = await this.service.report(target);
    } catch (err) {
      return [...messages, { kind: 'message', target, severity: 'error', text: errorMessage(err) }];
    }
    for (const text of report.problems)
      if (!target.problems.some((p) => p.includes(text))) messages.push({ kind: 'message', target, severity: 'error', text });
    if (report.schedule?.overdue) {
      const slot = report.schedule.previousRun?.toLocaleString() ?? 'run';
      messages.push({
        kind: 'message',
        target,
        severity: 'warning',
        text: `Overdue: no backup since the scheduled ${slot} (${backups.describeSchedule(report.schedule.schedule)})`,
      });
    }
    const groups: BackupNode[] = report.groups.map((g) => ({
      kind: 'group',
      target,
      key: g.key,
      label: g.label,
      sourceKind: g.backups[0].kind,
      entries: g.backups,
    }));
    if (report.schedule?.firstPending) {
      const next = report.schedule.nextRun ? `, next ${localTime(report.schedule.nextRun)}` : '';
      messages.push({
        kind: 'message',
        target,
        severity: 'pending',
        text: `First backup pending: ${backups.describeSchedule(report.schedule.schedule)}${next}`,
      });
    } else if (groups.length === 0) messages.push({ kind: 'message', target, severity: 'info', text: `No backups yet in ${target.dir}` });
    return [...messages, ...groups];
  }

  async getTreeItem(node: BackupNode): Promise<vscode.TreeItem> {
    const id = (...parts: string[]) => JSON.stringify([node.kind, node.target.name, ...parts]);
    switch (node.kind) {
      case 'target': {
        const { target } = node;
        const item = new vscode.TreeItem(target.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = id();
        // WithDatabase: drills and restores; WithRestore: a command with a restoreCmd (restores only); else neither.
        item.contextValue = target.warehouseConnection
          ? 'backupTargetWithDatabase'
          : target.commands.some((c) => c.restoreCmd)
            ? 'backupTargetWithRestore'
            : 'backupTarget';
        const report = await this.service.report(target).catch(() => undefined);
        const busy = this.service.busy(target.name);
        const parts: string[] = [];
        if (busy) parts.push(busy);
        if (report?.schedule?.firstPending && report.backups.length === 0) parts.push('first backup pending');
        else if (report) {
          parts.push(`${plural(report.backups.length, 'backup')}, ${formatBytes(report.totalBytes)}`);
          if (report.newest) parts.push(`last ${formatAgo(Date.now() - report.newest.time.getTime())}`);
        }
        item.description = parts.join(' · ');
        const overdue = report?.schedule?.overdue;
        const failed = (report?.counts.failed ?? 0) > 0 || target.problems.length > 0;
        item.iconPath = busy
          ? new vscode.ThemeIcon('sync~spin')
          : overdue || failed
            ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
            : new vscode.ThemeIcon('archive');
        item.tooltip = targetTooltip(target, report);
        return item;
      }
      case 'group': {
        const item = new vscode.TreeItem(node.label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = id(node.key);
        const bytes = node.entries.reduce((n, e) => n + e.bytes, 0);
        item.description = `${plural(node.entries.length, 'backup')}, ${formatBytes(bytes)}`;
        item.iconPath = new vscode.ThemeIcon(KIND_ICONS[node.sourceKind]);
        item.contextValue = `backupGroup${KIND_CONTEXT[node.sourceKind]}`;
        if (node.sourceKind === 'command') item.tooltip = commandTooltip(node.target, node.entries[0]?.source);
        return item;
      }
      case 'backup': {
        const { entry } = node;
        const item = new vscode.TreeItem(localTime(entry.time), vscode.TreeItemCollapsibleState.None);
        item.id = id(entry.name);
        const small = node.target.minSizeBytes !== undefined && entry.bytes < node.target.minSizeBytes;
        const age = formatAgo(Date.now() - entry.time.getTime());
        item.description = `${age} · ${formatBytes(entry.bytes)} · ${entry.state}${small ? ' · suspiciously small' : ''}`;
        item.iconPath =
          entry.state === 'verified'
            ? new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'))
            : entry.state === 'failed'
              ? new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'))
              : small
                ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
                : new vscode.ThemeIcon('circle-large-outline');
        item.tooltip = backupTooltip(entry, small);
        item.resourceUri = vscode.Uri.file(entry.file);
        item.contextValue = `backup${KIND_CONTEXT[entry.kind]}`;
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = id(node.severity, node.text);
        item.tooltip = node.text;
        item.iconPath =
          node.severity === 'error'
            ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
            : node.severity === 'warning'
              ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
              : node.severity === 'pending'
                ? new vscode.ThemeIcon('clock')
                : new vscode.ThemeIcon('info');
        item.contextValue = node.severity === 'info' || node.severity === 'pending' ? 'backupInfo' : 'backupError';
        return item;
      }
    }
  }

  dispose(): void {
    clearInterval(this.ageTimer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}

function targetTooltip(target: BackupTarget, report: backups.TargetReport | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  const line = (label: string, value: string) => {
    md.appendMarkdown(`**${label}:** `);
    md.appendText(value);
    md.appendMarkdown('  \n');
  };
  line('Folder', target.dir);
  if (target.warehouseConnection) {
    line('Database', `warehouse connection "${target.warehouseConnection}" (the password is the connection's: Update Warehouse Password)`);
  }
  for (const f of target.folders) line('Files', `${f.name}: ${f.path}`);
  for (const c of target.commands) line('Command', `${c.name}: ${maskSecrets(c.cmd)} (.${c.extension})`);
  if (target.schedule) {
    const s = report?.schedule;
    const state = s?.overdue ? ' (overdue)' : s?.firstPending ? ' (first backup pending)' : '';
    line('Schedule', `${backups.scheduleText(target.schedule)}${s?.nextRun ? `, next ${s.nextRun.toLocaleString()}` : ''}${state}`);
  }
  if (target.rotation) line('Rotation', backups.describePolicy(target.rotation));
  if (report?.lastSuccessfulDrill) line('Last successful drill', new Date(report.lastSuccessfulDrill.at).toLocaleString());
  if (report)
    line('Verified', `${report.counts.verified} verified, ${report.counts.failed} failed, ${report.counts.unverified} unverified`);
  return md;
}

/** A command group's tooltip: the command of the target's definition (masked), and how it is verified and restored. */
function commandTooltip(target: BackupTarget, name: string | undefined): vscode.MarkdownString {
  const source = target.commands.find((c) => c.name === name);
  const md = new vscode.MarkdownString();
  if (!source) {
    md.appendText('Backups of a command this target no longer defines: they can be verified by checksum, not restored from here.');
    return md;
  }
  const line = (label: string, value: string) => {
    md.appendMarkdown(`**${label}:** `);
    md.appendText(value);
    md.appendMarkdown('  \n');
  };
  line('Command', maskSecrets(source.cmd));
  line('Verify', source.verifyCmd ? maskSecrets(source.verifyCmd) : 'checksum only (no verifyCmd)');
  line('Restore', source.restoreCmd ? maskSecrets(source.restoreCmd) : 'not from VS Code (no restoreCmd)');
  if (source.timeout) line('Timeout', source.timeout.text);
  return md;
}

function backupTooltip(entry: backups.BackupEntry, small: boolean): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**');
  md.appendText(entry.name);
  md.appendMarkdown('**\n\n');
  md.appendText(`${formatBytes(entry.bytes)} (${formatCount(entry.bytes)} bytes), started ${entry.time.toLocaleString()}`);
  md.appendMarkdown('\n\n');
  md.appendText(`${entry.state}: ${entry.stateMessage}${entry.verifiedAt ? ` (${new Date(entry.verifiedAt).toLocaleString()})` : ''}`);
  if (small) md.appendText(" Smaller than the target's minimum size: check it.");
  if (entry.sidecar) {
    md.appendMarkdown('\n\n');
    md.appendText(`SHA-256 ${entry.sidecar.sha256}`);
  }
  if (entry.sidecar?.drill) {
    md.appendMarkdown('\n\n');
    md.appendText(`Restore drill ${new Date(entry.sidecar.drill.at).toLocaleString()}: ${entry.sidecar.drill.message}`);
  }
  return md;
}
