import * as vscode from 'vscode';
import { maskSecrets } from '../exporters';
import type { CommandContext } from './context';

/** What long work gets from `runOperation`. */
export interface OperationHandle {
  /** Aborts when the user presses Cancel or VS Code closes; pass it to the core (or a service) as `signal`. */
  readonly signal: AbortSignal;
  /** Shows a line of progress (the core's describe…Progress text); `fraction` (0..1) moves the bar when known. */
  report(message: string, fraction?: number): void;
  /** Logs a line to the Exit Plan output, secrets masked. */
  log(line: string): void;
}

/**
 * The one way a command runs long work: a cancellable progress notification titled `Exit Plan: <title>`,
 * Cancel aborting the signal, the work registered in RunningTasks (closing VS Code cancels it and waits for its
 * clean-up). Errors and cancellation propagate to the command wrapper, which shows them.
 */
export function runOperation<T>(ctx: CommandContext, title: string, work: (op: OperationHandle) => Promise<T>): Promise<T> {
  return Promise.resolve(
    vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Exit Plan: ${title}`, cancellable: true },
      async (progress, token) => {
        const cancel = new AbortController();
        const onCancel = token.onCancellationRequested(() => cancel.abort());
        let shown = 0;
        try {
          return await ctx.tasks.run(
            (signal) =>
              work({
                signal,
                report: (message, fraction) => {
                  const percent = fraction === undefined ? shown : Math.min(100, Math.max(0, fraction * 100));
                  progress.report({ message, increment: Math.max(0, percent - shown) });
                  shown = Math.max(shown, percent);
                },
                log: (line) => ctx.log.info(maskSecrets(line)),
              }),
            cancel.signal,
          );
        } finally {
          onCancel.dispose();
        }
      },
    ),
  );
}
