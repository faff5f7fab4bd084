// Rotation with restic's `forget` semantics (https://restic.readthedocs.io, "Removing snapshots according
// to a policy"), as a pure function: no file system, no clock unless given.
import { ExitPlanError } from '../shared/errors';
import { formatBytes } from '../shared/format';
import { compareNewestFirst, datedInFuture } from './names';
import type { VerificationState } from './sidecar';

/** Counts: a whole number ≥ 0, or -1 for "unlimited" (keep all of that kind). */
export interface RotationPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep every backup within this duration of the newest one, e.g. `1y5m7d2h`, `30d`. */
  keepWithin?: string;
  /**
   * Backups smaller than this are suspect: flagged, kept, and not counted by the policy, so a run of
   * broken (tiny) backups can never push good ones out.
   */
  minSizeBytes?: number;
}

export const COUNT_RULES = ['keepLast', 'keepHourly', 'keepDaily', 'keepWeekly', 'keepMonthly', 'keepYearly'] as const;
export type CountRule = (typeof COUNT_RULES)[number];

/** `keepDaily` → `keep-daily`: the rule as the CLI spells it, and as reasons name it. */
export function ruleFlag(rule: CountRule | 'keepWithin'): string {
  return rule.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** What rotation needs to know about a backup. */
export interface RotationCandidate {
  name: string;
  /** Backups rotate within their group (same kind and source), like restic's `--group-by`. */
  group: string;
  /** The minute in its name (UTC). */
  time: Date;
  /** When it started, precisely (from its sidecar), if known: orders backups within the same minute. */
  createdAt?: Date;
  bytes: number;
  state: VerificationState;
  /** false: no sidecar records it (a stray or copied-in file); undefined counts as recorded. */
  recorded?: boolean;
}

export interface RotationDecision<T extends RotationCandidate = RotationCandidate> {
  item: T;
  action: 'keep' | 'remove';
  /** The rules (or guards) that keep it; empty for `remove`. */
  reasons: string[];
  /** Why it does not count for the policy (too small, or failed verification). */
  suspect?: string;
}

export interface Duration {
  years: number;
  months: number;
  days: number;
  hours: number;
}

/** `1y5m7d2h`, `30d`, `12h`, … as in restic (y years, m months, d days, h hours, in any order). */
export function parseDuration(text: string): Duration {
  const s = text.trim();
  const d: Duration = { years: 0, months: 0, days: 0, hours: 0 };
  if (!/^(\d+[ymdh])+$/.test(s)) {
    throw new ExitPlanError(
      `The duration "${text}" is not valid: use a number of years, months, days and hours such as 1y6m, 30d or 12h (y, m, d, h).`,
    );
  }
  for (const m of s.matchAll(/(\d+)([ymdh])/g)) {
    const n = Number(m[1]);
    if (m[2] === 'y') d.years += n;
    else if (m[2] === 'm') d.months += n;
    else if (m[2] === 'd') d.days += n;
    else d.hours += n;
  }
  return d;
}

function isZero(d: Duration): boolean {
  return d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0;
}

/** `t` minus the duration, with calendar arithmetic (as Go's AddDate: 31 March − 1 month = 3 March). */
function subtractDuration(t: Date, d: Duration): Date {
  const r = new Date(t.getTime());
  r.setUTCFullYear(r.getUTCFullYear() - d.years, r.getUTCMonth() - d.months, r.getUTCDate() - d.days);
  return new Date(r.getTime() - d.hours * 3_600_000);
}

/** Throws one sentence when the policy keeps nothing by rule (restic refuses an empty policy too). */
export function checkPolicy(policy: RotationPolicy): void {
  for (const rule of COUNT_RULES) {
    const n = policy[rule];
    if (n !== undefined && (!Number.isInteger(n) || n < -1)) {
      throw new ExitPlanError(`--${ruleFlag(rule)} must be a whole number from 0 up, or "unlimited" (got ${n}).`);
    }
  }
  if (policy.minSizeBytes !== undefined && (!Number.isFinite(policy.minSizeBytes) || policy.minSizeBytes < 0)) {
    throw new ExitPlanError(`The minimum size must be a number of bytes from 0 up (got ${policy.minSizeBytes}).`);
  }
  const within = policy.keepWithin?.trim() ? parseDuration(policy.keepWithin) : undefined;
  if (COUNT_RULES.every((r) => !policy[r]) && (!within || isZero(within))) {
    throw new ExitPlanError(
      'The rotation policy is empty: give at least one of keep-last, keep-hourly, keep-daily, keep-weekly, keep-monthly, ' +
        'keep-yearly or keep-within ' +
        '(an empty policy would remove every backup, so it is refused).',
    );
  }
}

/** `keep-daily 7, keep-weekly 4, keep-within 30d; minimum size 1 MB` */
export function describePolicy(policy: RotationPolicy): string {
  const parts: string[] = [];
  for (const rule of COUNT_RULES) {
    const n = policy[rule];
    if (n) parts.push(`${ruleFlag(rule)} ${n === -1 ? 'unlimited' : n}`);
  }
  if (policy.keepWithin?.trim()) parts.push(`keep-within ${policy.keepWithin.trim()}`);
  const min = policy.minSizeBytes ? `; minimum size ${formatBytes(policy.minSizeBytes)}` : '';
  return `${parts.join(', ') || 'empty'}${min}`;
}

// Calendar buckets, in UTC (backup names are UTC). Weeks are ISO weeks: Monday 00:00 to Sunday 23:59.
const hourKey = (d: Date) => d.getUTCFullYear() * 1_000_000 + (d.getUTCMonth() + 1) * 10_000 + d.getUTCDate() * 100 + d.getUTCHours();
const dayKey = (d: Date) => d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
const monthKey = (d: Date) => d.getUTCFullYear() * 100 + (d.getUTCMonth() + 1);
const yearKey = (d: Date) => d.getUTCFullYear();

/** `YYYYWW` of the ISO week (the week belongs to the year of its Thursday). */
export function isoWeekKey(d: Date): number {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const weekday = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - weekday);
  const year = t.getUTCFullYear();
  const week = Math.floor((t.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 / 7) + 1;
  return year * 100 + week;
}

const BUCKETERS: Record<CountRule, (d: Date, nr: number) => number> = {
  keepLast: (_d, nr) => nr,
  keepHourly: hourKey,
  keepDaily: dayKey,
  keepWeekly: isoWeekKey,
  keepMonthly: monthKey,
  keepYearly: yearKey,
};

/**
 * Decides, per group, which backups a policy keeps and which it removes, with the rule(s) that keep
 * each one. Exactly restic's `forget` for the keep-* rules (rules ORed; a calendar rule keeps the newest
 * backup of each of its last n periods that have backups, and the oldest backup while it has counts
 * left; keep-within is relative to the newest backup not in the future), plus guards: the newest backup
 * and the newest verified backup of each group are never removed, and suspect backups (smaller than
 * `minSizeBytes`, failed verification, dated in the future, or without a sidecar in a group where others
 * have one) are kept, flagged, not counted, and never count as the newest.
 */
export function planRotation<T extends RotationCandidate>(
  items: readonly T[],
  policy: RotationPolicy,
  now: Date = new Date(),
): RotationDecision<T>[] {
  checkPolicy(policy);
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(item.group, [...(groups.get(item.group) ?? []), item]);
  const out: RotationDecision<T>[] = [];
  for (const group of [...groups.keys()].sort()) out.push(...planGroup(groups.get(group)!, policy, now));
  return out;
}

function planGroup<T extends RotationCandidate>(items: T[], policy: RotationPolicy, now: Date): RotationDecision<T>[] {
  const sorted = [...items].sort(compareNewestFirst);
  const anyRecorded = items.some((i) => i.recorded !== false);
  const decisions = sorted.map((item): RotationDecision<T> => ({
    item,
    action: 'remove',
    reasons: [],
    suspect: suspectReason(item, policy, now, anyRecorded),
  }));
  const good = decisions.filter((d) => !d.suspect);

  const within = policy.keepWithin?.trim() ? parseDuration(policy.keepWithin) : undefined;
  // restic: the newest snapshot that is not in the future.
  let latest = Number.NEGATIVE_INFINITY;
  for (const d of good) {
    const t = d.item.time.getTime();
    if (t > latest && t < now.getTime()) latest = t;
  }
  const withinLimit =
    within && !isZero(within)
      ? Number.isFinite(latest)
        ? subtractDuration(new Date(latest), within).getTime()
        : Number.NEGATIVE_INFINITY
      : undefined;

  const buckets = COUNT_RULES.map((rule) => ({ rule, count: policy[rule] ?? 0, last: Number.NaN }));
  good.forEach((d, nr) => {
    const t = d.item.time;
    if (withinLimit !== undefined && t.getTime() > withinLimit) d.reasons.push(`keep-within ${policy.keepWithin!.trim()}`);
    for (const b of buckets) {
      if (b.count > 0 || b.count === -1) {
        const value = BUCKETERS[b.rule](t, nr);
        const opensPeriod = value !== b.last;
        // restic also keeps the oldest backup while a rule still has counts left ("oldest").
        if (opensPeriod || nr === good.length - 1) {
          b.last = value;
          if (b.count > 0) b.count--;
          d.reasons.push(opensPeriod ? ruleFlag(b.rule) : `${ruleFlag(b.rule)} (oldest)`);
        }
      }
    }
  });

  for (const d of decisions) {
    if (d.suspect) d.reasons.push(`suspect: ${d.suspect}`);
  }
  // Guards: never the newest backup (suspects never count as the newest), never the newest verified one.
  const newest = decisions.find((d) => !d.suspect);
  if (newest && newest.reasons.length === 0) newest.reasons.push('newest backup');
  const newestVerified = decisions.find((d) => d.item.state === 'verified');
  if (newestVerified && newestVerified.reasons.length === 0) newestVerified.reasons.push('newest verified backup');
  for (const d of decisions) d.action = d.reasons.length > 0 ? 'keep' : 'remove';
  return decisions;
}

function suspectReason(item: RotationCandidate, policy: RotationPolicy, now: Date, anyRecorded: boolean): string | undefined {
  if (item.state === 'failed') return 'it failed verification; kept for inspection and not counted by the policy';
  const future = datedInFuture(item, now);
  if (future)
    return (
      `dated in the future (${future.toISOString().slice(0, 16).replace('T', ' ')} UTC); ` +
      `kept for inspection and not counted by the policy`
    );
  if (item.recorded === false && anyRecorded) {
    return (
      'no sidecar (.json) records it, while other backups of the same source have one; ' +
      'kept for inspection and not counted by the policy'
    );
  }
  if (policy.minSizeBytes && item.bytes < policy.minSizeBytes) {
    return (
      `smaller than the minimum size (${formatBytes(item.bytes)} < ${formatBytes(policy.minSizeBytes)}); ` +
      `kept for inspection and not counted by the policy`
    );
  }
  return undefined;
}

export interface RotationSummary {
  keep: number;
  remove: number;
  removeBytes: number;
  suspects: number;
}

export function summarizeRotation(decisions: readonly RotationDecision[]): RotationSummary {
  const removed = decisions.filter((d) => d.action === 'remove');
  return {
    keep: decisions.length - removed.length,
    remove: removed.length,
    removeBytes: removed.reduce((n, d) => n + d.item.bytes, 0),
    suspects: decisions.filter((d) => d.suspect).length,
  };
}
