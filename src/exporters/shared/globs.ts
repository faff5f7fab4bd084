import picomatch from 'picomatch';

/** A predicate that is true when a name matches any of the glob patterns (case-insensitive). */
export function globMatcher(patterns: readonly string[]): (name: string) => boolean {
  const cleaned = patterns.map((p) => p.trim()).filter((p) => p.length > 0);
  if (cleaned.length === 0) return () => false;
  // Names, not paths: `windows: false` keeps a backslash in a name from turning into a separator.
  const isMatch = picomatch(cleaned, { nocase: true, dot: true, windows: false });
  return (name) => isMatch(name);
}

/** Splits a comma-separated list ("a, b,c") into trimmed, non-empty items. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
