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
  previousRun?: Date;
  nextRun?: Date;
  /** No backup since the last scheduled time (once a grace period for the run itself has passed). */
  overdue: boolean;
  /** How long after a scheduled time a backup may still be missing without counting as overdue. */
  graceMs: number;
}

/** Is a backup due? Compares the newest backup's time with the schedule's last run before `now`. */
export function scheduleStatus(expression: string, lastBackup: Date | undefined, now: Date = new Date()): ScheduleStatus {
  const previous = previousRun(expression, now);
  const next = nextRun(expression, now);
  const interval = previous && next ? next.getTime() - previous.getTime() : 86_400_000;
  const graceMs = Math.min(3_600_000, interval / 2);
  const due = previous !== undefined && !doneSince(lastBackup, previous);
  return {
    schedule: validateSchedule(expression),
    previousRun: previous,
    nextRun: next,
    overdue: due && now.getTime() - previous!.getTime() > graceMs,
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
export function isDue(expression: string, newest: Date | undefined, options: { catchingUp: boolean; now?: Date }): boolean {
  const status = scheduleStatus(expression, newest, options.now);
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
