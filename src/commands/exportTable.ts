import { ExitPlanError } from '../exporters';
import { isWarehouseNode } from '../views/warehouseTree';
import type { CommandContext } from './context';
import { runExport } from './runExport';

/** Exports one table (a table node's context menu), selected by its exact schema and name. */
export async function exportTable(ctx: CommandContext, arg?: unknown): Promise<void> {
  if (!isWarehouseNode(arg, 'table')) {
    throw new ExitPlanError('Export Table works on one table: right-click a table in the Warehouse view.');
  }
  const { profile, table } = arg;
  const isView = table.kind === 'view' || table.kind === 'materialized view';
  await runExport(ctx, {
    profile: ctx.connections.get(profile.name) ?? profile,
    label: `${table.schema}.${table.name}`,
    relations: [{ schema: table.schema, name: table.name }],
    // A view is only shown when views are included; export it even if the setting changed since.
    includeViews: isView || undefined,
  });
}
