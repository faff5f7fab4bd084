// Schedules: cron expressions checked with croner, due/overdue, and crontab lines.
import * as assert from 'node:assert/strict';
import { backups } from '../src/exporters';

describe('backups: schedules', () => {
  it('accepts crontab expressions and nicknames', () => {
    for (const expr of ['0 2 * * 0', '0 2 * * 7', '*/15 * * * *', '30 3 1 * *', '0 2 * * MON-FRI', '@daily', '@weekly', '@midnight']) {
      assert.equal(backups.validateSchedule(`  ${expr} `), expr);
    }
  });

  it('refuses a bad cron expression with a clear sentence', () => {
    assert.throws(() => backups.validateSchedule('61 * * * *'), {
      message:
        'The schedule "61 * * * *" is not a valid cron expression (Invalid value for minute: 61): ' +
        'use five fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * 0" for Sundays at 02:00.',
    });
    assert.throws(() => backups.validateSchedule('0 2 * *'), {
      message:
        'The schedule "0 2 * *" is not a cron expression crontab understands: ' +
        'use five fields (minute hour day-of-month month day-of-week), e.g. "0 2 * * 0" for Sundays at 02:00.',
    });
    // Six fields (seconds) work in croner but not in crontab, where the line must also run.
    assert.throws(() => backups.validateSchedule('0 0 2 * * *'), /is not a cron expression crontab understands/);
    assert.throws(() => backups.validateSchedule('every night'), /is not a cron expression crontab understands/);
    assert.throws(() => backups.validateSchedule('@reboot'), /is not a cron expression crontab understands/);
    assert.throws(() => backups.validateSchedule('0 25 * * *'), /is not a valid cron expression \(Invalid value for hour: 25\)/);
    assert.throws(() => backups.validateSchedule(''), /^ExitPlanError: The schedule is empty/);
  });

  it('finds the last and next run, and says when a backup is overdue', () => {
    const now = new Date('2024-05-15T10:50:00Z');
    // Every 30 minutes: the same instants whatever the machine's time zone (whole-hour or half-hour offsets).
    assert.equal(backups.previousRun('*/30 * * * *', now)?.toISOString(), '2024-05-15T10:30:00.000Z');
    assert.equal(backups.nextRun('*/30 * * * *', now)?.toISOString(), '2024-05-15T11:00:00.000Z');
    const fresh = backups.scheduleStatus('*/30 * * * *', new Date('2024-05-15T10:30:00Z'), now);
    assert.equal(fresh.overdue, false);
    const stale = backups.scheduleStatus('*/30 * * * *', new Date('2024-05-15T10:00:00Z'), now);
    assert.equal(stale.overdue, true, 'no backup since 10:30, and the 15-minute grace has passed');
    const justDue = backups.scheduleStatus('*/30 * * * *', new Date('2024-05-15T10:00:00Z'), new Date('2024-05-15T10:40:00Z'));
    assert.equal(justDue.overdue, false, 'within the grace period the run may still be going');
    assert.equal(backups.scheduleStatus('*/30 * * * *', undefined, now).overdue, true);
    // Weekly: the previous Sunday 02:00 local time is at most a week back.
    const weekly = backups.scheduleStatus('0 2 * * 0', undefined, now);
    assert.ok(weekly.previousRun && weekly.nextRun);
    assert.equal(weekly.nextRun.getTime() - weekly.previousRun.getTime(), 7 * 86_400_000);
    assert.ok(weekly.previousRun.getTime() <= now.getTime() && now.getTime() < weekly.nextRun.getTime());
    assert.equal(weekly.previousRun.getDay(), 0);
    assert.equal(weekly.graceMs, 3_600_000);
  });

  it('writes crontab lines: quoted for /bin/sh, % escaped, rotation only after a successful backup', () => {
    const line = backups.cronLine({
      schedule: '0 2 * * 0',
      command: ['/usr/bin/node', '/opt/exit plan/dist/cli.js'],
      createArgs: [
        'backups',
        'create',
        '--db',
        'postgres://backup@db:5432/kobo%2Dforms?sslmode=require',
        '--dir',
        "/srv/it's backups",
        '--quiet',
      ],
      rotateArgs: ['backups', 'rotate', '--dir', "/srv/it's backups", '--keep-daily', '7'],
    });
    assert.equal(
      line,
      `0 2 * * 0 /usr/bin/node '/opt/exit plan/dist/cli.js' backups create --db 'postgres://backup@db:5432/kobo\\%2Dforms?sslmode=require' --dir '/srv/it'\\''s backups' --quiet` +
        ` && /usr/bin/node '/opt/exit plan/dist/cli.js' backups rotate --dir '/srv/it'\\''s backups' --keep-daily 7`,
    );
    assert.throws(() => backups.cronLine({ schedule: '* * *', command: ['x'], createArgs: [] }), /crontab understands/);
  });
});
