import * as vscode from 'vscode';
import { backups, expandHome } from '../exporters';
import { UserSettingList } from './userSettingList';

/** A backup target from `exitPlan.backups.targets` (read and checked by the core's `backups.parseBackupTarget`). */
export type BackupTarget = backups.BackupTarget;

const SECTION = 'exitPlan';
const KEY = 'backups.targets';
const TARGETS_SETTING = `${SECTION}.${KEY}`;
const PG_DUMP_SETTING = 'exitPlan.pgDumpPath';
const VERIFY_AFTER_SETTING = 'exitPlan.backups.verifyAfterBackup';

/**
 * Targets in the user setting `exitPlan.backups.targets` (global scope only, so a workspace can never
 * make Exit Plan dump a saved database into a folder of its choosing, or restore over one).
 */
export class BackupTargetStore implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly watcher: vscode.Disposable;
  private readonly setting = new UserSettingList(SECTION, KEY);

  constructor() {
    this.watcher = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(TARGETS_SETTING) || e.affectsConfiguration(PG_DUMP_SETTING)) this.changed.fire();
    });
  }

  list(): BackupTarget[] {
    return this.setting.parsed(backups.parseBackupTarget);
  }

  get(name: string): BackupTarget | undefined {
    return this.list().find((t) => t.name === name);
  }

  /** Adds (or replaces, by name) a target entry as the user would write it in settings. */
  async add(entry: Record<string, unknown>): Promise<void> {
    await this.setting.put(entry);
  }

  /** A target's entry as written in settings (for an edit that keeps what it does not change), or undefined. */
  entry(name: string): Record<string, unknown> | undefined {
    const found = this.setting.entries().find((e) => typeof e === 'object' && e !== null && (e as Record<string, unknown>).name === name);
    return found ? { ...(found as Record<string, unknown>) } : undefined;
  }

  /** Replaces a target's entry where it stands in the list (an edit does not move it to the end). */
  async replace(name: string, entry: Record<string, unknown>): Promise<void> {
    const entries = this.setting.entries();
    const at = entries.findIndex((e) => typeof e === 'object' && e !== null && (e as Record<string, unknown>).name === name);
    if (at < 0) return this.add(entry);
    const next = [...entries];
    next[at] = entry;
    await vscode.workspace.getConfiguration(SECTION).update(KEY, next, vscode.ConfigurationTarget.Global);
  }

  /** Forgets a target; its backup folder and files stay. */
  async remove(name: string): Promise<void> {
    await this.setting.remove(name);
  }

  /** `exitPlan.pgDumpPath` (machine setting), `~` expanded; empty means PATH. */
  pgDumpPath(): string | undefined {
    const raw = vscode.workspace.getConfiguration().inspect<string>(PG_DUMP_SETTING)?.globalValue?.trim();
    return raw ? expandHome(raw) : undefined;
  }

  verifyAfterBackup(): boolean {
    return vscode.workspace.getConfiguration().get<boolean>(VERIFY_AFTER_SETTING, true) !== false;
  }

  dispose(): void {
    this.watcher.dispose();
    this.changed.dispose();
  }
}
