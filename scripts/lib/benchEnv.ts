// What every benchmark script reads from its environment and how it says where it is. Dev only.
import { performance } from 'node:perf_hooks';

/** A positive number from the environment variable `name`, or `fallback`; anything else stops the script (exit 2). */
export function numberEnv(script: string, name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    process.stderr.write(`${script}: ${name} must be a positive number (got "${raw}").\n`);
    process.exit(2);
  }
  return n;
}

/** A progress line printer: `[<label> MM:SS] line`, the time since it was made. */
export function benchLog(label: string): (line: string) => void {
  const started = performance.now();
  return (line) => {
    const s = Math.round((performance.now() - started) / 1000);
    process.stdout.write(`[${label} ${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${line}\n`);
  };
}
