import * as vscode from 'vscode';
import { errorMessage, isCancelled } from '../exporters';
import type { DatasetsService } from './datasets';

const AUTO_PROCESS_SETTING = 'exitPlan.datasets.autoProcess';
const AUTO_PROCESS_MINUTES_SETTING = 'exitPlan.datasets.autoProcessMinutes';
const DEFAULT_MINUTES = 15;
/** The first run waits this long after activation (or after the setting is turned on). */
const FIRST_RUN_DELAY_MS = 30_000;

/**
 * `exitPlan.datasets.autoProcess`: processes due datasets every `autoProcessMinutes` while VS Code is open.
 * A disposable timer; each run goes through the service (RunningTasks, so closing VS Code cancels it), is
 * skipped while another run of this window is busy, and each dataset's lock keeps cron and other windows out.
 */
export class DatasetsAutoProcess implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly listener: vscode.Disposable;
  private disposed = false;

  constructor(
    private readonly service: DatasetsService,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.listener = vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(AUTO_PROCESS_SETTING) || e.affectsConfiguration(AUTO_PROCESS_MINUTES_SETTING))
        this.schedule(FIRST_RUN_DELAY_MS);
    });
    this.schedule(FIRST_RUN_DELAY_MS);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.listener.dispose();
  }

  private enabled(): boolean {
    return vscode.workspace.getConfiguration().get<boolean>(AUTO_PROCESS_SETTING, false) === true;
  }

  private intervalMs(): number {
    const minutes = vscode.workspace.getConfiguration().get<number>(AUTO_PROCESS_MINUTES_SETTING, DEFAULT_MINUTES);
    return Math.max(1, Number.isFinite(minutes) ? minutes : DEFAULT_MINUTES) * 60_000;
  }

  private schedule(delayMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.disposed || !this.enabled()) return;
    this.timer = setTimeout(() => void this.tick(), delayMs);
  }

  private async tick(): Promise<void> {
    try {
      if (!this.service.busy) await this.processDue();
    } finally {
      this.schedule(this.intervalMs());
    }
  }

  /** Never throws: everything goes to the log; the tree and the status bar show what failed. */
  private async processDue(): Promise<void> {
    try {
      const found = await this.service.discover();
      if (found.datasets.length === 0) return;
      const results = await this.service.run(found.datasets, {});
      for (const r of results) {
        if (r.outcome === 'notDue') continue;
        const line = `Auto-process: ${r.name}: ${r.message}`;
        if (r.ok) this.log.info(line);
        else this.log.warn(line);
      }
    } catch (err) {
      if (isCancelled(err)) this.log.info(`Auto-process stopped: ${errorMessage(err)}`);
      else this.log.error(`Auto-process failed: ${errorMessage(err)}`);
    }
  }
}
