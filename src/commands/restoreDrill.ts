import * as path from 'node:path';
import * as vscode from 'vscode';
import { backups, formatCount } from '../exporters';
import type { BackupTarget } from '../services/backupTargets';
import { isBackupNode } from '../views/backupsTree';
import type { CommandContext } from './context';
import { backupFromArg, targetFromArg, withCancellableProgress } from './pickBackup';

/**
 * Restore drill: restores a database backup (the one it was run on, or the target's newest verified one)
 * into a scratch database on the same server, compares row counts with the source, drops it and reports.
 */
export async function restoreDrill(ctx: CommandContext, arg?: unknown): Promise<void> {
  let picked: { target: BackupTarget; entry: backups.BackupEntry } | undefined;
  if (isBackupNode(arg, 'backup')) {
    picked = await backupFromArg(ctx, arg, { kind: 'postgres', placeHolder: 'Backup to drill' });
  } else {
    const target = await targetFromArg(ctx, arg, 'Backup target to drill');
    if (!target) return;
    const entries = (await backups.listBackups(target.dir)).filter((e) => e.kind === 'postgres' && e.state !== 'failed');
    const entry = entries.find((e) => e.state === 'verified') ?? entries[0];
    if (!entry) {
      void vscode.window.showInformationMessage(`Backup target "${target.name}" has no database backup to drill yet.`);
      return;
    }
    picked = { target, entry };
  }
  if (picked) await runDrill(ctx, picked.target, picked.entry.file);
}

export async function runDrill(ctx: CommandContext, target: BackupTarget, file: string): Promise<void> {
  const report = await withCancellableProgress(`Exit Plan: restore drill of ${path.basename(file)}`, (progress, controller) =>
    ctx.backups.drill(target, file, { progress, controller }),
  );
  const width = Math.max(5, ...report.tables.map((t) => `${t.schema}.${t.name}`.length));
  ctx.log.info(
    `Restore drill of ${report.file} against ${report.source} (scratch database ${report.scratchDatabase}, dropped):\n` +
      report.tables
        .map(
          (t) =>
            `  ${`${t.schema}.${t.name}`.padEnd(width)}  backup ${String(t.backupRows ?? 'missing').padStart(10)}  source ${String(t.sourceRows ?? 'missing').padStart(10)}  ${t.match ? 'same' : 'DIFFERENT'}`,
        )
        .join('\n'),
  );
  const show = 'Show Counts';
  const message = `Restore drill of "${target.name}": ${report.message}`;
  const shown = report.ok ? vscode.window.showInformationMessage(message, show) : vscode.window.showWarningMessage(message, show);
  void shown.then((choice) => {
    if (choice === show) ctx.log.show();
  });
  ctx.log.info(
    `Drill ${report.ok ? 'passed' : 'found differences'}: ${formatCount(report.tables.length)} table${report.tables.length === 1 ? '' : 's'} compared`,
  );
}
