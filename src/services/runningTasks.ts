/**
 * Long-running work the user started (exports, …), so that closing VS Code cancels it and waits for
 * its clean-up (the core removes half-written files when its signal aborts).
 */
export class RunningTasks {
  private readonly running = new Map<AbortController, Promise<unknown>>();

  /**
   * Runs `work` with a signal that aborts when `cancelAll` runs or when the caller's `signal` aborts (a progress
   * notification's Cancel); the callee gets only the signal, never something it could abort itself.
   */
  async run<T>(work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const controller = new AbortController();
    const abort = () => controller.abort(signal?.reason);
    if (signal?.aborted) abort();
    else signal?.addEventListener('abort', abort, { once: true });
    const task = work(controller.signal);
    this.running.set(controller, task);
    try {
      return await task;
    } finally {
      signal?.removeEventListener('abort', abort);
      this.running.delete(controller);
    }
  }

  /** Aborts everything still running and waits until each task has cleaned up. */
  async cancelAll(): Promise<void> {
    const tasks = [...this.running];
    for (const [controller] of tasks) controller.abort();
    await Promise.allSettled(tasks.map(([, task]) => task));
  }
}
