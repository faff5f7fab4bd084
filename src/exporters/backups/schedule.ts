import { Cron } from 'croner';
import { ExitPlanError } from '../shared/errors';
import { printable } from '../shared/format';

const NICKNAMES = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'];

/** The five fields as cron(8) (Vixie cron, Debian's) reads them: range and the names it knows. */
const FIELDS: { name: string; min: number; max: number; names?: string[] }[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

/**
 * Why cron(8) would reject this field, or undefined: a comma list of `*`, `n` or `n-m` (numbers, or month
 * and weekday names), each but a single number with an optional `/step`. croner also accepts `L`, `W`, `#`
 * and `?`, which cron does not: those are refused here rather than written into a crontab.
 */
function fieldProblem(text: string, field: (typeof FIELDS)[number]): string | undefined {
  const value = (v: string): number | undefined => {
    if (/^\d+$/.test(v)) return Number(v);
    const i = field.names?.indexOf(v.toLowerCase()) ?? -1;
    return i >= 0 ? i + (field.name === 'month' ? 1 : 0) : undefined;
  };
  for (const element of text.split(',')) {
    const m = /^(\*|[^-/]+(?:-[^-/]+)?)(?:\/(\d+))?$/.exec(element);
    if (!m) return `"${element}" in the ${field.name} field is not a number, a range or * (with an optional /step)`;
    if (m[2] !== undefined && Number(m[2]) < 1) return `the step in "${element}" (${field.name}) must be 1 or more`;
    if (m[1] === '*') continue;
    const [lo, hi] = m[1].split('-');
    if (hi === undefined && m[2] !== undefined)
      return `"${element}" (${field.name}) puts a step after a single value; cron needs a range or * before /`;
    for (const part of hi === undefined ? [lo] : [lo, hi]) {
      const n = value(part);
      if (n === undefined) return `"${part}" in the ${field.name} field is not something cron understands (no L, W, # or ?)`;
      if (n < field.min || n > field.max) return `Invalid value for ${field.name}: ${part}`;
    }
  }
  return undefined;
}

/**
 * Checks a cron expression as cron(8) reads a crontab (five fields: minute hour day-of-month month
 * day-of-week, or a nickname such as @daily); what cron would reject gets one sentence. Returns it trimmed,
 * with a nickname in lower case (cron knows `@daily`, not `@DAILY`).
 */
export function validateSchedule(expression: string): string {
  let expr = expression.trim().replace(/\s+/g, ' ');
  const example = 'use five fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * 0" for Sundays at 02:00';
  if (expr === '') throw new ExitPlanError(`The schedule is empty: ${example}.`);
  const nickname = expr.startsWith('@');
  if (nickname ? !NICKNAMES.includes(expr.toLowerCase()) : expr.split(' ').length !== 5) {
    throw new ExitPlanError(`The schedule "${expression}" is not a cron expression crontab understands: ${example}.`);
  }
  if (nickname) expr = expr.toLowerCase();
  const problem = nickname
    ? undefined
    : expr
        .split(' ')
        .map((f, i) => fieldProblem(f, FIELDS[i]))
        .find((p) => p !== undefined);
  if (problem) throw new ExitPlanError(`The schedule "${expression}" is not a valid cron expression (${problem}): ${example}.`);
  try {
    const cron = new Cron(nickname && expr === '@midnight' ? '@daily' : expr, { paused: true });
    if (!cron.nextRun(new Date())) throw new Error('it never runs');
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/^CronPattern:\s*/, '').replace(/\.$/, '');
    throw new ExitPlanError(`The schedule "${expression}" is not a valid cron expression (${reason}): ${example}.`);
  }
  return expr;
}

function cronOf(expression: string): Cron {
  const expr = validateSchedule(expression);
  return new Cron(expr.toLowerCase() === '@midnight' ? '@daily' : expr, { paused: true });
}

/** The next time the schedule fires after `from` (local time, as cron), or undefined if never. */
export function nextRun(expression: string, from: Date = new Date()): Date | undefined {
  return cronOf(expression).nextRun(from) ?? undefined;
}

/** The last time the schedule fired at or before `now`, looking back up to about 5 years. */
export function previousRun(expression: string, now: Date = new Date()): Date | undefined {
  const cron = cronOf(expression);
  for (const windowMs of [3_600_000, 86_400_000, 8 * 86_400_000, 32 * 86_400_000, 367 * 86_400_000, 5 * 366 * 86_400_000]) {
    let t = cron.nextRun(new Date(now.getTime() - windowMs));
    let last: Date | undefined;
    for (let i = 0; t && t.getTime() <= now.getTime() && i < 100_000; i++) {
      last = t;
      t = cron.nextRun(t);
    }
    if (last) return last;
  }
  return undefined;
}

export interface ScheduleStatus {
  schedule: string;
  /** The last scheduled time at or before now, unless it came before the target was added (`since`). */
  previousRun?: Date;
  nextRun?: Date;
  /** No backup since the last scheduled time (once a grace period for the run itself has passed). */
  overdue: boolean;
  /**
   * No backup yet, and no scheduled time since the target was added has passed (with its grace): the first
   * backup is still to come, at `nextRun`. Not a warning.
   */
  firstPending: boolean;
  /** How long after a scheduled time a backup may still be missing without counting as overdue. */
  graceMs: number;
}

/**
 * Is a backup due? Compares the newest backup's time with the schedule's last run before `now`. A scheduled
 * time before `since` (when the target was added) was never missed: a target added at noon with a nightly
 * schedule is not overdue, its first backup is pending.
 */
export function scheduleStatus(expression: string, lastBackup: Date | undefined, now: Date = new Date(), since?: Date): ScheduleStatus {
  const slot = previousRun(expression, now);
  const next = nextRun(expression, now);
  const interval = slot && next ? next.getTime() - slot.getTime() : 86_400_000;
  const graceMs = Math.min(3_600_000, interval / 2);
  const previous = slot && since && slot.getTime() < Math.floor(since.getTime() / 60_000) * 60_000 ? undefined : slot;
  const due = previous !== undefined && !doneSince(lastBackup, previous);
  const overdue = due && now.getTime() - previous!.getTime() > graceMs;
  return {
    schedule: validateSchedule(expression),
    previousRun: previous,
    nextRun: next,
    overdue,
    firstPending: lastBackup === undefined && !overdue,
    graceMs,
  };
}

/** Whether a backup was made for the scheduled time `slot`; backup names are to the minute, so one started within that minute counts. */
function doneSince(lastBackup: Date | undefined, slot: Date): boolean {
  return lastBackup !== undefined && lastBackup.getTime() >= Math.floor(slot.getTime() / 60_000) * 60_000;
}

/**
 * Whether a scheduled run should back up now, given the newest backup's time. When the schedule fires
 * (`catchingUp: false`), it is due unless a backup was made for this scheduled time already (another window
 * or cron made it); when catching up after start-up, only if it is overdue (past the grace period).
 */
export function isDue(expression: string, newest: Date | undefined, options: { catchingUp: boolean; now?: Date; since?: Date }): boolean {
  const status = scheduleStatus(expression, newest, options.now, options.catchingUp ? options.since : undefined);
  if (options.catchingUp) return status.overdue;
  return !status.previousRun || !doneSince(newest, status.previousRun);
}

/** Quotes a word for a POSIX shell (as cron runs its lines with /bin/sh). */
function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** In a crontab command, `%` means a new line unless escaped. */
function crontabEscape(command: string): string {
  return command.replace(/%/g, '\\%');
}

export interface CronLineOptions {
  schedule: string;
  /** The program and its leading arguments, e.g. [node, /opt/exit-plan/dist/cli.js]. */
  command: string[];
  /** `backups create …` arguments. */
  createArgs: string[];
  /** `backups rotate …` arguments, run after a successful backup; none when not given. */
  rotateArgs?: string[];
}

/** One crontab line: the schedule, the backup, and (only if it succeeded) the rotation. */
export function cronLine(options: CronLineOptions): string {
  const schedule = validateSchedule(options.schedule);
  // A crontab entry ends at a line break, even inside quotes: a folder or database name with one cannot be run from cron.
  const unfit = [...options.command, ...options.createArgs, ...(options.rotateArgs ?? [])].find((arg) => /[\x00-\x1f\x7f]/.test(arg));
  if (unfit !== undefined) {
    throw new ExitPlanError(
      `A crontab line cannot hold a line break or another control character, as ${printable(JSON.stringify(unfit))} does: ` +
        `choose a folder (and database) whose name has none.`,
    );
  }
  const run = (args: string[]) => [...options.command, ...args].map(shellQuote).join(' ');
  const commands = [run(options.createArgs)];
  if (options.rotateArgs) commands.push(run(options.rotateArgs));
  return `${schedule} ${crontabEscape(commands.join(' && '))}`;
}

const DAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const MONTH_NAMES = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
];
const NICKNAME_FIELDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** The values of a field that is a list of numbers, names and ranges (no steps, no `*`), sorted; else undefined. */
function fieldValues(text: string, field: (typeof FIELDS)[number]): number[] | undefined {
  const value = (v: string): number | undefined => {
    if (/^\d+$/.test(v)) return Number(v);
    const i = field.names?.indexOf(v.toLowerCase()) ?? -1;
    return i >= 0 ? i + (field.name === 'month' ? 1 : 0) : undefined;
  };
  const out = new Set<number>();
  for (const element of text.split(',')) {
    const [lo, hi, extra] = element.split('-');
    if (extra !== undefined || element.includes('/') || element === '*') return undefined;
    const a = value(lo);
    const b = hi === undefined ? a : value(hi);
    if (a === undefined || b === undefined || b < a) return undefined;
    for (let n = a; n <= b; n++) out.add(field.name === 'day of week' ? n % 7 : n);
  }
  return [...out].sort((x, y) => x - y);
}

/** "a", "a and b", "a, b and c". */
function listWords(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "1st", "2nd", "23rd", "11th". */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** Which days, in words: "every day", "every Monday", "every weekday (Monday to Friday)", "every month on the 1st". */
function daysWords(dom: string, month: string, dow: string): string | undefined {
  const months = month === '*' ? undefined : fieldValues(month, FIELDS[3]);
  if (month !== '*' && !months) return undefined;
  // cron runs on either restricted day field when both are: too subtle for words.
  if (dom !== '*' && dow !== '*') return undefined;
  const inMonths = months ? ` in ${listWords(months.map((m) => MONTH_NAMES[m - 1]))}` : '';
  if (dow !== '*') {
    const days = fieldValues(dow, FIELDS[4]);
    if (!days) return undefined;
    const key = days.join(',');
    if (key === '1,2,3,4,5') return `every weekday (Monday to Friday)${inMonths}`;
    if (key === '0,6') return `every Saturday and Sunday${inMonths}`;
    if (key === '0,1,2,3,4,5,6') return `every day${inMonths}`;
    // Monday first, as people list a week.
    const ordered = [...days.filter((d) => d !== 0), ...days.filter((d) => d === 0)];
    return `every ${listWords(ordered.map((d) => DAY_NAMES[d]))}${inMonths}`;
  }
  if (dom !== '*') {
    const dates = fieldValues(dom, FIELDS[2]);
    if (!dates) return undefined;
    const on = `on the ${listWords(dates.map(ordinal))}`;
    return months ? `every year ${on} of ${listWords(months.map((m) => MONTH_NAMES[m - 1]))}` : `every month ${on}`;
  }
  return months ? `every day${inMonths}` : 'every day';
}

/**
 * A schedule in plain words, for people ("every day at 02:00", "every Monday at 03:30", "every 6 hours",
 * "at minute 15 of every hour", "every 15 minutes"); the cron text itself when it has no simple reading
 * (or is not valid). Times are local, as cron's.
 */
export function describeSchedule(expression: string): string {
  let expr: string;
  try {
    expr = validateSchedule(expression);
  } catch {
    return expression.trim();
  }
  const [minute, hour, dom, month, dow] = (NICKNAME_FIELDS[expr] ?? expr).split(' ');
  const fallback = expr;
  const everyDay = dom === '*' && month === '*' && dow === '*';
  const step = (text: string) => /^(?:\*|0)\/(\d+)$/.exec(text)?.[1];
  // Minutes: "* * * * *", "*/15 * * * *".
  if (hour === '*' && everyDay) {
    if (minute === '*') return 'every minute';
    const every = step(minute);
    if (every) return Number(every) === 1 ? 'every minute' : `every ${every} minutes`;
    const minutes = fieldValues(minute, FIELDS[0]);
    if (!minutes) return fallback;
    if (minutes.length === 1 && minutes[0] === 0) return 'every hour';
    return `at minute ${listWords(minutes.map(String))} of every hour`;
  }
  const minutes = fieldValues(minute, FIELDS[0]);
  if (!minutes) return fallback;
  // Hours: "0 */6 * * *".
  const everyHours = step(hour);
  if (everyHours && everyDay) {
    const n = Number(everyHours);
    const base = n === 1 ? 'every hour' : `every ${n} hours`;
    if (minutes.length === 1 && minutes[0] === 0) return base;
    return `${base}, at minute ${listWords(minutes.map(String))}`;
  }
  const hours = fieldValues(hour, FIELDS[1]);
  if (!hours || hours.length * minutes.length > 6) return fallback;
  const times = hours.flatMap((h) => minutes.map((m) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`));
  const days = daysWords(dom, month, dow);
  return days ? `${days} at ${listWords(times)}` : fallback;
}

/** A schedule for a line of text: its words and, when they differ, the cron text ("every day at 02:00 (0 2 * * *)"). */
export function scheduleText(expression: string): string {
  const words = describeSchedule(expression);
  const cron = expression.trim();
  return words === cron ? cron : `${words} (${cron})`;
}
