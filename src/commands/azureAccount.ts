import { azure, isCancelled, maskSecrets, errorMessage, systemCode } from '../exporters';
import { NO_SECRET, needsSecret, type AzureProfile } from '../services/azureConnections';
import type { CommandContext } from './context';
import { withErrorAction } from './errorActions';
import { executeCommand } from './invoke';

/*
 * The one place where an Azure command's error about its connection (refused, unreachable, signed out, a
 * missing or wrong secret) gets its fixes, "Edit Connection" and "Update Secret", and where the Azure Storage
 * view learns whether the connection works.
 */

/** Error codes that say the connection itself is wrong or cannot be reached, not the thing asked for. */
const CONNECTION_CODES = new Set([
  NO_SECRET,
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  '403',
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'InvalidAuthenticationInfo',
]);

/** Whether an error (from the core or the store) is about the connection rather than one container or blob. */
export function isConnectionProblem(err: unknown): boolean {
  if (isCancelled(err)) return false;
  const code = systemCode(err);
  return code !== undefined && CONNECTION_CODES.has(code);
}

/** Adds "Edit Connection" (and "Update Secret" where the connection has one) to an error about the connection. */
export function connectionError(ctx: CommandContext, profile: AzureProfile, err: unknown, opening = false): unknown {
  if (isCancelled(err) || (!opening && !isConnectionProblem(err))) return err;
  ctx.azureTree.markFailed(profile.name, maskSecrets(errorMessage(err)));
  const ref = { connection: profile.name };
  withErrorAction(err, { title: 'Edit Connection', run: () => executeCommand('exitPlan.editAzureConnection', ref) });
  if (needsSecret(profile.kind) || profile.kind === 'microsoft') {
    const title = profile.kind === 'microsoft' ? 'Sign In Again' : 'Update Secret';
    withErrorAction(err, { title, run: () => executeCommand('exitPlan.updateAzureSecret', ref) });
  }
  return err;
}

/** Opens the connection's account (reads its secret, makes the client; nothing is sent yet). */
export async function openAzureAccount(ctx: CommandContext, profile: AzureProfile): Promise<azure.StorageAccount> {
  try {
    return await ctx.azureConnections.open(profile);
  } catch (err) {
    throw connectionError(ctx, profile, err, true);
  }
}

/**
 * Opens the connection's account and runs `work` with it. An error about the connection offers its fixes and
 * marks the connection in the tree; success marks it connected.
 */
export async function withAzureAccount<T>(
  ctx: CommandContext,
  profile: AzureProfile,
  work: (account: azure.StorageAccount) => Promise<T>,
): Promise<T> {
  const account = await openAzureAccount(ctx, profile);
  try {
    const result = await work(account);
    ctx.azureTree.markConnected(profile.name);
    return result;
  } catch (err) {
    throw connectionError(ctx, profile, err);
  }
}
