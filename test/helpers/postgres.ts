// One real PostgreSQL for the whole mocha run (root hooks in test/hooks.ts).
import { execFileSync } from 'node:child_process';
import { startPostgres, type RunningPostgres } from '../../scripts/lib/embeddedPostgres';
import type { PgConnectionOptions } from '../../src/exporters/postgres/connection';
import { unzipArchive } from './archive';

let running: Promise<RunningPostgres> | undefined;

export function postgres(): Promise<RunningPostgres> {
  running ??= startPostgres({ quiet: true });
  return running;
}

export async function stopPostgres(): Promise<void> {
  if (running) await (await running).stop();
  running = undefined;
}

let databases = 0;

/** A new database on the test server, named `<prefix>_<n>`, with `sql` run in it. */
export async function databaseWith(prefix: string, sql: string): Promise<PgConnectionOptions> {
  const pg = await postgres();
  const db = await pg.createDatabase(`${prefix}_${++databases}`);
  const c = await pg.client(db.database);
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
  return db;
}

let reloads = 0;

/**
 * Reloads an archive as its README.txt says (unzipped, then `psql -f schema.sql -f load.sql` from that folder,
 * stopping at the first error) into a new database on the test server; returns the database and the folder.
 */
export async function reloadArchive(
  archive: string,
  database = `reloaded_${++reloads}`,
): Promise<{ db: PgConnectionOptions; dir: string }> {
  const pg = await postgres();
  const { dir } = unzipArchive(archive);
  const db = await pg.createDatabase(database);
  const env = { ...process.env, PGPASSWORD: db.password, PGHOST: db.host, PGPORT: String(db.port), PGUSER: db.user };
  execFileSync('psql', ['-X', '-q', '-d', db.database, '-v', 'ON_ERROR_STOP=1', '-f', 'schema.sql', '-f', 'load.sql'], {
    cwd: dir,
    env,
    stdio: 'pipe',
  });
  return { db, dir };
}
