/**
 * How long an export, a backup or a restore drill waits for a table's lock (held, e.g., by a session idle in
 * a transaction after ALTER TABLE) before it stops with a sentence naming the table: `--lock-timeout`.
 */
export const DEFAULT_LOCK_TIMEOUT_SECONDS = 60;
