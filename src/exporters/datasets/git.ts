import { CancelledError, ExitPlanError } from '../shared/errors';
import { runProcess } from '../shared/process';

interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Stops git and whatever it started (SIGTERM to its group, then SIGKILL) when it aborts: git() then throws CancelledError. */
export interface GitOptions {
  signal?: AbortSignal;
}

/** Runs `git -C dir …` without a shell (argv only), never prompting, through the core's process runner. */
export async function git(dir: string, args: string[], options: GitOptions = {}): Promise<GitResult> {
  const r = await runProcess('git', ['-C', dir, ...args], {
    envAdd: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    stdout: 'capture',
    stderr: 'capture',
    maxCapture: Number.MAX_SAFE_INTEGER,
    stderrTailLines: 0,
    group: true,
    signal: options.signal,
    startError: (err) =>
      err.code === 'ENOENT'
        ? new ExitPlanError(
            'git is not installed (or not on PATH), so the dataset cannot be committed: install git, or set git = false in config.toml.',
            'ENOENT',
          )
        : new ExitPlanError(`Cannot run git: ${err.message}.`, err.code, { cause: err }),
  });
  if (r.cancelled) throw new CancelledError(`Cancelled while git was running in ${dir}.`);
  return { code: r.code, stdout: r.stdout, stderr: r.stderr };
}

async function gitOk(dir: string, args: string[], what: string, options: GitOptions = {}): Promise<GitResult> {
  const r = await git(dir, args, options);
  if (r.code !== 0) {
    const detail =
      r.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('hint:'))
        .pop() ?? `exit code ${r.code}`;
    throw new ExitPlanError(`git could not ${what} in ${dir}: ${detail.replace(/\.$/, '')}.`);
  }
  return r;
}

/** True when `dir` is inside a git work tree. */
async function isGitRepo(dir: string, options: GitOptions = {}): Promise<boolean> {
  const r = await git(dir, ['rev-parse', '--is-inside-work-tree'], options);
  return r.code === 0 && r.stdout.trim() === 'true';
}

export async function gitInit(dir: string): Promise<void> {
  await gitOk(dir, ['init', '-q'], 'initialise a repository');
}

/**
 * Stages `add` (existing paths, relative to dir) and the removal of `remove`, then commits with `message`
 * when anything is staged (like export_manager, which commits its index). Returns whether it committed.
 */
export async function commitChanges(
  dir: string,
  message: string,
  change: { add?: string[]; remove?: string[] },
  options: GitOptions = {},
): Promise<boolean> {
  if (!(await isGitRepo(dir, options))) {
    throw new ExitPlanError(`config.toml says git = true but ${dir} is not a git repository: run "git init" there, or set git = false.`);
  }
  const add = change.add ?? [];
  const remove = change.remove ?? [];
  if (add.length > 0) await gitOk(dir, ['add', '--', ...add], 'stage the new parcel', options);
  if (remove.length > 0) {
    await gitOk(dir, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', ...remove], 'stage the removed parcels', options);
  }
  const staged = await git(dir, ['diff', '--cached', '--quiet'], options);
  if (staged.code === 0) return false;
  await gitOk(dir, ['commit', '-q', '--no-verify', '-m', message], 'commit', options);
  return true;
}
