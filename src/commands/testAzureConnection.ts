import * as vscode from 'vscode';
import { azure, throwIfAborted } from '../exporters';
import { describeAzureProfile } from '../services/azureConnections';
import { describeContainerCount } from './addAzureConnection';
import { withAzureAccount } from './azureAccount';
import type { CommandContext } from './context';
import { azureConnectionFromArg } from './pickAzure';
import { runOperation } from './runOperation';

/**
 * Lists the account's containers (one page, cancellable) and says in one sentence whether the connection
 * works; a failure offers Edit Connection and Update Secret (azureAccount.ts). The tree shows the outcome.
 */
export async function testAzureConnection(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await azureConnectionFromArg(ctx, arg, 'Azure Storage connection to test');
  if (!profile) return;
  const target = describeAzureProfile(profile);
  // The test starts from the saved secret, not from a client made before it changed.
  ctx.azureConnections.reopen(profile.name);
  const page = await runOperation(ctx, `testing "${profile.name}" (${target})…`, (op) =>
    withAzureAccount(ctx, profile, async (account) => {
      const listed = await azure.listContainers(account);
      throwIfAborted(op.signal, 'Test connection cancelled.');
      return listed;
    }),
  );
  ctx.azureTree.refreshConnection(profile.name);
  ctx.log.info(`Test connection to "${profile.name}" (${target}): ${describeContainerCount(page)}`);
  void vscode.window.showInformationMessage(`Connected to "${profile.name}": ${target}, ${describeContainerCount(page)}.`);
}
