import type { CommandContext } from './context';

/** Reads every target's backup folder again. */
export function refreshBackups(ctx: CommandContext): void {
  ctx.backups.refresh();
}
