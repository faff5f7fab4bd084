/**
 * Long-running work the user started (exports, …), so that closing VS Code cancels it and waits for
 * its clean-up (the core removes half-written files when its signal aborts).
 */
export class RunningTasks {
  private readonly running = new Map<AbortController, Promise<unknown>>();

  /** Runs `work` with a signal that `cancelAll` (or the caller) can abort. */
  async run<T>(work: (signal: AbortSignal) => Promise<T>, controller = new AbortController()): Promise<T> {
    const task = work(controller.signal);
    this.running.set(controller, task);
    try {
      return await task;
    } finally {
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
