// One real PostgreSQL for the whole mocha run (root hooks in test/hooks.ts).
import { startPostgres, type RunningPostgres } from '../../scripts/lib/embeddedPostgres';
import type { PgConnectionOptions } from '../../src/exporters/postgres/connection';

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
