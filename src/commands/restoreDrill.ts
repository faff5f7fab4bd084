import * as path from 'node:path';
import * as vscode from 'vscode';
import { backups, plural } from '../exporters';
import type { BackupTarget } from '../services/backupTargets';
import { isBackupNode } from '../views/backupsTree';
import type { CommandContext } from './context';
import { backupFromArg, targetFromArg } from './pickBackup';
import { runOperation } from './runOperation';

/**
 * Restore drill: restores a database backup (the one it was run on, or the newest verified one of the target
 * it was run on or named by a `BackupTargetRef`) into a scratch database on the same server, compares row
 * counts with the source, drops it and reports.
 */
export async function restoreDrill(ctx: CommandContext, arg?: unknown): Promise<void> {
  let picked: { target: BackupTarget; entry: backups.BackupEntry } | undefined;
  if (isBackupNode(arg, 'backup')) {
    picked = await backupFromArg(ctx, arg, { kinds: ['postgres'], placeHolder: 'Backup to drill' });
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
  const report = await runOperation(ctx, `restore drill of ${path.basename(file)}`, (op) =>
    ctx.backups.drill(target, file, { signal: op.signal, onProgress: (p) => op.report(backups.describeDrillProgress(p)) }),
  );
  if (!report.restored) {
    // The backup failed verification: a partial outcome, shown as one (the CLI prints the same sentence).
    showDrillOutcome(ctx, `Restore drill of "${target.name}": ${report.message}`, false, 'Show Log');
    return;
  }
  const width = Math.max(5, ...report.tables.map((t) => `${t.schema}.${t.name}`.length));
  ctx.log.info(
    `Restore drill of ${report.file} against ${report.source} (scratch database ${report.scratchDatabase}, dropped):\n` +
      report.tables
        .map(
          (t) =>
            `  ${`${t.schema}.${t.name}`.padEnd(width)}  backup ${String(t.backupRows ?? 'missing').padStart(10)}  ` +
            `source ${String(t.sourceRows ?? 'missing').padStart(10)}  ${t.match ? 'same' : 'DIFFERENT'}`,
        )
        .join('\n'),
  );
  showDrillOutcome(ctx, `Restore drill of "${target.name}": ${report.message}`, report.ok, 'Show Counts');
  ctx.log.info(`Drill ${report.ok ? 'passed' : 'found differences'}: ${plural(report.tables.length, 'table')} compared`);
}

/** The drill's sentence, as information when it passed and as a warning when not; the button shows the log. */
function showDrillOutcome(ctx: CommandContext, message: string, ok: boolean, button: string): void {
  const shown = ok ? vscode.window.showInformationMessage(message, button) : vscode.window.showWarningMessage(message, button);
  void shown.then((choice) => {
    if (choice === button) ctx.log.show();
  });
}
