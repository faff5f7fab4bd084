import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  describeConnection,
  describeLockWait,
  errorMessage,
  formatAgo,
  formatBytes,
  formatCount,
  listWarehouseTables,
  plural,
  type RelationInfo,
} from '../exporters';
import { connectionProblem, shortProblem } from '../commands/warehouseConnection';
import type { ConnectionStore, WarehouseProfile } from '../services/connectionStore';
import type { RecentExport, RecentExports } from '../services/recentExports';

export const WAREHOUSE_VIEW = 'exitPlan.warehouse';
const INCLUDE_VIEWS_SETTING = 'exitPlan.export.includeViews';
/** A tooltip lists at most this many columns. */
const MAX_TOOLTIP_COLUMNS = 40;

export type WarehouseNode =
  | { kind: 'connection'; profile: WarehouseProfile }
  | { kind: 'schema'; profile: WarehouseProfile; schema: string; tables: RelationInfo[] }
  | { kind: 'table'; profile: WarehouseProfile; table: RelationInfo }
  | { kind: 'message'; profile: WarehouseProfile; severity: 'error' | 'info'; text: string }
  | { kind: 'recentExports'; profile: WarehouseProfile; exports: RecentExport[] }
  | { kind: 'recentExport'; profile: WarehouseProfile; entry: RecentExport };

/** What the extension last learnt about a connection: it connected (with the server's version), or could not. */
type ConnectionState = { key: string; at: number } & ({ ok: true; serverVersion?: string } | { ok: false; short: string; message: string });

/** The values a state was learnt with: an edited connection's old state no longer applies. */
const stateKey = (p: WarehouseProfile) => JSON.stringify([p.host, p.port, p.database, p.user, p.sslmode]);

/** Commands get whatever VS Code passes them; this tells a tree node of one kind from anything else. */
export function isWarehouseNode<K extends WarehouseNode['kind']>(value: unknown, kind: K): value is Extract<WarehouseNode, { kind: K }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind && 'profile' in value;
}

type Listing = { ok: true; tables: RelationInfo[] } | { ok: false; message: string };

/**
 * Connections → (recent exports,) schemas → tables. Each connection lists its tables once, then caches them
 * until refresh. A connection shows what was last learnt of it (connected, or cannot connect and why).
 */
export class WarehouseTreeProvider implements vscode.TreeDataProvider<WarehouseNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<WarehouseNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Extract<WarehouseNode, { kind: 'connection' }>[] | undefined;
  private readonly listings = new Map<string, Promise<Listing>>();
  private readonly states = new Map<string, ConnectionState>();
  private readonly disposables: vscode.Disposable[];
  private view: vscode.TreeView<WarehouseNode> | undefined;

  constructor(
    private readonly store: ConnectionStore,
    private readonly log: vscode.LogOutputChannel,
    private readonly recent: RecentExports,
  ) {
    this.disposables = [
      this.changed,
      store.onDidChange(() => this.refresh()),
      recent.onDidChange(() => this.changed.fire(undefined)),
      // Views are always listed; the setting only filters what is shown, so no new query is needed.
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(INCLUDE_VIEWS_SETTING)) this.changed.fire(undefined);
      }),
    ];
  }

  /** The Warehouse view over this provider (extension.ts makes it once), so that a new or edited connection can be revealed. */
  createView(): vscode.TreeView<WarehouseNode> {
    this.view = vscode.window.createTreeView(WAREHOUSE_VIEW, { treeDataProvider: this, showCollapseAll: true });
    return this.view;
  }

  /**
   * Shows a connection just added or edited: the view opens and selects it, listed afresh. `serverVersion`
   * when it was just connected to (undefined: saved without a working connection).
   */
  async reveal(profile: WarehouseProfile, serverVersion: string | undefined): Promise<void> {
    if (serverVersion !== undefined) this.states.set(profile.name, { key: stateKey(profile), at: Date.now(), ok: true, serverVersion });
    this.refresh();
    const node = (await this.getChildren()).find((n) => n.kind === 'connection' && n.profile.name === profile.name);
    if (node && this.view) await Promise.resolve(this.view.reveal(node, { select: true, focus: false })).catch(() => undefined);
  }

  /** A connection just worked (a test, an export): its node says so, and lists again if it had failed. */
  noteConnected(profile: WarehouseProfile, serverVersion?: string): void {
    const before = this.states.get(profile.name);
    const version = serverVersion ?? (before?.ok && before.key === stateKey(profile) ? before.serverVersion : undefined);
    this.states.set(profile.name, { key: stateKey(profile), at: Date.now(), ok: true, serverVersion: version });
    if (before && !before.ok) this.listings.delete(profile.name);
    this.fireConnection(profile.name);
  }

  /** A connection just failed to connect: its node shows why (in short; the tooltip has the sentence). */
  noteFailed(profile: WarehouseProfile, err: unknown): void {
    this.states.set(profile.name, {
      key: stateKey(profile),
      at: Date.now(),
      ok: false,
      short: shortProblem(err),
      message: errorMessage(err),
    });
    this.listings.delete(profile.name);
    this.fireConnection(profile.name);
  }

  /**
   * Work elsewhere (Back Up Now of a target using it) connected with this saved connection: if its node
   * showed it could not connect, it is refreshed.
   */
  connectionSucceeded(name: string): void {
    const profile = this.store.get(name);
    if (profile) this.noteConnected(profile);
  }

  private fireConnection(name: string): void {
    const node = this.roots?.find((n) => n.profile.name === name);
    this.changed.fire(node);
  }

  /** Forgets the cached tables of one connection, or of all of them. */
  refresh(connection?: WarehouseNode): void {
    if (connection?.kind === 'connection' && this.roots?.includes(connection)) {
      this.listings.delete(connection.profile.name);
      this.changed.fire(connection);
      return;
    }
    this.listings.clear();
    this.roots = undefined;
    this.changed.fire(undefined);
  }

  async getChildren(node?: WarehouseNode): Promise<WarehouseNode[]> {
    if (!node) {
      this.roots ??= this.store.list().map((profile) => ({ kind: 'connection', profile }));
      return this.roots;
    }
    if (node.kind === 'schema') {
      return node.tables.map((table) => ({ kind: 'table', profile: node.profile, table }));
    }
    if (node.kind === 'recentExports') return node.exports.map((entry) => ({ kind: 'recentExport', profile: node.profile, entry }));
    if (node.kind !== 'connection') return [];

    const { profile } = node;
    const exports = this.recent.list(profile.name);
    const recent: WarehouseNode[] = exports.length > 0 ? [{ kind: 'recentExports', profile, exports }] : [];
    const listing = await this.load(profile);
    if (!listing.ok) return [...recent, { kind: 'message', profile, severity: 'error', text: listing.message }];
    const includeViews = vscode.workspace.getConfiguration().get<boolean>(INCLUDE_VIEWS_SETTING, false);
    const bySchema = new Map<string, RelationInfo[]>();
    for (const table of listing.tables) {
      if (!includeViews && (table.kind === 'view' || table.kind === 'materialized view')) continue;
      bySchema.set(table.schema, [...(bySchema.get(table.schema) ?? []), table]);
    }
    if (bySchema.size === 0) {
      return [...recent, { kind: 'message', profile, severity: 'info', text: 'No tables found outside the system schemas.' }];
    }
    return [...recent, ...[...bySchema].map(([schema, tables]): WarehouseNode => ({ kind: 'schema', profile, schema, tables }))];
  }

  getTreeItem(node: WarehouseNode): vscode.TreeItem {
    const id = (...parts: string[]) => JSON.stringify([node.kind, node.profile.name, ...parts]);
    switch (node.kind) {
      case 'connection':
        return this.connectionItem(node.profile, id());
      case 'recentExports': {
        const item = new vscode.TreeItem('Recent Exports', vscode.TreeItemCollapsibleState.Collapsed);
        item.id = id('recent');
        item.description = `${plural(node.exports.length, 'archive')}, latest ${formatAgo(Date.now() - node.exports[0].at)}`;
        item.tooltip = `The last exports of "${node.profile.name}" to a folder, the newest first: right-click one to reveal or verify it.`;
        item.iconPath = new vscode.ThemeIcon('history');
        item.contextValue = 'warehouseRecentExports';
        return item;
      }
      case 'recentExport': {
        const { entry } = node;
        const exists = fs.existsSync(entry.archive);
        const item = new vscode.TreeItem(path.basename(entry.archive), vscode.TreeItemCollapsibleState.None);
        item.id = id('recent', entry.archive);
        const summary = `${plural(entry.tables, 'table')}, ${formatBytes(entry.archiveBytes)}`;
        item.description = exists ? `${formatAgo(Date.now() - entry.at)} · ${summary}` : `missing · ${formatAgo(Date.now() - entry.at)}`;
        const md = new vscode.MarkdownString();
        md.appendText(entry.archive);
        md.appendMarkdown('\n\n');
        md.appendText(
          exists
            ? `Exported ${new Date(entry.at).toLocaleString()}: ${summary}, ${formatCount(entry.rows)} rows.`
            : `This archive is no longer there (moved or deleted since ${new Date(entry.at).toLocaleString()}).`,
        );
        item.tooltip = md;
        item.iconPath = exists
          ? new vscode.ThemeIcon('file-zip')
          : new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
        item.contextValue = exists ? 'warehouseRecentExport' : 'warehouseRecentExportMissing';
        return item;
      }
      case 'schema': {
        const item = new vscode.TreeItem(node.schema, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = id(node.schema);
        item.description = plural(node.tables.length, 'table');
        item.iconPath = new vscode.ThemeIcon('symbol-namespace');
        item.contextValue = 'warehouseSchema';
        return item;
      }
      case 'table': {
        const { table } = node;
        const item = new vscode.TreeItem(table.name, vscode.TreeItemCollapsibleState.None);
        item.id = id(table.schema, table.name);
        const denied = table.canSelect ? '' : ', no SELECT permission';
        item.description = `${rowsText(table.estimatedRows)}, ${formatBytes(table.sizeBytes)}${denied}`;
        item.tooltip = tableTooltip(table);
        item.iconPath = new vscode.ThemeIcon(table.kind === 'view' || table.kind === 'materialized view' ? 'eye' : 'table');
        item.contextValue = 'warehouseTable';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = id(node.severity);
        item.tooltip = node.text;
        item.iconPath =
          node.severity === 'error'
            ? new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'))
            : new vscode.ThemeIcon('info');
        item.contextValue = node.severity === 'error' ? 'warehouseError' : 'warehouseInfo';
        return item;
      }
    }
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }

  /** A connection: its target, and what was last learnt of it (a red error icon and a short reason when it cannot connect). */
  private connectionItem(profile: WarehouseProfile, id: string): vscode.TreeItem {
    const item = new vscode.TreeItem(profile.name, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = id;
    const target = describeConnection(profile);
    const state = this.states.get(profile.name);
    const known = state && state.key === stateKey(profile) ? state : undefined;
    // Plain text: Markdown would turn user@host into a mail link.
    const lines = [profile.name, `${target} (sslmode ${profile.sslmode})`, ''];
    if (known && !known.ok) {
      item.description = `cannot connect: ${known.short}`;
      item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('errorForeground'));
      lines.push(`Cannot connect (${formatAgo(Date.now() - known.at)}): ${known.message}`);
    } else if (known?.ok) {
      item.description = target;
      item.iconPath = new vscode.ThemeIcon('database', new vscode.ThemeColor('testing.iconPassed'));
      lines.push(`Connected${known.serverVersion ? ` to PostgreSQL ${known.serverVersion}` : ''} (${formatAgo(Date.now() - known.at)}).`);
    } else {
      item.description = target;
      item.iconPath = new vscode.ThemeIcon('database');
      lines.push('Not connected yet: expand it or run Test Warehouse Connection.');
    }
    item.tooltip = lines.join('\n');
    item.contextValue = 'warehouseConnection';
    return item;
  }

  /** What a listing learnt of the connection (err: it could not connect); the node is redrawn when that changed. */
  private learn(profile: WarehouseProfile, err: unknown): void {
    const before = this.states.get(profile.name);
    const key = stateKey(profile);
    if (err === undefined) {
      const version = before?.ok && before.key === key ? before.serverVersion : undefined;
      this.states.set(profile.name, { key, at: Date.now(), ok: true, serverVersion: version });
    } else this.states.set(profile.name, { key, at: Date.now(), ok: false, short: shortProblem(err), message: errorMessage(err) });
    const changed = !before || before.key !== key || before.ok !== (err === undefined);
    if (changed) this.fireConnection(profile.name);
  }

  private load(profile: WarehouseProfile): Promise<Listing> {
    let listing = this.listings.get(profile.name);
    if (!listing) {
      listing = this.fetch(profile);
      this.listings.set(profile.name, listing);
    }
    return listing;
  }

  /** Never throws: a failure becomes an error node with the core's sentence. */
  private async fetch(profile: WarehouseProfile): Promise<Listing> {
    try {
      const options = await this.store.connectionOptions(profile);
      // Views are always fetched so that toggling the setting needs no new connection.
      const tables = await vscode.window.withProgress({ location: { viewId: WAREHOUSE_VIEW } }, () =>
        listWarehouseTables(options, {
          includeViews: true,
          lockTimeoutSeconds: vscode.workspace
            .getConfiguration('exitPlan.export')
            .get<number>('lockTimeoutSeconds', DEFAULT_LOCK_TIMEOUT_SECONDS),
          onProgress: (p) => p.waiting && this.log.info(`Listing "${profile.name}": ${describeLockWait(p.waiting)}`),
        }),
      );
      this.log.info(`Listed ${plural(tables.length, 'relation')} of "${profile.name}" (${describeConnection(profile)})`);
      this.learn(profile, undefined);
      return { ok: true, tables };
    } catch (err) {
      const message = errorMessage(err);
      this.log.warn(`Cannot list the tables of "${profile.name}" (${describeConnection(profile)}): ${message}`);
      if (connectionProblem(err)) this.learn(profile, err);
      return { ok: false, message };
    }
  }
}

function rowsText(estimatedRows: number): string {
  return estimatedRows < 0 ? 'not analysed' : `~${plural(Math.round(estimatedRows), 'row')}`;
}

function tableTooltip(table: RelationInfo): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown('**');
  md.appendText(`${table.schema}.${table.name}`);
  md.appendMarkdown('**\n\n');
  md.appendText(`${table.kind}: ${rowsText(table.estimatedRows)}, ${formatBytes(table.sizeBytes)}`);
  if (!table.canSelect) md.appendText(', no SELECT permission');
  md.appendMarkdown('\n\n');
  for (const column of table.columns.slice(0, MAX_TOOLTIP_COLUMNS)) {
    md.appendMarkdown('- ');
    md.appendText(`${column.name}: ${column.type}${column.notNull ? ' not null' : ''}`);
    md.appendMarkdown('\n');
  }
  const more = table.columns.length - MAX_TOOLTIP_COLUMNS;
  if (more > 0) md.appendMarkdown(`- … and ${plural(more, 'more column')}\n`);
  if (table.columns.length === 0) md.appendMarkdown('_No columns._');
  return md;
}
