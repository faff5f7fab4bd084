import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, backups, describeConnection, formatBytes, formatCount, maskSecrets, plural } from '../exporters';
import type { BackupTarget } from '../services/backupTargets';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { backupFromArg } from './pickBackup';
import { runDrill } from './restoreDrill';
import { runOperation } from './runOperation';

type Choice = vscode.QuickPickItem & { drill?: true; profile?: WarehouseProfile };

/**
 * Restore a database backup (or a command backup: restoreCommandBackup below). The recommended default is a
 * restore drill; a real restore runs a pre-flight (verify the backup, list what the target holds), then asks in
 * a modal and requires the database name typed, and restores in one transaction (a failure leaves the database
 * as it was).
 */
export async function restoreBackup(ctx: CommandContext, arg?: unknown): Promise<void> {
  const picked = await backupFromArg(ctx, arg, { kinds: ['postgres', 'command'], placeHolder: 'Backup to restore' });
  if (!picked) return;
  const { target, entry } = picked;
  if (entry.kind === 'command') {
    await restoreCommandBackup(ctx, target, entry);
    return;
  }
  if (entry.kind !== 'postgres') {
    void vscode.window.showInformationMessage(
      `${entry.name} is an archive of files: extract it with tar -xf into the folder it came from.`,
    );
    return;
  }
  const own = target.warehouseConnection ? ctx.connections.get(target.warehouseConnection) : undefined;
  const others = ctx.connections.list().filter((p) => p.name !== own?.name);
  const choices: Choice[] = [
    {
      label: '$(beaker) Restore drill (recommended)',
      description: 'into a scratch database; compares row counts, then drops it',
      detail: 'Proves the backup restores without touching any database.',
      drill: true,
    },
    ...(own
      ? [
          {
            label: `$(warning) Restore into "${own.name}"…`,
            description: describeConnection(own),
            detail: 'Replaces the tables of this database.',
            profile: own,
          },
        ]
      : []),
    ...others.map((p) => ({
      label: `Restore into "${p.name}"…`,
      description: describeConnection(p),
      detail: 'Replaces the tables of this database.',
      profile: p,
    })),
  ];
  const choice = await vscode.window.showQuickPick(choices, {
    title: `Restore ${entry.name}`,
    placeHolder: 'A restore drill is the safe way to try a backup',
  });
  if (!choice) return;
  if (choice.drill) {
    await runDrill(ctx, target, entry.file);
    return;
  }
  const profile = choice.profile!;
  const connection = await ctx.connections.connectionOptions(profile);
  const where = describeConnection(connection);

  const preflight = await runOperation(ctx, `checking ${entry.name} before restoring`, (op) =>
    ctx.backups.preflight(target, entry.file, connection, {
      signal: op.signal,
      onProgress: (p) => op.report(backups.describePreflightProgress(p), backups.preflightProgressFraction(p)),
    }),
  );
  const tables = preflight.target.tables;
  const listed = tables
    .slice(0, 15)
    .map((t) => `${t.schema}.${t.name} (${t.kind}, ${formatBytes(t.sizeBytes)})`)
    .join('\n');
  const more = tables.length > 15 ? `\n… and ${formatCount(tables.length - 15)} more` : '';
  const proceed = 'Continue…';
  const answer = await vscode.window.showWarningMessage(
    `Restore ${entry.name} into database "${connection.database}" on ${connection.host}:${connection.port}?`,
    {
      modal: true,
      detail:
        `Verified: ${preflight.verification.message}\n\n` +
        `It replaces what "${connection.database}" holds now: ${plural(tables.length, 'relation')}, ` +
        `${formatBytes(preflight.target.sizeBytes)} in all.\n\n${listed || '(no tables)'}${more}\n\n` +
        'The restore runs in one transaction: if it fails, the database is left as it was. Tables that are not in the backup are kept.',
    },
    proceed,
  );
  if (answer !== proceed) return;
  const typed = await vscode.window.showInputBox({
    title: `Restore into "${connection.database}"`,
    prompt: `Type the database name "${connection.database}" to replace its contents with ${entry.name}`,
    placeHolder: connection.database,
    ignoreFocusOut: true,
    validateInput: (value) => (value === connection.database ? undefined : `Type ${connection.database} exactly to confirm.`),
  });
  if (typed !== connection.database) return;
  ctx.log.info(`Restoring ${entry.file} into ${where}, confirmed by typing the database name`);
  const result = await runOperation(ctx, `restoring ${path.basename(entry.file)} into ${connection.database}`, (op) =>
    ctx.backups.restore(target, entry.file, connection, typed, {
      signal: op.signal,
      onProgress: (p) => op.report(backups.describeRestoreProgress(p)),
    }),
  );
  ctx.log.info(
    `Restored ${result.file} into ${result.target}: ${plural(result.tables, 'table')} in ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  void vscode.window.showInformationMessage(
    `Restored ${entry.name} into "${connection.database}" (${plural(result.tables, 'table')} loaded).`,
  );
}

/**
 * Restores a command backup (e.g. Kobo's MongoDB) with the restoreCmd of the target's definition, never one read
 * from the backup folder: a pre-flight first (the sidecar's checksum and the target's verifyCmd, recorded as Verify
 * Backups does), then a modal that shows the command that will run (masked), then the command's name typed to
 * confirm. The restore checks the checksum once more (the file may not change after the pre-flight) and runs the
 * command; refused in one sentence when the target gives the command no restoreCmd.
 */
async function restoreCommandBackup(ctx: CommandContext, target: BackupTarget, entry: backups.BackupEntry): Promise<void> {
  const source = target.commands.find((c) => c.name === entry.source);
  if (!source) {
    throw new ExitPlanError(
      `Backup target "${target.name}" has no command "${entry.source}" in exitPlan.backups.targets, so there is no restoreCmd ` +
        `to restore ${entry.name} with; nothing was changed.`,
    );
  }
  if (!source.restoreCmd) {
    throw new ExitPlanError(
      `The command "${source.name}" of backup target "${target.name}" has no restoreCmd: add one to it in exitPlan.backups.targets ` +
        `to restore ${entry.name} from VS Code; nothing was changed.`,
    );
  }
  const [verification] = await runOperation(ctx, `checking ${entry.name} before restoring`, (op) =>
    ctx.backups.verify(target, [entry.file], {
      signal: op.signal,
      onProgress: (p) => op.report(backups.describeVerifyProgress(p), backups.verifyProgressFraction(p)),
    }),
  );
  if (!verification || verification.state !== 'verified') {
    throw new ExitPlanError(
      `${entry.name} failed verification and will not be restored: ${(verification?.message ?? 'it was not checked').replace(/\.$/, '')}; ` +
        'nothing was changed.',
    );
  }
  const proceed = 'Continue…';
  const answer = await vscode.window.showWarningMessage(
    `Restore ${entry.name} with the restore command of "${source.name}"?`,
    {
      modal: true,
      detail:
        `Verified: ${verification.message}\n\n` +
        `This runs (sh -c, with BACKUP_PATH set to the backup):\n${maskSecrets(source.restoreCmd)}\n\n` +
        'What it replaces is up to the command: if it fails, the service may be partly restored, and nothing rolls it back.',
    },
    proceed,
  );
  if (answer !== proceed) return;
  const typed = await vscode.window.showInputBox({
    title: `Restore ${entry.name}`,
    prompt: `Type the command's name "${source.name}" to run its restore command on ${entry.name}`,
    placeHolder: source.name,
    ignoreFocusOut: true,
    validateInput: (value) => (value === source.name ? undefined : `Type ${source.name} exactly to confirm.`),
  });
  if (typed !== source.name) return;
  ctx.log.info(`Restoring ${entry.file} with the restore command of "${source.name}", confirmed by typing its name`);
  const result = await runOperation(ctx, `restoring ${entry.name}`, (op) =>
    ctx.backups.restoreCommand(target, entry.file, source, {
      signal: op.signal,
      onProgress: (p) => op.report(backups.describeRestoreProgress(p)),
    }),
  );
  ctx.log.info(`${result.message} (${(result.durationMs / 1000).toFixed(1)} s)`);
  void vscode.window.showInformationMessage(`Restored ${entry.name} with the restore command of "${source.name}".`);
}
