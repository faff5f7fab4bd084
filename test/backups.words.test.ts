// Schedules in plain words (next to their cron text in the tree, the report and the wizard) and the first
// backup of a new target: pending until its first scheduled time has passed, never "overdue" for a time
// before it was added.
import * as assert from 'node:assert/strict';
import { backups } from '../src/exporters';

describe('backups: schedules in words, first backup pending', () => {
  it('says a schedule in plain words', () => {
    const cases: [string, string][] = [
      ['0 2 * * *', 'every day at 02:00'],
      ['30 3 * * 1', 'every Monday at 03:30'],
      ['30 3 * * MON', 'every Monday at 03:30'],
      ['0 3 * * 0', 'every Sunday at 03:00'],
      ['0 3 * * 7', 'every Sunday at 03:00'],
      ['0 3 * * 1,4', 'every Monday and Thursday at 03:00'],
      ['0 3 * * 0,1', 'every Monday and Sunday at 03:00'],
      ['15 22 * * 1-5', 'every weekday (Monday to Friday) at 22:15'],
      ['0 9 * * 6,0', 'every Saturday and Sunday at 09:00'],
      ['0 */6 * * *', 'every 6 hours'],
      ['30 */2 * * *', 'every 2 hours, at minute 30'],
      ['15 * * * *', 'at minute 15 of every hour'],
      ['0,30 * * * *', 'at minute 0 and 30 of every hour'],
      ['0 * * * *', 'every hour'],
      ['*/15 * * * *', 'every 15 minutes'],
      ['* * * * *', 'every minute'],
      ['0 2,14 * * *', 'every day at 02:00 and 14:00'],
      ['0 1 1 * *', 'every month on the 1st at 01:00'],
      ['0 1 2,22 * *', 'every month on the 2nd and 22nd at 01:00'],
      ['0 1 11 * *', 'every month on the 11th at 01:00'],
      ['0 4 1 1 *', 'every year on the 1st of January at 04:00'],
      ['0 4 * 6 1', 'every Monday in June at 04:00'],
      ['@daily', 'every day at 00:00'],
      ['@midnight', 'every day at 00:00'],
      ['@hourly', 'every hour'],
      ['@weekly', 'every Sunday at 00:00'],
      ['@monthly', 'every month on the 1st at 00:00'],
      ['@yearly', 'every year on the 1st of January at 00:00'],
    ];
    for (const [cron, words] of cases) assert.equal(backups.describeSchedule(cron), words, cron);
  });

  it('falls back to the cron text when there are no simple words', () => {
    // Both day fields restricted: cron runs on either, which words would hide.
    assert.equal(backups.describeSchedule('0 2 1 * 1'), '0 2 1 * 1');
    assert.equal(backups.describeSchedule('0 1-23/2 * * *'), '0 1-23/2 * * *');
    assert.equal(backups.describeSchedule('*/5 2 * * *'), '*/5 2 * * *');
    assert.equal(backups.describeSchedule('not cron'), 'not cron');
    assert.equal(backups.scheduleText(' 0 2 * * * '), 'every day at 02:00 (0 2 * * *)');
    assert.equal(backups.scheduleText('0 2 1 * 1'), '0 2 1 * 1');
  });

  it('a target added after the last scheduled time is pending, not overdue, until its first scheduled time has passed', () => {
    // Every 30 minutes: the same instants whatever the machine's time zone.
    const added = new Date('2024-05-15T10:40:00Z');
    const now = new Date('2024-05-15T10:55:00Z');
    const pending = backups.scheduleStatus('*/30 * * * *', undefined, now, added);
    assert.equal(pending.overdue, false, 'the 10:30 run came before the target was added');
    assert.equal(pending.firstPending, true);
    assert.equal(pending.previousRun, undefined);
    assert.equal(pending.nextRun?.toISOString(), '2024-05-15T11:00:00.000Z');
    // Without the time it was added, the same target is overdue (settings written by hand).
    assert.equal(backups.scheduleStatus('*/30 * * * *', undefined, now).overdue, true);
    // Within the grace after its first scheduled time it is still pending…
    const inGrace = backups.scheduleStatus('*/30 * * * *', undefined, new Date('2024-05-15T11:10:00Z'), added);
    assert.deepEqual([inGrace.overdue, inGrace.firstPending], [false, true]);
    // …and overdue once the grace has passed with no backup.
    const missed = backups.scheduleStatus('*/30 * * * *', undefined, new Date('2024-05-15T11:20:00Z'), added);
    assert.deepEqual([missed.overdue, missed.firstPending], [true, false]);
    // A backup made: neither.
    const made = backups.scheduleStatus('*/30 * * * *', new Date('2024-05-15T11:00:30Z'), new Date('2024-05-15T11:20:00Z'), added);
    assert.deepEqual([made.overdue, made.firstPending], [false, false]);
    // Catching up after start-up skips a new target; the scheduled run itself still backs it up.
    assert.equal(backups.isDue('*/30 * * * *', undefined, { catchingUp: true, now, since: added }), false);
    assert.equal(backups.isDue('*/30 * * * *', undefined, { catchingUp: true, now }), true);
    assert.equal(
      backups.isDue('*/30 * * * *', undefined, { catchingUp: false, now: new Date('2024-05-15T11:00:00Z'), since: added }),
      true,
    );
  });

  it('reads addedAt from a target entry', () => {
    const target = backups.parseBackupTarget({
      name: 't',
      dir: '/b',
      folders: [{ name: 'f', path: '/f' }],
      addedAt: '2024-05-15T10:40:00Z',
    });
    assert.equal(target?.addedAt?.toISOString(), '2024-05-15T10:40:00.000Z');
    assert.equal(backups.parseBackupTarget({ name: 't', dir: '/b', addedAt: 'yesterday' })?.addedAt, undefined);
  });
});
