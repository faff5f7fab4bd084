/** UTC timestamp as used in file names: YYYY-MM-DDTHHMMSSZ. */
export function utcStamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '');
}

/** Decimal units (1 KB = 1000 B); a negative amount (a change in size) keeps its sign. Also bundled into the report webviews. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(Math.abs(value) >= 100 ? 0 : 1)} ${units[unit]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** Calls fn at most once per interval; `flush` forces the pending call. */
export function throttle<T>(fn: (value: T) => void, intervalMs: number): { (value: T): void; flush(): void } {
  let last = 0;
  let pending: { value: T } | undefined;
  const call = (value: T) => {
    const now = Date.now();
    if (now - last >= intervalMs) {
      last = now;
      pending = undefined;
      fn(value);
    } else {
      pending = { value };
    }
  };
  call.flush = () => {
    if (pending) {
      const { value } = pending;
      pending = undefined;
      last = Date.now();
      fn(value);
    }
  };
  return call;
}
