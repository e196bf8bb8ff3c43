import { describe, expect, it } from 'vitest';
import { formatTimestamp, labelValue, parseScheduledBackupName, scheduledBackupName } from './naming.js';

describe('scheduledBackupName', () => {
  it.each([
    { schedule: 'nightly', at: '2025-03-30T01:30:00Z', expected: 'nightly-20250330013000' },
    { schedule: 'nightly', at: '2025-03-30T01:30:59.999Z', expected: 'nightly-20250330013059' },
    { schedule: 'shop.db', at: '1999-12-31T23:59:59Z', expected: 'shop.db-19991231235959' },
    // 02:00 on 31 March in Kiritimati (UTC+14) is still 30 March in UTC: names use UTC.
    { schedule: 'pacific', at: '2025-03-30T12:00:00Z', expected: 'pacific-20250330120000' },
  ])('names $schedule at $at as $expected', ({ schedule, at, expected }) => {
    expect(scheduledBackupName(schedule, new Date(at))).toBe(expected);
  });

  it.each([
    { schedule: 'Nightly', message: /invalid schedule name/ },
    { schedule: 'a/b', message: /invalid schedule name/ },
    { schedule: 'x'.repeat(240), message: /invalid backup name/ },
  ])('rejects schedule name $schedule', ({ schedule, message }) => {
    expect(() => scheduledBackupName(schedule, new Date('2025-01-01T00:00:00Z'))).toThrow(message);
  });

  it('rejects an invalid date', () => {
    expect(() => formatTimestamp(new Date(Number.NaN))).toThrow(/invalid date/);
  });
});

describe('parseScheduledBackupName', () => {
  it.each([
    { name: 'nightly-20250330013000', schedule: 'nightly', at: '2025-03-30T01:30:00Z' },
    { name: 'a-b-20240229000000', schedule: 'a-b', at: '2024-02-29T00:00:00Z' },
    { name: 'x-20250101000000-20250102030405', schedule: 'x-20250101000000', at: '2025-01-02T03:04:05Z' },
  ])('reads $name as schedule $schedule at $at', ({ name, schedule, at }) => {
    expect(parseScheduledBackupName(name)).toEqual({ schedule, at: new Date(at) });
  });

  it.each([
    { name: 'nightly', why: 'no timestamp' },
    { name: 'nightly-2025033001300', why: '13 digits' },
    { name: 'nightly-202503300130000', why: '15 digits run into the timestamp' },
    { name: '-20250330013000', why: 'no schedule part' },
    { name: 'nightly-20250230013000', why: '30 February' },
    { name: 'nightly-20251301000000', why: 'month 13' },
    { name: 'nightly-20250101240000', why: 'hour 24' },
    { name: 'nightly-20250101006000', why: 'minute 60' },
    { name: 'nightly-20250101000060', why: 'second 60' },
    { name: 'nightly-00500101000000', why: 'year 50, which Date.UTC would read as 1950' },
  ])('rejects $name ($why)', ({ name }) => {
    expect(parseScheduledBackupName(name)).toBeUndefined();
  });

  it.each(['nightly', 'a.b-c', 'x-20250101000000'])(
    'inverts scheduledBackupName for schedule %s',
    (schedule) => {
      const at = new Date('2031-07-04T05:06:07Z');
      expect(parseScheduledBackupName(scheduledBackupName(schedule, at))).toEqual({ schedule, at });
    },
  );
});

describe('labelValue', () => {
  it.each([
    { name: 'nightly', expected: 'nightly' },
    { name: 'n'.repeat(63), expected: 'n'.repeat(63) },
    // Known answer: `printf 'a%.0s' $(seq 1 70) | sha256sum` starts with 6bd5e5.
    { name: 'a'.repeat(70), expected: `${'a'.repeat(57)}6bd5e5` },
  ])('makes a label value of a $name.length-character name', ({ name, expected }) => {
    expect(labelValue(name)).toBe(expected);
    expect(labelValue(name).length).toBeLessThanOrEqual(63);
  });
});
