import { editConnectionWizard } from './addAzureConnection';
import type { CommandContext } from './context';
import { azureConnectionFromArg } from './pickAzure';

/** The Add wizard over a saved connection's values (its secret is not asked again), then tested and saved. */
export async function editAzureConnection(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await azureConnectionFromArg(ctx, arg, 'Azure Storage connection to edit');
  if (!profile) return;
  await editConnectionWizard(ctx, profile);
}
