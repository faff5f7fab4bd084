// Pieces every `exit-plan` command group's definition shares (names, flags, help, argument parsers). These run in
// the small program that starts for every command (dist/cli.js), so they import only small modules of the core.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { printable } from '../exporters/shared/format';
import { DEFAULT_LOCK_TIMEOUT_SECONDS, checkLockTimeout } from '../exporters/shared/lockTimeout';

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
/** For an option given more than once: every value, in order. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];

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
