import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { backups } from '../exporters';
import { UserSettingList, settingText } from './userSettingList';

/** A backup target from `exitPlan.backups.targets`: a folder and what goes into it. No secrets here. */
export interface BackupTarget {
  name: string;
  /** Absolute backup folder (`~` expanded). */
  dir: string;
  /** The saved warehouse connection to back up with pg_dump (its password is in SecretStorage). */
  warehouseConnection?: string;
  /** Folders of files to archive, each as `<name>_media__….tar`. */
  folders: { name: string; path: string }[];
  /** Cron expression (local time) for backups while VS Code is open. */
  schedule?: string;
  gzip: boolean;
  /** Rotation policy (with minSizeBytes), when set. */
  rotation?: backups.RotationPolicy;
  /** Backups smaller than this are flagged as suspect. */
  minSizeBytes?: number;
  /** What is wrong with this entry (a bad schedule, policy or path), in sentences, shown in the views. */
  problems: string[];
  /** The problems that stop a backup (no usable folder, nothing to back up). */
  blocking: string[];
}

const SECTION = 'exitPlan';
const KEY = 'backups.targets';
export const TARGETS_SETTING = `${SECTION}.${KEY}`;
export const PG_DUMP_SETTING = 'exitPlan.pgDumpPath';
export const VERIFY_AFTER_SETTING = 'exitPlan.backups.verifyAfterBackup';

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
    return this.setting.parsed(toTarget);
  }

  get(name: string): BackupTarget | undefined {
    return this.list().find((t) => t.name === name);
  }

  /** Adds (or replaces, by name) a target entry as the user would write it in settings. */
  async add(entry: Record<string, unknown>): Promise<void> {
    await this.setting.put(entry);
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

export function expandHome(p: string): string {
  return /^~(?=$|[\\/])/.test(p) ? path.join(os.homedir(), p.slice(1)) : p;
}

/** A settings entry as a target, problems noted; undefined when it has no name. */
export function toTarget(entry: unknown): BackupTarget | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined;
  const e = entry as Record<string, unknown>;
  const name = settingText(e.name);
  if (!name) return undefined;
  const problems: string[] = [];
  const blocking: string[] = [];
  const block = (sentence: string) => {
    problems.push(sentence);
    blocking.push(sentence);
  };
  const rawDir = settingText(e.dir);
  let dir = '';
  if (!rawDir) block(`Backup target "${name}" has no folder: set "dir" to an absolute path.`);
  else {
    dir = expandHome(rawDir);
    if (!path.isAbsolute(dir)) block(`Backup target "${name}": the folder "${rawDir}" must be an absolute path (or start with ~).`);
  }
  const folders: BackupTarget['folders'] = [];
  if (Array.isArray(e.folders)) {
    for (const f of e.folders) {
      const fname = settingText((f as Record<string, unknown> | null)?.name);
      const fpath = settingText((f as Record<string, unknown> | null)?.path);
      if (!fname || !fpath) {
        block(`Backup target "${name}": every entry of "folders" needs a name and a path.`);
        continue;
      }
      try {
        backups.checkFilesName(fname);
      } catch (err) {
        block(`Backup target "${name}": ${(err as Error).message}`);
        continue;
      }
      const abs = expandHome(fpath);
      if (!path.isAbsolute(abs)) block(`Backup target "${name}": the folder "${fpath}" must be an absolute path.`);
      else folders.push({ name: fname, path: abs });
    }
  }
  const schedule = settingText(e.schedule);
  if (schedule) {
    try {
      backups.validateSchedule(schedule);
    } catch (err) {
      problems.push(`Backup target "${name}": ${(err as Error).message}`);
    }
  }
  let rotation: backups.RotationPolicy | undefined;
  if (typeof e.rotation === 'object' && e.rotation !== null) {
    const r = e.rotation as Record<string, unknown>;
    const count = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
    rotation = {
      keepLast: count(r.keepLast),
      keepHourly: count(r.keepHourly),
      keepDaily: count(r.keepDaily),
      keepWeekly: count(r.keepWeekly),
      keepMonthly: count(r.keepMonthly),
      keepYearly: count(r.keepYearly),
      keepWithin: settingText(r.keepWithin),
      minSizeBytes: typeof e.minSizeBytes === 'number' && e.minSizeBytes > 0 ? e.minSizeBytes : undefined,
    };
    try {
      backups.checkPolicy(rotation);
    } catch (err) {
      problems.push(`Backup target "${name}": ${(err as Error).message}`);
      rotation = undefined;
    }
  }
  const warehouseConnection = settingText(e.warehouseConnection);
  if (!warehouseConnection && folders.length === 0) {
    block(`Backup target "${name}" has nothing to back up: set "warehouseConnection" and/or "folders".`);
  }
  const minSizeBytes = typeof e.minSizeBytes === 'number' && e.minSizeBytes > 0 ? e.minSizeBytes : undefined;
  return { name, dir, warehouseConnection, folders, schedule, gzip: e.gzip === true, rotation, minSizeBytes, problems, blocking };
}
