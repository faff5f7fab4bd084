import * as vscode from 'vscode';
import { datasets, formatAgo, formatBytes, formatCount } from '../exporters';
import type { DatasetsService } from '../services/datasets';

export const DATASETS_VIEW = 'exitPlan.datasets';
/** A dataset shows at most this many parcels; the report has the rest. */
const MAX_PARCELS = 100;
/** Dataset labels are coloured through this scheme's file decorations (never the Explorer's own files). */
const DECORATION_SCHEME = 'exit-plan-dataset';

export type DatasetNode =
  | { kind: 'dataset'; dataset: datasets.DatasetReport }
  | { kind: 'parcel'; dataset: datasets.DatasetReport; parcel: datasets.ParcelSummary }
  | { kind: 'more'; dataset: datasets.DatasetReport; count: number }
  | { kind: 'message'; severity: 'error' | 'info'; text: string; root?: string };

/** Commands get whatever VS Code passes them; this tells a tree node of one kind from anything else. */
export function isDatasetNode<K extends DatasetNode['kind']>(value: unknown, kind: K): value is Extract<DatasetNode, { kind: K }> {
  return (
    typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind && (kind === 'message' || 'dataset' in value)
  );
}

type Health = datasets.DatasetState;

/**
 * Dataset → parcels (newest first), with status icons; overdue and failing datasets in warning colours. It owns
 * its TreeView, so that what a command adds or creates is revealed and selected in it.
 */
export class DatasetsTreeProvider implements vscode.TreeDataProvider<DatasetNode>, vscode.FileDecorationProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<DatasetNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly decorationsChanged = new vscode.EventEmitter<undefined>();
  readonly onDidChangeFileDecorations = this.decorationsChanged.event;
  private readonly health = new Map<string, Health>();
  private readonly disposables: vscode.Disposable[];
  readonly view: vscode.TreeView<DatasetNode>;

  constructor(private readonly service: DatasetsService) {
    this.view = vscode.window.createTreeView(DATASETS_VIEW, { treeDataProvider: this, showCollapseAll: true });
    this.disposables = [
      this.view,
      this.changed,
      this.decorationsChanged,
      service.onDidChange(() => {
        this.changed.fire(undefined);
        this.decorationsChanged.fire(undefined);
      }),
      vscode.window.registerFileDecorationProvider(this),
    ];
  }

  async getChildren(node?: DatasetNode): Promise<DatasetNode[]> {
    if (!node) {
      const state = await this.service.state();
      if (state.roots.length === 0) return []; // the welcome view explains the setting
      const nodes: DatasetNode[] = state.problems.map((p) =>
        p.empty
          ? { kind: 'message', severity: 'info', text: `${p.root} holds no dataset yet: Create Dataset makes one.`, root: p.root }
          : { kind: 'message', severity: 'error', text: p.message, root: state.roots.includes(p.root) ? p.root : undefined },
      );
      for (const d of state.report.datasets) {
        this.health.set(d.path, this.healthOf(d));
        nodes.push({ kind: 'dataset', dataset: d });
      }
      return nodes;
    }
    if (node.kind !== 'dataset') return [];
    const parcels = node.dataset.parcels ?? [];
    const shown: DatasetNode[] = parcels.slice(0, MAX_PARCELS).map((parcel) => ({ kind: 'parcel', dataset: node.dataset, parcel }));
    if (parcels.length > MAX_PARCELS) shown.push({ kind: 'more', dataset: node.dataset, count: parcels.length - MAX_PARCELS });
    if (parcels.length === 0)
      shown.push({ kind: 'message', severity: 'info', text: 'No parcels yet: run Export Dataset Now, or Process Due Datasets.' });
    return shown;
  }

  getParent(node: DatasetNode): DatasetNode | undefined {
    return node.kind === 'parcel' || node.kind === 'more' ? { kind: 'dataset', dataset: node.dataset } : undefined;
  }

  /**
   * Reveals, selects and focuses the dataset in `dir` (the view opens if it was collapsed). False when the
   * Datasets view does not show it (its folder is not under the roots).
   */
  async reveal(dir: string): Promise<boolean> {
    const state = await this.service.state();
    const dataset = state.report.datasets.find((d) => d.path === dir);
    if (!dataset) return false;
    await this.view.reveal({ kind: 'dataset', dataset }, { select: true, focus: true });
    return true;
  }

  /** A failed parcel's tooltip gets the last line of its log when hovered (read then, not for every parcel). */
  async resolveTreeItem(item: vscode.TreeItem, node: DatasetNode): Promise<vscode.TreeItem> {
    if (node.kind !== 'parcel' || item.tooltip !== undefined) return item;
    const line = await datasets.lastErrorLine(node.dataset.path, node.parcel.id);
    item.tooltip = parcelTooltip(node.dataset, node.parcel, line);
    return item;
  }

  getTreeItem(node: DatasetNode): vscode.TreeItem {
    switch (node.kind) {
      case 'dataset':
        return this.datasetItem(node.dataset);
      case 'parcel':
        return parcelItem(node.dataset, node.parcel, this.service.isActive(node.dataset.path));
      case 'more': {
        const item = new vscode.TreeItem(
          `… ${formatCount(node.count)} older parcels (see the report)`,
          vscode.TreeItemCollapsibleState.None,
        );
        item.id = JSON.stringify(['more', node.dataset.path]);
        item.contextValue = 'datasetMore';
        item.command = { command: 'exitPlan.openDatasetReport', title: 'Open Datasets Report' };
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.tooltip = node.text;
        item.iconPath =
          node.severity === 'error'
            ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
            : new vscode.ThemeIcon('info');
        item.contextValue = node.root ? 'datasetRootProblem' : node.severity === 'error' ? 'datasetError' : 'datasetInfo';
        if (node.root) item.id = JSON.stringify(['root', node.root]);
        return item;
      }
    }
  }

  /** Colours the label of a dataset that needs attention (only for this view's own URIs). */
  provideFileDecoration(uri: vscode.Uri): vscode.FileDecoration | undefined {
    if (uri.scheme !== DECORATION_SCHEME) return undefined;
    switch (this.health.get(decodeURIComponent(uri.path.slice(1)))) {
      case 'error':
        return { color: new vscode.ThemeColor('list.errorForeground'), badge: '!', tooltip: 'config.toml cannot be read' };
      case 'failing':
        return { color: new vscode.ThemeColor('list.errorForeground'), badge: '!', tooltip: 'Failing' };
      case 'overdue':
        return { color: new vscode.ThemeColor('list.warningForeground'), badge: '!', tooltip: 'Overdue' };
      default:
        return undefined;
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  private healthOf(d: datasets.DatasetReport): Health {
    return datasets.datasetState(d, this.service.isActive(d.path));
  }

  private datasetItem(d: datasets.DatasetReport): vscode.TreeItem {
    const health = this.healthOf(d);
    this.health.set(d.path, health);
    const item = new vscode.TreeItem(d.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = JSON.stringify(['dataset', d.path]);
    item.resourceUri = vscode.Uri.from({ scheme: DECORATION_SCHEME, path: `/${encodeURIComponent(d.path)}` });
    const state = STATE_WORDS[health];
    const success = health === 'neverRun' ? '' : d.lastSuccess ? `last success ${ago(d.lastSuccess)}` : 'no success yet';
    item.description = [success, state].filter(Boolean).join(' · ');
    item.iconPath =
      health === 'running'
        ? new vscode.ThemeIcon('sync~spin')
        : health === 'error' || health === 'failing'
          ? new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'))
          : health === 'overdue'
            ? new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'))
            : new vscode.ThemeIcon('package');
    item.tooltip = datasetTooltip(d);
    item.contextValue = 'dataset';
    return item;
  }
}

function parcelItem(d: datasets.DatasetReport, p: datasets.ParcelSummary, active: boolean): vscode.TreeItem {
  const item = new vscode.TreeItem(p.id, vscode.TreeItemCollapsibleState.None);
  item.id = JSON.stringify(['parcel', d.path, p.id]);
  const m = p.metrics;
  const size = m?.files && m.bytes ? `${m.files} file${m.files === '1' ? '' : 's'}, ${formatBytes(Number(m.bytes))}` : '';
  const newest = d.parcels?.[0]?.id === p.id;
  if (p.complete) {
    item.description = size || p.names.join(', ');
    item.iconPath = new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed'));
  } else if (newest && (active || d.running)) {
    item.description = 'exporting…';
    item.iconPath = new vscode.ThemeIcon('sync~spin');
  } else {
    item.description = p.names.length > 0 ? `incomplete${size ? `, ${size}` : ''}` : 'failed, no data';
    item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed'));
  }
  // The newest failed parcel's last log line is in the report already; an older one's is read on hover: its
  // tooltip is left undefined here, so that VS Code asks resolveTreeItem for it.
  const knownLine = d.lastError?.parcelId === p.id ? d.lastError.line : undefined;
  item.tooltip = p.complete || knownLine ? parcelTooltip(d, p, knownLine) : undefined;
  item.contextValue = p.complete ? 'datasetParcel' : 'datasetParcelIncomplete';
  if (p.out || p.err)
    item.command = {
      command: 'exitPlan.openDatasetLog',
      title: 'Open Dataset Log',
      arguments: [{ kind: 'parcel', dataset: d, parcel: p }],
    };
  return item;
}

/** What a parcel holds and its metrics; for a failed parcel, why it failed (the last line of its log) first. */
function parcelTooltip(d: datasets.DatasetReport, p: datasets.ParcelSummary, errorLine: string | undefined): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**');
  md.appendText(`${d.name} ${p.id}`);
  md.appendMarkdown('**\n\n');
  if (p.complete) {
    md.appendText(`Complete: data/${p.names.join(', data/')}`);
  } else {
    md.appendText(p.names.length > 0 ? `Failed; what it wrote is in incomplete/${p.names.join(', incomplete/')}` : 'Failed, no data kept');
    if (errorLine) appendErrorLine(md, errorLine, d.path, p.id);
  }
  md.appendMarkdown('\n\n');
  const shown = Object.entries(p.metrics ?? {}).filter(([k, v]) => k !== 'parcel_id' && k !== 'success' && (p.complete || v !== ''));
  for (const [k, v] of shown) {
    md.appendMarkdown('- ');
    md.appendText(`${k}: ${k === 'bytes' && v !== '' && v !== 'ERROR' ? `${formatBytes(Number(v))} (${v})` : v || '—'}`);
    md.appendMarkdown('\n');
  }
  return md;
}

/** "Last error: <line>" and an Open Dataset Log link to that parcel's log. */
function appendErrorLine(md: vscode.MarkdownString, line: string, dataset: string, parcel: string): void {
  md.appendMarkdown('\n\n**Last error:** ');
  md.appendText(line);
  md.appendMarkdown('\n\n');
  const args = encodeURIComponent(JSON.stringify([{ dataset, parcel }]));
  md.appendMarkdown(`[$(output) Open Dataset Log](command:exitPlan.openDatasetLog?${args})`);
  md.isTrusted = { enabledCommands: ['exitPlan.openDatasetLog'] };
  md.supportThemeIcons = true;
}

function datasetTooltip(d: datasets.DatasetReport): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**');
  md.appendText(d.name);
  md.appendMarkdown('**\n\n');
  md.appendText(d.path);
  md.appendMarkdown('\n\n');
  const facts: [string, string][] = [
    ['Last success', d.lastSuccess ? `${d.lastSuccess} (${ago(d.lastSuccess)})${d.lastSuccessGone ? ', missing from data/' : ''}` : 'none'],
    ['Interval', d.interval ?? 'none (never due)'],
    ['Next due', d.nextDue ? new Date(d.nextDue).toLocaleString() : '—'],
    ['Keep', d.keep !== undefined ? `${d.keep} newest complete parcels` : 'all'],
  ];
  if (d.running) facts.push(['Running', `pid ${d.running.pid} on ${d.running.host} since ${new Date(d.running.since).toLocaleString()}`]);
  for (const [k, v] of facts) {
    md.appendMarkdown(`- ${k}: `);
    md.appendText(v);
    md.appendMarkdown('\n');
  }
  for (const w of datasets.distinctWarnings(d)) {
    md.appendMarkdown('\n\n$(warning) ');
    md.appendText(w.message);
  }
  if (d.lastError?.line) appendErrorLine(md, d.lastError.line, d.path, d.lastError.parcelId);
  md.supportThemeIcons = true;
  return md;
}

/** The state as the tree's description says it ("" when all is well: the last success says it). */
const STATE_WORDS: Record<Health, string> = {
  error: 'config error',
  failing: 'failing',
  overdue: 'overdue',
  running: 'exporting…',
  neverRun: 'never run',
  ok: '',
};

/** "5 min ago", "3 h ago", "2 days ago" for a parcel id (formatAgo, as everywhere). */
export function ago(parcelId: string): string {
  const at = datasets.parseParcelId(parcelId);
  return at ? formatAgo(Date.now() - at.getTime()) : parcelId;
}
