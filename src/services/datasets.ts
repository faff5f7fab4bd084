import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ExitPlanError, datasets, errorMessage, expandHome } from '../exporters';
import type { RunningTasks } from './runningTasks';

export const ROOTS_SETTING = 'exitPlan.datasets.roots';
const SHRINK_ALERT_SETTING = 'exitPlan.datasets.shrinkAlert';
/** File changes under the roots (a cron run, another window) refresh the views after this quiet time. */
const REFRESH_DELAY_MS = 1000;

/** What the Datasets views show: the report of every dataset under the roots, with parcels and history. */
export interface DatasetsState {
  roots: string[];
  report: datasets.DatasetsReport;
  /** Roots that do not exist or hold no dataset. */
  problems: datasets.RootProblem[];
}

/**
 * Datasets under the folders of `exitPlan.datasets.roots` (each a dataset or a folder of datasets): one cached
 * report for the tree, the status bar and the report panel, refreshed when a run here ends, when metrics.csv or
 * data/ changes under a root (cron), or on demand. Runs go through RunningTasks, so deactivate cancels them.
 */
export class DatasetsService implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private current: Promise<DatasetsState> | undefined;
  private watchers: vscode.Disposable[] = [];
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];
  /** Dataset folders being processed or exported from this window. */
  private readonly active = new Set<string>();

  constructor(
    private readonly log: vscode.LogOutputChannel,
    private readonly tasks: RunningTasks,
  ) {
    this.disposables = [
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(ROOTS_SETTING)) {
          this.watch();
          this.refresh();
        } else if (e.affectsConfiguration(SHRINK_ALERT_SETTING)) {
          this.refresh();
        }
      }),
    ];
    this.watch();
  }

  /** The configured roots: `~` expanded, relative paths against the first workspace folder. */
  roots(): string[] {
    const raw = vscode.workspace.getConfiguration().get<unknown>(ROOTS_SETTING, []);
    const list = Array.isArray(raw) ? raw.filter((r): r is string => typeof r === 'string' && r.trim() !== '') : [];
    return [...new Set(list.map((r) => this.resolve(r)))];
  }

  private resolve(raw: string): string {
    const base = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? os.homedir();
    return path.resolve(base, expandHome(raw.trim()));
  }

  /** The user's own entries as written (the user-level value: Remote settings in a remote window). */
  private rawRoots(): string[] {
    const raw = vscode.workspace.getConfiguration().inspect<unknown>(ROOTS_SETTING)?.globalValue;
    return Array.isArray(raw) ? raw.filter((r): r is string => typeof r === 'string') : [];
  }

  private async saveRoots(list: string[]): Promise<void> {
    try {
      await vscode.workspace.getConfiguration().update(ROOTS_SETTING, list, vscode.ConfigurationTarget.Global);
    } catch (err) {
      throw new ExitPlanError(`Cannot save the setting ${ROOTS_SETTING}: ${errorMessage(err).replace(/\.$/, '')}.`);
    }
    // The configuration event refreshes too; this makes sure the next state() reads the new list.
    this.watch();
    this.refresh();
  }

  /**
   * The folder of the roots that shows `dir` (a dataset): the root that is the dataset itself, or the one that
   * holds it. Undefined when no root does.
   */
  rootOf(dir: string): string | undefined {
    const roots = this.roots();
    return roots.find((r) => r === dir) ?? roots.find((r) => path.dirname(dir) === r);
  }

  /**
   * Adds a folder to `exitPlan.datasets.roots` (false when it is listed already). The setting is machine-scoped,
   * so it is written with ConfigurationTarget.Global: VS Code puts it in the User settings of a local window and in
   * the Remote settings of a remote one (code-server, SSH, WSL, containers), the only place it counts there.
   */
  async addRoot(dir: string): Promise<boolean> {
    const folder = path.resolve(dir);
    if (this.roots().includes(folder)) return false;
    await this.saveRoots([...this.rawRoots(), folder]);
    return true;
  }

  /** Removes a folder from `exitPlan.datasets.roots` (every entry that resolves to it); never touches its files. */
  async removeRoot(dir: string): Promise<boolean> {
    const folder = path.resolve(dir);
    const raw = this.rawRoots();
    const kept = raw.filter((r) => this.resolve(r) !== folder);
    if (kept.length === raw.length) return false;
    await this.saveRoots(kept);
    return true;
  }

  /** The current state, computed once per refresh. */
  state(): Promise<DatasetsState> {
    this.current ??= this.load();
    return this.current;
  }

  /** Forgets the cached report; views reload. */
  refresh(): void {
    this.current = undefined;
    this.changed.fire();
  }

  /** Whether this window is processing or exporting the dataset. */
  isActive(dir: string): boolean {
    return this.active.has(dir);
  }

  get busy(): boolean {
    return this.active.size > 0;
  }

  /**
   * Processes (or, with `force`, exports now) each of the datasets through RunningTasks; `signal` (a progress
   * notification's Cancel) stops it. The views refresh when it ends, however it ends.
   */
  async run(
    dirs: string[],
    options: { force?: boolean; signal?: AbortSignal; onProgress?: (p: datasets.DatasetProgress) => void },
  ): Promise<datasets.DatasetRunResult[]> {
    for (const d of dirs) this.active.add(d);
    this.changed.fire();
    try {
      return await this.tasks.run((signal) => {
        const common = { signal, onProgress: options.onProgress, log: (line: string) => this.log.info(line) };
        return options.force ? datasets.exportDatasets(dirs, common) : datasets.processDatasets(dirs, common);
      }, options.signal);
    } finally {
      for (const d of dirs) this.active.delete(d);
      this.refresh();
    }
  }

  /** The datasets under the roots (without reading their reports). */
  discover(): Promise<{ datasets: string[]; problems: datasets.RootProblem[] }> {
    return datasets.findDatasets(this.roots());
  }

  dispose(): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    for (const d of [...this.watchers, ...this.disposables]) d.dispose();
  }

  /** Never rejects: a failure becomes a problem line, so the views still show something. */
  private async load(): Promise<DatasetsState> {
    const roots = this.roots();
    try {
      return await this.read(roots);
    } catch (err) {
      const message = `Cannot read the datasets: ${errorMessage(err)}`;
      this.log.error(message);
      const report = await datasets.buildReport([]);
      return { roots, report, problems: [{ root: roots[0] ?? '', message }] };
    }
  }

  private async read(roots: string[]): Promise<DatasetsState> {
    const found = await datasets.findDatasets(roots);
    const share = vscode.workspace.getConfiguration().get<number>(SHRINK_ALERT_SETTING, datasets.DEFAULT_SHRINK_ALERT);
    const report = await datasets.buildReport(found.datasets, {
      shrinkAlert: typeof share === 'number' && share >= 0 && share <= 1 ? share : datasets.DEFAULT_SHRINK_ALERT,
      parcels: true,
      history: true,
    });
    for (const p of found.problems) this.log.warn(`Datasets: ${p.message}`);
    return { roots, report, problems: found.problems };
  }

  /** Watches metrics.csv and data/ of datasets under each root (cron and other windows change them). */
  private watch(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
    const later = () => {
      if (this.refreshTimer) clearTimeout(this.refreshTimer);
      this.refreshTimer = setTimeout(() => this.refresh(), REFRESH_DELAY_MS);
    };
    for (const root of this.roots()) {
      const base = vscode.Uri.file(root);
      for (const glob of ['{metrics.csv,*/metrics.csv}', '{data,*/data,incomplete,*/incomplete}/*', '{config.toml,*/config.toml}']) {
        const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, glob));
        this.watchers.push(watcher, watcher.onDidChange(later), watcher.onDidCreate(later), watcher.onDidDelete(later));
      }
    }
  }
}
