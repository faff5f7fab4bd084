import { ExitPlanError } from './errors';

/**
 * Seconds an export, a backup or a restore drill waits for a table lock that another session holds before it gives up with one sentence
 * naming the table and the session (pg_dump's `--lock-wait-timeout`, but on by default so nothing hangs).
 */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 60;

/** PostgreSQL's lock_timeout is an int of milliseconds. */
const MAX_LOCK_TIMEOUT_SECONDS = Math.floor(2_147_483_647 / 1000);

/** A lock timeout in whole seconds; 0 waits as long as it takes (PostgreSQL's meaning of lock_timeout = 0). */
export function checkLockTimeout(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_LOCK_TIMEOUT_SECONDS) {
    throw new ExitPlanError(
      `The lock timeout must be a whole number of seconds from 0 (wait as long as it takes) to ${MAX_LOCK_TIMEOUT_SECONDS} ` +
        `(got ${seconds}).`,
    );
  }
  return seconds;
}
