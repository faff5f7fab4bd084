/** UTC timestamp as used in file names: YYYY-MM-DDTHHMMSSZ. */
export function utcStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '');
}

const CONTROL_ESCAPES: Record<string, string> = { '\b': '\\b', '\t': '\\t', '\n': '\\n', '\v': '\\v', '\f': '\\f', '\r': '\\r' };

/**
 * Text safe to show on a terminal: C0 and C1 control characters and DEL become visible escapes (`\x1b`, `\n`,
 * `\x9b`), so a name holding an ESC sequence, a carriage return or a bell cannot recolour, rewrite or ring
 * the user's terminal, and a name holding a newline stays on its line. Used for every name, path and message
 * a human reads; JSON output is escaped by JSON itself (see jsonText).
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => CONTROL_ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * JSON for stdout: as JSON.stringify (which escapes C0 controls), plus DEL and the C1 controls as `\u` escapes,
 * so that even `--json` printed on a terminal cannot carry an 8-bit escape sequence. Parses to the same value.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\x7f-\x9f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
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

/** `1 table`, `12,345 rows`: a count and its noun, plural when it is not one. */
export function plural(n: number, noun: string, nouns = `${noun}s`): string {
  return `${formatCount(n)} ${n === 1 ? noun : nouns}`;
}

/** A time for people, in the machine's time zone, to the minute: `2026-11-30 14:05`. */
export function localTime(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/**
 * How long ago, for people, the one way every view says it: `just now` (under a minute, or a time in the
 * future after a clock jump), `5 min ago`, `3 h ago`, `2 days ago` (from 48 hours).
 */
export function formatAgo(ms: number): string {
  if (!(ms >= 60_000)) return 'just now';
  const min = Math.round(ms / 60_000);
  if (min < 60) return `${min} min ago`;
  const h = Math.round(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.round(h / 24)} days ago`;
}

/** A sentence made a clause: its first letter lowered, unless it starts an acronym or a name in capitals (`SHA-256`). */
export function lowerFirst(text: string): string {
  return text.length > 1 && /^[A-Z][a-z]/.test(text) ? text[0].toLowerCase() + text.slice(1) : text;
}
