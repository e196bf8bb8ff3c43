import { describe, expect, it } from 'vitest';
import { periodKeys, planExpiry } from './expiry.js';
import type { ExpiryInput, ExpiryPlan, ObservedBackup, RetentionPolicy } from './expiry.js';
import { labelValue } from './naming.js';

const t = (iso: string) => new Date(iso);
const NOW = t('2025-06-15T12:00:00Z');
const HOUR = 3_600_000;

/** A Completed backup in a writable location, far from expiry; override what the case is about. */
function backup(name: string, over: Partial<ObservedBackup> = {}): ObservedBackup {
  return {
    name,
    location: 'primary',
    readOnlyLocation: false,
    readable: true,
    phase: 'Completed',
    startTime: t('2025-06-01T00:00:00Z'),
    expiration: t('2026-01-01T00:00:00Z'),
    ...over,
  };
}

/** A Completed backup of schedule `nightly` started at `iso`. */
function nightly(iso: string, over: Partial<ObservedBackup> = {}): ObservedBackup {
  return backup(`nightly-${iso.replace(/\D/g, '').slice(0, 14)}`, {
    schedule: 'nightly',
    startTime: t(iso),
    ...over,
  });
}

function plan(input: Partial<ExpiryInput> & { backups: ObservedBackup[] }): ExpiryPlan {
  return planExpiry({ schedules: [], pendingRestores: [], now: NOW, ...input });
}

/** The names each bucket of the plan holds, to compare whole outcomes. */
function outcome(p: ExpiryPlan) {
  const names = (list: { name: string; location: string }[]) => list.map((v) => `${v.location}/${v.name}`);
  return { expire: names(p.expire), leftovers: names(p.leftovers), kept: names(p.kept) };
}

function reasonFor(p: ExpiryPlan, name: string): string | undefined {
  return [...p.expire, ...p.leftovers, ...p.kept].find((v) => v.name === name)?.reason;
}

describe('planExpiry: TTL, fixed at backup time (Velero gc_controller)', () => {
  it.each([
    {
      what: 'expiration exactly now: expired',
      over: { expiration: NOW },
      verdict: 'expire',
      reason: /^TTL expired at 2025-06-15T12:00:00Z/,
    },
    {
      what: 'one millisecond before expiration: kept',
      over: { expiration: t('2025-06-15T12:00:00.001Z') },
      verdict: 'kept',
      reason: /expires at/,
    },
    {
      what: 'expired long ago',
      over: { expiration: t('2025-01-01T00:00:00Z') },
      verdict: 'expire',
      reason: /^TTL expired/,
    },
    {
      what: 'no expiration recorded: kept',
      over: { expiration: undefined },
      verdict: 'kept',
      reason: /no expiration recorded/,
    },
    {
      what: 'Failed, TTL expired: deleted like any backup',
      over: { phase: 'Failed' as const, expiration: NOW },
      verdict: 'expire',
      reason: /^TTL expired/,
    },
    {
      what: 'Failed, not expired: kept for its logs',
      over: { phase: 'Failed' as const },
      verdict: 'kept',
      reason: /expires at/,
    },
    {
      what: 'PartiallyFailed, TTL expired',
      over: { phase: 'PartiallyFailed' as const, expiration: NOW },
      verdict: 'expire',
      reason: /^TTL expired/,
    },
    {
      what: 'phase Deleting: deletion finishes',
      over: { phase: 'Deleting' as const },
      verdict: 'expire',
      reason: /phase Deleting/,
    },
    {
      what: 'unreadable metadata, TTL expired: never deleted',
      over: { readable: false, expiration: t('2020-01-01T00:00:00Z') },
      verdict: 'kept',
      reason: /could not be read/,
    },
    {
      what: 'read-only location, TTL expired: never deleted',
      over: { readOnlyLocation: true, expiration: t('2020-01-01T00:00:00Z') },
      verdict: 'kept',
      reason: /location primary is read-only \(would delete: TTL expired/,
    },
  ])('$what', ({ over, verdict, reason }) => {
    const p = plan({ backups: [backup('b1', over)] });
    const bucket = verdict === 'expire' ? p.expire : p.kept;
    expect(outcome(p)).toEqual({ expire: [], leftovers: [], kept: [], [verdict]: ['primary/b1'] });
    expect(bucket[0]?.reason).toMatch(reason);
  });
});

describe('planExpiry: pending restores protect their backup', () => {
  const expired = { expiration: t('2025-01-01T00:00:00Z') };

  it('keeps an expired backup a pending Restore reads, in every location, naming the Restores', () => {
    const p = plan({
      backups: [
        backup('b1', expired),
        backup('b1', { ...expired, location: 'offsite' }),
        backup('b2', expired),
      ],
      pendingRestores: [
        { restore: 'shop-back', backupName: 'b1' },
        { restore: 'db-back', backupName: 'b1' },
      ],
    });
    expect(outcome(p)).toEqual({ expire: ['primary/b2'], leftovers: [], kept: ['offsite/b1', 'primary/b1'] });
    expect(p.kept[0]?.reason).toMatch(
      /^needed by pending Restore db-back, shop-back \(would delete: TTL expired/,
    );
  });

  it('keeps a leftover a pending Restore names', () => {
    const p = plan({
      backups: [backup('b1', { phase: undefined, lastModified: t('2025-06-01T00:00:00Z') })],
      pendingRestores: [{ restore: 'r', backupName: 'b1' }],
    });
    expect(outcome(p)).toEqual({ expire: [], leftovers: [], kept: ['primary/b1'] });
    expect(p.kept[0]?.reason).toMatch(/needed by pending Restore r \(would delete: no velero-backup.json/);
  });
});

describe('planExpiry: leftovers of interrupted backups', () => {
  const ago = (ms: number) => new Date(NOW.getTime() - ms);

  it.each([
    {
      what: 'no metadata, last written 2h ago',
      over: { phase: undefined, lastModified: ago(2 * HOUR) },
      grace: undefined,
      verdict: 'leftovers',
      reason: /no velero-backup.json .* longer than the grace period 1h0m0s/,
    },
    {
      what: 'no metadata, exactly the grace period',
      over: { phase: undefined, lastModified: ago(HOUR) },
      grace: undefined,
      verdict: 'leftovers',
      reason: /grace period/,
    },
    {
      what: 'no metadata, 30m ago: may still be running',
      over: { phase: undefined, lastModified: ago(HOUR / 2) },
      grace: undefined,
      verdict: 'kept',
      reason: /may still be running/,
    },
    {
      what: 'no metadata, no timestamp',
      over: { phase: undefined, lastModified: undefined },
      grace: undefined,
      verdict: 'kept',
      reason: /age is unknown/,
    },
    {
      what: 'InProgress, started 2h ago',
      over: { phase: 'InProgress' as const, startTime: ago(2 * HOUR) },
      grace: undefined,
      verdict: 'leftovers',
      reason: /^phase InProgress since/,
    },
    {
      what: 'InProgress, started 10m ago',
      over: { phase: 'InProgress' as const, startTime: ago(HOUR / 6) },
      grace: undefined,
      verdict: 'kept',
      reason: /may still be running/,
    },
    {
      what: 'New with only lastModified, 2h ago',
      over: { phase: 'New' as const, startTime: undefined, lastModified: ago(2 * HOUR) },
      grace: undefined,
      verdict: 'leftovers',
      reason: /^phase New/,
    },
    {
      what: 'Finalizing, 20m ago, grace 10m',
      over: { phase: 'Finalizing' as const, startTime: ago(HOUR / 3) },
      grace: HOUR / 6,
      verdict: 'leftovers',
      reason: /grace period 10m0s/,
    },
    {
      what: 'InProgress and past its TTL, but recent: kept',
      over: { phase: 'InProgress' as const, startTime: ago(HOUR / 6), expiration: ago(1) },
      grace: undefined,
      verdict: 'kept',
      reason: /may still be running/,
    },
    {
      what: 'stale, but in a read-only location',
      over: { phase: undefined, lastModified: ago(5 * HOUR), readOnlyLocation: true },
      grace: undefined,
      verdict: 'kept',
      reason: /read-only \(would delete: no velero-backup.json/,
    },
    {
      what: 'unreadable, old: never touched',
      over: { readable: false, phase: undefined, lastModified: ago(9 * HOUR) },
      grace: undefined,
      verdict: 'kept',
      reason: /could not be read/,
    },
  ])('$what', ({ over, grace, verdict, reason }) => {
    const p = plan({ backups: [backup('b1', over)], leftoverGraceMs: grace });
    expect(outcome(p)).toEqual({ expire: [], leftovers: [], kept: [], [verdict]: ['primary/b1'] });
    expect(reasonFor(p, 'b1')).toMatch(reason);
  });
});

describe('planExpiry: retention per schedule', () => {
  const retain = (retention: RetentionPolicy, timeZone?: string) => [
    { schedule: 'nightly', timeZone, retention },
  ];

  it.each([
    {
      what: 'keepLast counts Completed backups; newer PartiallyFailed ones stay, older go; Failed is left to TTL',
      retention: { keepLast: 2 },
      backups: [
        nightly('2025-06-01T02:00:00Z'),
        nightly('2025-06-02T02:00:00Z', { phase: 'PartiallyFailed' }),
        nightly('2025-06-03T02:00:00Z'),
        nightly('2025-06-04T02:00:00Z', { phase: 'Failed' }),
        nightly('2025-06-05T02:00:00Z'),
        nightly('2025-06-06T02:00:00Z', { phase: 'PartiallyFailed' }),
      ],
      expire: ['nightly-20250601020000', 'nightly-20250602020000'],
    },
    {
      what: 'keepLast larger than the pool keeps everything',
      retention: { keepLast: 10 },
      backups: [nightly('2025-06-01T02:00:00Z'), nightly('2025-06-02T02:00:00Z')],
      expire: [],
    },
    {
      what: 'keepDaily keeps the newest of each of the last N days that have backups',
      retention: { keepDaily: 2 },
      backups: [
        nightly('2025-06-01T02:00:00Z'),
        nightly('2025-06-03T02:00:00Z'),
        nightly('2025-06-03T14:00:00Z'),
        nightly('2025-06-05T02:00:00Z'),
        nightly('2025-06-05T14:00:00Z'),
      ],
      expire: ['nightly-20250601020000', 'nightly-20250603020000', 'nightly-20250605020000'],
    },
    {
      what: 'keepDaily prefers a Completed backup to a newer PartiallyFailed one of the same day',
      retention: { keepDaily: 1 },
      backups: [
        nightly('2025-06-05T02:00:00Z'),
        nightly('2025-06-05T14:00:00Z', { phase: 'PartiallyFailed' }),
      ],
      expire: ['nightly-20250605140000'],
    },
    {
      what: 'keepDaily keeps a PartiallyFailed backup when its day has nothing better',
      retention: { keepDaily: 2 },
      backups: [
        nightly('2025-06-04T02:00:00Z'),
        nightly('2025-06-05T02:00:00Z', { phase: 'PartiallyFailed' }),
        nightly('2025-06-03T02:00:00Z'),
      ],
      expire: ['nightly-20250603020000'],
    },
    {
      what: 'keepWeekly uses ISO weeks across the year boundary',
      retention: { keepWeekly: 2 },
      backups: [
        nightly('2024-12-22T02:00:00Z'), // Sunday, 2024-W51
        nightly('2024-12-29T02:00:00Z'), // Sunday, 2024-W52
        nightly('2024-12-30T02:00:00Z'), // Monday, 2025-W01
        nightly('2025-01-05T02:00:00Z'), // Sunday, 2025-W01
      ],
      expire: ['nightly-20241222020000', 'nightly-20241230020000'],
    },
    {
      what: 'keepMonthly keeps the newest of each of the last N months',
      retention: { keepMonthly: 2 },
      backups: [
        nightly('2025-03-31T02:00:00Z'),
        nightly('2025-04-01T02:00:00Z'),
        nightly('2025-04-30T02:00:00Z'),
        nightly('2025-06-01T02:00:00Z'),
      ],
      expire: ['nightly-20250331020000', 'nightly-20250401020000'],
    },
    {
      what: 'rules combine: a backup kept by any rule stays',
      retention: { keepLast: 1, keepMonthly: 2 },
      backups: [
        nightly('2025-04-10T02:00:00Z'),
        nightly('2025-05-10T02:00:00Z'),
        nightly('2025-05-31T02:00:00Z'),
        nightly('2025-06-01T02:00:00Z'),
        nightly('2025-06-02T02:00:00Z'),
      ],
      expire: ['nightly-20250410020000', 'nightly-20250510020000', 'nightly-20250601020000'],
    },
    {
      what: 'a policy with only zero rules is no retention: only TTL applies',
      retention: { keepLast: 0, keepDaily: 0 },
      backups: [nightly('2025-06-01T02:00:00Z'), nightly('2025-06-02T02:00:00Z')],
      expire: [],
    },
    {
      what: 'the label Velero shortens for long schedule names still matches',
      retention: { keepLast: 1 },
      backups: [
        nightly('2025-06-01T02:00:00Z', { schedule: labelValue('nightly') }),
        nightly('2025-06-02T02:00:00Z'),
      ],
      expire: ['nightly-20250601020000'],
    },
  ])('$what', ({ retention, backups, expire }) => {
    const p = plan({ backups, schedules: retain(retention) });
    expect(p.expire.map((e) => e.name).sort()).toEqual(expire);
    expect(p.leftovers).toEqual([]);
    for (const e of p.expire) expect(e.reason).toMatch(/^not kept by retention of schedule nightly/);
  });

  it('counts days in the schedule time zone', () => {
    const backups = [
      nightly('2025-03-29T10:00:00Z'), // 29 March in UTC and in Berlin
      nightly('2025-03-29T22:00:00Z'), // 23:00 on 29 March in Berlin
      nightly('2025-03-29T23:30:00Z'), // 00:30 on 30 March in Berlin
    ];
    const inUtc = plan({ backups, schedules: retain({ keepDaily: 2 }), now: t('2025-03-30T12:00:00Z') });
    const inBerlin = plan({
      backups,
      schedules: retain({ keepDaily: 2 }, 'Europe/Berlin'),
      now: t('2025-03-30T12:00:00Z'),
    });
    expect(inUtc.expire.map((e) => e.name)).toEqual(['nightly-20250329100000', 'nightly-20250329220000']);
    expect(inBerlin.expire.map((e) => e.name)).toEqual(['nightly-20250329100000']);
    expect(reasonFor(inBerlin, 'nightly-20250329220000')).toMatch(/^retained by keepDaily 2025-03-29/);
  });

  it('applies per location: each location keeps its own newest', () => {
    const p = plan({
      backups: [
        nightly('2025-06-01T02:00:00Z'),
        nightly('2025-06-02T02:00:00Z'),
        nightly('2025-06-01T02:00:00Z', { location: 'offsite' }),
      ],
      schedules: retain({ keepLast: 1 }),
    });
    expect(outcome(p)).toEqual({
      expire: ['primary/nightly-20250601020000'],
      leftovers: [],
      kept: ['offsite/nightly-20250601020000', 'primary/nightly-20250602020000'],
    });
  });

  it('governs only its schedule: other schedules, one-offs and unfinished backups are left to their rules', () => {
    const p = plan({
      backups: [
        nightly('2025-06-01T02:00:00Z'),
        nightly('2025-06-02T02:00:00Z'),
        backup('weekly-20250601020000', { schedule: 'weekly' }),
        backup('before-upgrade'),
        nightly('2025-06-15T11:30:00Z', { phase: 'InProgress' }),
      ],
      schedules: [...retain({ keepLast: 1 }), { schedule: 'weekly' }],
    });
    expect(outcome(p).expire).toEqual(['primary/nightly-20250601020000']);
    expect(reasonFor(p, 'nightly-20250615113000')).toMatch(/phase InProgress .* may still be running/);
  });

  it('TTL still deletes a backup retention would keep', () => {
    const p = plan({
      backups: [nightly('2025-06-02T02:00:00Z', { expiration: NOW })],
      schedules: retain({ keepLast: 5 }),
    });
    expect(p.expire).toEqual([
      { name: 'nightly-20250602020000', location: 'primary', reason: 'TTL expired at 2025-06-15T12:00:00Z' },
    ]);
  });

  it('places a backup without start time by the slot in its name, and keeps one it cannot place', () => {
    const p = plan({
      backups: [
        nightly('2025-06-01T02:00:00Z', { startTime: undefined }),
        nightly('2025-06-02T02:00:00Z'),
        backup('renamed-by-hand', { schedule: 'nightly', startTime: undefined }),
      ],
      schedules: retain({ keepLast: 1 }),
    });
    expect(outcome(p).expire).toEqual(['primary/nightly-20250601020000']);
    expect(reasonFor(p, 'renamed-by-hand')).toMatch(/^no start time: retention cannot place it/);
  });

  it('never deletes from a read-only location, whatever retention says', () => {
    const p = plan({
      backups: [
        nightly('2025-06-01T02:00:00Z', { readOnlyLocation: true }),
        nightly('2025-06-02T02:00:00Z', { readOnlyLocation: true }),
      ],
      schedules: retain({ keepLast: 1 }),
    });
    expect(p.expire).toEqual([]);
    expect(reasonFor(p, 'nightly-20250601020000')).toMatch(/read-only \(would delete: not kept by retention/);
  });

  it('does not try to delete a locked backup before its lock ends, and says when it becomes deletable', () => {
    const locked = { objectLockedLocation: true, expiration: t('2025-07-01T02:00:00Z') };
    const p = plan({
      backups: [nightly('2025-06-01T02:00:00Z', locked), nightly('2025-06-02T02:00:00Z', locked)],
      schedules: retain({ keepLast: 1 }),
    });
    expect(outcome(p)).toEqual({
      expire: [],
      leftovers: [],
      kept: ['primary/nightly-20250601020000', 'primary/nightly-20250602020000'],
    });
    expect(p.locked).toEqual([
      {
        name: 'nightly-20250601020000',
        location: 'primary',
        deletableAfter: t('2025-07-01T02:00:00Z'),
        wouldDelete: expect.stringMatching(/^not kept by retention of schedule nightly \(keepLast 1\)$/),
        reason: expect.stringMatching(
          /^under object lock until 2025-07-01T02:00:00Z: deletable after then \(would delete: not kept by retention/,
        ),
      },
    ]);
  });

  it.each([
    { what: 'the lock has ended (TTL expired)', over: { expiration: NOW }, expire: true },
    { what: 'the location has no lock', over: { objectLockedLocation: false }, expire: true },
    {
      what: 'its deletion was requested (phase Deleting)',
      over: { phase: 'Deleting' as const },
      expire: true,
    },
  ])('deletes when $what', ({ over, expire }) => {
    const p = plan({
      backups: [
        nightly('2025-06-01T02:00:00Z', {
          objectLockedLocation: true,
          expiration: t('2025-07-01T00:00:00Z'),
          ...over,
        }),
        nightly('2025-06-02T02:00:00Z'),
      ],
      schedules: retain({ keepLast: 1 }),
    });
    expect(p.locked).toEqual([]);
    expect(outcome(p).expire.includes('primary/nightly-20250601020000')).toBe(expire);
  });

  it.each([
    {
      retention: { keepLast: -1 },
      message: /schedule nightly: retention.keepLast must be a whole number >= 0, got -1/,
    },
    { retention: { keepDaily: 1.5 }, message: /retention.keepDaily .* got 1.5/ },
  ])('rejects retention $retention', ({ retention, message }) => {
    expect(() => plan({ backups: [], schedules: retain(retention) })).toThrow(message);
  });

  it('rejects an unknown time zone', () => {
    expect(() => plan({ backups: [], schedules: retain({ keepDaily: 1 }, 'Nowhere/City') })).toThrow(
      /unknown time zone/,
    );
  });
});

describe('periodKeys', () => {
  it.each([
    { at: '2025-06-15T12:00:00Z', tz: 'UTC', day: '2025-06-15', week: '2025-W24', month: '2025-06' },
    { at: '2021-01-01T12:00:00Z', tz: 'UTC', day: '2021-01-01', week: '2020-W53', month: '2021-01' },
    { at: '2024-12-30T12:00:00Z', tz: 'UTC', day: '2024-12-30', week: '2025-W01', month: '2024-12' },
    { at: '2026-01-01T12:00:00Z', tz: 'UTC', day: '2026-01-01', week: '2026-W01', month: '2026-01' },
    { at: '2027-01-03T12:00:00Z', tz: 'UTC', day: '2027-01-03', week: '2026-W53', month: '2027-01' },
    // 12:00Z is already the next day in Kiritimati (UTC+14), and still the day before in Pago Pago (UTC-11).
    {
      at: '2025-03-30T12:00:00Z',
      tz: 'Pacific/Kiritimati',
      day: '2025-03-31',
      week: '2025-W14',
      month: '2025-03',
    },
    {
      at: '2025-03-31T22:00:00Z',
      tz: 'Pacific/Kiritimati',
      day: '2025-04-01',
      week: '2025-W14',
      month: '2025-04',
    },
    {
      at: '2025-01-01T05:00:00Z',
      tz: 'Pacific/Pago_Pago',
      day: '2024-12-31',
      week: '2025-W01',
      month: '2024-12',
    },
  ])('$at in $tz is $day, $week, $month', ({ at, tz, day, week, month }) => {
    expect(periodKeys(t(at), tz)).toEqual({ day, week, month });
  });
});
