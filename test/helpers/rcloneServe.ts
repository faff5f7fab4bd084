// A generic rclone remote on loopback for the tests: `rclone serve sftp` or `rclone serve webdav` of a folder, with a
// user and password; the client reaches it with an on-the-fly remote whose password is given only through rclone's
// environment variable (obscured, as rclone wants it), never in the remote.
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capture } from '../../scripts/lib/capture';
import { rcloneEnvironment } from '../../src/exporters/rclone/environment';
import { listFiles } from './archive';
import { S3RVER_KEYS, type S3Server } from './s3rver';

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

/** Awkward names: spaces, quotes, a comma, non-Latin letters, nested folders, an empty file, a file of several MB. */
export function sourceFiles(): Record<string, Buffer> {
  return {
    'readme.txt': Buffer.from('top level\n'),
    'photos/2024/river bank #1.jpg': Buffer.from('jpeg bytes \u0000\u0001\u0002'),
    'photos/été/щука 魚.jpg': Buffer.from('unicode name'),
    'docs/report, "final" (v2).pdf': Buffer.from('pdf'.repeat(1000)),
    "it's a 'quote'.txt": Buffer.from('quotes'),
    'deep/a/b/c/d/e.txt': Buffer.from('nested'),
    'empty.bin': Buffer.alloc(0),
    'big/several MB.bin': randomBytes(3 * 1024 * 1024 + 17),
  };
}

export function writeTree(dir: string, files: Record<string, Buffer>): void {
  for (const [name, data] of Object.entries(files)) {
    const file = path.join(dir, ...name.split('/'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data);
  }
}

export function sha(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file under `dir` (relative, forward slashes) with its SHA-256. */
export function treeHashes(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, sha(fs.readFileSync(path.join(dir, f)))]));
}

export function expectedHashes(files: Record<string, Buffer>): Record<string, string> {
  return Object.fromEntries(Object.entries(files).map(([n, d]) => [n, sha(d)]));
}

/**
 * Puts a local folder into a bucket with rclone (keys inline: the test's own upload, not the product). Asynchronous:
 * s3rver answers from this very process.
 */
export async function upload(s3: S3Server, dir: string, bucket: string, sub = ''): Promise<void> {
  const { env, args } = rcloneEnvironment();
  const run = await capture('rclone', [...args, 'copy', dir, s3.remote(bucket, sub)], { env: { ...env, ...FEW_RETRIES } });
  assert.equal(run.code, 0, run.stderr);
}

/**
 * The on-the-fly remote of a bucket with no secret in it: the keys come from RCLONE_S3_… variables
 * (list_url_encode=false only because s3rver ignores URL-encoded listings; real S3 does not need it).
 */
export function s3Remote(s3: S3Server, bucket: string, sub = ''): string {
  return `:s3,provider=Other,endpoint='${s3.endpoint}',list_url_encode=false:${bucket}${sub ? `/${sub}` : ''}`;
}

/**
 * The keys, in rclone's own variables. s3rver checks the key id (an unknown one is refused with InvalidAccessKeyId,
 * HTTP 403, as AWS does) but not the signature, so a wrong credential here is a wrong key id.
 */
export function s3Env(keyId: string = S3RVER_KEYS.accessKeyId): Record<string, string> {
  return { RCLONE_S3_ACCESS_KEY_ID: keyId, RCLONE_S3_SECRET_ACCESS_KEY: S3RVER_KEYS.secretAccessKey, ...FEW_RETRIES };
}
