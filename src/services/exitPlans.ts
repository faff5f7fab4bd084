import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { azure, exit, ExitPlanError, errorMessage, expandHome, type PgConnectionOptions } from '../exporters';
import type { AzureConnectionStore } from './azureConnections';
import type { ConnectionStore } from './connectionStore';
import { TOOL_SETTINGS, toolPath } from './tools';

export const PLAN_FILE_SETTING = 'exitPlan.planFile';
export const AZCOPY_SETTING = TOOL_SETTINGS.azcopy;
export const RCLONE_SETTING = TOOL_SETTINGS.rclone;
/** The context key for `when` clauses: there is a plan file (the commands that change or run it apply). */
export const PLAN_EXISTS_CONTEXT = 'exitPlan.planExists';
/** The plan file's name in the first workspace folder when the setting is empty. */
export const PLAN_FILE_NAME = 'exit-plan.toml';

/** A run folder under the plan's `out`. */
export interface ExitRunInfo {
  folder: string;
  name: string;
  /** exit-manifest.json is there. */
  complete: boolean;
}

/** What the view shows: the plan file, the plan (or the one sentence why not), the status, the newest run. */
export interface ExitPlanState {
  /** Absolute path of the plan file; undefined when there is no workspace folder and no setting. */
  file?: string;
  exists: boolean;
  plan?: exit.ExitPlan;
  /** Why the plan could not be read, or its status not found. */
  error?: string;
  status?: exit.ExitStatus;
  lastRun?: exit.RunFolder;
  /** Parts that failed in the newest run. */
  failed: string[];
}

/** A run folder as the report shows it: every part's record, the failures and what was not included. */
export interface ExitRunReport {
  run: ExitRunInfo;
  plan?: exit.ExitPlan;
  records: exit.PartRecord[];
  failures: { name: string; kind?: string; error: string }[];
  /** Parts of the plan with neither a record nor a failure (an unfinished run). */
  missing: string[];
  notIncluded: string[];
}

/**
 * The exit plan of the workspace: `exit-plan.toml` in the first workspace folder, or the setting exitPlan.planFile.
 * Watches the file and the run folders, caches the state for the view, and runs the plan with VS Code's resolvers
 * (saved connections by name, azcopy from exitPlan.azcopyPath and rclone from exitPlan.rclonePath, or PATH).
 */
export class ExitPlanService implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private watchers: vscode.Disposable[] = [];
  private watchedOut: string | undefined;
  private cached: Promise<ExitPlanState> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private planExists: boolean | undefined;

  constructor(
    private readonly connections: ConnectionStore,
    private readonly azureConnections: AzureConnectionStore,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      this.changed,
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration(PLAN_FILE_SETTING)) this.refresh();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
    );
    this.watchPlan();
    this.updateContext();
  }

  /** The plan file's path (it may not exist yet). */
  planFile(): string | undefined {
    const setting = vscode.workspace.getConfiguration().get<string>(PLAN_FILE_SETTING)?.trim();
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
    if (setting) {
      const file = expandHome(setting);
      if (path.isAbsolute(file)) return file;
      return folder ? path.resolve(folder, file) : undefined;
    }
    return folder ? path.join(folder, PLAN_FILE_NAME) : undefined;
  }

  get busy(): boolean {
    return this.running;
  }

  state(): Promise<ExitPlanState> {
    this.cached ??= this.load();
    return this.cached;
  }

  /** Reads everything again (soon, once for a burst of changes). */
  refresh(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cached = undefined;
      this.watchPlan();
      this.updateContext();
      this.changed.fire();
    }, 100);
  }

  /** Sets exitPlan.planExists for the menus (whether the view shows the plan or its welcome). */
  private updateContext(): void {
    const file = this.planFile();
    const exists = file !== undefined && fs.existsSync(file);
    if (exists === this.planExists) return;
    this.planExists = exists;
    void vscode.commands.executeCommand('setContext', PLAN_EXISTS_CONTEXT, exists);
  }

  /** The plan as it is on disk now (one sentence when it cannot be read). */
  async plan(): Promise<exit.ExitPlan> {
    const file = this.planFile();
    if (!file) throw new ExitPlanError('Exit Plan: open a folder first; the exit plan is exit-plan.toml in the workspace folder.');
    if (!fs.existsSync(file)) throw new ExitPlanError(`Exit Plan: there is no exit plan at ${file}; create one with "Create Exit Plan".`);
    return exit.readPlan(file);
  }

  /** Runs the plan (the caller's progress and cancel), then refreshes the view. */
  async run(plan: exit.ExitPlan, options: Omit<exit.ExitRunOptions, 'resolvers'>): Promise<exit.ExitRunResult> {
    if (this.running) throw new ExitPlanError('Exit Plan: an exit run is already running in this window.');
    this.running = true;
    this.changed.fire();
    try {
      return await exit.runExitPlan(plan, { ...options, resolvers: this.resolvers() });
    } finally {
      this.running = false;
      this.cached = undefined;
      this.changed.fire();
    }
  }

  /** How a run reaches connections in VS Code: saved connections by name, else the environment as the CLI does. */
  resolvers(): exit.PartResolvers {
    return {
      warehouse: (part) => this.warehouse(part),
      azure: (part) => this.azure(part),
      azcopy: () => this.azcopy(),
      rclone: () => this.rclone(),
    };
  }

  /** rclone from the setting exitPlan.rclonePath, else as the CLI finds it (EXIT_PLAN_RCLONE, PATH). */
  async rclone(): Promise<string | undefined> {
    return toolPath('rclone');
  }

  /** azcopy from the setting exitPlan.azcopyPath, else as the CLI finds it (EXIT_PLAN_AZCOPY, PATH); undefined copies with the SDK. */
  async azcopy(): Promise<string | undefined> {
    return toolPath('azcopy');
  }

  /** The run folders under the plan's `out`, newest first. */
  async runs(plan: exit.ExitPlan): Promise<exit.RunFolder[]> {
    return (await exit.listRuns(plan.out)).reverse();
  }

  /** A run folder's parts as its files say: part.json of each verified part, failures from the manifest. */
  async report(folder: string, plan?: exit.ExitPlan): Promise<ExitRunReport> {
    const manifest = await exit.readRunManifest(folder);
    const run: ExitRunInfo = { folder, name: path.basename(folder), complete: manifest !== undefined };
    plan ??= await this.plan().catch(() => undefined);
    const names = new Set<string>(plan?.parts.map((p) => p.name) ?? []);
    for (const p of manifest?.parts ?? []) names.add(p.name);
    const records: exit.PartRecord[] = [];
    const failures: ExitRunReport['failures'] = [];
    const missing: string[] = [];
    for (const name of names) {
      const record = await exit.readPartRecord(path.join(folder, name));
      if (record) {
        records.push(record);
        continue;
      }
      const failed = manifest?.parts.find((p) => p.name === name && p.status === 'failed');
      if (failed && 'error' in failed) failures.push({ name, kind: failed.kind, error: failed.error });
      else missing.push(name);
    }
    return { run, plan, records, failures, missing, notIncluded: manifest?.notIncluded ?? plan?.notIncluded ?? [] };
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const d of [...this.watchers, ...this.disposables]) d.dispose();
  }

  private async load(): Promise<ExitPlanState> {
    const file = this.planFile();
    if (!file || !fs.existsSync(file)) return { file, exists: false, failed: [] };
    let plan: exit.ExitPlan;
    try {
      plan = await exit.readPlan(file);
    } catch (err) {
      return { file, exists: true, error: errorMessage(err), failed: [] };
    }
    this.watchOut(plan.out);
    const lastRun = (await this.runs(plan))[0];
    const failed = lastRun ? (await this.report(lastRun.folder, plan)).failures.map((f) => f.name) : [];
    try {
      return { file, exists: true, plan, status: await exit.exitStatus(plan), lastRun, failed };
    } catch (err) {
      this.log.warn(`Exit plan status: ${errorMessage(err)}`);
      return { file, exists: true, plan, error: errorMessage(err), lastRun, failed };
    }
  }

  private watchPlan(): void {
    for (const w of this.watchers) w.dispose();
    this.watchers = [];
    this.watchedOut = undefined;
    const file = this.planFile();
    if (!file) return;
    this.addWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(file)), path.basename(file)));
  }

  /** The run folders: a part.json or a manifest appearing or going changes what the view shows. */
  private watchOut(out: string): void {
    if (this.watchedOut === out) return;
    this.watchedOut = out;
    this.addWatcher(new vscode.RelativePattern(vscode.Uri.file(out), `**/{${exit.RUN_FILES.part},${exit.RUN_FILES.manifest}}`));
  }

  private addWatcher(pattern: vscode.RelativePattern): void {
    const watcher = vscode.workspace.createFileSystemWatcher(pattern);
    const later = () => this.refresh();
    this.watchers.push(watcher, watcher.onDidChange(later), watcher.onDidCreate(later), watcher.onDidDelete(later));
  }

  private async warehouse(part: exit.WarehousePart): Promise<PgConnectionOptions> {
    if (part.connection === undefined) return exit.envResolvers().warehouse(part);
    const profile = this.connections.get(part.connection);
    if (!profile) {
      throw new ExitPlanError(
        `The warehouse part "${part.name}" uses the saved connection "${part.connection}", which is not in the Warehouse view: ` +
          'add it there, or change the part.',
      );
    }
    return this.connections.connectionOptions(profile);
  }

  private async azure(part: exit.AzurePart): Promise<azure.StorageAccount> {
    if (part.connection === undefined) return exit.envResolvers().azure(part);
    const profile = this.azureConnections.get(part.connection);
    if (!profile) {
      throw new ExitPlanError(
        `The azure part "${part.name}" uses the saved connection "${part.connection}", which is not in the Azure Storage view: ` +
          'add it there, or change the part.',
      );
    }
    return this.azureConnections.open(profile);
  }
}
