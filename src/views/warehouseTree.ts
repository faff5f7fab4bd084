import * as vscode from 'vscode';
import {
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  describeConnection,
  describeLockWait,
  errorMessage,
  formatBytes,
  listWarehouseTables,
  plural,
  type RelationInfo,
} from '../exporters';
import type { ConnectionStore, WarehouseProfile } from '../services/connectionStore';

export const WAREHOUSE_VIEW = 'exitPlan.warehouse';
const INCLUDE_VIEWS_SETTING = 'exitPlan.export.includeViews';
/** A tooltip lists at most this many columns. */
const MAX_TOOLTIP_COLUMNS = 40;

export type WarehouseNode =
  | { kind: 'connection'; profile: WarehouseProfile }
  | { kind: 'schema'; profile: WarehouseProfile; schema: string; tables: RelationInfo[] }
  | { kind: 'table'; profile: WarehouseProfile; table: RelationInfo }
  | { kind: 'message'; profile: WarehouseProfile; severity: 'error' | 'info'; text: string };

/** Commands get whatever VS Code passes them; this tells a tree node of one kind from anything else. */
export function isWarehouseNode<K extends WarehouseNode['kind']>(value: unknown, kind: K): value is Extract<WarehouseNode, { kind: K }> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind && 'profile' in value;
}

type Listing = { ok: true; tables: RelationInfo[] } | { ok: false; message: string };

/** Connections → schemas → tables. Each connection lists its tables once, then caches them until refresh. */
export class WarehouseTreeProvider implements vscode.TreeDataProvider<WarehouseNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<WarehouseNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: Extract<WarehouseNode, { kind: 'connection' }>[] | undefined;
  private readonly listings = new Map<string, Promise<Listing>>();
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly store: ConnectionStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      this.changed,
      store.onDidChange(() => this.refresh()),
      // Views are always listed; the setting only filters what is shown, so no new query is needed.
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(INCLUDE_VIEWS_SETTING)) this.changed.fire(undefined);
      }),
    ];
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
    if (node.kind !== 'connection') return [];

    const { profile } = node;
    const listing = await this.load(profile);
    if (!listing.ok) return [{ kind: 'message', profile, severity: 'error', text: listing.message }];
    const includeViews = vscode.workspace.getConfiguration().get<boolean>(INCLUDE_VIEWS_SETTING, false);
    const bySchema = new Map<string, RelationInfo[]>();
    for (const table of listing.tables) {
      if (!includeViews && (table.kind === 'view' || table.kind === 'materialized view')) continue;
      bySchema.set(table.schema, [...(bySchema.get(table.schema) ?? []), table]);
    }
    if (bySchema.size === 0) {
      return [{ kind: 'message', profile, severity: 'info', text: 'No tables found outside the system schemas.' }];
    }
    return [...bySchema].map(([schema, tables]) => ({ kind: 'schema', profile, schema, tables }));
  }

  getTreeItem(node: WarehouseNode): vscode.TreeItem {
    const id = (...parts: string[]) => JSON.stringify([node.kind, node.profile.name, ...parts]);
    switch (node.kind) {
      case 'connection': {
        const item = new vscode.TreeItem(node.profile.name, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = id();
        item.description = describeConnection(node.profile);
        item.tooltip = `${node.profile.name}\n${describeConnection(node.profile)} (sslmode ${node.profile.sslmode})`;
        item.iconPath = new vscode.ThemeIcon('database');
        item.contextValue = 'warehouseConnection';
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
      return { ok: true, tables };
    } catch (err) {
      const message = errorMessage(err);
      this.log.warn(`Cannot list the tables of "${profile.name}" (${describeConnection(profile)}): ${message}`);
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
