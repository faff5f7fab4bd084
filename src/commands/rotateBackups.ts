import * as vscode from 'vscode';
import { backups, formatBytes, formatCount, localTime, plural } from '../exporters';
import type { CommandContext } from './context';
import { targetFromArg } from './pickBackup';

type Item = vscode.QuickPickItem & { remove?: true };

/**
 * Rotation of a target (its tree node, or a `BackupTargetRef`): always a preview first (every backup with
 * keep/remove and the rules that keep it), then a modal confirmation naming what will be deleted; only the
 * confirmed files are removed.
 */
export async function rotateBackups(ctx: CommandContext, arg?: unknown): Promise<void> {
  const target = await targetFromArg(ctx, arg, 'Backup target to rotate');
  if (!target) return;
  const plan = await ctx.backups.previewRotation(target);
  const policy = backups.describePolicy(plan.policy);
  const removing = plan.decisions.filter((d) => d.action === 'remove');
  if (removing.length === 0) {
    void vscode.window.showInformationMessage(
      `Rotation of "${target.name}" (${policy}) keeps all ${formatCount(plan.decisions.length)} backups: nothing to remove.`,
    );
    return;
  }
  const action: Item = {
    label: `$(trash) Remove ${plural(removing.length, 'backup')} (${formatBytes(plan.summary.removeBytes)})…`,
    description: `keep ${formatCount(plan.summary.keep)}`,
    remove: true,
    alwaysShow: true,
  };
  const items: Item[] = [action, { label: 'Preview', kind: vscode.QuickPickItemKind.Separator }];
  let group = '';
  for (const d of plan.decisions) {
    if (d.item.group !== group) {
      group = d.item.group;
      items.push({ label: backups.groupLabel(d.item.kind, d.item.source), kind: vscode.QuickPickItemKind.Separator });
    }
    items.push({
      label: `${d.action === 'remove' ? '$(trash)' : d.suspect ? '$(warning)' : '$(check)'} ${d.action} ${localTime(d.item.time)}`,
      description: `${formatBytes(d.item.bytes)} · ${d.item.state}${d.action === 'keep' ? ` · ${d.reasons.join(', ')}` : ''}`,
      detail: d.item.name,
    });
  }
  const picked = await vscode.window.showQuickPick(items, {
    title: `Rotation preview for "${target.name}": ${policy}`,
    // Codicons do not render in a placeholder: it names the action without its icon.
    placeHolder: `Select "${action.label.replace(/^\$\([\w-]+\)\s*/, '')}" to continue, Escape to keep everything`,
    matchOnDetail: true,
  });
  if (!picked?.remove) return;

  const names = removing.map((d) => d.item.name);
  const shown = names.slice(0, 12).join('\n') + (names.length > 12 ? `\n… and ${names.length - 12} more` : '');
  const confirm = `Remove ${plural(removing.length, 'Backup')}`;
  const choice = await vscode.window.showWarningMessage(
    `Remove ${plural(removing.length, 'backup')} of "${target.name}" (${formatBytes(plan.summary.removeBytes)})?`,
    {
      modal: true,
      detail:
        `Policy: ${policy}. Each backup and its .json sidecar will be deleted from ${target.dir}; this cannot be undone. ` +
        `The newest backup and the newest verified one are always kept.\n\n${shown}`,
    },
    confirm,
  );
  if (choice !== confirm) return;
  const result = await ctx.backups.applyRotation(
    target,
    removing.map((d) => d.item.file),
  );
  const left = removing.length - result.removed.length;
  void vscode.window.showInformationMessage(
    `Rotation of "${target.name}" removed ${plural(result.removed.length, 'backup')}` +
      `${left > 0 ? ` (${left} had changed since the preview and were left)` : ''}.`,
  );
}
