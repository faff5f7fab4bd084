import { ExitPlanError } from '../shared/errors';
import { runProcess, type OutputTarget, type ProcessResult } from '../shared/process';

export interface ShellOptions {
  cwd: string;
  /** Added to this process's environment. */
  env: Record<string, string>;
  /** A file descriptor to write to (the log files), 'capture' to collect it, or 'ignore'. */
  stdout: Extract<OutputTarget, number | 'capture' | 'ignore'>;
  stderr: Extract<OutputTarget, number | 'capture' | 'ignore'>;
  /** Captured output beyond this many bytes is dropped and `truncated` set. */
  maxCapture?: number;
  /** Kill the whole process group after this long. */
  timeoutMs?: number;
  /** Kill the whole process group when this fires. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL when stopping the group. */
  killGraceMs?: number;
}

export type ShellResult = Omit<ProcessResult, 'stderrTail'>;

const DEFAULT_KILL_GRACE_MS = 3000;

/**
 * Runs a dataset's `cmd` (or a metric's) as `/bin/sh -c cmd` in its own process group, through the core's
 * process runner (shared/process: the documented shell exception), so a timeout or a cancel stops the command
 * and everything it started: SIGTERM to the group, then SIGKILL to the group once the shell has gone or the
 * grace period is over. Never rejects for the command's own failure; rejects when sh cannot start.
 */
export async function runShell(cmd: string, options: ShellOptions): Promise<ShellResult> {
  const { stderrTail: _, ...result } = await runProcess(cmd, [], {
    shell: true,
    group: true,
    cwd: options.cwd,
    envAdd: options.env,
    stdout: options.stdout,
    stderr: options.stderr,
    maxCapture: options.maxCapture,
    stderrTailLines: 0,
    timeoutMs: options.timeoutMs,
    signal: options.signal,
    killGraceMs: options.killGraceMs ?? DEFAULT_KILL_GRACE_MS,
    startError: (e) => new ExitPlanError(`Cannot start /bin/sh in ${options.cwd}: ${e.message}.`, e.code, { cause: e }),
  });
  return result;
}
