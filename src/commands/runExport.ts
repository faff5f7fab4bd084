import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  DEFAULT_MAX_ROWS_PER_FILE,
  ExitPlanError,
  azure,
  describeConnection,
  describeExportProgress,
  expandHome,
  exportProgressFraction,
  exportWarehouse,
  formatBytes,
  plural,
  describeRoot,
  type ExportResult,
  type SubsetOptions,
} from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { executeCommand } from './invoke';
import { runOperation } from './runOperation';
import { checkConnection, withConnectionFixes } from './warehouseConnection';

/** What to export; shared by Export Warehouse, Export Table and Export Subset. */
export interface ExportRequest {
  profile: WarehouseProfile;
  /** Names the export in the progress title, e.g. `analytics` or `public.orders`. */
  label: string;
  /** Only these relations (exact names); everything when absent. */
  relations?: { schema: string; name: string }[];
  /** Overrides the `exitPlan.export.includeViews` setting when set. */
  includeViews?: boolean;
  /** Streams the archive into this container instead of a local folder. */
  upload?: { account: azure.StorageAccount; container: string };
  /** Only these rows: the roots and the rows foreign keys tie to them (Export Subset). */
  subset?: SubsetOptions;
  /** The caller has just tested the connection (checkConnection) before its own questions. */
  connectionChecked?: boolean;
}

/**
 * Runs one export with a cancellable progress notification (runOperation): the connection is tested first,
 * before any question (a wrong password is said at once, with Edit Connection and Update Password), then the
 * folder is asked (the dialog opens where this connection last exported to). Errors (including cancellation)
 * propagate to the command wrapper, which shows them; those about the connection carry its fixes.
 */
export async function runExport(ctx: CommandContext, request: ExportRequest): Promise<void> {
  const { upload, profile } = request;
  if (!request.connectionChecked) await checkConnection(ctx, profile);
  const outDir = upload ? undefined : await exportFolder(ctx.recentExports.lastFolder(profile.name));
  if (!upload && !outDir) return;
  const settings = exportSettings();
  const connection = await ctx.connections.connectionOptions(request.profile);
  const target = describeConnection(connection);
  const destination = upload ? `container "${upload.container}" in ${azure.describeStorageAccount(upload.account)}` : outDir;
  ctx.log.info(`Exporting ${request.label} from ${target} to ${destination}`);

  const title = `exporting ${request.label}${upload ? ` to ${upload.container}` : ''}`;
  const result = await runOperation(ctx, title, (op) =>
    exportWarehouse({
      connection,
      outDir,
      upload,
      relations: request.relations,
      subset: request.subset,
      ...settings,
      includeViews: request.includeViews ?? settings.includeViews,
      signal: op.signal,
      log: op.log,
      onProgress: (p) => op.report(describeExportProgress(p), exportProgressFraction(p)),
    }),
  ).catch((err: unknown) => {
    throw withConnectionFixes(err, profile);
  });
  ctx.warehouseTree.noteConnected(profile, result.serverVersion);

  const tables = plural(result.tables.length, 'table');
  const rows = plural(result.rows, 'row');
  // A subset says so, with its roots as the user wrote them: `the subset public.organizations: id = 42`.
  const subset = result.subset ? `the subset ${result.subset.roots.map(describeRoot).join('; ')}` : undefined;
  const counts = `${tables}, ${rows}${subset ? ` of ${subset}` : ''}`;
  ctx.log.info(
    `Exported ${counts} (${formatBytes(result.csvBytes)} CSV, ${formatBytes(result.archiveBytes)} zip) ` +
      `in ${(result.durationMs / 1000).toFixed(1)} s to ${result.archive}`,
  );
  if (result.uploaded) {
    showUploaded(result.uploaded, counts);
    return;
  }
  await ctx.recentExports.add(
    {
      connection: profile.name,
      archive: result.archive,
      at: Date.now(),
      tables: result.tables.length,
      rows: result.rows,
      archiveBytes: result.archiveBytes,
    },
    outDir!,
  );
  const reveal = 'Reveal in File Explorer';
  const copy = 'Copy Path';
  // Not awaited: the command is done; the buttons stay usable as long as the notification is shown.
  void vscode.window
    .showInformationMessage(
      `Exported ${subset ? `${subset} (${tables}, ${rows})` : `${tables} (${rows})`} to ${result.archive}`,
      reveal,
      copy,
    )
    .then((choice) => {
      if (choice === reveal) void executeCommand('exitPlan.revealExport', { archive: result.archive });
      if (choice === copy) void vscode.env.clipboard.writeText(result.archive);
    });
}

function showUploaded(uploaded: NonNullable<ExportResult['uploaded']>, what: string): void {
  const copy = 'Copy Blob URL';
  void vscode.window.showInformationMessage(`Uploaded ${uploaded.blob} to ${uploaded.container} (${what}).`, copy).then((choice) => {
    // The URL carries no SAS: it opens only for someone with access to the account.
    if (choice === copy) void vscode.env.clipboard.writeText(uploaded.url);
  });
}

/**
 * `exitPlan.exportFolder` (`~` expanded, relative to the first workspace folder), or a folder the user picks,
 * the dialog opening in `last` (where the connection last exported to) when it still exists.
 */
async function exportFolder(last: string | undefined): Promise<string | undefined> {
  const setting = vscode.workspace.getConfiguration('exitPlan').get<string>('exportFolder', '').trim();
  if (setting === '') {
    const picked = await vscode.window.showOpenDialog({
      defaultUri: last && fs.existsSync(last) ? vscode.Uri.file(last) : undefined,
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Export Here',
      title: 'Exit Plan: folder for the export archive',
    });
    return picked?.[0]?.fsPath;
  }
  const expanded = expandHome(setting);
  if (path.isAbsolute(expanded)) return expanded;
  const workspace = vscode.workspace.workspaceFolders?.[0];
  if (!workspace) {
    throw new ExitPlanError(
      `The export folder "${setting}" is a relative path but no folder is open: set exitPlan.exportFolder to an absolute path.`,
    );
  }
  return path.join(workspace.uri.fsPath, expanded);
}

/** The export settings (exitPlan.export.*), as the core takes them; a subset's dry run uses the same. */
export function exportSettings() {
  const config = vscode.workspace.getConfiguration('exitPlan.export');
  const excludeColumns = config.get<unknown>('excludeColumns');
  return {
    excludeColumns: Array.isArray(excludeColumns) ? excludeColumns.filter((c): c is string => typeof c === 'string') : [],
    includeViews: config.get<boolean>('includeViews', false) === true,
    maxRowsPerFile: config.get<number>('maxRowsPerFile', DEFAULT_MAX_ROWS_PER_FILE),
    jobs: config.get<number>('jobs', 1),
    lockTimeoutSeconds: config.get<number>('lockTimeoutSeconds', DEFAULT_LOCK_TIMEOUT_SECONDS),
  };
}
