// A generic rclone remote on loopback for the tests: `rclone serve sftp` or `rclone serve webdav` of a folder, with a
// user and password; the client reaches it with an on-the-fly remote whose password is given only through rclone's
// environment variable (obscured, as rclone wants it), never in the remote.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { rcloneEnvironment } from '../../src/exporters/rclone/environment';

export interface RcloneServer {
  kind: 'sftp' | 'webdav';
  port: number;
  /** The folder it serves. */
  dir: string;
  user: string;
  /** The on-the-fly remote of a path of the served folder (no secret in it). */
  remote(sub?: string): string;
  /** What the client needs in its environment: the obscured password (and few retries, to keep failures fast). */
  env(password?: string): Record<string, string>;
  stop(): Promise<void>;
}

/** `rclone obscure`: how rclone wants a password in its config and variables. */
export function obscure(password: string): string {
  const { env, args } = rcloneEnvironment();
  return execFileSync('rclone', [...args, 'obscure', password], { env, encoding: 'utf8' }).trim();
}

/** Fewer retries than rclone's defaults, for the tests only (the product never depends on them). */
export const FEW_RETRIES = { RCLONE_RETRIES: '1', RCLONE_LOW_LEVEL_RETRIES: '1', RCLONE_CONTIMEOUT: '5s' };

/** Starts `rclone serve <kind>` of `dir` on a free loopback port (read from its log line). */
export async function startRcloneServe(
  kind: 'sftp' | 'webdav',
  dir: string,
  user = 'exit user',
  password = "pa ss'wörd",
): Promise<RcloneServer> {
  const { env, args } = rcloneEnvironment();
  // The server's SSH host keys, made once and kept between runs (a 2048-bit RSA key takes a while on a busy machine).
  const cacheDir = path.join(os.tmpdir(), 'exit-plan-rclone-serve-cache');
  const child: ChildProcess = spawn(
    'rclone',
    [...args, 'serve', kind, dir, '--addr', '127.0.0.1:0', '--user', user, '--pass', password, '--cache-dir', cacheDir],
    { env: { ...env, RCLONE_CONFIG: '/dev/null' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`rclone serve ${kind} did not start: ${text}`)), 60_000);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      text += d;
      const m = /(?:listening on 127\.0\.0\.1:|started on \[?http:\/\/127\.0\.0\.1:)(\d+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rclone serve ${kind} exited (${code}): ${text}`));
    });
  });
  child.stderr!.resume();
  const quoted = (v: string) => `'${v.replace(/'/g, "''")}'`;
  return {
    kind,
    port,
    dir,
    user,
    remote: (sub = '') =>
      kind === 'sftp'
        ? `:sftp,host=127.0.0.1,port=${port},user=${quoted(user)}:${sub}`
        : `:webdav,url='http://127.0.0.1:${port}',user=${quoted(user)}:${sub}`,
    env: (pass = password) => ({ [`RCLONE_${kind.toUpperCase()}_PASS`]: obscure(pass), ...FEW_RETRIES }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
