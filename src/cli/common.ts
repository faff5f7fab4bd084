// Pieces every `exit-plan` command group shares.
import { InvalidArgumentError, Option } from 'commander';
import { CancelledError, connectionFromEnv, connectionFromUrl, formatCount, type PgConnectionOptions } from '../exporters';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../exporters/shared/lockTimeout';

/** `--db URL`, or the PG* environment variables when it is absent. */
export function connectionOption(db: string | undefined): PgConnectionOptions {
  return db ? connectionFromUrl(db) : connectionFromEnv();
}

/** A commander parser for a whole number from 1 (to `max`). */
export function positiveInt(max?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || (max !== undefined && n > max)) {
      throw new InvalidArgumentError(`expected a whole number from 1${max ? ` to ${max}` : ' up'}.`);
    }
    return n;
  };
}

/** `--lock-timeout SECONDS`: how long to wait for a lock another session holds (0: as long as it takes). */
export function lockTimeoutOption(): Option {
  return new Option('--lock-timeout <seconds>', 'give up when another session holds a lock on a table this long (0: wait as long as it takes)')
    .default(DEFAULT_LOCK_TIMEOUT_SECONDS)
    .argParser((value: string): number => {
      const n = value.trim() === '' ? NaN : Number(value);
      try {
        return checkLockTimeout(n);
      } catch {
        throw new InvalidArgumentError('expected a whole number of seconds, 0 or more.');
      }
    });
}

/**
 * Ctrl-C or SIGTERM (cron, systemd) cancels cleanly: the core stops its work and removes what it half-wrote.
 * A second signal exits at once. `dispose` stops listening.
 */
export function cancelOnSignals(): AbortController & { dispose(): void } {
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

/** Progress on stderr: a redrawn line on a terminal; plain lines (one per `key`, then every 10 s) otherwise. */
export class ProgressLine {
  private readonly tty = Boolean(process.stderr.isTTY);
  private last = '';
  private lastKey = '';
  private lastPlain = 0;

  constructor(private readonly enabled: boolean) {}

  line(key: string, text: string): void {
    if (!this.enabled) return;
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

export function plural(n: number, noun: string): string {
  return `${formatCount(n)} ${noun}${n === 1 ? '' : 's'}`;
}
