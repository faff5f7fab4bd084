/**
 * Runs `work` on every item with at most `concurrency` at once (`worker` says which of them: 0…concurrency-1),
 * items taken in order. Stops taking new items once `signal` aborts or a worker fails; the first failure is
 * thrown after the running ones have settled.
 */
export async function runPool<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number, worker: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (_: unknown, id: number) => {
    while (next < items.length && !failed && !signal?.aborted) {
      const index = next++;
      try {
        await work(items[index], index, id);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}
