import * as path from 'node:path';
import * as vscode from 'vscode';
import { backups, describeConnection, formatBytes, formatCount, plural } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { backupFromArg } from './pickBackup';
import { runDrill } from './restoreDrill';
import { runOperation } from './runOperation';

type Choice = vscode.QuickPickItem & { drill?: true; profile?: WarehouseProfile };

/**
 * Restore a database backup. The recommended default is a restore drill; a real restore runs a
 * pre-flight (verify the backup, list what the target holds), then asks in a modal and requires the
 * database name typed, and restores in one transaction (a failure leaves the database as it was).
 */
export async function restoreBackup(ctx: CommandContext, arg?: unknown): Promise<void> {
  const picked = await backupFromArg(ctx, arg, { kind: 'postgres', placeHolder: 'Database backup to restore' });
  if (!picked) return;
  const { target, entry } = picked;
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
