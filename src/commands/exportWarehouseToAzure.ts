import { withAzureAccount } from './azureAccount';
import type { CommandContext } from './context';
import { azureConnectionFromArg, pickContainer } from './pickAzure';
import { connectionFromArg } from './pickConnection';
import { runExport } from './runExport';
import { checkConnection } from './warehouseConnection';

/** Exports every table of a warehouse straight into an Azure Storage container (no local copy). */
export async function exportWarehouseToAzure(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await connectionFromArg(ctx, arg, 'Warehouse to export');
  if (!profile) return;
  // Before the questions about Azure: a connection that does not work is said at once, with its fixes.
  await checkConnection(ctx, profile);
  const azureProfile = await azureConnectionFromArg(ctx, undefined, 'Storage account to upload the archive to');
  if (!azureProfile) return;
  // Listing the containers is the Azure connection's test: its errors offer Edit Connection / Update Secret.
  const { account, container } = await withAzureAccount(ctx, azureProfile, async (opened) => ({
    account: opened,
    container: await pickContainer(opened, 'Container for the archive'),
  }));
  if (container === undefined) return;
  await runExport(ctx, { profile, label: profile.name, upload: { account, container }, connectionChecked: true });
  // The archive is in the container now: the Azure Storage view shows it.
  ctx.azureTree.markConnected(azureProfile.name);
  ctx.azureTree.refreshConnection(azureProfile.name);
}
