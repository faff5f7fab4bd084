import * as vscode from 'vscode';
import { BACKUP_REPORT_VIEW } from '../views/backupReport';

/** Shows the sidebar backup report (it is also always there in the Exit Plan sidebar). */
export async function showBackupReport(): Promise<void> {
  await vscode.commands.executeCommand(`${BACKUP_REPORT_VIEW}.focus`);
}
