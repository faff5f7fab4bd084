import { spawn } from 'node:child_process';
import { ExitPlanError } from '../shared/errors';

interface GitResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `git -C dir …` without a shell (argv only), never prompting. */
export function git(dir: string, args: string[]): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['-C', dir, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'ENOENT'
          ? new ExitPlanError(
              'git is not installed (or not on PATH), so the dataset cannot be committed: install git, or set git = false in config.toml.',
              'ENOENT',
            )
          : new ExitPlanError(`Cannot run git: ${err.message}.`, err.code, { cause: err }),
      );
    });
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function gitOk(dir: string, args: string[], what: string): Promise<GitResult> {
  const r = await git(dir, args);
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
export async function isGitRepo(dir: string): Promise<boolean> {
  const r = await git(dir, ['rev-parse', '--is-inside-work-tree']);
  return r.code === 0 && r.stdout.trim() === 'true';
}

export async function gitInit(dir: string): Promise<void> {
  await gitOk(dir, ['init', '-q'], 'initialise a repository');
}

/**
 * Stages `add` (existing paths, relative to dir) and the removal of `remove`, then commits with `message`
 * when anything is staged (like export_manager, which commits its index). Returns whether it committed.
 */
export async function commitChanges(dir: string, message: string, change: { add?: string[]; remove?: string[] }): Promise<boolean> {
  if (!(await isGitRepo(dir))) {
    throw new ExitPlanError(`config.toml says git = true but ${dir} is not a git repository: run "git init" there, or set git = false.`);
  }
  const add = change.add ?? [];
  const remove = change.remove ?? [];
  if (add.length > 0) await gitOk(dir, ['add', '--', ...add], 'stage the new parcel');
  if (remove.length > 0) await gitOk(dir, ['rm', '-r', '-q', '--cached', '--ignore-unmatch', '--', ...remove], 'stage the removed parcels');
  const staged = await git(dir, ['diff', '--cached', '--quiet']);
  if (staged.code === 0) return false;
  await gitOk(dir, ['commit', '-q', '--no-verify', '-m', message], 'commit');
  return true;
}
