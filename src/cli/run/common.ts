// Pieces the commands' implementations share (loaded when a command runs, not for its help).
// The --db option is in db.ts, so that commands without a database do not load the PostgreSQL client.
import { CancelledError } from '../../exporters/shared/errors';
import { printable } from '../../exporters/shared/format';

/**
 * Ctrl-C or SIGTERM (cron, systemd) cancels cleanly: the core stops its work and removes what it half-wrote.
 * A second signal exits at once. `dispose` stops listening.
 */
function cancelOnSignals(): AbortController & { dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new CancelledError());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return Object.assign(controller, {
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  });
}

/** Runs `work` with a signal that Ctrl-C or SIGTERM aborts (as `cancelOnSignals`), and stops listening when it ends. */
export async function withCancelOnSignals<T>(work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = cancelOnSignals();
  try {
    return await work(controller.signal);
  } finally {
    controller.dispose();
  }
}

/** Progress on stderr: a redrawn line on a terminal; plain lines (one per `key`, then every 10 s) otherwise. */
export class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY);
  private last = '';
  private lastKey = '';
  private lastPlain = 0;

  constructor(private readonly enabled: boolean) {}

  line(key: string, raw: string): void {
    if (!this.enabled) return;
    const text = printable(raw);
    if (this.tty) {
      const shown = text.slice(0, Math.max(20, (process.stderr.columns ?? 80) - 1));
      process.stderr.write(`\r${shown.padEnd(this.last.length)}`);
      this.last = shown;
    } else if (key !== this.lastKey || Date.now() - this.lastPlain >= 10_000) {
      process.stderr.write(`${text}\n`);
      this.lastKey = key;
      this.lastPlain = Date.now();
    }
  }

  end(): void {
    if (this.enabled && this.tty && this.last) process.stderr.write('\n');
    this.last = '';
  }
}
