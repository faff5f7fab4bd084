import * as vscode from 'vscode';
import { azure, errorMessage, formatAgo, formatBytes, formatCount, maskSecrets } from '../exporters';
import { describeAzureProfile, type AzureConnectionStore, type AzureProfile } from '../services/azureConnections';

export const AZURE_VIEW = 'exitPlan.azure';
/** The command a "Load more…" node runs when clicked (listed in src/commands/registry.ts). */
const LOAD_MORE_COMMAND = 'exitPlan.loadMoreAzure';

export type AzureNode =
  | { kind: 'connection'; profile: AzureProfile }
  | { kind: 'container'; profile: AzureProfile; container: string; info?: azure.ContainerItem }
  | { kind: 'folder'; profile: AzureProfile; container: string; prefix: string }
  | { kind: 'blob'; profile: AzureProfile; container: string; blob: azure.BlobItem }
  | { kind: 'loadMore'; profile: AzureProfile; parent: AzureParent }
  | { kind: 'error'; profile: AzureProfile; parent: AzureParent; text: string };

/** A node whose children are listed page by page. */
export type AzureParent = Extract<AzureNode, { kind: 'connection' | 'container' | 'folder' }>;

/** Commands get whatever VS Code passes them; this tells a tree node of one kind from anything else. */
export function isAzureNode<K extends AzureNode['kind']>(value: unknown, kind: K): value is Extract<AzureNode, { kind: K }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind && 'profile' in value;
}

/** The virtual folder a container or folder node stands for: `''` for the whole container. */
export function prefixOf(node: Extract<AzureNode, { kind: 'container' | 'folder' }>): string {
  return node.kind === 'folder' ? node.prefix : '';
}

/** What the view last learned about a connection: it answered, or why it did not (masked). */
type ConnectionState = { ok: true; at: number } | { ok: false; at: number; message: string };

/** The children listed so far under one parent, and where the next page starts. */
interface Pages {
  items: AzureNode[];
  continuation?: string;
  /** Why the last page could not be listed (already masked). */
  error?: string;
  loading?: Promise<void>;
}

/**
 * Connections → containers → virtual folders and blobs, 100 per page with a "Load more…" node. Pages
 * are cached per parent until refresh; sizes from Compute Size are remembered for the session.
 */
export class AzureTreeProvider implements vscode.TreeDataProvider<AzureNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<AzureNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Extract<AzureNode, { kind: 'connection' }>[] | undefined;
  private readonly pages = new Map<string, Pages>();
  private readonly sizes = new Map<string, azure.SizeProgress>();
  private readonly states = new Map<string, ConnectionState>();
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly store: AzureConnectionStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      this.changed,
      store.onDidChange(() => {
        // A connection removed or renamed is forgotten; the others keep what is known until listed again.
        const names = new Set(store.list().map((p) => p.name));
        for (const name of [...this.states.keys()]) if (!names.has(name)) this.states.delete(name);
        this.refresh();
      }),
    ];
  }

  /** Lists one connection, container or folder again (dropping its pages and those below), or everything. */
  refresh(node?: AzureNode): void {
    if (node && (node.kind === 'connection' || node.kind === 'container' || node.kind === 'folder') && this.isCurrent(node)) {
      for (const key of [...this.pages.keys()]) if (isWithin(key, node)) this.pages.delete(key);
      this.changed.fire(node);
      return;
    }
    this.pages.clear();
    this.roots = undefined;
    this.changed.fire(undefined);
  }

  /**
   * Lists a connection again by name (after a successful test, edit, upload or export to Azure): its
   * containers, folders and state are read afresh.
   */
  refreshConnection(name: string): void {
    const node = this.roots?.find((r) => r.profile.name === name);
    if (node) this.refresh(node);
    else this.refresh();
  }

  /** The connection answered (a listing, test or command worked): it shows as connected. */
  markConnected(name: string): void {
    const was = this.states.get(name);
    this.states.set(name, { ok: true, at: Date.now() });
    if (!was?.ok) this.fireConnection(name);
  }

  /** The connection could not be used: it shows the reason (short in its description, whole in its tooltip). */
  markFailed(name: string, message: string): void {
    const was = this.states.get(name);
    this.states.set(name, { ok: false, at: Date.now(), message });
    if (was?.ok !== false || was.message !== message) this.fireConnection(name);
  }

  private fireConnection(name: string): void {
    const node = this.roots?.find((r) => r.profile.name === name);
    if (node) this.changed.fire(node);
  }

  /** Appends the next page under a "Load more…" node's parent. */
  async loadMore(node: Extract<AzureNode, { kind: 'loadMore' }>): Promise<void> {
    const pages = this.pages.get(pagesKey(node.parent));
    if (!pages || pages.loading || pages.continuation === undefined) return;
    pages.loading = this.fetchPage(node.parent, pages);
    await pages.loading;
    if (this.pages.get(pagesKey(node.parent)) === pages) this.changed.fire(node.parent);
  }

  /** Remembers a Compute Size result; the node's description shows it from now on. */
  rememberSize(node: Extract<AzureNode, { kind: 'container' | 'folder' }>, size: azure.SizeProgress): void {
    this.sizes.set(sizeKey(node.profile.name, node.container, prefixOf(node)), size);
    if (this.isCurrent(node)) this.changed.fire(node);
  }

  knownSize(connection: string, container: string, prefix = ''): azure.SizeProgress | undefined {
    return this.sizes.get(sizeKey(connection, container, prefix));
  }

  async getChildren(node?: AzureNode): Promise<AzureNode[]> {
    if (!node) {
      this.roots ??= this.store.list().map((profile) => ({ kind: 'connection', profile }));
      return this.roots;
    }
    if (node.kind !== 'connection' && node.kind !== 'container' && node.kind !== 'folder') return [];
    const key = pagesKey(node);
    let pages = this.pages.get(key);
    if (!pages) {
      const first: Pages = { items: [] };
      first.loading = this.fetchPage(node, first);
      this.pages.set(key, first);
      pages = first;
    }
    await pages.loading;
    const children = [...pages.items];
    if (pages.error) children.push({ kind: 'error', profile: node.profile, parent: node, text: pages.error });
    if (pages.continuation !== undefined) children.push({ kind: 'loadMore', profile: node.profile, parent: node });
    return children;
  }

  getTreeItem(node: AzureNode): vscode.TreeItem {
    switch (node.kind) {
      case 'connection': {
        const item = new vscode.TreeItem(node.profile.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = JSON.stringify(['connection', node.profile.name]);
        const described = describeAzureProfile(node.profile);
        const state = this.states.get(node.profile.name);
        const tooltip = new vscode.MarkdownString(undefined, true);
        tooltip.appendMarkdown(`**${escapeMarkdown(node.profile.name)}**\n\n${escapeMarkdown(described)}\n\n`);
        if (state?.ok === false) {
          item.description = `${shortProblem(state.message)} · ${described}`;
          tooltip.appendMarkdown(`$(error) Failed ${formatAgo(Date.now() - state.at)}: ${escapeMarkdown(state.message)}`);
          item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        } else {
          item.description = described;
          tooltip.appendMarkdown(
            state ? `$(pass) Connected ${formatAgo(Date.now() - state.at)}` : 'Not connected yet: expand it to list its containers.',
          );
          item.iconPath = new vscode.ThemeIcon(node.profile.kind === 'emulator' ? 'vm' : 'azure');
        }
        item.tooltip = tooltip;
        item.contextValue = 'azureConnection';
        return item;
      }
      case 'container':
      case 'folder': {
        const prefix = prefixOf(node);
        const label = node.kind === 'container' ? node.container : lastSegment(node.prefix);
        const item = new vscode.TreeItem(label, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = JSON.stringify([node.kind, node.profile.name, node.container, prefix]);
        const size = this.knownSize(node.profile.name, node.container, prefix);
        item.description = size && azure.describeSize(size);
        item.tooltip = nodeTooltip(node, size);
        item.iconPath = new vscode.ThemeIcon(node.kind === 'container' ? 'package' : 'folder');
        item.contextValue = node.kind === 'container' ? 'azureContainer' : 'azureFolder';
        return item;
      }
      case 'blob': {
        const { blob } = node;
        const item = new vscode.TreeItem(lastSegment(blob.name), vscode.TreeItemCollapsibleState.None);
        item.id = JSON.stringify(['blob', node.profile.name, node.container, blob.name]);
        item.description = formatBytes(blob.size);
        item.tooltip =
          `${node.container}/${blob.name}\n${formatCount(blob.size)} bytes` +
          (blob.lastModified ? `\nmodified ${blob.lastModified.toLocaleString()}` : '');
        item.iconPath = new vscode.ThemeIcon('file');
        item.contextValue = 'azureBlob';
        return item;
      }
      case 'loadMore': {
        const item = new vscode.TreeItem('Load more…', vscode.TreeItemCollapsibleState.None);
        item.id = JSON.stringify(['loadMore', pagesKey(node.parent)]);
        item.tooltip = `List the next ${azure.PAGE_SIZE} items`;
        item.iconPath = new vscode.ThemeIcon('ellipsis');
        item.contextValue = 'azureLoadMore';
        item.command = { command: LOAD_MORE_COMMAND, title: 'Load more', arguments: [node] };
        return item;
      }
      case 'error': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = JSON.stringify(['error', pagesKey(node.parent)]);
        item.tooltip = node.text;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
        item.contextValue = 'azureError';
        return item;
      }
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /** Whether VS Code still shows this node (a refresh of everything makes old nodes stale). */
  private isCurrent(node: AzureParent): boolean {
    if (node.kind === 'connection') return this.roots?.includes(node) ?? false;
    return [...this.pages.values()].some((pages) => pages.items.includes(node));
  }

  /** Lists the next page into `pages`. Never throws: a failure is kept as the error shown under the parent. */
  private async fetchPage(parent: AzureParent, pages: Pages): Promise<void> {
    const where =
      parent.kind === 'connection' ? `"${parent.profile.name}"` : `${parent.container}/${prefixOf(parent)} in "${parent.profile.name}"`;
    try {
      const account = await this.store.open(parent.profile);
      const children = await vscode.window.withProgress({ location: { viewId: AZURE_VIEW } }, () =>
        this.listPage(account, parent, pages.continuation),
      );
      pages.items.push(...children.items);
      pages.continuation = children.continuation;
      pages.error = undefined;
      this.markConnected(parent.profile.name);
      this.log.info(`Listed ${children.items.length} items of ${where}${children.continuation ? ' (more to load)' : ''}`);
    } catch (err) {
      pages.error = maskSecrets(errorMessage(err));
      this.log.warn(`Cannot list ${where}: ${pages.error}`);
      if (parent.kind === 'connection') this.markFailed(parent.profile.name, pages.error);
    } finally {
      pages.loading = undefined;
    }
  }

  private async listPage(
    account: azure.StorageAccount,
    parent: AzureParent,
    continuation: string | undefined,
  ): Promise<azure.Page<AzureNode>> {
    const { profile } = parent;
    if (parent.kind === 'connection') {
      const page = await azure.listContainers(account, continuation);
      return { ...page, items: page.items.map((c) => ({ kind: 'container', profile, container: c.name, info: c })) };
    }
    const { container } = parent;
    const page = await azure.listFolder(account, container, prefixOf(parent), continuation);
    return {
      ...page,
      items: page.items.map((item): AzureNode =>
        item.kind === 'folder'
          ? { kind: 'folder', profile, container, prefix: item.prefix }
          : { kind: 'blob', profile, container, blob: { name: item.name, size: item.size, lastModified: item.lastModified } },
      ),
    };
  }
}

function pagesKey(node: AzureParent): string {
  switch (node.kind) {
    case 'connection':
      return JSON.stringify([node.profile.name]);
    case 'container':
      return JSON.stringify([node.profile.name, node.container]);
    case 'folder':
      return JSON.stringify([node.profile.name, node.container, node.prefix]);
  }
}

/** Whether a `pagesKey` is the node's own or one of a node below it. */
function isWithin(key: string, node: AzureParent): boolean {
  const [connection, container, prefix] = JSON.parse(key) as [string, string?, string?];
  if (connection !== node.profile.name) return false;
  if (node.kind === 'connection') return true;
  return container === node.container && (node.kind === 'container' || (prefix ?? '').startsWith(node.prefix));
}

function sizeKey(connection: string, container: string, prefix: string): string {
  return JSON.stringify([connection, container, prefix]);
}

/** The last segment of a blob name or folder prefix: `b` for `a/b/`, `c.txt` for `a/b/c.txt`. */
function lastSegment(name: string): string {
  const trimmed = name.endsWith('/') ? name.slice(0, -1) : name;
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || name;
}

/** What a container or folder is, as far as the view knows: name, last change, public access, size. */
function nodeTooltip(node: Extract<AzureNode, { kind: 'container' | 'folder' }>, size: azure.SizeProgress | undefined): string {
  const lines = [`${node.container}/${prefixOf(node)}`];
  if (node.kind === 'container') {
    const { info } = node;
    if (info?.lastModified) lines.push(`Modified ${info.lastModified.toLocaleString()}`);
    lines.push(
      info?.publicAccess === 'container'
        ? 'Public access: anyone can list and read its blobs'
        : info?.publicAccess === 'blob'
          ? 'Public access: anyone can read a blob by its URL'
          : 'Private: no anonymous access',
    );
  }
  lines.push(size ? `Size: ${azure.describeSize(size)}` : 'Size: not computed (Compute Container or Folder Size)');
  return lines.join('\n');
}

/** A few words for a connection's description: "unreachable", "access refused", "secret missing", "error". */
function shortProblem(message: string): string {
  if (/^Cannot reach /.test(message)) return 'unreachable';
  if (/refused \(HTTP 403\)|not authori[sz]ed|AuthenticationFailed/i.test(message)) return 'access refused';
  if (/secret storage/.test(message)) return 'secret missing';
  return 'cannot connect';
}

function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>$]/g, (c) => `\\${c}`);
}
