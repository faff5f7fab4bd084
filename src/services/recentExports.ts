import * as vscode from 'vscode';

/** One finished export to a local folder, as the Warehouse view lists it. No secrets: paths and counts only. */
export interface RecentExport {
  /** The warehouse connection's name. */
  connection: string;
  /** The archive's absolute path. */
  archive: string;
  /** When it finished (ms since the epoch). */
  at: number;
  tables: number;
  rows: number;
  archiveBytes: number;
}

const EXPORTS_KEY = 'exitPlan.warehouse.recentExports';
const FOLDERS_KEY = 'exitPlan.warehouse.lastExportFolders';
/** The view lists this many of each connection's exports, the newest first. */
export const RECENT_EXPORTS_PER_CONNECTION = 5;

/**
 * The last exports of each warehouse connection and the folder each last exported to (the next export's
 * folder dialog opens there), in the extension's global state of this machine: the paths are this machine's.
 */
export class RecentExports implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;

  constructor(private readonly state: vscode.Memento) {}

  /** A connection's recent exports, the newest first. */
  list(connection: string): RecentExport[] {
    return this.all().filter((e) => e.connection === connection);
  }

  async add(entry: RecentExport, folder: string): Promise<void> {
    const others = this.all().filter((e) => e.archive !== entry.archive);
    const mine = [entry, ...others.filter((e) => e.connection === entry.connection)].slice(0, RECENT_EXPORTS_PER_CONNECTION);
    await this.state.update(EXPORTS_KEY, [...mine, ...others.filter((e) => e.connection !== entry.connection)]);
    await this.state.update(FOLDERS_KEY, { ...this.folders(), [entry.connection]: folder });
    this.changed.fire();
  }

  /** Where the connection last exported to, if it did. */
  lastFolder(connection: string): string | undefined {
    return this.folders()[connection];
  }

  /** Forgets a removed connection's exports and folder (the archives themselves stay). */
  async forget(connection: string): Promise<void> {
    const { [connection]: _forgotten, ...folders } = this.folders();
    await this.state.update(
      EXPORTS_KEY,
      this.all().filter((e) => e.connection !== connection),
    );
    await this.state.update(FOLDERS_KEY, folders);
    this.changed.fire();
  }

  dispose(): void {
    this.changed.dispose();
  }

  private all(): RecentExport[] {
    const value = this.state.get<unknown>(EXPORTS_KEY);
    return (Array.isArray(value) ? value : []).filter(isRecentExport).sort((a, b) => b.at - a.at);
  }

  private folders(): Record<string, string> {
    const value = this.state.get<unknown>(FOLDERS_KEY);
    if (typeof value !== 'object' || value === null) return {};
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
}

function isRecentExport(value: unknown): value is RecentExport {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.connection === 'string' &&
    typeof e.archive === 'string' &&
    typeof e.at === 'number' &&
    typeof e.tables === 'number' &&
    typeof e.rows === 'number' &&
    typeof e.archiveBytes === 'number'
  );
}
