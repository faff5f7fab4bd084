// Issue 10: the export is one consistent snapshot even when other sessions run DDL, hold locks, or hide
// rows with row-level security; and it refuses, in one sentence, what it cannot read.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Client } from 'pg';
import { CancelledError, exportWarehouse, listWarehouseTables, type LockWait, type PgConnectionOptions } from '../src/exporters';
import { connectionUrl } from '../scripts/lib/embeddedPostgres';
import { listFiles, tableFingerprint, tempDir, unzipArchive } from './helpers/archive';
import { databaseWith, postgres, reloadArchive } from './helpers/postgres';

const CLI = path.resolve(__dirname, '../../dist/cli.js');

/** Polls until `check` holds (deterministic synchronisation on server state, not a sleep racing work). */
async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function count(admin: Client, sql: string, params: unknown[] = []): Promise<number> {
  return (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) s`, params)).rows[0].n;
}

/** The export's backends in one database (application_name exit-plan). */
const EXPORT_BACKENDS = `SELECT pid FROM pg_stat_activity WHERE application_name = 'exit-plan' AND datname = $1`;

const freshDatabase = databaseWith;

/** Reloads an archive with psql (schema.sql, then load.sql) into a new database; returns a client on it. */
async function reload(archive: string): Promise<Client> {
  const { db } = await reloadArchive(archive);
  return (await postgres()).client(db.database);
}

async function session(db: PgConnectionOptions, application: string): Promise<{ client: Client; pid: number }> {
  const client = await (await postgres()).client(db.database);
  await client.query(`SET application_name = '${application}'`);
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  return { client, pid };
}

const ORDERS_SQL = `CREATE TABLE public.orders (id int PRIMARY KEY, amount int NOT NULL);
  INSERT INTO public.orders SELECT g, g * 10 FROM generate_series(1, 5000) g;`;

describe('trust: DDL from another session during an export', () => {
  // A view exported before orders that blocks on an advisory lock the test holds: the export is then
  // certainly past its snapshot and not yet reading orders when the DDL comes.
  const SETUP = `${ORDERS_SQL}
    CREATE VIEW public.a_gate AS SELECT 1 AS one FROM (SELECT pg_advisory_xact_lock_shared(4242)) s;`;

  const cases = [
    { ddl: 'TRUNCATE public.orders', what: 'TRUNCATE' },
    { ddl: 'ALTER TABLE public.orders ALTER COLUMN amount TYPE bigint', what: 'ALTER TABLE … TYPE (a rewrite)' },
    { ddl: `ALTER TABLE public.orders ADD COLUMN note text DEFAULT 'late'`, what: 'ALTER TABLE … ADD COLUMN … DEFAULT' },
  ];
  for (const { ddl, what } of cases) {
    it(`${what} waits for the export, which has every row and reloads with schema.sql and load.sql`, async () => {
      const db = await freshDatabase('ddl', SETUP);
      const admin = await (await postgres()).client(db.database);
      const gate = await session(db, 'trust-gate');
      const other = await session(db, 'trust-ddl');
      try {
        const before = await tableFingerprint(admin, 'public', 'orders');
        await gate.client.query('SELECT pg_advisory_lock(4242)');
        const out = tempDir();
        const exporting = exportWarehouse({ connection: db, outDir: out, includeViews: true, tables: ['a_gate', 'orders'] });
        exporting.catch(() => undefined);
        await waitFor(
          'the export waits at the gate',
          async () =>
            (await count(
              admin,
              `SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND NOT l.granted AND l.pid IN (${EXPORT_BACKENDS})`,
              [db.database],
            )) > 0,
        );

        let ddlDone = false;
        const running = other.client.query(ddl).then(() => {
          ddlDone = true;
        });
        running.catch(() => undefined);
        const ddlWaits = async () => (await count(admin, `SELECT 1 FROM pg_locks WHERE pid = $1 AND NOT granted`, [other.pid])) > 0;
        await waitFor('the DDL either ran or waits for a lock', async () => ddlDone || (await ddlWaits()));
        const ranUnderTheExport = ddlDone;

        await gate.client.query('SELECT pg_advisory_unlock(4242)');
        const result = await exporting;
        await running;

        const orders = result.tables.find((t) => t.name === 'orders')!;
        assert.equal(orders.rows, 5000, 'every row of orders is in the archive');
        const { manifest } = unzipArchive(result.archive);
        assert.deepEqual(
          manifest.tables.find((t) => t.name === 'orders')!.columns.map((c) => c.name),
          ['id', 'amount'],
        );
        const reloaded = await reload(result.archive);
        try {
          assert.deepEqual(await tableFingerprint(reloaded, 'public', 'orders'), before);
        } finally {
          await reloaded.end();
        }
        assert.equal(ranUnderTheExport, false, `${what} waited for the export's lock instead of running under it`);
      } finally {
        await gate.client.end();
        await other.client.end();
        await admin.end();
      }
    });
  }

  it('leaves out a table dropped while the export waited for its lock, and exports the rest', async () => {
    const db = await freshDatabase(
      'dropped',
      `${ORDERS_SQL} CREATE TABLE public.z_doomed (id int); INSERT INTO public.z_doomed VALUES (1);`,
    );
    const admin = await (await postgres()).client(db.database);
    const holder = await session(db, 'trust-dropper');
    try {
      await holder.client.query('BEGIN');
      await holder.client.query('LOCK TABLE public.z_doomed IN ACCESS EXCLUSIVE MODE');
      const exporting = exportWarehouse({ connection: db, outDir: tempDir() });
      exporting.catch(() => undefined);
      await waitFor(
        'the export waits for a lock',
        async () =>
          (await count(
            admin,
            `SELECT 1 FROM pg_locks l WHERE l.locktype = 'relation' AND NOT l.granted AND l.pid IN (${EXPORT_BACKENDS})`,
            [db.database],
          )) > 0,
      );
      await holder.client.query('DROP TABLE public.z_doomed');
      await holder.client.query('COMMIT');
      const result = await exporting;
      assert.deepEqual(
        result.tables.map((t) => `${t.schema}.${t.name}:${t.rows}`),
        ['public.orders:5000'],
      );
    } finally {
      await holder.client.end();
      await admin.end();
    }
  });
});

describe("trust: DDL queued between the export's connections (--jobs)", () => {
  it('steps back when a worker would queue behind a DDL that waits for the main connection, then exports after it', async () => {
    const db = await freshDatabase('queued', `${ORDERS_SQL} CREATE TABLE public.a_free (id int); INSERT INTO public.a_free VALUES (1);`);
    const admin = await (await postgres()).client(db.database);
    const holder = await session(db, 'trust-holder');
    const truncater = await session(db, 'trust-truncate');
    try {
      // The main connection queues first for orders, the TRUNCATE second; when the holder lets go, the main
      // connection gets its lock and the TRUNCATE waits for it, so a worker locking next would queue behind
      // the TRUNCATE: nobody would move until the lock timeout.
      await holder.client.query('BEGIN');
      await holder.client.query('LOCK TABLE public.orders IN ACCESS EXCLUSIVE MODE');
      const lines: string[] = [];
      const exporting = exportWarehouse({ connection: db, outDir: tempDir(), jobs: 2, log: (line) => lines.push(line) });
      exporting.catch(() => undefined);
      const waiting = async (pids: string) =>
        (await count(admin, `SELECT 1 FROM pg_locks WHERE locktype = 'relation' AND NOT granted AND pid IN (${pids})`, [db.database])) > 0;
      await waitFor('the export waits for orders', () => waiting(EXPORT_BACKENDS));
      const truncating = truncater.client.query('TRUNCATE public.orders');
      truncating.catch(() => undefined);
      await waitFor('the TRUNCATE waits too', () => waiting(`SELECT ${truncater.pid} WHERE $1::text IS NOT NULL`));
      await holder.client.query('COMMIT');

      const result = await exporting;
      await truncating;
      assert.ok(
        lines.some((l) => l.startsWith('Starting over')),
        lines.join('\n'),
      );
      // The export let the TRUNCATE go first, then read the table as it is after it.
      assert.deepEqual(
        result.tables.map((t) => `${t.name}:${t.rows}`),
        ['a_free:1', 'orders:0'],
      );
    } finally {
      await holder.client.end();
      await truncater.client.end();
      await admin.end();
    }
  });
});

describe('trust: a lock held by another session', () => {
  let db: PgConnectionOptions;
  let admin: Client;
  let holder: { client: Client; pid: number };

  before(async () => {
    db = await freshDatabase(
      'locked',
      `${ORDERS_SQL} CREATE TABLE public.a_free (id int); INSERT INTO public.a_free VALUES (1);
       CREATE FUNCTION public.order_count() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.orders';
       CREATE VIEW public.order_total AS SELECT public.order_count() AS n;`,
    );
    admin = await (await postgres()).client(db.database);
  });
  after(async () => admin?.end());

  beforeEach(async () => {
    // Idle in transaction after an ALTER TABLE: holds ACCESS EXCLUSIVE on orders until it ends.
    holder = await session(db, 'trust-holder');
    await holder.client.query('BEGIN');
    await holder.client.query('ALTER TABLE public.orders ADD COLUMN extra int');
  });
  afterEach(async () => {
    await holder.client.query('ROLLBACK').catch(() => undefined);
    await holder.client.end();
  });

  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, PGPASSWORD: db.password } });

  it('warehouse export --lock-timeout 2 stops with one sentence naming the table and the session, and leaves nothing', () => {
    const out = tempDir();
    const r = run(['warehouse', 'export', '--db', connectionUrl(db), '--out', out, '--lock-timeout', '2']);
    assert.equal(r.status, 1, r.stderr);
    const lines = r.stderr.trim().split('\n');
    assert.equal(
      lines[lines.length - 1],
      `exit-plan: Timed out after 2 s waiting for a lock on "public"."orders" held by session ${holder.pid} ` +
        `(trust-holder, idle in transaction); nothing was exported.`,
    );
    assert.deepEqual(listFiles(out), []);
  });

  it('warehouse tables --lock-timeout 2 likewise', () => {
    const r = run(['warehouse', 'tables', '--db', connectionUrl(db), '--lock-timeout', '2']);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(
      lines[lines.length - 1],
      `exit-plan: Timed out after 2 s waiting for a lock on "public"."orders" held by session ${holder.pid} ` +
        `(trust-holder, idle in transaction); no tables were listed.`,
    );
  });

  it('bounds a lock wait the export could not foresee (a view whose function reads a locked table) too', async () => {
    const out = tempDir();
    await assert.rejects(
      exportWarehouse({ connection: db, outDir: out, tables: ['order_total'], includeViews: true, lockTimeoutSeconds: 1 }),
      {
        message:
          'Timed out after 1 s waiting for a lock while reading "public"."order_total"; ' +
          'no archive was written and the partial file was removed.',
      },
    );
    assert.deepEqual(listFiles(out), []);
  });

  it('says while waiting which table and session hold it up, and a cancel stops the waiting server query', async () => {
    const waits: LockWait[] = [];
    const controller = new AbortController();
    const out = tempDir();
    const exporting = exportWarehouse({
      connection: db,
      outDir: out,
      signal: controller.signal,
      lockTimeoutSeconds: 0,
      onProgress: (p) => {
        if (p.waiting) waits.push(p.waiting);
      },
    });
    exporting.catch(() => undefined);
    await waitFor('the progress names the holder', () => waits.length > 0, 15_000);
    assert.deepEqual(waits[0], {
      table: 'public.orders',
      schema: 'public',
      name: 'orders',
      pid: holder.pid,
      application: 'trust-holder',
      state: 'idle in transaction',
    });
    assert.ok((await count(admin, EXPORT_BACKENDS, [db.database])) > 0);

    controller.abort();
    await assert.rejects(exporting, (err: Error) => {
      assert.ok(err instanceof CancelledError);
      assert.equal(err.message, 'Export cancelled; no archive was written.');
      return true;
    });
    // The holder still holds its lock: only a cancel on the server ends the export's waiting backend.
    await waitFor(
      'no export backend is left on the server',
      async () => (await count(admin, EXPORT_BACKENDS, [db.database])) === 0,
      15_000,
    );
    assert.deepEqual(listFiles(out), []);
  });

  it('warehouse tables likewise names the holder while waiting, and a cancel stops the waiting server query', async () => {
    const waits: (LockWait | undefined)[] = [];
    const controller = new AbortController();
    const listing = listWarehouseTables(db, { signal: controller.signal, lockTimeoutSeconds: 0, onProgress: (p) => waits.push(p.waiting) });
    listing.catch(() => undefined);
    await waitFor('the listing names the holder', () => waits.length > 0, 15_000);
    assert.equal(waits[0]?.table, 'public.orders');
    assert.equal(waits[0]?.pid, holder.pid);
    controller.abort();
    await assert.rejects(listing, (err: Error) => err instanceof CancelledError && err.message === 'Listing cancelled.');
    await waitFor(
      'no listing backend is left on the server',
      async () => (await count(admin, EXPORT_BACKENDS, [db.database])) === 0,
      15_000,
    );
  });
});

describe('trust: row-level security and privileges', () => {
  let db: PgConnectionOptions;

  before(async () => {
    db = await freshDatabase(
      'access',
      `CREATE ROLE trust_owner LOGIN PASSWORD 'pw';
       CREATE ROLE trust_filtered LOGIN PASSWORD 'pw';
       CREATE ROLE trust_bypass LOGIN BYPASSRLS PASSWORD 'pw';
       CREATE ROLE trust_columns LOGIN PASSWORD 'pw';
       CREATE TABLE public.notes (id int, author text, body text);
       INSERT INTO public.notes VALUES (1, 'trust_filtered', 'mine'), (2, 'someone', 'theirs'), (3, 'else', 'secret');
       ALTER TABLE public.notes OWNER TO trust_owner;
       ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY;
       CREATE POLICY own_notes ON public.notes USING (author = current_user);
       GRANT SELECT ON public.notes TO trust_filtered, trust_bypass;
       CREATE VIEW public.my_notes WITH (security_invoker = true) AS SELECT id, body FROM public.notes;
       GRANT SELECT ON public.my_notes TO trust_filtered;
       CREATE SCHEMA hidden;
       CREATE TABLE hidden.x (id int); INSERT INTO hidden.x VALUES (1);
       GRANT SELECT ON hidden.x TO trust_columns;
       CREATE TABLE public.people (id int, name text, ssn text);
       INSERT INTO public.people VALUES (1, 'Ada', '123-45-6789'), (2, 'Grace', '987-65-4321');
       GRANT SELECT (id, name) ON public.people TO trust_columns;`,
    );
  });

  const as = (user: string): PgConnectionOptions => ({ ...db, user, password: 'pw' });

  it('refuses a table whose row-level security filters the user, naming it, before writing anything', async () => {
    const out = tempDir();
    await assert.rejects(exportWarehouse({ connection: as('trust_filtered'), outDir: out, tables: ['notes'] }), {
      message:
        'Table "public"."notes" has row-level security and user "trust_filtered" cannot bypass it, ' +
        'so only part of its rows would be exported; ' +
        'export as the table owner or a role with BYPASSRLS; nothing was exported.',
    });
    assert.deepEqual(listFiles(out), []);
  });

  it('refuses a view that reads such a table, naming both', async () => {
    const out = tempDir();
    await assert.rejects(exportWarehouse({ connection: as('trust_filtered'), outDir: out, tables: ['my_notes'], includeViews: true }), {
      message:
        'Table "notes" (read by "public"."my_notes") has row-level security and user "trust_filtered" cannot bypass it, ' +
        'so only part of its rows would be exported; ' +
        'export as the table owner or a role with BYPASSRLS; no archive was written and the partial file was removed.',
    });
    assert.deepEqual(listFiles(out), []);
  });

  for (const user of ['trust_bypass', 'trust_owner', 'postgres']) {
    it(`exports every row when the role bypasses row-level security (${user})`, async () => {
      const result = await exportWarehouse({ connection: user === 'postgres' ? db : as(user), outDir: tempDir(), tables: ['notes'] });
      assert.equal(result.rows, 3);
      const { dir } = unzipArchive(result.archive);
      assert.equal(
        fs.readFileSync(path.join(dir, 'public', 'notes.csv'), 'utf8'),
        'id,author,body\n1,trust_filtered,mine\n2,someone,theirs\n3,else,secret\n',
      );
    });
  }

  it('names the schema when the user lacks USAGE on it, not SELECT on the table', async () => {
    const out = tempDir();
    await assert.rejects(exportWarehouse({ connection: as('trust_columns'), outDir: out, schemas: ['hidden'] }), {
      message:
        'User "trust_columns" has no USAGE permission on schema "hidden", which it needs to read table "hidden"."x"; nothing was exported.',
    });
    assert.deepEqual(listFiles(out), []);
  });

  it('exports a table readable through column grants when --exclude-columns leaves out the others', async () => {
    const result = await exportWarehouse({
      connection: as('trust_columns'),
      outDir: tempDir(),
      tables: ['people'],
      excludeColumns: ['ssn'],
    });
    assert.equal(result.rows, 2);
    const { dir, manifest } = unzipArchive(result.archive);
    assert.equal(fs.readFileSync(path.join(dir, 'public', 'people.csv'), 'utf8'), 'id,name\n1,Ada\n2,Grace\n');
    assert.deepEqual(manifest.tables[0].excludedColumns, ['ssn']);
  });

  it('says which columns are unreadable when they are not excluded', async () => {
    await assert.rejects(exportWarehouse({ connection: as('trust_columns'), outDir: tempDir(), tables: ['people'] }), {
      message:
        'User "trust_columns" may read only some columns of table "public"."people", not "ssn": ' +
        'leave those out with --exclude-columns (exitPlan.export.excludeColumns) or grant SELECT; nothing was exported.',
    });
  });
});
