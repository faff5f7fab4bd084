import { Cron } from 'croner';
import * as vscode from 'vscode';
import { backups, errorMessage, formatBytes, isCancelled, maskSecrets } from '../exporters';
import { executeCommand } from '../commands/invoke';
import type { BackupService } from './backupService';
import type { BackupTarget } from './backupTargets';

/** After VS Code starts, wait this long before catching up on a missed backup. */
const CATCH_UP_DELAY_MS = 60_000;

/**
 * Runs each target's cron schedule while VS Code is open (through the service, so RunningTasks cancels a
 * run when VS Code closes), and once after start-up catches up on a target whose backup is overdue. A
 * lock file in the backup folder keeps two windows from making the same backup twice.
 */
export class BackupScheduler implements vscode.Disposable {
  private jobs: Cron[] = [];
  private readonly catchUp: NodeJS.Timeout;
  private readonly subscription: vscode.Disposable;

  constructor(private readonly service: BackupService) {
    this.subscription = service.targets.onDidChange(() => this.reschedule());
    this.reschedule();
    this.catchUp = setTimeout(() => void this.runOverdue(), CATCH_UP_DELAY_MS);
  }

  dispose(): void {
    clearTimeout(this.catchUp);
    this.subscription.dispose();
    for (const job of this.jobs) job.stop();
    this.jobs = [];
  }

  private reschedule(): void {
    for (const job of this.jobs) job.stop();
    this.jobs = [];
    for (const target of this.service.list()) {
      if (!target.schedule || target.blocking.length > 0) continue;
      try {
        const expr = backups.validateSchedule(target.schedule);
        this.jobs.push(
          new Cron(expr.toLowerCase() === '@midnight' ? '@daily' : expr, { protect: true, catch: true, unref: true }, () =>
            this.run(target.name, false),
          ),
        );
        this.service.log.info(
          `Scheduled backups of "${target.name}" on "${expr}" (next: ${backups.nextRun(expr)?.toLocaleString() ?? 'never'})`,
        );
      } catch (err) {
        this.service.log.warn(`Not scheduling "${target.name}": ${errorMessage(err)}`);
      }
    }
  }

  private async runOverdue(): Promise<void> {
    for (const target of this.service.list()) {
      if (target.schedule && target.blocking.length === 0) await this.run(target.name, true);
    }
  }

  /** One scheduled run: skipped when busy, locked by another window, or already done for this slot. */
  private async run(name: string, catchingUp: boolean): Promise<void> {
    const target = this.service.get(name);
    if (!target?.schedule) return;
    const log = this.service.log;
    if (this.service.busy(name)) {
      log.info(`Scheduled backup of "${name}" skipped: the target is busy ${this.service.busy(name)}.`);
      return;
    }
    try {
      const outcome = await backups.withFolderLock(target.dir, async () => {
        const newest = backups.newestBackup(await backups.listBackups(target.dir));
        if (!backups.isDue(target.schedule!, newest?.time, { catchingUp, since: target.addedAt })) return undefined;
        log.info(`${catchingUp ? 'Catching up on the missed' : 'Running the scheduled'} backup of "${name}"`);
        return this.service.backUp(target);
      });
      if (!outcome) {
        log.info(`Scheduled backup of "${name}" skipped: another window or process holds the lock of ${target.dir}.`);
        return;
      }
      const result = outcome.value;
      if (!result) {
        log.info(`Scheduled backup of "${name}" skipped: ${catchingUp ? 'not overdue' : 'already done for this run'}.`);
        return;
      }
      if (!result.ok) {
        this.failed(name, result.message);
        return;
      }
      const bytes = result.backups.reduce((n, r) => n + r.bytes, 0);
      log.info(`Scheduled backup of "${name}" done: ${result.backups.map((r) => r.file).join(', ')}`);
      vscode.window.setStatusBarMessage(`$(check) Exit Plan: backed up "${name}" (${formatBytes(bytes)})`, 15_000);
      void this.offerRotation(target);
    } catch (err) {
      if (isCancelled(err)) {
        log.info(`Scheduled backup of "${name}" cancelled.`);
        return;
      }
      this.failed(name, errorMessage(err));
    }
  }

  /** A scheduled backup that failed (or failed verification): logged, and a warning with Show Log. */
  private failed(name: string, sentence: string): void {
    const log = this.service.log;
    const message = maskSecrets(sentence);
    log.error(`Scheduled backup of "${name}" failed: ${message}`);
    const show = 'Show Log';
    void vscode.window.showWarningMessage(`Exit Plan: the scheduled backup of "${name}" failed: ${message}`, show).then((choice) => {
      if (choice === show) log.show();
    });
  }

  /** Rotation never runs unattended: when it has something to remove, the user is asked to review it. */
  private async offerRotation(target: BackupTarget): Promise<void> {
    if (!target.rotation) return;
    const plan = await this.service.previewRotation(target).catch(() => undefined);
    if (!plan || plan.summary.remove === 0) return;
    const review = 'Review Rotation…';
    const choice = await vscode.window.showInformationMessage(
      `Exit Plan: rotation of "${target.name}" would remove ${plan.summary.remove} old backup${plan.summary.remove === 1 ? '' : 's'} ` +
        `(${formatBytes(plan.summary.removeBytes)}).`,
      review,
    );
    if (choice === review) await executeCommand('exitPlan.rotateBackups', { targetName: target.name });
  }
}
