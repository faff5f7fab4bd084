// Pieces every `exit-plan` command group shares.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { CancelledError, connectionFromEnv, connectionFromUrl, printable, urlHasPassword, type PgConnectionOptions } from '../../exporters';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../../exporters/shared/lockTimeout';

let warnedPasswordInUrl = false;

/**
 * `--db URL`, or the PG* environment variables when it is absent. A password inside the URL works, with one
 * warning on stderr (once per run): it shows in `ps` and the shell's history, PGPASSWORD does not.
 */
export function connectionOption(db: string | undefined): PgConnectionOptions {
  if (!db) return connectionFromEnv();
  const connection = connectionFromUrl(db);
  if (urlHasPassword(db) && !warnedPasswordInUrl) {
    warnedPasswordInUrl = true;
    process.stderr.write(
      'exit-plan: warning: the --db URL holds a password, which other users can see in `ps` and which stays in the shell history; ' +
        'give it in PGPASSWORD instead.\n',
    );
  }
  return connection;
}

/**
 * A bad option or argument prints commander's one-line error and a hint, not the whole usage text:
 * `error: option '--jobs <n>' argument 'x' is invalid. …` then `Run 'exit-plan warehouse export --help' for usage.`
 * Call it once every command is defined (each command gets the hint with its own name).
 */
export function oneLineUsageErrors(command: Command): void {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  command.showHelpAfterError(`Run '${names.join(' ')} --help' for usage.`);
  // Line by line: commander puts its "(Did you mean --jobs?)" on a line of its own.
  command.configureOutput({ outputError: (str, write) => write(`${str.replace(/\n+$/, '').split('\n').map(printable).join('\n')}\n`) });
  for (const sub of command.commands) oneLineUsageErrors(sub);
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
export function lockTimeoutOption(what = 'the export'): Option {
  return new Option(
    '--lock-timeout <seconds>',
    `how long ${what} waits for a table locked by another session before it stops, naming the table (0: wait as long as it takes)`,
  )
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
