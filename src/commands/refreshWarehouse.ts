import { isWarehouseNode } from '../views/warehouseTree';
import type { CommandContext } from './context';

/** Lists the tables again: of one connection (its context menu) or of all (the view's title bar). */
export function refreshWarehouse(ctx: CommandContext, arg?: unknown): void {
  ctx.warehouseTree.refresh(isWarehouseNode(arg, 'connection') ? arg : undefined);
}
