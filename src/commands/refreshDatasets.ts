import type { CommandContext } from './context';

/** Re-reads every dataset under the roots (tree, status bar and report). */
export function refreshDatasets(ctx: CommandContext): void {
  ctx.datasets.refresh();
}
