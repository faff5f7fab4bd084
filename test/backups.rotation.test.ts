// Rotation is a pure function, checked here against restic's documented examples ("Removing snapshots
// according to a policy", doc/060_forget.rst) reproduced on generated backup names, and the extra guards.
import * as assert from 'node:assert/strict';
import { backups } from '../src/exporters';

type Item = backups.RotationCandidate;

const DAY = 86_400_000;

/** A backup name for each time, parsed back (so the names themselves are part of the test). */
function named(times: Date[], options: { db?: string; bytes?: number; state?: backups.VerificationState } = {}): Item[] {
  return times.map((t) => {
    const name = backups.postgresBackupName(options.db ?? 'kobo', t);
    const parsed = backups.parseBackupName(name);
    assert.ok(parsed, name);
    return {
      name,
      group: backups.groupKey(parsed.kind, parsed.source),
      time: parsed.time,
      bytes: options.bytes ?? 10_000_000,
      state: options.state ?? 'unverified',
    };
  });
}

/** One backup a day at 02:00 UTC for every day of 2023 (365 names). */
function yearOfDailies(): Item[] {
  const times: Date[] = [];
  for (let t = Date.UTC(2023, 0, 1, 2, 0); t <= Date.UTC(2023, 11, 31, 2, 0); t += DAY) times.push(new Date(t));
  return named(times);
}

const day = (d: Date) => d.toISOString().slice(0, 10);

function kept(decisions: backups.RotationDecision[]): string[] {
  return decisions
    .filter((d) => d.action === 'keep')
    .map((d) => day(d.item.time))
    .sort();
}

function reasonsOf(decisions: backups.RotationDecision[], date: string): string[] | undefined {
  return decisions.find((d) => day(d.item.time) === date)?.reasons;
}

describe('backups: rotation (restic forget semantics)', () => {
  it('names backups as KoboToolbox does and reads the names back', () => {
    const t = new Date(Date.UTC(2024, 2, 5, 7, 9));
    assert.equal(backups.postgresBackupName('kobo', t), 'postgres_backup_kobo__2024.03.05.07_09.pg_restore');
    assert.equal(backups.filesBackupName('kobocat', t, false), 'kobocat_media__2024.03.05.07_09.tar');
    assert.equal(backups.filesBackupName('kobocat', t, true), 'kobocat_media__2024.03.05.07_09.tar.gz');
    assert.deepEqual(backups.parseBackupName('postgres_backup_my__db__2024.03.05.07_09-2.pg_restore'), {
      kind: 'postgres',
      source: 'my__db',
      time: t,
      gzip: false,
      copy: 2,
    });
    assert.equal(backups.parseBackupName('postgres_backup_kobo__2024.02.30.07_09.pg_restore'), undefined, 'no 30 February');
    assert.equal(backups.parseBackupName('postgres_backup_kobo__2024.03.05.07_09.pg_restore.partial'), undefined);
    assert.equal(backups.parseBackupName('notes.txt'), undefined);
    assert.equal(backups.fileSafeName('../../etc/passwd'), '%2E%2E%2F..%2Fetc%2Fpasswd', 'no name reaches outside the backup folder');
  });

  it('restic example: a backup every Sunday for 12 weeks, --keep-daily 4 keeps the last four Sundays', () => {
    const sundays = [
      '2019-09-01',
      '2019-09-08',
      '2019-09-15',
      '2019-09-22',
      '2019-09-29',
      '2019-10-06',
      '2019-10-13',
      '2019-10-20',
      '2019-10-27',
      '2019-11-03',
      '2019-11-10',
      '2019-11-17',
    ];
    const items = named(sundays.map((d) => new Date(`${d}T11:00:00Z`)));
    const decisions = backups.planRotation(items, { keepDaily: 4 }, new Date('2019-11-18T00:00:00Z'));
    assert.deepEqual(kept(decisions), ['2019-10-27', '2019-11-03', '2019-11-10', '2019-11-17']);
    assert.equal(decisions.filter((d) => d.action === 'remove').length, 8);
    for (const d of decisions.filter((x) => x.action === 'keep')) assert.deepEqual(d.reasons, ['keep-daily']);
  });

  it('restic example on a year of daily backups: --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75', () => {
    const items = yearOfDailies();
    assert.equal(items.length, 365);
    const decisions = backups.planRotation(
      items,
      { keepDaily: 7, keepWeekly: 5, keepMonthly: 12, keepYearly: 75 },
      new Date('2024-01-01T00:00:00Z'),
    );
    const daily = ['2023-12-25', '2023-12-26', '2023-12-27', '2023-12-28', '2023-12-29', '2023-12-30', '2023-12-31'];
    // "4 last-day-of-the-week ones (since the 7 dailies already include 1 weekly)": Sundays, weeks Monday to Sunday.
    const weekly = ['2023-12-03', '2023-12-10', '2023-12-17', '2023-12-24'];
    // "12 or 11 last-day-of-the-month snapshots": 11 here, December's is already a daily.
    const monthly = [
      '2023-01-31',
      '2023-02-28',
      '2023-03-31',
      '2023-04-30',
      '2023-05-31',
      '2023-06-30',
      '2023-07-31',
      '2023-08-31',
      '2023-09-30',
      '2023-10-31',
      '2023-11-30',
    ];
    // Yearly: the year's last backup (a daily already), and as counts are left, the oldest backup.
    const oldest = ['2023-01-01'];
    assert.deepEqual(kept(decisions), [...oldest, ...monthly, ...weekly, ...daily].sort());
    assert.equal(decisions.filter((d) => d.action === 'remove').length, 365 - 23);
    assert.deepEqual(reasonsOf(decisions, '2023-12-31'), ['keep-daily', 'keep-weekly', 'keep-monthly', 'keep-yearly']);
    assert.deepEqual(reasonsOf(decisions, '2023-12-24'), ['keep-weekly']);
    assert.deepEqual(reasonsOf(decisions, '2023-11-30'), ['keep-monthly']);
    assert.deepEqual(reasonsOf(decisions, '2023-01-01'), ['keep-yearly (oldest)']);
    assert.deepEqual(reasonsOf(decisions, '2023-06-15'), []);
  });

  it('keeps the oldest backup while a rule has counts left, marked "oldest" (restic note)', () => {
    const items = named([new Date('2024-05-01T10:00:00Z'), new Date('2024-05-01T09:00:00Z')]);
    const decisions = backups.planRotation(items, { keepDaily: 7 }, new Date('2024-05-02T00:00:00Z'));
    assert.deepEqual(
      decisions.map((d) => d.reasons),
      [['keep-daily'], ['keep-daily (oldest)']],
    );
  });

  it('keep-last keeps the n newest; keep-hourly the newest of each of the last n hours with backups', () => {
    const times: Date[] = [];
    for (let m = 0; m < 5 * 60; m += 20) times.push(new Date(Date.UTC(2024, 0, 1, 8, m)));
    const items = named(times); // 08:00 … 12:40, three per hour
    const last = backups.planRotation(items, { keepLast: 4 }, new Date('2024-02-01T00:00:00Z'));
    assert.deepEqual(
      last.filter((d) => d.action === 'keep').map((d) => d.item.time.toISOString().slice(11, 16)),
      ['12:40', '12:20', '12:00', '11:40'],
    );
    const hourly = backups.planRotation(items, { keepHourly: 3 }, new Date('2024-02-01T00:00:00Z'));
    assert.deepEqual(
      hourly.filter((d) => d.action === 'keep').map((d) => d.item.time.toISOString().slice(11, 16)),
      ['12:40', '11:40', '10:40'],
    );
  });

  it('puts weeks from Monday 00:00 to Sunday 23:59 (ISO weeks, across the new year)', () => {
    const items = named([new Date('2024-01-07T23:59:00Z'), new Date('2024-01-08T00:00:00Z'), new Date('2024-01-09T12:00:00Z')]);
    assert.deepEqual(kept(backups.planRotation(items, { keepWeekly: 2 }, new Date('2024-02-01T00:00:00Z'))), ['2024-01-07', '2024-01-09']);
    // Thursday 31 Dec 2020 and Sunday 3 Jan 2021 are both in week 53 of 2020; Monday 4 Jan starts week 1.
    assert.equal(backups.isoWeekKey(new Date('2020-12-31T12:00:00Z')), 202053);
    assert.equal(backups.isoWeekKey(new Date('2021-01-03T23:59:00Z')), 202053);
    assert.equal(backups.isoWeekKey(new Date('2021-01-04T00:00:00Z')), 202101);
    const boundary = named([new Date('2020-12-31T12:00:00Z'), new Date('2021-01-03T12:00:00Z'), new Date('2021-01-04T12:00:00Z')]);
    assert.deepEqual(kept(backups.planRotation(boundary, { keepWeekly: 2 }, new Date('2021-02-01T00:00:00Z'))), [
      '2021-01-03',
      '2021-01-04',
    ]);
  });

  it('keep-within is relative to the newest backup, with calendar months (Dec 31 − 1 month = Dec 1, as restic)', () => {
    const items = yearOfDailies();
    const later = new Date('2024-06-01T00:00:00Z');
    const week = backups.planRotation(items, { keepWithin: '7d' }, later);
    assert.deepEqual(kept(week), ['2023-12-25', '2023-12-26', '2023-12-27', '2023-12-28', '2023-12-29', '2023-12-30', '2023-12-31']);
    assert.deepEqual(reasonsOf(week, '2023-12-25'), ['keep-within 7d']);
    const month = backups.planRotation(items, { keepWithin: '1m' }, later);
    assert.equal(kept(month).length, 30);
    assert.equal(kept(month)[0], '2023-12-02');
    const mixed = backups.planRotation(items, { keepWithin: '1y' }, later);
    assert.equal(kept(mixed).length, 365, 'every backup of the year is after 31 Dec 2022 02:00');
    assert.deepEqual(backups.parseDuration('1y5m7d2h'), { years: 1, months: 5, days: 7, hours: 2 });
  });

  it('keep-within ignores backups dated in the future when finding the newest', () => {
    const items = named([new Date('2030-01-01T00:00:00Z'), new Date('2024-03-10T00:00:00Z'), new Date('2024-03-01T00:00:00Z')]);
    const decisions = backups.planRotation(items, { keepWithin: '5d' }, new Date('2024-03-11T00:00:00Z'));
    assert.deepEqual(kept(decisions), ['2024-03-10', '2030-01-01']);
  });

  it('"unlimited" keeps one backup of every period', () => {
    const items = yearOfDailies();
    const decisions = backups.planRotation(items, { keepMonthly: -1 }, new Date('2024-01-01T00:00:00Z'));
    // The last backup of each of the 12 months, and (restic keeps it while counts are left) the oldest.
    assert.equal(kept(decisions).length, 13);
    assert.deepEqual(reasonsOf(decisions, '2023-01-01'), ['keep-monthly (oldest)']);
    assert.deepEqual(reasonsOf(decisions, '2023-01-31'), ['keep-monthly']);
  });

  it('refuses an empty policy, and bad counts or durations, in one sentence', () => {
    const items = yearOfDailies();
    for (const policy of [{}, { keepDaily: 0, keepLast: 0 }, { minSizeBytes: 1000 }, { keepWithin: '0d' }, { keepWithin: '  ' }]) {
      assert.throws(() => backups.planRotation(items, policy), {
        message: /^The rotation policy is empty: give at least one of keep-last, .* so it is refused\)\.$/,
      });
    }
    assert.throws(() => backups.planRotation(items, { keepWithin: '1w' }), {
      message: 'The duration "1w" is not valid: use a number of years, months, days and hours such as 1y6m, 30d or 12h (y, m, d, h).',
    });
    assert.throws(() => backups.planRotation(items, { keepDaily: 1.5 }), { message: /^--keep-daily must be a whole number/ });
    assert.throws(() => backups.planRotation(items, { keepDaily: -2 }), { message: /^--keep-daily must be a whole number/ });
  });

  it('never removes the newest verified backup', () => {
    const items = [
      ...named([new Date('2024-03-03T02:00:00Z'), new Date('2024-03-02T02:00:00Z')]),
      ...named([new Date('2024-03-01T02:00:00Z')], { state: 'verified' }),
      ...named([new Date('2024-02-29T02:00:00Z')], { state: 'verified' }),
    ];
    const decisions = backups.planRotation(items, { keepLast: 1 }, new Date('2024-03-04T00:00:00Z'));
    assert.deepEqual(
      decisions.map((d) => [day(d.item.time), d.action, d.reasons]),
      [
        ['2024-03-03', 'keep', ['keep-last']],
        ['2024-03-02', 'remove', []],
        ['2024-03-01', 'keep', ['newest verified backup']],
        ['2024-02-29', 'remove', []],
      ],
    );
  });

  it('flags suspiciously small backups and never lets them push good ones out', () => {
    const good = named(
      [5, 4, 3, 2, 1].map((d) => new Date(Date.UTC(2024, 3, d, 2))),
      { bytes: 50_000_000 },
    );
    const tiny = named(
      [10, 9, 8, 7, 6].map((d) => new Date(Date.UTC(2024, 3, d, 2))),
      { bytes: 900 },
    );
    const now = new Date('2024-04-11T00:00:00Z');
    // Without the guard, five empty dumps in a row push every good backup out.
    const naive = backups.planRotation([...good, ...tiny], { keepDaily: 5 }, now);
    assert.deepEqual(kept(naive), ['2024-04-06', '2024-04-07', '2024-04-08', '2024-04-09', '2024-04-10']);
    const guarded = backups.planRotation([...good, ...tiny], { keepDaily: 3, minSizeBytes: 1_000_000 }, now);
    assert.deepEqual(
      guarded.map((d) => [day(d.item.time), d.action, d.suspect ? 'suspect' : d.reasons.join(',')]),
      [
        ['2024-04-10', 'keep', 'suspect'],
        ['2024-04-09', 'keep', 'suspect'],
        ['2024-04-08', 'keep', 'suspect'],
        ['2024-04-07', 'keep', 'suspect'],
        ['2024-04-06', 'keep', 'suspect'],
        ['2024-04-05', 'keep', 'keep-daily'],
        ['2024-04-04', 'keep', 'keep-daily'],
        ['2024-04-03', 'keep', 'keep-daily'],
        ['2024-04-02', 'remove', ''],
        ['2024-04-01', 'remove', ''],
      ],
    );
    assert.match(guarded[0].reasons[0], /^suspect: smaller than the minimum size \(900 B < 1\.0 MB\)/);
    // A backup that failed verification does not count either.
    const failed = named([new Date('2024-04-12T02:00:00Z')], { state: 'failed' });
    const withFailed = backups.planRotation([...failed, ...good], { keepLast: 2 }, now);
    assert.deepEqual(
      withFailed.filter((d) => d.action === 'keep').map((d) => day(d.item.time)),
      ['2024-04-12', '2024-04-05', '2024-04-04'],
    );
    assert.match(withFailed[0].suspect ?? '', /failed verification/);
  });

  it('treats a "-2" copy as newer than the backup of the same minute it was named after', () => {
    const t = new Date('2024-06-01T02:00:00Z');
    const first = backups.postgresBackupName('kobo', t);
    const second = first.replace('.pg_restore', '-2.pg_restore');
    const items: Item[] = [first, second].map((name) => ({
      name,
      group: 'postgres:kobo',
      time: backups.parseBackupName(name)!.time,
      bytes: 10,
      state: 'unverified',
    }));
    const decisions = backups.planRotation(items, { keepLast: 1 }, new Date('2024-06-02T00:00:00Z'));
    assert.deepEqual(
      decisions.map((d) => [d.item.name, d.action]),
      [
        [second, 'keep'],
        [first, 'remove'],
      ],
    );
  });

  it('rotates each database and each folder of files separately (like restic groups)', () => {
    const db = named([new Date('2024-01-03T02:00:00Z'), new Date('2024-01-02T02:00:00Z')], { db: 'kobo' });
    const other = named([new Date('2024-01-01T02:00:00Z')], { db: 'kpi' });
    const files: Item[] = [new Date('2024-01-03T03:00:00Z'), new Date('2024-01-01T03:00:00Z')].map((t) => ({
      name: backups.filesBackupName('media', t, true),
      group: backups.groupKey('files', 'media'),
      time: t,
      bytes: 1,
      state: 'unverified',
    }));
    const decisions = backups.planRotation([...db, ...other, ...files], { keepLast: 1 }, new Date('2024-01-04T00:00:00Z'));
    assert.deepEqual(
      decisions
        .filter((d) => d.action === 'keep')
        .map((d) => d.item.name)
        .sort(),
      [
        'media_media__2024.01.03.03_00.tar.gz',
        'postgres_backup_kobo__2024.01.03.02_00.pg_restore',
        'postgres_backup_kpi__2024.01.01.02_00.pg_restore',
      ],
    );
  });
});
