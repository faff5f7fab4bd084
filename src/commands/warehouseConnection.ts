import * as vscode from 'vscode';
import { CancelledError, ExitPlanError, describeConnection, errorMessage, serverVersion, type PgConnectionOptions } from '../exporters';
import type { WarehouseProfile } from '../services/connectionStore';
import type { CommandContext } from './context';
import { withErrorAction } from './errorActions';
import { executeCommand } from './invoke';
import { runOperation } from './runOperation';

/*
 * The one place where warehouse commands connect before their work and say how to fix a connection that
 * fails: every error about reaching or logging in to the server carries "Edit Connection" (and "Update
 * Password" when the password is the problem), and the Warehouse view learns the connection's state.
 */

/** What kind of connection problem an error is, or undefined when it is about something else. */
export type ConnectionProblem = 'password' | 'unreachable' | 'database';

const CANCELLED = 'Cancelled while connecting; nothing was changed.';

const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

export function connectionProblem(err: unknown): ConnectionProblem | undefined {
  if (!(err instanceof ExitPlanError) || err instanceof CancelledError) return undefined;
  if (err.code === '28P01' || err.code === '28000' || / asks user ".*" for a password, and none was given/.test(err.message))
    return 'password';
  if (err.code === '3D000') return 'database';
  if ((err.code && UNREACHABLE.has(err.code)) || /^Cannot reach PostgreSQL/.test(err.message)) return 'unreachable';
  return undefined;
}

/** A few words for the tree's description: "wrong password", "connection refused"… */
export function shortProblem(err: unknown): string {
  const code = err instanceof ExitPlanError ? err.code : undefined;
  switch (code) {
    case '28P01':
      return 'wrong password';
    case '28000':
      return 'login refused';
    case '3D000':
      return 'no such database';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      break;
  }
  const message = errorMessage(err);
  if (/for a password, and none was given/.test(message)) return 'no password saved';
  if (/timed out|did not answer/.test(message)) return 'no answer';
  return 'error';
}

/** Adds the fixes of a connection problem to `err` (Edit Connection; Update Password for a refused login). */
export function withConnectionFixes<E>(err: E, profile: WarehouseProfile): E {
  const problem = connectionProblem(err);
  return problem ? offerConnectionFixes(err, profile.name, problem === 'password') : err;
}

/**
 * Offers the fixes of the warehouse connection `name` on `err`: Edit Connection, and Update Password unless
 * the problem is known not to be the password. For work that failed while connecting (a backup's pg_dump, a
 * target's test), where the error does not always carry PostgreSQL's code.
 */
export function offerConnectionFixes<E>(err: E, name: string, password = true): E {
  withErrorAction(err, { title: 'Edit Connection', run: () => executeCommand('exitPlan.editWarehouseConnection', { name }) });
  if (password) withErrorAction(err, { title: 'Update Password', run: () => executeCommand('exitPlan.updateWarehousePassword', { name }) });
  return err;
}

/** Connects once and returns the server's version (the core's connection test); throws the core's sentence. */
export async function probeConnection(options: PgConnectionOptions, signal?: AbortSignal): Promise<string> {
  const { text } = await serverVersion(options);
  if (signal?.aborted) throw new CancelledError(CANCELLED);
  return text;
}

/**
 * Connects with a cancellable progress notification and returns the server's version; the view learns the
 * result. On failure throws the sentence with its fixes (withConnectionFixes). `password` overrides the saved one.
 */
export async function checkConnection(
  ctx: CommandContext,
  profile: WarehouseProfile,
  options: { title?: string; password?: string } = {},
): Promise<string> {
  const saved = await ctx.connections.connectionOptions(profile);
  const connection = options.password === undefined ? saved : { ...saved, password: options.password || undefined };
  const target = describeConnection(profile);
  try {
    const version = await runOperation(ctx, options.title ?? `connecting to ${target}…`, (op) =>
      abortable(probeConnection(connection, op.signal), op.signal),
    );
    ctx.warehouseTree.noteConnected(profile, version);
    return version;
  } catch (err) {
    if (err instanceof CancelledError || err instanceof vscode.CancellationError) throw err;
    ctx.log.warn(`Cannot connect to ${target}: ${errorMessage(err)}`);
    if (connectionProblem(err)) ctx.warehouseTree.noteFailed(profile, err);
    throw withConnectionFixes(err, profile);
  }
}

/** The work's result, or CancelledError as soon as `signal` aborts (a connect can take its 15 s timeout). */
function abortable<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError(CANCELLED));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
