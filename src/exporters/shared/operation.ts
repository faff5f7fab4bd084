/**
 * The one contract of every core operation (warehouse export, azure size/sas/upload, datasets
 * process/export/report, backups create/create-files/verify/rotate/restore/drill):
 *
 * - it takes `OperationOptions<P>` (its own options extend it): an AbortSignal, a progress callback that gets
 *   structured data `P`, and a log callback for lines worth keeping (never secrets: the core masks them);
 * - it returns a typed result, or throws `ExitPlanError` (one sentence: what failed and what was left) or
 *   `CancelledError` when its signal aborts (after removing what it half-wrote);
 * - partial outcomes are results, never throws: when the operation did its work and found something wrong
 *   with what it checked (a backup that fails verification, a drill whose counts differ, a dataset that failed
 *   among several), it returns each item with `ok: false` and a one-sentence `message`, and the whole result's
 *   `ok` is true only when every item is. It throws only when it could not do the work at all (bad input,
 *   no connection, no disk space, a lock held elsewhere);
 * - each operation's module exports one `describe…Progress(p)` that turns its progress into the text both the
 *   CLI's progress line and VS Code's notification show, so the two cannot drift; where the share of the work
 *   done is known, `…ProgressFraction(p)` (0..1) drives VS Code's progress bar.
 */
export interface OperationOptions<P> {
  /** Aborting it cancels the operation: it stops its work, removes what it half-wrote and throws CancelledError. */
  signal?: AbortSignal;
  /** Structured progress (phase, item i/N, bytes, rows, label), throttled by the core. */
  onProgress?: (progress: P) => void;
  /** Lines worth keeping in a log (what was done, what was cleaned up). */
  log?: (line: string) => void;
}
