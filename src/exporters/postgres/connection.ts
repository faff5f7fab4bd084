import { Client, type ClientConfig } from 'pg';
import { ExitPlanError, systemCode } from '../shared/errors';

export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
export const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/** Where a warehouse lives. The password is only ever held in memory (SecretStorage or PG* env). */
export interface PgConnectionOptions {
  host: string;
  port: number;
  database: string;
  user: string;
  password?: string;
  sslmode?: SslMode;
}

type Env = Record<string, string | undefined>;

function parseSslMode(value: string | undefined): SslMode | undefined {
  if (value === undefined || value === '') return undefined;
  if ((SSL_MODES as readonly string[]).includes(value)) return value as SslMode;
  throw new ExitPlanError(`Unknown sslmode "${value}": use one of ${SSL_MODES.join(', ')}.`);
}

function parsePort(value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ExitPlanError(`The port "${value}" is not a number from 1 to 65535.`);
  }
  return port;
}

/** Connection from the PG* environment variables, with libpq's defaults. */
export function connectionFromEnv(env: Env = process.env): PgConnectionOptions {
  const user = env.PGUSER || env.USER || 'postgres';
  return {
    host: env.PGHOST || 'localhost',
    port: parsePort(env.PGPORT, 5432),
    database: env.PGDATABASE || user,
    user,
    password: env.PGPASSWORD || undefined,
    sslmode: parseSslMode(env.PGSSLMODE),
  };
}

/**
 * Connection from a `postgres://user@host:port/db?sslmode=…` URL; whatever the URL leaves out comes from the
 * PG* environment variables. A password in the URL is taken too (the CLI warns that it shows in `ps`).
 * Every problem is one sentence naming the part of the URL, never its value (it may be or hold the password).
 */
export function connectionFromUrl(url: string, env: Env = process.env): PgConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ExitPlanError(
      'The database URL is not valid: expected postgres://user@host:port/database, with a port from 1 to 65535 and any @, /, ?, # or % in the user name or password written as %40, %2F, %3F, %23 or %25.',
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ExitPlanError(`The database URL must start with postgres:// (got ${parsed.protocol}//).`);
  }
  if (!/^[a-z]+:\/\//i.test(url.trim())) {
    // `postgres:host/db` parses as a path: the host would silently be the default one.
    throw new ExitPlanError(`The database URL must start with ${parsed.protocol}// and then user@host:port/database.`);
  }
  const base = connectionFromEnv(env);
  const database = urlPart('database name', parsed.pathname.replace(/^\//, ''));
  const user = parsed.username ? urlPart('user name', parsed.username) : base.user;
  const hostParam = parsed.searchParams.get('host');
  if (hostParam?.includes('\0')) throw nulInUrl('host');
  return {
    host: parsed.hostname ? urlPart('host', parsed.hostname).replace(/^\[(.*)\]$/, '$1') : (hostParam ?? base.host),
    port: parsePort(parsed.port || undefined, base.port),
    database: database || (env.PGDATABASE ? base.database : user),
    user,
    password: parsed.password ? urlPart('password', parsed.password) : base.password,
    sslmode: parseSslMode(parsed.searchParams.get('sslmode') ?? undefined) ?? base.sslmode,
  };
}

/** Does this database URL carry a password (`postgres://user:secret@…`)? */
export function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** A %-decoded part of a database URL; a broken escape or a NUL is one sentence naming the part, not its value. */
function urlPart(what: 'user name' | 'password' | 'host' | 'database name', raw: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw new ExitPlanError(`The ${what} in the database URL has a % that does not start a valid escape: write a literal % as %25.`);
  }
  if (value.includes('\0')) throw nulInUrl(what);
  return value;
}

function nulInUrl(what: string): ExitPlanError {
  return new ExitPlanError(`The ${what} in the database URL contains %00 (a NUL character), which PostgreSQL does not allow.`);
}

/** `user@host:port/database`: safe to show and log (never the password). */
export function describeConnection(c: PgConnectionOptions): string {
  const host = c.host.includes(':') ? `[${c.host}]` : c.host;
  return `${c.user}@${host}:${c.port}/${c.database}`;
}

function clientConfig(c: PgConnectionOptions, ssl: boolean): ClientConfig {
  const mode = c.sslmode ?? 'prefer';
  let sslConfig: ClientConfig['ssl'] = false;
  if (ssl) {
    if (mode === 'verify-full') sslConfig = { rejectUnauthorized: true };
    else if (mode === 'verify-ca') sslConfig = { rejectUnauthorized: true, checkServerIdentity: () => undefined };
    else sslConfig = { rejectUnauthorized: false };
  }
  return {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    password: c.password ?? '',
    ssl: sslConfig,
    connectionTimeoutMillis: 15_000,
    application_name: 'exit-plan',
    keepAlive: true,
  };
}

/**
 * Opens a client. `prefer` and `allow` try TLS first and fall back to a plain connection when the
 * server does not offer TLS, as libpq does. Errors come back as one clear sentence.
 */
export async function connect(c: PgConnectionOptions): Promise<Client> {
  const mode = c.sslmode ?? 'prefer';
  const attempts = mode === 'disable' ? [false] : mode === 'prefer' || mode === 'allow' ? [true, false] : [true];
  let lastError: unknown;
  for (const ssl of attempts) {
    const client = new Client(clientConfig(c, ssl));
    // An idle client whose server goes away emits 'error'; without a listener that would crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
      return client;
    } catch (err) {
      lastError = err;
      await client.end().catch(() => undefined);
      const message = err instanceof Error ? err.message : '';
      if (!(ssl && /does not support SSL/i.test(message))) break;
    }
  }
  throw describePgError(lastError, c);
}

/** The server's version: `text` as people read it (`15.18`), `num` as server_version_num (`150018`). */
export interface ServerVersion {
  text: string;
  num: number;
}

/**
 * A connection's test: connects once, reads the server's version and closes. Errors come back as connect's
 * one sentence.
 */
export async function serverVersion(c: PgConnectionOptions): Promise<ServerVersion> {
  const client = await connect(c);
  try {
    const r = await client.query<{ v: string; n: string }>(
      `SELECT current_setting('server_version') AS v, current_setting('server_version_num') AS n`,
    );
    return { text: r.rows[0].v.split(' ')[0], num: Number(r.rows[0].n) };
  } catch (err) {
    throw describePgError(err, c);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * What a driver or server error means, in one sentence for the user. `context` names the relation being read
 * (and its kind: a view runs its query as it is read, so its errors are its own).
 */
export function describePgError(err: unknown, c: PgConnectionOptions, context?: { table?: string; kind?: string }): ExitPlanError {
  if (err instanceof ExitPlanError) return err;
  const code = systemCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const where = `${c.host}:${c.port}`;
  const make = (text: string) => new ExitPlanError(text, code, { cause: err });
  switch (code) {
    case 'ECONNREFUSED':
      return make(`Cannot reach PostgreSQL at ${where}: the connection was refused (is the server running on that port?).`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return make(`Cannot reach PostgreSQL: the host "${c.host}" was not found.`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return make(`Cannot reach PostgreSQL at ${where}: the host did not answer.`);
    case '28P01':
      return make(`PostgreSQL refused the password for user "${c.user}" (wrong password).`);
    case '28000':
      return make(`PostgreSQL refused the connection for user "${c.user}": ${message}.`);
    case '3D000':
      return make(`The database "${c.database}" does not exist on ${where}.`);
    case '42501':
      if (context?.table && context.kind === 'view') {
        return make(
          `The view ${context.table} cannot be read: ${message} ` +
            `(a view reads its tables with its owner's rights, so its owner needs SELECT on them).`,
        );
      }
      return make(
        context?.table
          ? `User "${c.user}" has no SELECT permission on table ${context.table}.`
          : `Permission denied for user "${c.user}": ${message}.`,
      );
    case '22021':
      // A SQL_ASCII database stores any bytes; read as UTF-8 they need not be valid.
      if (!context?.table) {
        // Outside a table's rows: a name or a definition read from the catalog, which --encoding does not convert.
        return make(
          `The database "${c.database}" has names or definitions (of schemas, tables, columns, defaults or constraints) ` +
            `that are not valid UTF-8 (${message}), as a SQL_ASCII database allows: rename or redefine them in ASCII or UTF-8.`,
        );
      }
      return make(
        `${context.kind === 'view' ? 'The view' : 'Table'} ${context.table} holds text that is not valid UTF-8 (${message}), ` +
          `as a SQL_ASCII database allows: ` +
          'name the encoding its text is written in with --encoding, e.g. LATIN1 or WIN1252 (as pg_dump --encoding).',
      );
    case '57P01':
    case '57P02':
    case '57P03':
    case 'ECONNRESET':
    case 'EPIPE':
      return make(`The connection to PostgreSQL was closed by the server during the export (${message}).`);
    case '57014':
      return make(`The server cancelled the query (${message}).`);
    default:
      break;
  }
  if (/timeout expired|connection timeout/i.test(message)) {
    return make(`Cannot reach PostgreSQL at ${where}: the connection timed out.`);
  }
  if (/Connection terminated/i.test(message)) {
    return make(`The connection to PostgreSQL was closed during the export (${message}).`);
  }
  // node-postgres's words when the server asks for a SCRAM password and the client has none (e.g. a
  // connection profile synced to a machine whose secret storage lacks its password).
  if (/client password must be a (non-empty )?string/i.test(message)) {
    return make(`PostgreSQL at ${where} asks user "${c.user}" for a password, and none was given.`);
  }
  const reason = message.replace(/\.$/, '');
  if (context?.table && context.kind === 'view') return make(`The view ${context.table} failed while it was read: ${reason}.`);
  if (context?.table) return make(`Reading ${context.kind ?? 'table'} ${context.table} failed: ${reason}.`);
  return make(`${reason}.`);
}
