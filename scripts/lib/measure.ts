// Measuring a benchmark's program and everything it starts (an exit run starts azcopy or rclone; a pasted command,
// bash and what it runs): wall time and peak memory from /proc. Dev only.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export interface Measured {
  ms: number;
  stdout: string;
  /** Highest sum of VmRSS over the process and its descendants, sampled every 50 ms (bytes). */
  treeRss: number;
  /** Highest VmHWM (the kernel's own peak) of any one process of the tree (bytes). */
  processRss: number;
}

/** pid → parent pid of every process, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const raw = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      map.set(Number(entry), Number(raw.slice(raw.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  return map;
}

function tree(root: number): number[] {
  const ppid = parents();
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, parent] of ppid) if (parent === found[i]) found.push(pid);
  return found;
}

function memoryOf(pid: number): { rss: number; hwm: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Runs `file args` to its end, sampling the memory of its process tree; rejects on a non-zero exit. */
export function measured(file: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let treeRss = 0;
    let processRss = 0;
    let ms = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const sample = () => {
      if (child.pid === undefined || child.exitCode !== null) return;
      let sum = 0;
      for (const pid of tree(child.pid)) {
        const m = memoryOf(pid);
        sum += m.rss;
        processRss = Math.max(processRss, m.hwm);
      }
      treeRss = Math.max(treeRss, sum);
    };
    const timer = setInterval(sample, 50);
    child.once('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.once('exit', () => (ms = performance.now() - t0));
    child.once('close', (code, signal) => {
      clearInterval(timer);
      if (code !== 0) {
        const last = stderr.trim().split('\n').slice(-5).join(' | ') || stdout.trim().split('\n').slice(-3).join(' | ');
        reject(new Error(`${path.basename(file)} ${args.slice(0, 3).join(' ')} … exited with ${code ?? signal}: ${last}`));
        return;
      }
      resolve({ ms, stdout, treeRss, processRss });
    });
  });
}

/** Files under `dir` (recursively), relative paths. */
export function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}
