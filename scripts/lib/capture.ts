// A program run to its end with its output collected: for the benchmarks and the tests (never the extension).
import { spawn, type ChildProcess } from 'node:child_process';

export interface Captured {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `file args` (no shell, stdin closed); `done` resolves with its exit code and output, rejects if it cannot start. */
export function startCapture(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): { child: ChildProcess; done: Promise<Captured> } {
  const child = spawn(file, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<Captured>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/** Runs `file args` to its end: its exit code and output. */
export function capture(file: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Captured> {
  return startCapture(file, args, options).done;
}
