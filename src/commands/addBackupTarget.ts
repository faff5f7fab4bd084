import * as path from 'node:path';
import * as vscode from 'vscode';
import { backups, describeConnection, errorMessage } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';

const ROTATIONS: { label: string; description: string; rotation?: Record<string, number> }[] = [
  { label: '7 daily, 4 weekly, 12 monthly', description: 'recommended', rotation: { keepDaily: 7, keepWeekly: 4, keepMonthly: 12 } },
  { label: 'The last 14 backups', description: 'keep-last 14', rotation: { keepLast: 14 } },
  { label: 'No rotation', description: 'keep every backup until removed by hand' },
];

/**
 * Adds a backup target to the user setting `exitPlan.backups.targets`: a folder, a saved warehouse
 * connection and/or folders of files, a schedule and a rotation policy. No secret goes into settings.
 */
export async function addBackupTarget(ctx: CommandContext): Promise<void> {
  const taken = new Set(ctx.backups.list().map((t) => t.name));
  const name = await vscode.window.showInputBox({
    title: 'Add Backup Target (1/5): name',
    prompt: 'A name for this target, e.g. "kobo server"',
    ignoreFocusOut: true,
    validateInput: (v) => (v.trim() === '' ? 'Give it a name.' : taken.has(v.trim()) ? 'A target with this name exists.' : undefined),
  });
  if (!name) return;
  const folder = await vscode.window.showOpenDialog({
    title: 'Add Backup Target (2/5): the folder the backups go into',
    canSelectFolders: true,
    canSelectFiles: false,
    canSelectMany: false,
    openLabel: 'Back Up Here',
  });
  const dir = folder?.[0]?.fsPath;
  if (!dir) return;

  const profiles = ctx.connections.list();
  const items: (vscode.QuickPickItem & { profile?: WarehouseProfile })[] = [
    ...profiles.map((p) => ({ label: p.name, description: describeConnection(p), profile: p })),
    { label: 'No database', description: 'only folders of files' },
  ];
  const db = await vscode.window.showQuickPick(items, {
    title: 'Add Backup Target (3/5): database to back up with pg_dump',
    placeHolder:
      profiles.length === 0 ? 'No warehouse connection saved yet: add one first to back up a database' : 'A saved warehouse connection',
    ignoreFocusOut: true,
  });
  if (!db) return;
  const warehouseConnection = db.profile?.name;

  const folders: { name: string; path: string }[] = [];
  for (;;) {
    const add = await vscode.window.showQuickPick(
      [
        { label: '$(add) Add a folder of files…', add: true },
        { label: folders.length > 0 || warehouseConnection ? '$(check) Done' : '$(close) Cancel', add: false },
      ],
      { title: `Add Backup Target (4/5): folders of files to archive (${folders.length} so far)`, ignoreFocusOut: true },
    );
    if (!add?.add) break;
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Archive This Folder',
    });
    const source = picked?.[0]?.fsPath;
    if (!source) continue;
    const suggested =
      path
        .basename(source)
        .replace(/[^A-Za-z0-9._-]/g, '_')
        .replace(/^[^A-Za-z0-9]+/, '') || 'media';
    const folderName = await vscode.window.showInputBox({
      prompt: `Name for ${source} in backup file names (<name>_media__<time>.tar)`,
      value: suggested,
      ignoreFocusOut: true,
      validateInput: (v) => {
        try {
          backups.checkFilesName(v);
          return folders.some((f) => f.name === v.trim()) ? 'Another folder of this target has this name.' : undefined;
        } catch (err) {
          return errorMessage(err);
        }
      },
    });
    if (folderName) folders.push({ name: folderName.trim(), path: source });
  }
  if (!warehouseConnection && folders.length === 0) return;

  const schedule = await vscode.window.showInputBox({
    title: 'Add Backup Target (5/5): schedule',
    prompt: 'Cron expression for backups while VS Code is open (minute hour day-of-month month day-of-week, local time); empty for none',
    value: '0 2 * * *',
    ignoreFocusOut: true,
    validateInput: (v) => {
      if (v.trim() === '') return undefined;
      try {
        backups.validateSchedule(v);
        return undefined;
      } catch (err) {
        return errorMessage(err);
      }
    },
  });
  if (schedule === undefined) return;
  const rotation = await vscode.window.showQuickPick(ROTATIONS, { title: 'Rotation: which backups to keep', ignoreFocusOut: true });
  if (!rotation) return;

  const entry: Record<string, unknown> = { name: name.trim(), dir };
  if (warehouseConnection) entry.warehouseConnection = warehouseConnection;
  if (folders.length > 0) entry.folders = folders;
  if (schedule.trim()) entry.schedule = backups.validateSchedule(schedule);
  if (rotation.rotation) entry.rotation = rotation.rotation;
  await ctx.backups.targets.add(entry);
  ctx.log.info(`Added backup target "${entry.name as string}" → ${dir}`);
  const now = 'Back Up Now';
  void vscode.window.showInformationMessage(`Backup target "${entry.name as string}" added.`, now).then((choice) => {
    if (choice === now) void executeCommand('exitPlan.backUpNow', { targetName: entry.name as string });
  });
}
