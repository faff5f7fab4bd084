// The one child-process runner of the core: pg_dump / pg_restore (backups), git and a dataset's shell commands.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Writable } from 'node:stream';
import { ExitPlanError } from './errors';

/**
 * Where one output stream of the process goes: 'capture' collects it (up to `maxCapture` bytes), 'ignore'
 * drops it, 'pipe' reads it only for the line callbacks, a number is a file descriptor the process writes to
 * itself (a log file), a Writable gets the bytes piped (never ended by the runner).
 */
export type OutputTarget = 'capture' | 'ignore' | 'pipe' | number | Writable;

export interface RunProcessOptions {
  /** Run `file` as `/bin/sh -c file` (a dataset's cmd, the documented shell exception). Otherwise argv only, no shell. */
  shell?: boolean;
  cwd?: string;
  /** The environment to start from (default: this process's); `envAdd` is added to it (passwords go here, never in argv). */
  env?: NodeJS.ProcessEnv;
  envAdd?: Record<string, string>;
  /** Start it in its own process group (a new session), so stopping it stops everything it started. */
  group?: boolean;
  /** Aborting it stops the process (its group with `group`): SIGTERM, then SIGKILL after `killGraceMs`. */
  signal?: AbortSignal;
  /** Stop it the same way after this long; the result then says `timedOut`. */
  timeoutMs?: number;
  /** Between SIGTERM and SIGKILL (default 5 s). */
  killGraceMs?: number;
  /** Default 'ignore' unless a line callback is given ('pipe' then). */
  stdout?: OutputTarget;
  stderr?: OutputTarget;
  /** Captured output beyond this many bytes per stream is dropped and `truncated` set (default 1 MiB). */
  maxCapture?: number;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Lines of stderr kept in `stderrTail` (default 50), whatever `stderr` is, when it is read here. */
  stderrTailLines?: number;
  /** Called once the process has started. */
  onSpawn?: (pid: number) => void;
  /** The sentence thrown when the program cannot be started (default: `Cannot run <file>: <reason>.`). */
  startError?: (err: NodeJS.ErrnoException) => ExitPlanError;
}

export interface ProcessResult {
  /** Exit code, or null when a signal ended it (or it was never started because the signal had aborted). */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The timeout stopped it. */
  timedOut: boolean;
  /** The abort signal stopped it (or it aborted before the process was started). */
  cancelled: boolean;
  /** Captured output (utf-8), empty unless 'capture'. */
  stdout: string;
  stderr: string;
  /** Captured stdout went over `maxCapture` (stderr is only ever kept for a message). */
  truncated: boolean;
  /** The last lines of stderr, when it was read here (capture, pipe, or a line callback). */
  stderrTail: string[];
}

const DEFAULT_KILL_GRACE_MS = 5000;
const DEFAULT_MAX_CAPTURE = 1 << 20;
const DEFAULT_STDERR_TAIL = 50;
/** After the process exits, how long its pipes may stay open (held by something it left running). */
const PIPE_GRACE_MS = 5000;

/**
 * Runs a program (argv, no shell; or with `shell` a command line for /bin/sh -c) and resolves when it has
 * exited and its output is read. Never rejects for the program's own failure (see `code`, `signal`,
 * `timedOut`, `cancelled`); rejects with an ExitPlanError only when it cannot be started.
 */
export function runProcess(file: string, args: readonly string[], options: RunProcessOptions = {}): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const tailMax = options.stderrTailLines ?? DEFAULT_STDERR_TAIL;
    if (options.signal?.aborted) {
      resolve({ code: null, signal: null, timedOut: false, cancelled: true, stdout: '', stderr: '', truncated: false, stderrTail: [] });
      return;
    }
    const outTarget = options.stdout ?? (options.onStdoutLine ? 'pipe' : 'ignore');
    const errTarget = options.stderr ?? (options.onStderrLine ? 'pipe' : 'ignore');
    const stdio = (t: OutputTarget): 'pipe' | 'ignore' | number => (typeof t === 'number' ? t : t === 'ignore' ? 'ignore' : 'pipe');
    const env = options.envAdd ? { ...(options.env ?? process.env), ...options.envAdd } : (options.env ?? process.env);
    const startError =
      options.startError ??
      ((err: NodeJS.ErrnoException) => new ExitPlanError(`Cannot run ${file}: ${err.message}.`, err.code, { cause: err }));
    let child: ChildProcess;
    try {
      child = spawn(options.shell ? '/bin/sh' : file, options.shell ? ['-c', file] : [...args], {
        ...(options.shell ? { argv0: 'sh' } : {}),
        cwd: options.cwd,
        env,
        detached: options.group === true,
        shell: false,
        windowsHide: true,
        stdio: ['ignore', stdio(outTarget), stdio(errTarget)] satisfies StdioOptions,
      });
    } catch (err) {
      reject(startError(err as NodeJS.ErrnoException));
      return;
    }

    const max = options.maxCapture ?? DEFAULT_MAX_CAPTURE;
    let truncated = false;
    const stderrTail: string[] = [];
    const read = (
      stream: NodeJS.ReadableStream | null,
      target: OutputTarget,
      onLine: ((line: string) => void) | undefined,
      tail: boolean,
    ): (() => string) => {
      if (!stream) return () => '';
      const chunks: Buffer[] = [];
      let bytes = 0;
      let rest = '';
      const line = (text: string) => {
        if (tail && tailMax > 0) {
          stderrTail.push(text);
          if (stderrTail.length > tailMax) stderrTail.shift();
        }
        onLine?.(text);
      };
      const wantLines = onLine !== undefined || (tail && tailMax > 0);
      const decoder = new TextDecoder('utf-8');
      stream.on('data', (chunk: Buffer) => {
        if (target === 'capture') {
          if (bytes + chunk.length > max && !tail) truncated = true;
          if (bytes < max) chunks.push(chunk.subarray(0, max - bytes));
          bytes += chunk.length;
        }
        if (wantLines) {
          rest += decoder.decode(chunk, { stream: true });
          let at: number;
          while ((at = rest.indexOf('\n')) >= 0) {
            line(rest.slice(0, at).replace(/\r$/, ''));
            rest = rest.slice(at + 1);
          }
        }
      });
      stream.on('end', () => {
        rest += decoder.decode();
        if (rest) line(rest);
        rest = '';
      });
      if (typeof target === 'object') stream.pipe(target, { end: false });
      return () => Buffer.concat(chunks).toString('utf8');
    };
    const stdoutText = read(child.stdout, outTarget, options.onStdoutLine, false);
    const stderrText = read(child.stderr, errTarget, options.onStderrLine, true);

    let timedOut = false;
    let cancelled = false;
    let exited = false;
    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    let pipeTimer: NodeJS.Timeout | undefined;
    const pid = child.pid;
    const kill = (sig: NodeJS.Signals) => {
      if (pid === undefined) return;
      try {
        if (options.group) process.kill(-pid, sig);
        else child.kill(sig);
      } catch {
        // ESRCH: it is gone already.
      }
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      kill('SIGTERM');
      killTimer = setTimeout(() => kill('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
      killTimer.unref();
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
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const settle = () => {
      if (timer) clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (pipeTimer) clearTimeout(pipeTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    if (pid !== undefined) options.onSpawn?.(pid);

    child.once('error', (err: NodeJS.ErrnoException) => {
      settle();
      if (!exited) reject(startError(err));
    });
    child.once('exit', () => {
      exited = true;
      // Something it left running may hold the pipes open: stop waiting for it.
      pipeTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, PIPE_GRACE_MS);
      pipeTimer.unref();
      // The group leader is gone; whatever it started in its group is stopped for good now, not after the grace.
      if (stopping && options.group) {
        if (killTimer) clearTimeout(killTimer);
        kill('SIGKILL');
      }
    });
    child.once('close', (code, signal) => {
      settle();
      resolve({ code, signal, timedOut, cancelled, stdout: stdoutText(), stderr: stderrText(), truncated, stderrTail });
    });
  });
}
