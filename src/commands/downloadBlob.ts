import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, azure, formatBytes } from '../exporters';
import { isAzureNode } from '../views/azureTree';
import { withAzureAccount } from './azureAccount';
import type { CommandContext } from './context';
import { runOperation } from './runOperation';

/** The folder the last download went to, offered first next time (for this session). */
let lastFolder: vscode.Uri | undefined;

/**
 * Downloads one blob (its context menu) into a folder the user picks, with progress and Cancel; the file gets
 * its name only once its size matches the blob's, and never replaces an existing file.
 */
export async function downloadBlob(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (!isAzureNode(arg, 'blob')) throw new ExitPlanError('Download Blob works on a blob: right-click one in the Azure Storage view.');
  const { container, blob } = arg;
  const profile = ctx.azureConnections.get(arg.profile.name) ?? arg.profile;
  const picked = await vscode.window.showOpenDialog({
    title: `Download ${path.posix.basename(blob.name)} to…`,
    openLabel: 'Download Here',
    canSelectFiles: false,
    canSelectFolders: true,
    canSelectMany: false,
    defaultUri: lastFolder ?? vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  const folder = picked?.[0];
  if (!folder) return;
  lastFolder = folder;
  const done = await runOperation(ctx, `downloading ${blob.name}`, (op) =>
    withAzureAccount(ctx, profile, (account) =>
      azure.downloadBlob(account, container, blob.name, folder.fsPath, {
        signal: op.signal,
        log: op.log,
        onProgress: (p) => op.report(azure.describeDownloadProgress(p), azure.downloadProgressFraction(p)),
      }),
    ),
  );
  ctx.log.info(`Downloaded ${container}/${blob.name} from "${profile.name}" to ${done.file} (${done.bytes} bytes, size verified)`);
  const reveal = 'Reveal in File Explorer';
  const open = 'Open';
  void vscode.window
    .showInformationMessage(
      `Downloaded ${path.basename(done.file)} (${formatBytes(done.bytes)}) to ${path.dirname(done.file)}.`,
      open,
      reveal,
    )
    .then((choice) => {
      if (choice === open) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(done.file));
      if (choice === reveal) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(done.file));
    });
}
