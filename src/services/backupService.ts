import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  DEFAULT_LOCK_TIMEOUT_SECONDS,
  ExitPlanError,
  backups,
  formatCount,
  maskSecrets,
  type OperationOptions,
  type PgConnectionOptions,
} from '../exporters';
import type { ConnectionStore } from './connectionStore';
import type { RunningTasks } from './runningTasks';
import { BackupTargetStore, type BackupTarget } from './backupTargets';

/** What a caller gives an operation of the service: a signal (never an AbortController) and the core's structured progress. */
export type ServiceOptions<P> = Pick<OperationOptions<P>, 'signal' | 'onProgress'>;

/**
 * Backups in VS Code: the targets from settings, the reports the tree and the sidebar show (cached until
 * something changes), and every operation, one at a time per target, through RunningTasks so that
 * closing VS Code cancels it and waits for its clean-up.
 */
export class BackupService implements vscode.Disposable {
  readonly targets = new BackupTargetStore();
  private readonly changed = new vscode.EventEmitter<string | undefined>();
  /** Fires with a target's name when its backups changed, or undefined when the targets did. */
  readonly onDidChange = this.changed.event;
  private readonly revealing = new vscode.EventEmitter<string>();
  /** Fires with a target's name when a command wants it shown in the Backups view (after Add or Edit). */
  readonly onDidAskReveal = this.revealing.event;
  private readonly busyWith = new Map<string, string>();
  private readonly reports = new Map<string, Promise<backups.TargetReport>>();
  private watchers: vscode.Disposable[] = [];
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private readonly disposables: vscode.Disposable[];
  /** Lines for the Exit Plan log, secrets masked. */
  private readonly logLine = (line: string) => this.log.info(maskSecrets(line));

  constructor(
    private readonly connections: ConnectionStore,
    private readonly tasks: RunningTasks,
    readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      this.targets,
      this.changed,
      this.revealing,
      this.targets.onDidChange(() => {
        this.watch();
        this.refresh();
      }),
    ];
    this.watch();
  }

  list(): BackupTarget[] {
    return this.targets.list();
  }

  get(name: string): BackupTarget | undefined {
    return this.targets.get(name);
  }

  /** What a target is busy with ("backing up", "verifying", …), if anything. */
  busy(name: string): string | undefined {
    return this.busyWith.get(name);
  }

  /** Shows a target in the Backups view (selected, opening the view if it is collapsed). */
  reveal(name: string): void {
    this.revealing.fire(name);
  }

  /** Forgets cached reports (one target's, or all) and tells the views. */
  refresh(name?: string): void {
    if (name) this.reports.delete(name);
    else this.reports.clear();
    this.changed.fire(name);
  }

  /** The listing, schedule status, rotation preview and drill record of a target (cached). */
  report(target: BackupTarget): Promise<backups.TargetReport> {
    let report = this.reports.get(target.name);
    if (!report) {
      report = backups.targetReport({
        name: target.name,
        dir: target.dir,
        schedule: target.schedule,
        rotation: target.rotation,
        addedAt: target.addedAt,
      });
      this.reports.set(target.name, report);
      report.catch(() => this.reports.delete(target.name));
    }
    return report;
  }

  /** The saved warehouse connection a target backs up, with its password from SecretStorage. */
  async connectionFor(target: BackupTarget): Promise<PgConnectionOptions> {
    if (!target.warehouseConnection) {
      throw new ExitPlanError(`Backup target "${target.name}" has no database: set "warehouseConnection" in exitPlan.backups.targets.`);
    }
    const profile = this.connections.get(target.warehouseConnection);
    if (!profile) {
      throw new ExitPlanError(
        `Backup target "${target.name}" names the warehouse connection "${target.warehouseConnection}", which does not exist: ` +
          `add it with Exit Plan: Add Warehouse Connection or fix the target.`,
      );
    }
    return this.connections.connectionOptions(profile);
  }

  /**
   * Backs up everything a target holds (the core's `backups.backUpTarget`): the database first, then each
   * folder; verifies each if `exitPlan.backups.verifyAfterBackup` says so. A failed verification is in the result.
   */
  backUp(target: BackupTarget, options: ServiceOptions<backups.TargetBackupProgress> = {}): Promise<backups.TargetBackupResult> {
    return this.exclusive(target, 'backing up', options.signal, (signal) =>
      backups.backUpTarget({
        target,
        database: target.warehouseConnection ? () => this.connectionFor(target) : undefined,
        pgDumpPath: this.targets.pgDumpPath(),
        lockTimeoutSeconds: lockTimeoutSetting(),
        verify: this.targets.verifyAfterBackup(),
        signal,
        log: this.logLine,
        onProgress: options.onProgress,
        onBackup: () => this.refresh(target.name),
      }),
    );
  }

  /**
   * The pre-flight of a backup without backing up (the core's `backups.checkTarget`): folder, free space,
   * database connection with its stored password, pg_dump, folders of files. Not exclusive: it writes nothing
   * but a probe file.
   */
  check(target: BackupTarget, options: ServiceOptions<string> = {}): Promise<backups.TargetCheckResult> {
    return this.tasks.run(
      (signal) =>
        backups.checkTarget({
          target,
          database: target.warehouseConnection ? () => this.connectionFor(target) : undefined,
          pgDumpPath: this.targets.pgDumpPath(),
          signal,
          onProgress: options.onProgress,
        }),
      options.signal,
    );
  }

  /** Verifies some (or all) backups of a target (the core's `backups.verifyBackups`); each result is recorded in its sidecar. */
  verify(
    target: BackupTarget,
    files: string[] | undefined,
    options: ServiceOptions<backups.VerifyProgress> = {},
  ): Promise<backups.VerifyResult[]> {
    return this.exclusive(target, 'verifying', options.signal, (signal) =>
      backups.verifyBackups(target.dir, {
        files,
        // Command backups are checked with the verifyCmd of the target's definition (never one from the folder).
        commands: target.commands,
        pgDumpPath: this.targets.pgDumpPath(),
        signal,
        log: this.logLine,
        onProgress: options.onProgress,
      }),
    );
  }

  previewRotation(target: BackupTarget): Promise<backups.RotationPlan> {
    if (!target.rotation) {
      throw new ExitPlanError(
        `Backup target "${target.name}" has no rotation policy: ` +
          'set "rotation" (for example { "keepDaily": 7, "keepWeekly": 4, "keepMonthly": 12 }) ' +
          `in exitPlan.backups.targets.`,
      );
    }
    return backups.previewRotation(target.dir, target.rotation);
  }

  /** Removes the previewed files that the policy still removes (never anything new since the preview). */
  applyRotation(target: BackupTarget, confirmed: string[]): Promise<backups.RotationResult> {
    const policy = target.rotation;
    if (!policy) return Promise.reject(new ExitPlanError(`Backup target "${target.name}" has no rotation policy.`));
    return this.exclusive(target, 'rotating', undefined, async (signal) => {
      const result = await backups.applyRotation(target.dir, policy, { confirmed, signal, log: this.logLine });
      this.log.info(
        `Rotation of "${target.name}" (${backups.describePolicy(policy)}): removed ${formatCount(result.removed.length)} backups`,
      );
      return result;
    });
  }

  drill(target: BackupTarget, file: string, options: ServiceOptions<backups.DrillProgress> = {}): Promise<backups.DrillReport> {
    return this.exclusive(target, 'running a restore drill', options.signal, async (signal) => {
      const connection = await this.connectionFor(target);
      return backups.restoreDrill({
        file,
        connection,
        pgDumpPath: this.targets.pgDumpPath(),
        lockTimeoutSeconds: lockTimeoutSetting(),
        signal,
        log: this.logLine,
        onProgress: options.onProgress,
      });
    });
  }

  preflight(
    target: BackupTarget,
    file: string,
    connection: PgConnectionOptions,
    options: ServiceOptions<backups.RestoreProgress> = {},
  ): Promise<backups.RestorePreflight> {
    return this.exclusive(target, 'checking a backup before a restore', options.signal, (signal) =>
      backups.preflightRestore(file, connection, { pgDumpPath: this.targets.pgDumpPath(), signal, onProgress: options.onProgress }),
    );
  }

  restore(
    target: BackupTarget,
    file: string,
    connection: PgConnectionOptions,
    confirmDatabase: string,
    options: ServiceOptions<backups.RestoreProgress> = {},
  ): Promise<backups.RestoreResult> {
    return this.exclusive(target, 'restoring', options.signal, (signal) =>
      backups.restoreBackup({
        file,
        connection,
        confirmDatabase,
        pgDumpPath: this.targets.pgDumpPath(),
        signal,
        log: this.logLine,
        onProgress: options.onProgress,
      }),
    );
  }

  /**
   * Restores a command backup with the restoreCmd of the target's definition (the core's `backups.restoreCommandBackup`):
   * the checksum is checked again first; the verifyCmd ran in the caller's pre-flight, just before the confirmation.
   */
  restoreCommand(
    target: BackupTarget,
    file: string,
    source: backups.CommandSource,
    options: ServiceOptions<backups.RestoreProgress> = {},
  ): Promise<backups.CommandRestoreResult> {
    const restoreCmd = source.restoreCmd;
    if (!restoreCmd)
      return Promise.reject(new ExitPlanError(`The command "${source.name}" of backup target "${target.name}" has no restoreCmd.`));
    return this.exclusive(target, 'restoring', options.signal, (signal) =>
      backups.restoreCommandBackup({
        file,
        restoreCmd,
        timeoutMs: source.timeout?.ms,
        signal,
        log: this.logLine,
        onProgress: options.onProgress,
      }),
    );
  }

  dispose(): void {
    for (const w of this.watchers) w.dispose();
    for (const t of this.debounce.values()) clearTimeout(t);
    for (const d of this.disposables) d.dispose();
  }

  /** One operation per target at a time, through RunningTasks; refreshes the views afterwards. */
  private async exclusive<T>(
    target: BackupTarget,
    label: string,
    signal: AbortSignal | undefined,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const running = this.busyWith.get(target.name);
    if (running) throw new ExitPlanError(`Backup target "${target.name}" is busy ${running}: wait until that has finished.`);
    this.busyWith.set(target.name, label);
    this.changed.fire(target.name);
    try {
      return await this.tasks.run(work, signal);
    } finally {
      this.busyWith.delete(target.name);
      this.refresh(target.name);
    }
  }

  /** Watches each target's folder, so backups made by cron or another window show up. */
  private watch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
    for (const target of this.list()) {
      if (!target.dir || !path.isAbsolute(target.dir)) continue;
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(target.dir), '*'));
      const changed = () => {
        clearTimeout(this.debounce.get(target.name));
        this.debounce.set(
          target.name,
          setTimeout(() => this.refresh(target.name), 500),
        );
      };
      this.watchers.push(watcher, watcher.onDidCreate(changed), watcher.onDidDelete(changed), watcher.onDidChange(changed));
    }
  }
}

/** `exitPlan.export.lockTimeoutSeconds`: how long pg_dump and a drill's count wait for a locked table, as an export does. */
function lockTimeoutSetting(): number {
  return vscode.workspace.getConfiguration('exitPlan.export').get<number>('lockTimeoutSeconds', DEFAULT_LOCK_TIMEOUT_SECONDS);
}
