import { describe, expect, it } from 'vitest';
import { isDue, nextRunAfter, parseCron, ScheduleError } from './schedule.js';
import type { ScheduleTiming } from './schedule.js';

const t = (iso: string) => new Date(iso);

describe('parseCron', () => {
  it.each([
    { cron: '0 2 * * *', timeZone: undefined, expression: '0 2 * * *', zone: 'UTC' },
    {
      cron: '  0   2 * *   1-5 ',
      timeZone: 'Europe/Berlin',
      expression: '0 2 * * 1-5',
      zone: 'Europe/Berlin',
    },
    { cron: '@daily', timeZone: undefined, expression: '0 0 * * *', zone: 'UTC' },
    { cron: '@midnight', timeZone: undefined, expression: '0 0 * * *', zone: 'UTC' },
    { cron: '@hourly', timeZone: undefined, expression: '0 * * * *', zone: 'UTC' },
    { cron: '@weekly', timeZone: undefined, expression: '0 0 * * 0', zone: 'UTC' },
    { cron: '@monthly', timeZone: undefined, expression: '0 0 1 * *', zone: 'UTC' },
    { cron: '@yearly', timeZone: undefined, expression: '0 0 1 1 *', zone: 'UTC' },
    { cron: '@annually', timeZone: undefined, expression: '0 0 1 1 *', zone: 'UTC' },
    {
      cron: 'CRON_TZ=Asia/Tokyo 0 2 * * *',
      timeZone: undefined,
      expression: '0 2 * * *',
      zone: 'Asia/Tokyo',
    },
    { cron: 'TZ=Asia/Tokyo @daily', timeZone: 'Asia/Tokyo', expression: '0 0 * * *', zone: 'Asia/Tokyo' },
  ])('reads "$cron" in $timeZone', ({ cron, timeZone, expression, zone }) => {
    expect(parseCron(cron, timeZone)).toEqual({ expression, timeZone: zone });
  });

  it.each([
    { cron: '0 2 * *', timeZone: undefined, message: /expected 5 fields .* got 4/ },
    { cron: '0 0 2 * * *', timeZone: undefined, message: /expected 5 fields .* got 6/ },
    { cron: '', timeZone: undefined, message: /expected 5 fields .* got 0/ },
    { cron: '@every 1h', timeZone: undefined, message: /unknown descriptor/ },
    { cron: '@reboot', timeZone: undefined, message: /unknown descriptor/ },
    { cron: '@secondly', timeZone: undefined, message: /unknown descriptor/ },
    { cron: '61 2 * * *', timeZone: undefined, message: /invalid cron expression "61 2 \* \* \*"/ },
    { cron: '0 0 30 2 *', timeZone: undefined, message: /invalid cron expression/ },
    { cron: '0 2 * * *', timeZone: 'Mars/Olympus', message: /unknown time zone "Mars\/Olympus"/ },
    {
      cron: 'CRON_TZ=Asia/Tokyo 0 2 * * *',
      timeZone: 'Europe/Berlin',
      message: /names zone Asia\/Tokyo but/,
    },
  ])('rejects "$cron" in $timeZone', ({ cron, timeZone, message }) => {
    expect(() => parseCron(cron, timeZone)).toThrow(ScheduleError);
    expect(() => parseCron(cron, timeZone)).toThrow(message);
  });
});

describe('nextRunAfter', () => {
  it('answers a repeated question alike, with a Date of its own each time', () => {
    const first = nextRunAfter('7 7 1 1 *', 'Europe/Berlin', new Date('2026-12-04T12:00:00Z'));
    expect(first.toISOString()).toBe('2027-01-01T06:07:00.000Z');
    first.setTime(0); // a caller changing its answer changes no later one
    const again = nextRunAfter('7 7 1 1 *', 'Europe/Berlin', new Date('2026-12-04T12:00:00Z'));
    expect(again.toISOString()).toBe('2027-01-01T06:07:00.000Z');
    expect(again).not.toBe(first);
  });

  it.each([
    {
      what: 'daily, later the same day',
      cron: '0 2 * * *',
      tz: undefined,
      after: '2025-03-29T01:00:00Z',
      next: '2025-03-29T02:00:00Z',
    },
    {
      what: 'strictly after: at the slot itself',
      cron: '0 2 * * *',
      tz: 'UTC',
      after: '2025-03-29T02:00:00Z',
      next: '2025-03-30T02:00:00Z',
    },
    {
      what: 'strictly after: within the slot second',
      cron: '0 2 * * *',
      tz: 'UTC',
      after: '2025-03-29T02:00:00.500Z',
      next: '2025-03-30T02:00:00Z',
    },
    {
      what: 'a weekly descriptor (Sunday)',
      cron: '@weekly',
      tz: 'UTC',
      after: '2025-03-26T12:00:00Z',
      next: '2025-03-30T00:00:00Z',
    },
    // Berlin springs forward at 02:00 CET on 30 March 2025: 02:30 does not exist that day,
    // and the run moves to 03:30 CEST (01:30Z) instead of being lost.
    {
      what: 'Berlin, the slot in the skipped hour',
      cron: '30 2 * * *',
      tz: 'Europe/Berlin',
      after: '2025-03-29T12:00:00Z',
      next: '2025-03-30T01:30:00Z',
    },
    {
      what: 'Berlin, the day after spring-forward',
      cron: '30 2 * * *',
      tz: 'Europe/Berlin',
      after: '2025-03-30T01:30:00Z',
      next: '2025-03-31T00:30:00Z',
    },
    // Berlin falls back at 03:00 CEST on 26 October 2025: 02:30 happens twice; the job runs
    // at the first one (00:30Z) and next on the 27th.
    {
      what: 'Berlin, the repeated hour: first occurrence',
      cron: '30 2 * * *',
      tz: 'Europe/Berlin',
      after: '2025-10-25T12:00:00Z',
      next: '2025-10-26T00:30:00Z',
    },
    {
      what: 'Berlin, the repeated hour: not twice',
      cron: '30 2 * * *',
      tz: 'Europe/Berlin',
      after: '2025-10-26T00:30:00Z',
      next: '2025-10-27T01:30:00Z',
    },
    {
      what: 'Berlin hourly across fall-back: every real hour',
      cron: '0 * * * *',
      tz: 'Europe/Berlin',
      after: '2025-10-26T00:00:00Z',
      next: '2025-10-26T01:00:00Z',
    },
    // Kiritimati is UTC+14: 02:00 local on 31 March is 12:00Z on 30 March.
    {
      what: 'a zone 14 hours ahead of UTC',
      cron: '0 2 * * *',
      tz: 'Pacific/Kiritimati',
      after: '2025-03-29T12:00:00Z',
      next: '2025-03-30T12:00:00Z',
    },
    // Pago Pago is UTC-11: 23:00 local on 29 March is 10:00Z on 30 March.
    {
      what: 'a zone 11 hours behind UTC',
      cron: '0 23 * * *',
      tz: 'Pacific/Pago_Pago',
      after: '2025-03-29T12:00:00Z',
      next: '2025-03-30T10:00:00Z',
    },
  ])('$what', ({ cron, tz, after, next }) => {
    expect(nextRunAfter(cron, tz, t(after))).toEqual(t(next));
  });
});

describe('isDue', () => {
  const daily: ScheduleTiming = { cron: '0 2 * * *' };
  const berlin: ScheduleTiming = { cron: '30 2 * * *', timeZone: 'Europe/Berlin' };

  it.each([
    {
      what: 'paused, with missed slots: never due',
      schedule: { ...daily, paused: true },
      last: '2025-03-01T02:00:00Z',
      now: '2025-03-29T12:00:00Z',
      due: false,
      nextRun: '2025-03-30T02:00:00Z',
      reason: /^paused/,
    },
    {
      what: 'new, without skipImmediately: due at once (as Velero)',
      schedule: daily,
      last: undefined,
      now: '2025-03-29T12:34:56.789Z',
      due: true,
      scheduledFor: '2025-03-29T12:34:56Z',
      nextRun: '2025-03-30T02:00:00Z',
      reason: /^first run/,
    },
    {
      what: 'new, skipImmediately, before the first slot after creation',
      schedule: { ...daily, skipImmediately: true, createdAt: t('2025-03-29T12:00:00Z') },
      last: undefined,
      now: '2025-03-30T01:59:59.999Z',
      due: false,
      nextRun: '2025-03-30T02:00:00Z',
      reason: /after creation/,
    },
    {
      what: 'new, skipImmediately, at the first slot after creation',
      schedule: { ...daily, skipImmediately: true, createdAt: t('2025-03-29T12:00:00Z') },
      last: undefined,
      now: '2025-03-30T02:00:00Z',
      due: true,
      scheduledFor: '2025-03-30T02:00:00Z',
      nextRun: '2025-03-31T02:00:00Z',
      reason: /^due: slot/,
    },
    {
      what: 'new, skipImmediately, no creation time: counts from now',
      schedule: { ...daily, skipImmediately: true },
      last: undefined,
      now: '2025-03-29T12:00:00Z',
      due: false,
      nextRun: '2025-03-30T02:00:00Z',
      reason: /no creation time known/,
    },
    {
      what: 'one millisecond before the slot',
      schedule: daily,
      last: '2025-03-29T02:00:00Z',
      now: '2025-03-30T01:59:59.999Z',
      due: false,
      nextRun: '2025-03-30T02:00:00Z',
      reason: /^not due/,
    },
    {
      what: 'exactly at the slot: due',
      schedule: daily,
      last: '2025-03-29T02:00:00Z',
      now: '2025-03-30T02:00:00Z',
      due: true,
      scheduledFor: '2025-03-30T02:00:00Z',
      nextRun: '2025-03-31T02:00:00Z',
      reason: /^due: slot/,
    },
    {
      what: 'three missed slots: one catch-up run for the latest',
      schedule: daily,
      last: '2025-03-26T02:00:00Z',
      now: '2025-03-29T12:00:00Z',
      due: true,
      scheduledFor: '2025-03-29T02:00:00Z',
      nextRun: '2025-03-30T02:00:00Z',
      reason: /slots from 2025-03-27T02:00:00Z to 2025-03-29T02:00:00Z were missed; one catch-up run/,
    },
    {
      what: 'two years of missed quarter-hours: one run for the latest',
      schedule: { cron: '*/15 * * * *' },
      last: '2023-03-29T00:00:00Z',
      now: '2025-03-29T12:44:59Z',
      due: true,
      scheduledFor: '2025-03-29T12:30:00Z',
      nextRun: '2025-03-29T12:45:00Z',
      reason: /catch-up/,
    },
    {
      what: 'a yearly slot missed for five years',
      schedule: { cron: '@yearly' },
      last: '2020-01-01T00:00:00Z',
      now: '2025-06-01T00:00:00Z',
      due: true,
      scheduledFor: '2025-01-01T00:00:00Z',
      nextRun: '2026-01-01T00:00:00Z',
      reason: /catch-up/,
    },
    {
      what: 'last backup in the future (clock skew): not due',
      schedule: daily,
      last: '2025-04-02T02:00:00Z',
      now: '2025-03-29T12:00:00Z',
      due: false,
      nextRun: '2025-04-03T02:00:00Z',
      reason: /^not due/,
    },
    {
      what: 're-created with skipImmediately: old backups do not make a catch-up',
      schedule: { ...daily, skipImmediately: true, createdAt: t('2025-03-29T12:00:00Z') },
      last: '2025-03-01T02:00:00Z',
      now: '2025-03-29T13:00:00Z',
      due: false,
      nextRun: '2025-03-30T02:00:00Z',
      reason: /after creation/,
    },
    {
      what: 'skipImmediately with a backup newer than creation: counts from the backup',
      schedule: { ...daily, skipImmediately: true, createdAt: t('2025-03-01T12:00:00Z') },
      last: '2025-03-28T02:00:00Z',
      now: '2025-03-29T03:00:00Z',
      due: true,
      scheduledFor: '2025-03-29T02:00:00Z',
      nextRun: '2025-03-30T02:00:00Z',
      reason: /^due: slot/,
    },
    {
      what: 'Berlin spring-forward: not due before the moved slot',
      schedule: berlin,
      last: '2025-03-29T01:30:00Z',
      now: '2025-03-30T01:29:59Z',
      due: false,
      nextRun: '2025-03-30T01:30:00Z',
      reason: /03:30 Europe\/Berlin/,
    },
    {
      what: 'Berlin spring-forward: due at 03:30 CEST',
      schedule: berlin,
      last: '2025-03-29T01:30:00Z',
      now: '2025-03-30T01:30:00Z',
      due: true,
      scheduledFor: '2025-03-30T01:30:00Z',
      nextRun: '2025-03-31T00:30:00Z',
      reason: /^due: slot/,
    },
    {
      what: 'Berlin spring-forward: a catch-up names the moved slot, not the day before',
      schedule: berlin,
      last: '2025-03-28T01:30:00Z',
      now: '2025-03-30T05:00:00Z',
      due: true,
      scheduledFor: '2025-03-30T01:30:00Z',
      nextRun: '2025-03-31T00:30:00Z',
      reason: /catch-up/,
    },
    {
      what: 'Berlin fall-back: the repeated 02:30 does not run twice',
      schedule: berlin,
      last: '2025-10-26T00:30:00Z',
      now: '2025-10-26T01:45:00Z',
      due: false,
      nextRun: '2025-10-27T01:30:00Z',
      reason: /^not due/,
    },
    {
      what: 'Berlin fall-back, hourly: the second 02:00 is a real hour and runs',
      schedule: { cron: '0 * * * *', timeZone: 'Europe/Berlin' },
      last: '2025-10-26T00:00:00Z',
      now: '2025-10-26T01:00:00Z',
      due: true,
      scheduledFor: '2025-10-26T01:00:00Z',
      nextRun: '2025-10-26T02:00:00Z',
      reason: /^due: slot/,
    },
    {
      what: 'Kiritimati (UTC+14): not due at 01:59 local',
      schedule: { cron: '0 2 * * *', timeZone: 'Pacific/Kiritimati' },
      last: '2025-03-29T12:00:00Z',
      now: '2025-03-30T11:59:00Z',
      due: false,
      nextRun: '2025-03-30T12:00:00Z',
      reason: /2025-03-31 02:00 Pacific\/Kiritimati/,
    },
    {
      what: 'Kiritimati (UTC+14): due at 02:00 local, on the previous UTC day',
      schedule: { cron: '0 2 * * *', timeZone: 'Pacific/Kiritimati' },
      last: '2025-03-29T12:00:00Z',
      now: '2025-03-30T12:00:00Z',
      due: true,
      scheduledFor: '2025-03-30T12:00:00Z',
      nextRun: '2025-03-31T12:00:00Z',
      reason: /^due: slot/,
    },
  ])('$what', ({ schedule, last, now, due, scheduledFor, nextRun, reason }) => {
    const decision = isDue({
      schedule,
      lastBackupTime: last === undefined ? undefined : t(last),
      now: t(now),
    });
    expect(decision.due).toBe(due);
    expect(decision.scheduledFor).toEqual(scheduledFor === undefined ? undefined : t(scheduledFor));
    expect(decision.nextRun).toEqual(t(nextRun));
    expect(decision.reason).toMatch(reason);
  });

  it('rejects an invalid expression with a ScheduleError', () => {
    expect(() =>
      isDue({ schedule: { cron: '0 25 * * *' }, lastBackupTime: undefined, now: t('2025-01-01T00:00:00Z') }),
    ).toThrow(ScheduleError);
  });

  it('runs again on the slot after the catch-up, not for the slots it skipped', () => {
    const first = isDue({
      schedule: daily,
      lastBackupTime: t('2025-03-20T02:00:00Z'),
      now: t('2025-03-29T12:00:00Z'),
    });
    const scheduledFor = first.scheduledFor ?? t('1970-01-01T00:00:00Z');
    const after = isDue({ schedule: daily, lastBackupTime: scheduledFor, now: t('2025-03-29T12:05:00Z') });
    expect(first.due).toBe(true);
    expect(after).toMatchObject({ due: false, nextRun: t('2025-03-30T02:00:00Z') });
  });
});
