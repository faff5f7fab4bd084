import type { CommandContext } from './context';
import { connectionFromArg } from './pickConnection';
import { runExport } from './runExport';

/** Exports every table of a warehouse (from the palette, or a connection's context menu). */
export async function exportWarehouse(ctx: CommandContext, arg?: unknown): Promise<void> {
  const profile = await connectionFromArg(ctx, arg, 'Warehouse to export');
  if (profile) await runExport(ctx, { profile, label: profile.name });
}
