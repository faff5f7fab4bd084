import * as vscode from 'vscode';
import { SSL_MODES, type PgConnectionOptions, type SslMode } from '../exporters';
import { UserSettingList, settingText } from './userSettingList';

/** A saved warehouse connection. Never holds the password: that lives in SecretStorage. */
export interface WarehouseProfile {
  name: string;
  host: string;
  port: number;
  database: string;
  user: string;
  sslmode: SslMode;
}

const SECTION = 'exitPlan';
const KEY = 'warehouse.connections';
const CONNECTIONS_SETTING = `${SECTION}.${KEY}`;

const passwordKey = (name: string) => `exitPlan.warehouse.password.${name}`;

/**
 * Connection profiles in the user setting `exitPlan.warehouse.connections` (global scope only, so a
 * workspace can never point a saved password at another host) and their passwords in SecretStorage.
 */
export class ConnectionStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly watcher: vscode.Disposable;
  private readonly setting = new UserSettingList(SECTION, KEY);

  constructor(private readonly secrets: vscode.SecretStorage) {
    this.watcher = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(CONNECTIONS_SETTING)) this.changed.fire();
    });
  }

  list(): WarehouseProfile[] {
    return this.setting.parsed(toProfile);
  }

  get(name: string): WarehouseProfile | undefined {
    return this.list().find((p) => p.name === name);
  }

  async add(profile: WarehouseProfile, password: string | undefined): Promise<void> {
    // The secret first: saving the profile refreshes the tree, which reads the password.
    if (password) await this.secrets.store(passwordKey(profile.name), password);
    else await this.secrets.delete(passwordKey(profile.name));
    await this.setting.put(profile);
  }

  /** Saves changed values of a connection (same name); its password stays as it is. */
  async update(profile: WarehouseProfile): Promise<void> {
    await this.setting.put(profile);
  }

  /** Replaces a connection's saved password (none when empty), leaving its profile as it is. */
  async setPassword(name: string, password: string | undefined): Promise<void> {
    if (password) await this.secrets.store(passwordKey(name), password);
    else await this.secrets.delete(passwordKey(name));
    this.changed.fire();
  }

  async remove(name: string): Promise<void> {
    await this.setting.remove(name);
    await this.secrets.delete(passwordKey(name));
  }

  /** What the core needs to connect, with the password from SecretStorage. */
  async connectionOptions(profile: WarehouseProfile): Promise<PgConnectionOptions> {
    const password = await this.secrets.get(passwordKey(profile.name));
    const { host, port, database, user, sslmode } = profile;
    return { host, port, database, user, sslmode, password };
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}

/** A settings entry as a profile, with the defaults filled in; undefined when it is unusable. */
function toProfile(entry: unknown): WarehouseProfile | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const name = settingText(e.name);
  const database = settingText(e.database);
  const user = settingText(e.user);
  if (!name || !database || !user) return undefined;
  const port = typeof e.port === 'number' && Number.isInteger(e.port) && e.port >= 1 && e.port <= 65535 ? e.port : 5432;
  const sslmode = SSL_MODES.find((m) => m === e.sslmode) ?? 'prefer';
  return { name, host: settingText(e.host) ?? 'localhost', port, database, user, sslmode };
}
