import { describe, expect, it } from 'vitest';
import { cronScheduleError, scheduleIssues, timeZoneError } from './schedule.js';

describe('cronScheduleError', () => {
  it.each([
    '0 2 * * *',
    '*/15 * * * *',
    '0 2 * * MON-FRI',
    '0 0 1,15 * *',
    '  30  4 * * 0  ',
    '@daily',
    '@hourly',
    '@weekly',
    '@monthly',
    '@yearly',
    '@annually',
    '@midnight',
  ])('accepts %j', (schedule) => {
    expect(cronScheduleError(schedule, 'UTC')).toBeUndefined();
  });

  it.each([
    ['', 'must not be empty'],
    ['0 0 2 * * *', 'has 6 fields, but a seconds field is not supported'],
    ['0 2 * *', 'has 4 fields: use five'],
    ['daily', 'has 1 field: use five'],
    ['@every 1h', 'uses "@every", which is not supported'],
    ['@reboot', 'is not a known macro'],
    ['@secondly', 'is not a known macro'],
    ['CRON_TZ=UTC 0 2 * * *', 'must not contain CRON_TZ= or TZ='],
    ['TZ=UTC 0 2 * * *', 'must not contain CRON_TZ= or TZ='],
    ['H 2 * * *', 'uses an H (hashed) value'],
    ['61 * * * *', 'is not a valid cron expression: Constraint error, got value 61 expected range 0-59'],
    ['0 25 * * *', 'expected range 0-23'],
    ['0 0 30 2 *', 'is not a valid cron expression: Invalid explicit day of month definition'],
    ['a b c d e', 'is not a valid cron expression'],
  ])('rejects %j', (schedule, message) => {
    expect(cronScheduleError(schedule, 'UTC')).toContain(message);
  });
});

describe('timeZoneError', () => {
  it.each(['UTC', 'Etc/UTC', 'Europe/Berlin', 'America/Los_Angeles', 'US/Pacific'])('accepts %s', (zone) => {
    expect(timeZoneError(zone)).toBeUndefined();
  });

  it.each([
    ['Mars/Olympus', 'is not known'],
    ['', 'is not known'],
    ['+01:00', 'is not known'],
    ['Local', 'is not allowed'],
    ['europe/berlin', 'is misspelt: names are case-sensitive, write "Europe/Berlin"'],
    ['utc', 'write "UTC"'],
  ])('rejects %j', (zone, message) => {
    expect(timeZoneError(zone)).toContain(message);
  });
});

describe('scheduleIssues', () => {
  const template = { includeClusterResources: 'auto' as const, ttl: '720h' };
  const spec = { schedule: '0 2 * * *', timeZone: 'UTC', paused: false, skipImmediately: false, template };

  it('finds nothing wrong with a good schedule', () => {
    expect(scheduleIssues(spec)).toEqual([]);
  });

  it('reports a bad zone without blaming a good expression', () => {
    expect(scheduleIssues({ ...spec, timeZone: 'Nowhere/Land' })).toEqual([
      {
        code: 'time-zone',
        path: ['spec', 'timeZone'],
        message: 'time zone "Nowhere/Land" is not known: use an IANA name such as "UTC" or "Europe/Berlin"',
      },
    ]);
  });

  it('reports a bad expression at spec.schedule', () => {
    expect(scheduleIssues({ ...spec, schedule: '0 0 2 * * *' })).toEqual([
      {
        code: 'cron',
        path: ['spec', 'schedule'],
        message:
          'schedule "0 0 2 * * *" has 6 fields, but a seconds field is not supported: use five fields (minute hour day-of-month month day-of-week)',
      },
    ]);
  });
});
