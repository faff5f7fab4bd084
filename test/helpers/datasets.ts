// Helpers for the dataset tests: export_manager folders written by hand, a clock to simulate days, the CLI.
import { execFileSync, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startCapture, type Captured } from '../../scripts/lib/capture';
import { tempDirs } from './archive';

export const CLI = path.resolve(__dirname, '../../../dist/cli.js');

const temp = tempDirs('exit-plan-datasets-');

/** A temporary folder, removed by `removeTempDirs` (call it in an `after` hook). */
export function tempDir(): string {
  return temp.make();
}

export function removeTempDirs(): void {
  temp.removeAll();
}

/**
 * A dataset folder as export_manager's README describes it, made without Exit Plan: config.toml,
 * metrics.csv holding just its header (no line end, as `export_manager init` writes it), data/, incomplete/, log/.
 */
export function writeExportManagerDataset(dir: string, configToml: string): string {
  for (const sub of ['data', 'incomplete', 'log']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.toml'), configToml);
  fs.writeFileSync(path.join(dir, 'metrics.csv'), 'parcel_id,success,files,bytes');
  return dir;
}

/** A clock the tests move by hand: parcel ids and due times come from it. */
export class Clock {
  private t: number;
  constructor(start = '2025-03-01T02:15:00Z') {
    this.t = Date.parse(start);
  }
  readonly now = (): Date => new Date(this.t);
  advance(ms: number): this {
    this.t += ms;
    return this;
  }
  days(n: number): this {
    return this.advance(n * 24 * 60 * 60 * 1000);
  }
}

export const HOUR = 60 * 60 * 1000;

/** `node dist/cli.js …`, waiting for it. */
export function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: options.cwd, env: { ...process.env, ...options.env } });
}

/** `node dist/cli.js …` in the background; `done` resolves with its exit code and output. */
export function cliAsync(args: string[]): { child: ChildProcess; done: Promise<Captured> } {
  return startCapture(process.execPath, [CLI, ...args]);
}

/** Waits until `check` holds (polling), or gives up after `ms`; returns the last answer. Not a timing assertion. */
export async function eventually(check: () => boolean, ms = 20_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

/** True when no such process runs (gone, or a zombie waiting for its parent to reap it). */
export function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z';
  } catch {
    return true;
  }
}

/** Runs git in `dir` and returns its stdout. */
export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
}

/** A git repository with a committer identity of its own (the tests never depend on global git config). */
export function gitRepo(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  gitIn(dir, 'init', '-q');
  gitIn(dir, 'config', 'user.name', 'Exit Plan Test');
  gitIn(dir, 'config', 'user.email', 'test@exit-plan.invalid');
}

/** metrics.csv as rows of column → value (header first). */
export function metricsRows(dir: string): Record<string, string>[] {
  const lines = fs
    .readFileSync(path.join(dir, 'metrics.csv'), 'utf8')
    .split(/\r?\n/)
    .filter((l) => l !== '');
  const header = lines[0].split(',');
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
}

/** Names in a dataset subfolder, sorted. */
export function namesIn(dir: string, sub: string): string[] {
  const folder = path.join(dir, sub);
  return fs.existsSync(folder) ? fs.readdirSync(folder).sort() : [];
}
