// Reading a TOML file whose every problem is one sentence naming the file, the line and the key: the datasets'
// config.toml and the exit plan share it.
import TOML from '@iarna/toml';
import { ExitPlanError } from './errors';
import { lowerFirst } from './format';

/** Parses TOML; a syntax error is one sentence: `<file>, line L, column C is not valid TOML: <reason>.` */
export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return TOML.parse(text) as Record<string, unknown>;
  } catch (err) {
    const e = err as { line?: number; col?: number; message?: string };
    const reason = (e.message ?? String(err))
      .split('\n')[0]
      .replace(/\s+at row \d+, col \d+, pos \d+:?$/, '')
      .replace(/[.:]$/, '');
    const where = typeof e.line === 'number' ? `, line ${e.line + 1}${typeof e.col === 'number' ? `, column ${e.col + 1}` : ''}` : '';
    throw new ExitPlanError(`${file}${where} is not valid TOML: ${lowerFirst(reason)}.`, 'CONFIG', { cause: err });
  }
}

/** A thrower of `<file>, line L: <problem>.` with the line where `keyPath` is written (or `near`, when given). */
export function tomlProblem(text: string, file: string): (keyPath: string[], problem: string, near?: number) => never {
  return (keyPath, problem, near) => {
    const line = findKeyLine(text, keyPath, near);
    throw new ExitPlanError(`${file}${line ? `, line ${line}` : ''}: ${problem}.`, 'CONFIG');
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The 1-based line where a key is written (the TOML parser gives positions for syntax errors only):
 * `a.b.c = …`, `c = …` under `[a.b]`, or a `[a.b.c]` header. With `near` (a line, e.g. of an `[[array]]`
 * table's header), the first match at or after it. Best effort; undefined when not found.
 */
export function findKeyLine(text: string, keyPath: string[], near?: number): number | undefined {
  const lines = text.split(/\r?\n/);
  const key = (k: string) => `(?:${escapeRegExp(k)}|"${escapeRegExp(k)}"|'${escapeRegExp(k)}')`;
  const dotted = keyPath.map(key).join('\\s*\\.\\s*');
  const last = key(keyPath[keyPath.length - 1]);
  const patterns = [
    new RegExp(`^\\s*${dotted}\\s*=`),
    new RegExp(`^\\s*\\[\\[?\\s*${dotted}\\s*\\]`),
    new RegExp(`^\\s*(?:[^=#\\[]*\\.\\s*)?${last}\\s*=`),
    new RegExp(`^\\s*\\[\\[?[^\\]]*${last}\\s*\\]`),
  ];
  const from = near !== undefined ? Math.max(0, near - 1) : 0;
  for (const pattern of patterns) {
    const index = lines.findIndex((l, i) => i >= from && pattern.test(l));
    if (index >= 0) return index + 1;
  }
  return undefined;
}
