import { ExitPlanError } from '../shared/errors';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
const WEEK = 7 * DAY;
/** The longest duration accepted: a schedule further apart than a century is a typo, and a date past it may not exist. */
const MAX_DAYS = 36_500;

/** The units export_manager accepts in `interval`, and their length. */
const UNITS: Record<string, number> = {
  w: WEEK,
  wk: WEEK,
  week: WEEK,
  weeks: WEEK,
  d: DAY,
  day: DAY,
  days: DAY,
  h: HOUR,
  hr: HOUR,
  hour: HOUR,
  hours: HOUR,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
};

/**
 * Parses a duration as export_manager does: "1 day", "1 day, 2 hours", "5 minutes 3 seconds", "1w2d3h5m4s".
 * Returns milliseconds; throws an ExitPlanError sentence for anything else.
 */
export function parseInterval(text: string): number {
  const part = /\s*(\d+)\s*([A-Za-z]+)\s*,?/y;
  let total = 0;
  let parts = 0;
  part.lastIndex = 0;
  while (part.lastIndex < text.length) {
    const at = part.lastIndex;
    const m = part.exec(text);
    if (!m) {
      if (text.slice(at).trim() === '') break;
      throw badInterval(text);
    }
    const unit = UNITS[m[2].toLowerCase()];
    if (unit === undefined) throw badInterval(text);
    total += Number(m[1]) * unit;
    parts++;
  }
  if (parts === 0) throw badInterval(text);
  if (!(total <= MAX_DAYS * DAY)) throw new ExitPlanError(`"${text}" is too long: a duration can be at most ${MAX_DAYS} days (100 years).`);
  return total;
}

function badInterval(text: string): ExitPlanError {
  return new ExitPlanError(`"${text}" is not a duration: write it like "1 day", "1 day, 2 hours" or "1w2d3h5m4s" (units w, d, h, m, s).`);
}

/** "2 days 3 hours", "5 minutes", "12 seconds": at most the two largest units, for messages. */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms / SECOND));
  const parts: string[] = [];
  for (const [size, name] of [
    [DAY / SECOND, 'day'],
    [HOUR / SECOND, 'hour'],
    [MINUTE / SECOND, 'minute'],
    [1, 'second'],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      parts.push(`${n} ${name}${n === 1 ? '' : 's'}`);
      rest -= n * size;
    } else if (parts.length > 0) {
      break;
    }
    if (parts.length === 2) break;
  }
  return parts.length > 0 ? parts.join(' ') : '0 seconds';
}
