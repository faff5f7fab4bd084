import type { Client } from 'pg';
import { ExitPlanError, systemCode } from '../shared/errors';
import { qualifiedName, quoteIdent } from './catalog';
import { connect, type PgConnectionOptions } from '../postgres/connection';

/** A lock request that is waiting, and the session it waits for. */
export interface LockWait {
  /** The relation, as `schema.name`. */
  table: string;
  schema: string;
  name: string;
  /** The session that holds the lock (or, failing that, is ahead in the queue for it). */
  pid: number;
  /** Its application_name; '' when it set none. */
  application: string;
  /** Its state (`idle in transaction`, `active`, …); '' when this role may not see it. */
  state: string;
}

/** `SET lock_timeout` for a whole session: every statement (LOCK, COPY, catalog functions) waits at most this long for a lock. */
export function lockTimeoutSql(seconds: number): string {
  return `SET lock_timeout = '${seconds * 1000}ms'`;
}

/** The backend's pid, from the protocol's BackendKeyData (a `SELECT pg_backend_pid()` would take a snapshot). */
export function backendPid(client: Client): number {
  return (client as unknown as { processID: number }).processID;
}

/** Locks relations by name (LOCK takes no snapshot, so this may come before the transaction's first query). */
export function lockSql(relations: { schema: string; name: string }[]): string {
  return `LOCK TABLE ${relations.map((r) => qualifiedName(r.schema, r.name)).join(', ')} IN ACCESS SHARE MODE`;
}

/** Who a waiting backend waits for: a session holding a lock on the relation first, then any queued ahead of it. */
const WAITING_SQL = `
SELECT n.nspname AS schema, c.relname AS name, b.pid, coalesce(a.application_name, '') AS application, coalesce(a.state, '') AS state,
       pg_blocking_pids(b.pid) && $2::int[] AS behind_us
  FROM pg_locks l
  JOIN pg_class c ON c.oid = l.relation
  JOIN pg_namespace n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL unnest(pg_blocking_pids(l.pid)) AS b(pid)
  LEFT JOIN pg_stat_activity a ON a.pid = b.pid
 WHERE l.pid = $1 AND NOT l.granted AND l.locktype = 'relation'
 ORDER BY EXISTS (SELECT 1 FROM pg_locks h
                  WHERE h.pid = b.pid AND h.locktype = 'relation' AND h.relation = l.relation AND h.granted) DESC, b.pid`;

/** The same, for the sessions with an application name (a program of ours such as pg_dump, named so that it can be found). */
const WAITING_BY_APPLICATION_SQL = WAITING_SQL.replace(
  'WHERE l.pid = $1',
  'WHERE l.pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = $1)',
);

/**
 * Who holds an exclusive lock (after a timeout, when the wait was not seen): on one of the relations `$1`
 * (oids), or on the relation named `$3` (as PostgreSQL prints it), or, when both are null, on any relation
 * of this database; never one of the sessions `$2`.
 */
const HOLDER_SQL = `
SELECT n.nspname AS schema, c.relname AS name, h.pid, coalesce(a.application_name, '') AS application, coalesce(a.state, '') AS state
  FROM pg_locks h
  JOIN pg_class c ON c.oid = h.relation
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_stat_activity a ON a.pid = h.pid
 WHERE h.locktype = 'relation' AND h.granted AND h.mode = 'AccessExclusiveLock'
   AND h.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND ($1::oid[] IS NULL OR h.relation = ANY($1::oid[]))
   AND ($3::text IS NULL OR h.relation = to_regclass($3))
   AND NOT h.pid = ANY($2::int[]) AND h.pid <> pg_backend_pid()
 ORDER BY n.nspname, c.relname, h.pid
 LIMIT 1`;

type WaitRow = { schema: string; name: string; pid: number; application: string; state: string; behind_us?: boolean };

function toWait(r: WaitRow): LockWait {
  return { table: `${r.schema}.${r.name}`, schema: r.schema, name: r.name, pid: r.pid, application: r.application, state: r.state };
}

/** `session 1234 (psql, idle in transaction)`. */
function describeHolder(w: Pick<LockWait, 'pid' | 'application' | 'state'>): string {
  const about = [w.application ? quoteIdentIfOdd(w.application) : 'no application name', w.state].filter(Boolean).join(', ');
  return `session ${w.pid} (${about})`;
}

/** `Waiting for a lock on public.orders held by session 1234 (psql, idle in transaction)`: what progress shows. */
export function describeLockWait(w: LockWait): string {
  return `Waiting for a lock on ${w.table} held by ${describeHolder(w)}`;
}

/**
 * The sentence for a lock wait that ran out (without a tail): `Timed out after 60 s waiting for a lock on
 * "public"."orders" held by session 1234 (psql, idle in transaction)`.
 */
export function lockTimeoutText(seconds: number, wait: LockWait | undefined): string {
  const what = wait
    ? `a lock on ${qualifiedName(wait.schema, wait.name)} held by ${describeHolder(wait)}`
    : 'a lock held by another session';
  return `Timed out after ${seconds} s waiting for ${what}`;
}

/**
 * After a lock timeout that no watcher saw: who holds an exclusive lock on the relation named `relation`
 * (as PostgreSQL prints it, e.g. in pg_dump's message), or on any relation of the database. Asked on a new
 * connection; best effort (undefined when it cannot tell).
 */
export async function findLockHolder(conn: PgConnectionOptions, relation: string | undefined): Promise<LockWait | undefined> {
  const client = await connect(conn).catch(() => undefined);
  if (!client) return undefined;
  try {
    const r = await client.query<WaitRow>(HOLDER_SQL, [null, [], relation ?? null]);
    return r.rows[0] && toWait(r.rows[0]);
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Watches a session we do not drive ourselves (a pg_dump we started, named by its application_name): every
 * second, on a connection of its own, it says which table it waits for and which session holds it, and
 * undefined once it no longer waits. Best effort: a failing query only ends the watch.
 */
export function watchApplication(
  conn: PgConnectionOptions,
  application: string,
  onWaiting: (wait: LockWait | undefined) => void,
): { stop(): Promise<void> } {
  let stopped = false;
  let client: Client | undefined;
  let waiting: LockWait | undefined;
  let running: Promise<void> = Promise.resolve();
  const check = async () => {
    if (stopped) return;
    client ??= await connect(conn);
    const r = await client.query<WaitRow>(WAITING_BY_APPLICATION_SQL, [application, []]);
    const now = r.rows[0] && toWait(r.rows[0]);
    if (!stopped && JSON.stringify(now) !== JSON.stringify(waiting)) {
      waiting = now;
      onWaiting(now);
    }
  };
  const timer = setInterval(() => {
    running = running.then(check).catch(() => clearInterval(timer));
  }, 1000);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running.catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}

/** Application names are free text: printable ASCII words as they are, anything else quoted. */
function quoteIdentIfOdd(text: string): string {
  return /^[\w .:/@-]*$/.test(text) ? text : quoteIdent(text.replace(/[\x00-\x1f\x7f]/g, '?'));
}

/**
 * Another session asked for an exclusive lock between two of our connections' LOCKs: it waits for one of
 * ours and another of ours waits behind it. Nobody would move until the lock timeout; the caller rolls back
 * and starts over (the other session goes first).
 */
export class SelfBlockedError extends ExitPlanError {
  constructor(readonly wait: LockWait | undefined) {
    super(
      `Session ${wait?.pid ?? '?'} kept asking for an exclusive lock on ${wait ? qualifiedName(wait.schema, wait.name) : 'a table'} ` +
        `while the export was taking its locks; nothing was exported.`,
      '55P03',
    );
    this.name = 'SelfBlockedError';
  }
}

export interface WatchOptions {
  /** The session's lock_timeout, for the sentence. */
  timeoutSeconds: number;
  signal?: AbortSignal;
  /** Called with who holds the lock while the statement waits, and with undefined when it no longer waits. */
  onWaiting?: (wait: LockWait | undefined) => void;
  /** Relations the statement may wait for: after a timeout, whoever holds one exclusively is named. */
  candidates?: number[];
  /** Our own other sessions: waiting behind a session that waits for one of them is a SelfBlockedError. */
  ownPids?: number[];
  /** What the sentence ends with, e.g. `nothing was exported`. */
  tail: string;
}

/**
 * A second connection that watches statements of another session that may wait for locks: while one waits
 * it says every second which table and which session hold it up; a lock timeout becomes one sentence naming
 * both; and a cancel (AbortSignal) cancels the server's statement with pg_cancel_backend, because closing
 * the socket does not stop a backend that waits for a lock.
 */
export class LockWatcher {
  private constructor(private readonly client: Client) {}

  static async open(conn: PgConnectionOptions): Promise<LockWatcher> {
    return new LockWatcher(await connect(conn));
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  async run<T>(session: Client, work: () => Promise<T>, options: WatchOptions): Promise<T> {
    const pid = backendPid(session);
    const own = [pid, ...(options.ownPids ?? [])];
    let done = false;
    let waiting: LockWait | undefined;
    let lastSeen: LockWait | undefined;
    let selfBlocked = false;
    let cancelled: Promise<unknown> | undefined;
    const cancelServer = () => {
      cancelled ??= this.client.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
    };
    options.signal?.addEventListener('abort', cancelServer, { once: true });
    let wake = () => undefined as void;
    const poll = (async () => {
      let delay = 200;
      while (!done) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        delay = 1000;
        if (done) break;
        const r = await this.client.query<WaitRow>(WAITING_SQL, [pid, own]).catch(() => undefined);
        if (!r) break;
        if (done) break;
        const now = r.rows[0] && toWait(r.rows[0]);
        if (now) lastSeen = now;
        if (r.rows.some((row) => row.behind_us || (row.pid !== pid && own.includes(row.pid)))) {
          selfBlocked = true;
          cancelServer();
        }
        if (JSON.stringify(now) !== JSON.stringify(waiting)) {
          waiting = now;
          options.onWaiting?.(now);
        }
      }
    })();
    try {
      return await work();
    } catch (err) {
      if (options.signal?.aborted) throw err;
      if (selfBlocked && systemCode(err) === '57014') throw new SelfBlockedError(lastSeen);
      if (systemCode(err) === '55P03') throw await this.timeoutError(err, lastSeen, own, options);
      throw err;
    } finally {
      done = true;
      wake();
      options.signal?.removeEventListener('abort', cancelServer);
      await poll;
      await cancelled;
      if (waiting) options.onWaiting?.(undefined);
    }
  }

  private async timeoutError(err: unknown, seen: LockWait | undefined, own: number[], options: WatchOptions): Promise<ExitPlanError> {
    let wait = seen;
    if (!wait && options.candidates?.length) {
      const r = await this.client.query<WaitRow>(HOLDER_SQL, [options.candidates, own, null]).catch(() => undefined);
      if (r?.rows[0]) wait = toWait(r.rows[0]);
    }
    return new ExitPlanError(`${lockTimeoutText(options.timeoutSeconds, wait)}; ${options.tail}.`, '55P03', { cause: err });
  }
}
