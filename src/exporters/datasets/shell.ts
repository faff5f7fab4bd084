import { spawn } from 'node:child_process';
import { ExitPlanError } from '../shared/errors';

export interface ShellOptions {
  cwd: string;
  /** Added to this process's environment. */
  env: Record<string, string>;
  /** A file descriptor to write to (the log files), 'capture' to collect it, or 'ignore'. */
  stdout: number | 'capture' | 'ignore';
  stderr: number | 'capture' | 'ignore';
  /** Captured output beyond this many bytes is dropped and `truncated` set. */
  maxCapture?: number;
  /** Kill the whole process group after this long. */
  timeoutMs?: number;
  /** Kill the whole process group when this fires. */
  signal?: AbortSignal;
  /** Between SIGTERM and SIGKILL when stopping the group. */
  killGraceMs?: number;
}

export interface ShellResult {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  cancelled: boolean;
  stdout: string;
  stderr: string;
  truncated: boolean;
}

const DEFAULT_KILL_GRACE_MS = 3000;
/** After the shell exits, how long its pipes may stay open (held by something it left running). */
const PIPE_GRACE_MS = 5000;

/**
 * Runs `cmd` as `/bin/sh -c cmd` in its own process group (a new session), so a timeout or a cancel can stop
 * the command and everything it started: SIGTERM to the group, then SIGKILL to the group once the shell has
 * gone or the grace period is over. Never rejects for the command's own failure; rejects when sh cannot start.
 */
export function runShell(cmd: string, options: ShellOptions): Promise<ShellResult> {
  return new Promise((resolve, reject) => {
    const stdio = (s: ShellOptions['stdout']) => (s === 'capture' ? 'pipe' : s);
    let child;
    try {
      child = spawn('/bin/sh', ['-c', cmd], {
        argv0: 'sh',
        cwd: options.cwd,
        env: { ...process.env, ...options.env },
        detached: true,
        stdio: ['ignore', stdio(options.stdout), stdio(options.stderr)],
      });
    } catch (err) {
      reject(new ExitPlanError(`Cannot start /bin/sh in ${options.cwd}: ${(err as Error).message}.`, undefined, { cause: err }));
      return;
    }
    const max = options.maxCapture ?? 1 << 20;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let truncated = false;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (outBytes + chunk.length > max) truncated = true;
      if (outBytes < max) out.push(chunk.subarray(0, max - outBytes));
      outBytes += chunk.length;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      if (errBytes < max) err.push(chunk.subarray(0, max - errBytes));
      errBytes += chunk.length;
    });

    let timedOut = false;
    let cancelled = false;
    let exited = false;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    const pgid = child.pid;
    const killGroup = (sig: NodeJS.Signals) => {
      if (pgid === undefined) return;
      try {
        process.kill(-pgid, sig);
      } catch {
        // ESRCH: the group is gone already.
      }
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    };
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            stop();
          }, options.timeoutMs)
        : undefined;
    const onAbort = () => {
      cancelled = true;
      stop();
    };
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    child.once('error', (e) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      if (!exited)
        reject(new ExitPlanError(`Cannot start /bin/sh in ${options.cwd}: ${e.message}.`, (e as NodeJS.ErrnoException).code, { cause: e }));
    });
    child.once('exit', () => {
      exited = true;
      // A background process that outlives the shell may hold the pipes open: stop waiting for it.
      if (options.stdout === 'capture' || options.stderr === 'capture') {
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
        }, PIPE_GRACE_MS).unref();
      }
      // The shell is gone; whatever it started in its group is stopped for good now, not after the grace.
      if (stopping) {
        if (killTimer) clearTimeout(killTimer);
        killGroup('SIGKILL');
      }
    });
    child.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({
        code,
        signal,
        timedOut,
        cancelled,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        truncated,
      });
    });
  });
}
