// One real PostgreSQL for the whole mocha run (root hooks in test/hooks.ts).
import { startPostgres, type RunningPostgres } from '../../scripts/lib/embeddedPostgres';

let running: Promise<RunningPostgres> | undefined;

export function postgres(): Promise<RunningPostgres> {
  running ??= startPostgres({ quiet: true });
  return running;
}

export async function stopPostgres(): Promise<void> {
  if (running) await (await running).stop();
  running = undefined;
}
