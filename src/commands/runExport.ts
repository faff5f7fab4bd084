import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  DEFAULT_MAX_ROWS_PER_FILE,
  describeLockWait,
  ExitPlanError,
  azure,
  describeConnection,
  exportWarehouse,
  formatBytes,
  formatCount,
  maskSecrets,
  type ExportProgress,
  type ExportResult,
} from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';

/** What to export; shared by Export Warehouse and Export Table. */
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
}

/**
 * Runs one export with a cancellable progress notification. Errors (including cancellation) propagate to
 * the command wrapper, which shows them.
 */
export async function runExport(ctx: CommandContext, request: ExportRequest): Promise<void> {
  const { upload } = request;
  const outDir = upload ? undefined : await exportFolder();
  if (!upload && !outDir) return;
  const settings = exportSettings();
  const connection = await ctx.connections.connectionOptions(request.profile);
  const target = describeConnection(connection);
  const destination = upload ? `container "${upload.container}" in ${azure.describeStorageAccount(upload.account)}` : outDir;
  ctx.log.info(`Exporting ${request.label} from ${target} to ${destination}`);

  const result = await vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: `Exit Plan: exporting ${request.label}${upload ? ` to ${upload.container}` : ''}`,
      cancellable: true,
    },
    async (progress, token) => {
      const abort = new AbortController();
      const onCancel = token.onCancellationRequested(() => abort.abort());
      let shown = 0;
      try {
        return await ctx.tasks.run(
          (signal) =>
            exportWarehouse({
              connection,
              outDir,
              upload,
              relations: request.relations,
              ...settings,
              includeViews: request.includeViews ?? settings.includeViews,
              signal,
              log: (line) => ctx.log.info(maskSecrets(line)),
              onProgress: (p) => {
                const percent = percentDone(p);
                progress.report({ message: progressMessage(p, target), increment: Math.max(0, percent - shown) });
                shown = Math.max(shown, percent);
              },
            }),
          abort.signal,
        );
      } finally {
        onCancel.dispose();
      }
    },
  );

  const tables = plural(result.tables.length, 'table');
  const rows = plural(result.rows, 'row');
  ctx.log.info(
    `Exported ${tables}, ${rows} (${formatBytes(result.csvBytes)} CSV, ${formatBytes(result.archiveBytes)} zip) ` +
      `in ${(result.durationMs / 1000).toFixed(1)} s to ${result.archive}`,
  );
  if (result.uploaded) {
    showUploaded(result.uploaded, tables, rows);
    return;
  }
  const reveal = 'Reveal in File Explorer';
  const copy = 'Copy Path';
  // Not awaited: the command is done; the buttons stay usable as long as the notification is shown.
  void vscode.window.showInformationMessage(`Exported ${tables} (${rows}) to ${result.archive}`, reveal, copy).then((choice) => {
    if (choice === reveal) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(result.archive));
    if (choice === copy) void vscode.env.clipboard.writeText(result.archive);
  });
}

function showUploaded(uploaded: NonNullable<ExportResult['uploaded']>, tables: string, rows: string): void {
  const copy = 'Copy Blob URL';
  void vscode.window
    .showInformationMessage(`Uploaded ${uploaded.blob} to ${uploaded.container} (${tables}, ${rows}).`, copy)
    .then((choice) => {
      // The URL carries no SAS: it opens only for someone with access to the account.
      if (choice === copy) void vscode.env.clipboard.writeText(uploaded.url);
    });
}

function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}

function progressMessage(p: ExportProgress, target: string): string {
  if (p.waiting) return `${describeLockWait(p.waiting)}…`;
  switch (p.phase) {
    case 'connecting':
      return `connecting to ${target}…`;
    case 'exporting':
      return `table ${p.tableIndex}/${p.tableCount} ${p.table ?? ''} — ${formatCount(p.rows)} rows, ${formatBytes(p.bytes)}`;
    case 'verifying':
      return `verifying the archive — ${formatBytes(p.bytes)} checked`;
    case 'done':
      return 'done';
  }
}

/** Rough share of the work done: tables started count up to 90 %, verifying is the rest. */
function percentDone(p: ExportProgress): number {
  if (p.phase === 'exporting' && p.tableCount > 0) return (90 * (p.tableIndex - 1)) / p.tableCount;
  if (p.phase === 'verifying') return 90;
  return p.phase === 'done' ? 100 : 0;
}

/** `exitPlan.exportFolder` (`~` expanded, relative to the first workspace folder), or a folder the user picks. */
async function exportFolder(): Promise<string | undefined> {
  const setting = vscode.workspace.getConfiguration('exitPlan').get<string>('exportFolder', '').trim();
  if (setting === '') {
    const picked = await vscode.window.showOpenDialog({
      canSelectFolders: true,
      canSelectFiles: false,
      canSelectMany: false,
      openLabel: 'Export Here',
      title: 'Exit Plan: folder for the export archive',
    });
    return picked?.[0]?.fsPath;
  }
  const expanded = /^~(?=$|[\\/])/.test(setting) ? path.join(os.homedir(), setting.slice(1)) : setting;
  if (path.isAbsolute(expanded)) return expanded;
  const workspace = vscode.workspace.workspaceFolders?.[0];
  if (!workspace) {
    throw new ExitPlanError(
      `The export folder "${setting}" is a relative path but no folder is open: set exitPlan.exportFolder to an absolute path.`,
    );
  }
  return path.join(workspace.uri.fsPath, expanded);
}

function exportSettings() {
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
