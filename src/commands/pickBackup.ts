import * as vscode from 'vscode';
import { ExitPlanError, backups, formatBytes, localTime } from '../exporters';
import type { BackupTarget } from '../services/backupTargets';
import { isBackupNode } from '../views/backupsTree';
import type { CommandContext } from './context';
import { executeCommand, isRef } from './invoke';

/**
 * The target a command was run on (a tree node, or a `BackupTargetRef` { targetName } from code: the sidebar
 * report, a notification, the scheduler), or one the user picks; undefined if they back out.
 */
export async function targetFromArg(ctx: CommandContext, arg: unknown, placeHolder: string): Promise<BackupTarget | undefined> {
  if (isRef(arg, 'targetName')) {
    const target = ctx.backups.get(arg.targetName);
    if (!target) throw new ExitPlanError(`There is no backup target "${arg.targetName}" in exitPlan.backups.targets.`);
    return target;
  }
  for (const kind of ['target', 'group', 'backup', 'message'] as const) {
    if (isBackupNode(arg, kind)) return ctx.backups.get(arg.target.name) ?? arg.target;
  }
  const targets = ctx.backups.list();
  if (targets.length === 0) {
    const add = 'Add Backup Target';
    void vscode.window.showInformationMessage('There is no backup target yet.', add).then((choice) => {
      if (choice === add) void executeCommand('exitPlan.addBackupTarget');
    });
    return undefined;
  }
  if (targets.length === 1) return targets[0];
  const picked = await vscode.window.showQuickPick(
    targets.map((target) => ({ label: target.name, description: target.dir, target })),
    { placeHolder },
  );
  return picked?.target;
}

/** A backup file: the tree node it was run on, or one picked from a target's backups (newest first). */
export async function backupFromArg(
  ctx: CommandContext,
  arg: unknown,
  options: { kinds?: readonly backups.BackupKind[]; placeHolder: string },
): Promise<{ target: BackupTarget; entry: backups.BackupEntry } | undefined> {
  if (isBackupNode(arg, 'backup')) return { target: ctx.backups.get(arg.target.name) ?? arg.target, entry: arg.entry };
  const target = await targetFromArg(ctx, arg, 'Backup target');
  if (!target) return undefined;
  const entries = (await backups.listBackups(target.dir)).filter((e) => !options.kinds || options.kinds.includes(e.kind));
  if (entries.length === 0) {
    const which = options.kinds ? `${options.kinds.map((k) => KIND_WORDS[k]).join(' or ')} ` : '';
    void vscode.window.showInformationMessage(`Backup target "${target.name}" has no ${which}backups yet.`);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    entries.map((entry) => ({
      label: `${stateIcon(entry.state)} ${localTime(entry.time)}`,
      description: `${backups.groupLabel(entry.kind, entry.source)} · ${formatBytes(entry.bytes)} · ${entry.state}`,
      detail: entry.name,
      entry,
    })),
    { placeHolder: options.placeHolder, matchOnDetail: true },
  );
  return picked && { target, entry: picked.entry };
}

/** What each kind of backup is called in a sentence ("no database or command backups yet"). */
const KIND_WORDS: Record<backups.BackupKind, string> = { postgres: 'database', files: 'files', command: 'command' };

function stateIcon(state: backups.VerificationState): string {
  return state === 'verified' ? '$(pass)' : state === 'failed' ? '$(error)' : '$(circle-large-outline)';
}
