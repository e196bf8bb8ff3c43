import { describe, expect, it } from 'vitest';
import { decide, decideWithNotes } from './decide.js';
import type { Action, DecideInput, LocationState, RestorePolicy, SchedulePolicy } from './decide.js';
import type { StoredBackup } from './expiry.js';

const t = (iso: string) => new Date(iso);
const NOW = t('2025-06-15T12:00:00Z');

const nightly: SchedulePolicy = {
  name: 'nightly',
  cron: '0 2 * * *',
  template: { includedNamespaces: ['shop'], storageLocation: 'primary' },
};

/** A Completed backup, far from expiry. */
function stored(name: string, over: Partial<StoredBackup> = {}): StoredBackup {
  return {
    name,
    readable: true,
    phase: 'Completed',
    startTime: t('2025-06-01T00:00:00Z'),
    expiration: t('2026-01-01T00:00:00Z'),
    ...over,
  };
}

function location(name: string, backups: StoredBackup[] | undefined, readOnly = false): LocationState {
  return { name, readOnly, backups };
}

function input(over: Partial<DecideInput>): DecideInput {
  return {
    now: NOW,
    schedules: [],
    backups: [],
    restores: [],
    locations: [location('primary', [])],
    status: { lastBackups: {}, oneOffsDone: [] },
    ...over,
  };
}

const backupsOf = (actions: Action[]) => actions.filter((a) => a.type === 'backup');

describe('decide: schedules', () => {
  it('makes a due schedule back up, with the spec completed and the slot in the name', () => {
    const actions = decide(
      input({
        schedules: [nightly],
        status: { lastBackups: { nightly: t('2025-06-14T02:00:00Z') }, oneOffsDone: [] },
      }),
    );
    expect(actions).toEqual([
      {
        type: 'backup',
        backupName: 'nightly-20250615020000',
        schedule: 'nightly',
        spec: { includedNamespaces: ['shop'], storageLocation: 'primary', ttl: '720h' },
        location: 'primary',
        scheduledFor: t('2025-06-15T02:00:00Z'),
        reason: 'due: slot 2025-06-15T02:00:00Z',
      },
    ]);
  });

  it.each([
    {
      what: 'status says the slot ran',
      over: { status: { lastBackups: { nightly: t('2025-06-15T02:00:00Z') }, oneOffsDone: [] } },
      note: /^not due: next slot after the last backup is 2025-06-16T02:00:00Z/,
    },
    {
      what: 'status was lost, but the bucket holds the slot (the bucket is the truth)',
      over: { locations: [location('primary', [stored('nightly-20250615020000', { schedule: 'nightly' })])] },
      note: /^not due/,
    },
    {
      what: 'the last backup failed: no retry until the next slot, as in Velero',
      over: {
        locations: [
          location('primary', [stored('nightly-20250615020000', { schedule: 'nightly', phase: 'Failed' })]),
        ],
      },
      note: /^not due/,
    },
    {
      what: 'the last backup is unreadable: its name still dates it',
      over: {
        locations: [
          location('primary', [stored('nightly-20250615020000', { readable: false, phase: undefined })]),
        ],
      },
      note: /^not due/,
    },
    {
      what: 'the last backup is in another location',
      over: {
        locations: [
          location('primary', []),
          location('offsite', [stored('nightly-20250615020000', { schedule: 'nightly' })]),
        ],
      },
      note: /^not due/,
    },
    {
      what: 'paused',
      over: { schedules: [{ ...nightly, paused: true }] },
      note: /^paused/,
    },
    {
      what: 'the location is read-only',
      over: { locations: [location('primary', [], true)] },
      note: /storage location primary is read-only/,
    },
    {
      what: 'the location could not be listed',
      over: { locations: [location('primary', undefined)] },
      note: /could not be listed this pass; waiting/,
    },
    {
      what: 'the location is not defined',
      over: { locations: [location('offsite', [])] },
      note: /storage location primary is not defined/,
    },
    {
      what: 'no location and no default',
      over: { schedules: [{ ...nightly, template: { includedNamespaces: ['shop'] } }] },
      note: /no storageLocation and no default location/,
    },
    {
      what: 'the schedule name cannot name a backup',
      over: { schedules: [{ ...nightly, name: 'Nightly' }] },
      subject: 'schedule/Nightly',
      note: /invalid schedule name "Nightly"/,
    },
    {
      what: 'the cron expression is invalid',
      over: { schedules: [{ ...nightly, cron: '0 2 * *' }] },
      note: /invalid cron expression "0 2 \* \*"/,
    },
  ])('makes no backup when $what', ({ over, note, subject }) => {
    const { actions, notes } = decideWithNotes(input({ schedules: [nightly], ...over }));
    expect(backupsOf(actions)).toEqual([]);
    expect(notes.find((n) => n.subject === (subject ?? 'schedule/nightly'))?.message).toMatch(note);
  });

  it('uses the default location when the template names none', () => {
    const schedule = { ...nightly, template: { includedNamespaces: ['shop'], ttl: '24h' } };
    const [action] = decide(input({ schedules: [schedule], defaultLocation: 'primary' }));
    expect(action).toMatchObject({
      type: 'backup',
      location: 'primary',
      spec: { storageLocation: 'primary', ttl: '24h' },
    });
  });

  it('runs a new schedule at once, stamped with now', () => {
    const [action] = decide(input({ schedules: [nightly], now: t('2025-06-15T12:34:56.700Z') }));
    expect(action).toMatchObject({
      type: 'backup',
      backupName: 'nightly-20250615123456',
      scheduledFor: t('2025-06-15T12:34:56Z'),
    });
  });

  it('makes one catch-up backup for several missed slots', () => {
    const actions = decide(
      input({
        schedules: [nightly],
        status: { lastBackups: { nightly: t('2025-06-10T02:00:00Z') }, oneOffsDone: [] },
      }),
    );
    expect(backupsOf(actions).map((a) => a.backupName)).toEqual(['nightly-20250615020000']);
  });

  it('decides the other schedules when one is invalid', () => {
    const broken = { ...nightly, name: 'broken', cron: '@every 1h' };
    const actions = decide(input({ schedules: [broken, nightly] }));
    expect(backupsOf(actions).map((a) => a.schedule)).toEqual(['nightly']);
  });
});

describe('decide: one-off Backups run once', () => {
  const oneOff = { name: 'before-upgrade', spec: { includedNamespaces: ['shop'] } };

  it('runs a one-off Backup that has not run', () => {
    expect(decide(input({ backups: [oneOff], defaultLocation: 'primary' }))).toEqual([
      {
        type: 'backup',
        backupName: 'before-upgrade',
        spec: { includedNamespaces: ['shop'], ttl: '720h', storageLocation: 'primary' },
        location: 'primary',
        reason: 'one-off Backup not yet run',
      },
    ]);
  });

  it.each([
    {
      what: 'its backup is in the bucket',
      over: { locations: [location('primary', [stored('before-upgrade')])] },
      note: /^done: backup before-upgrade exists in primary/,
    },
    {
      what: 'its backup is in another location',
      over: {
        locations: [
          location('primary', []),
          location('offsite', [stored('before-upgrade', { phase: 'Failed' })]),
        ],
      },
      note: /exists in offsite/,
    },
    {
      what: 'status says it ran (its backup expired since)',
      over: { status: { lastBackups: {}, oneOffsDone: ['before-upgrade'] } },
      note: /^done: status records/,
    },
    {
      what: 'its location is read-only',
      over: { locations: [location('primary', [], true)] },
      note: /read-only/,
    },
    {
      what: 'its location could not be listed',
      over: { locations: [location('primary', undefined)] },
      note: /could not be listed/,
    },
  ])('does nothing when $what', ({ over, note }) => {
    const { actions, notes } = decideWithNotes(
      input({ backups: [oneOff], defaultLocation: 'primary', ...over }),
    );
    expect(backupsOf(actions)).toEqual([]);
    expect(notes.find((n) => n.subject === 'backup/before-upgrade')?.message).toMatch(note);
  });
});

describe('decide: restores approved by merge', () => {
  const restore = (over: Partial<RestorePolicy>): RestorePolicy => ({
    name: 'shop-back',
    backupName: 'nightly-20250614020000',
    branch: 'restore/shop-back',
    onMain: false,
    specHash: 'spec-1',
    applied: false,
    ...over,
  });

  it.each([
    {
      what: 'a branch without a plan: plan it',
      over: {},
      action: {
        type: 'plan-restore',
        restore: 'shop-back',
        branch: 'restore/shop-back',
        reason: 'no plan yet',
      },
    },
    {
      what: 'a branch whose spec changed since the plan: plan again',
      over: { planCommittedHash: 'plan-a', planSpecHash: 'spec-0' },
      action: {
        type: 'plan-restore',
        restore: 'shop-back',
        branch: 'restore/shop-back',
        reason: 'the spec changed since the plan',
      },
    },
    {
      what: 'a branch with an up-to-date plan: wait for the merge',
      over: { planCommittedHash: 'plan-a', planSpecHash: 'spec-1' },
      action: undefined,
    },
    {
      what: 'main with the approved plan: apply it',
      over: { branch: 'main', onMain: true, planCommittedHash: 'plan-a', planSpecHash: 'spec-1' },
      action: {
        type: 'apply-restore',
        restore: 'shop-back',
        approvedPlanHash: 'plan-a',
        reason: 'merged with an up-to-date plan: approved',
      },
    },
    {
      what: 'main, interrupted part-way: re-plan and apply only if the plan is still the approved one',
      over: {
        branch: 'main',
        onMain: true,
        planCommittedHash: 'plan-a',
        planSpecHash: 'spec-1',
        interrupted: true,
      },
      action: {
        type: 'apply-restore',
        restore: 'shop-back',
        approvedPlanHash: 'plan-a',
        reason:
          'interrupted: re-planned against the cluster, and applied if the plan is still the approved one',
      },
    },
    {
      what: 'main without a plan: plan for a new review',
      over: { branch: 'main', onMain: true },
      action: {
        type: 'plan-restore',
        restore: 'shop-back',
        branch: 'main',
        reason: 'no plan yet; merged without an approvable plan, so it needs a new review',
      },
    },
    {
      what: 'main with a plan for another spec: plan for a new review',
      over: { branch: 'main', onMain: true, planCommittedHash: 'plan-a', planSpecHash: 'spec-0' },
      action: {
        type: 'plan-restore',
        restore: 'shop-back',
        branch: 'main',
        reason:
          'the spec changed since the plan; merged without an approvable plan, so it needs a new review',
      },
    },
    {
      what: 'main with a plan that records no spec hash: plan again',
      over: { branch: 'main', onMain: true, planCommittedHash: 'plan-a' },
      action: {
        type: 'plan-restore',
        restore: 'shop-back',
        branch: 'main',
        reason:
          'the spec changed since the plan; merged without an approvable plan, so it needs a new review',
      },
    },
    {
      what: 'main, applied: nothing',
      over: {
        branch: 'main',
        onMain: true,
        planCommittedHash: 'plan-a',
        planSpecHash: 'spec-1',
        applied: true,
      },
      action: undefined,
    },
    { what: 'a branch, applied: nothing', over: { applied: true }, action: undefined },
  ])('$what', ({ over, action }) => {
    const actions = decide(input({ restores: [restore(over)] }));
    expect(actions).toEqual(action === undefined ? [] : [action]);
  });

  it('a pending Restore protects its expired backup; an applied one does not', () => {
    const expired = { expiration: t('2025-06-01T00:00:00Z') };
    const { actions, notes } = decideWithNotes(
      input({
        locations: [
          location('primary', [
            stored('nightly-20250601020000', expired),
            stored('nightly-20250602020000', expired),
          ]),
        ],
        restores: [
          restore({ backupName: 'nightly-20250601020000', planCommittedHash: 'p', planSpecHash: 'spec-1' }),
          restore({ name: 'old', backupName: 'nightly-20250602020000', applied: true }),
        ],
      }),
    );
    expect(actions).toEqual([
      {
        type: 'expire',
        backupName: 'nightly-20250602020000',
        location: 'primary',
        reason: 'TTL expired at 2025-06-01T00:00:00Z',
      },
    ]);
    expect(notes.find((n) => n.subject === 'stored/primary/nightly-20250601020000')?.message).toMatch(
      /^needed by pending Restore shop-back/,
    );
  });
});

describe('decide: expiry and clean-up', () => {
  it('expires, cleans up and keeps, per location', () => {
    const { actions, notes } = decideWithNotes(
      input({
        locations: [
          location('primary', [
            stored('old', { expiration: t('2025-06-15T12:00:00Z') }),
            stored('fresh'),
            stored('interrupted', { phase: undefined, lastModified: t('2025-06-15T10:00:00Z') }),
            stored('garbled', { readable: false, phase: undefined, expiration: undefined }),
          ]),
          location('archive', [stored('old', { expiration: t('2025-01-01T00:00:00Z') })], true),
          location('down', undefined),
        ],
      }),
    );
    expect(actions).toEqual([
      {
        type: 'expire',
        backupName: 'old',
        location: 'primary',
        reason: 'TTL expired at 2025-06-15T12:00:00Z',
      },
      {
        type: 'cleanup',
        backupName: 'interrupted',
        location: 'primary',
        reason:
          'no velero-backup.json (interrupted upload) since 2025-06-15T10:00:00Z, longer than the grace period 1h0m0s',
      },
    ]);
    expect(notes.filter((n) => n.subject.startsWith('stored/')).map((n) => n.subject)).toEqual([
      'stored/archive/old',
      'stored/primary/fresh',
      'stored/primary/garbled',
    ]);
  });

  it('applies the schedule retention in the zone of its CRON_TZ prefix', () => {
    const schedule: SchedulePolicy = {
      ...nightly,
      cron: 'CRON_TZ=Europe/Berlin 0 2 * * *',
      retention: { keepDaily: 2 },
    };
    const backups = [
      stored('nightly-20250614220000', { schedule: 'nightly', startTime: t('2025-06-14T22:00:00Z') }), // 15 June 00:00 in Berlin
      stored('nightly-20250614210000', { schedule: 'nightly', startTime: t('2025-06-14T21:00:00Z') }), // 14 June 23:00 in Berlin
      stored('nightly-20250614200000', { schedule: 'nightly', startTime: t('2025-06-14T20:00:00Z') }),
    ];
    const actions = decide(
      input({ schedules: [{ ...schedule, paused: true }], locations: [location('primary', backups)] }),
    );
    // In UTC all three fall on 14 June and two would go; in Berlin the newest is 15 June.
    expect(actions.map((a) => `${a.type} ${'backupName' in a ? a.backupName : ''}`)).toEqual([
      'expire nightly-20250614200000',
    ]);
  });

  it('orders restores first, then backups, then deletions', () => {
    const actions = decide(
      input({
        schedules: [nightly],
        restores: [
          {
            name: 'r',
            backupName: 'x',
            branch: 'main',
            onMain: true,
            specHash: 's',
            planCommittedHash: 'p',
            planSpecHash: 's',
            applied: false,
          },
        ],
        locations: [location('primary', [stored('gone', { expiration: t('2025-01-01T00:00:00Z') })])],
      }),
    );
    expect(actions.map((a) => a.type)).toEqual(['apply-restore', 'backup', 'expire']);
  });
});

describe('decide: leftovers of killed writers', () => {
  const halfWritten = stored('manual-1', {
    phase: undefined,
    startTime: undefined,
    expiration: undefined,
    lastModified: t('2025-06-15T09:00:00Z'),
  });

  it('aborts an upload idle for longer than the grace period, after the other actions', () => {
    const primary: LocationState = {
      ...location('primary', []),
      uploads: [
        { key: 'backups/gone/gone.tar.gz', id: 'u1', lastActivity: t('2025-06-15T10:00:00Z'), size: 10 },
        { key: 'backups/live/live.tar.gz', id: 'u2', lastActivity: t('2025-06-15T11:59:00Z'), size: 20 },
      ],
    };
    const { actions, notes } = decideWithNotes(input({ locations: [primary] }));
    expect(actions).toEqual([
      {
        type: 'abort-upload',
        location: 'primary',
        key: 'backups/gone/gone.tar.gz',
        id: 'u1',
        size: 10,
        reason: 'unfinished upload, no bytes since 2025-06-15T10:00:00Z, longer than the grace period 1h0m0s',
      },
    ]);
    expect(notes).toContainEqual({
      subject: 'upload/primary/backups/live/live.tar.gz',
      message: 'unfinished upload, no bytes since 2025-06-15T11:59:00Z: may still be running',
    });
  });

  it('keeps a half-written backup whose archive upload is still sending parts', () => {
    const primary: LocationState = {
      ...location('primary', [halfWritten]),
      uploads: [
        {
          key: 'backups/manual-1/manual-1.tar.gz',
          id: 'u1',
          lastActivity: t('2025-06-15T11:58:00Z'),
          size: 1,
        },
      ],
    };
    expect(decide(input({ locations: [primary] }))).toEqual([]);
  });

  it('cleans the half-written backup and aborts its upload once both are idle', () => {
    const primary: LocationState = {
      ...location('primary', [halfWritten]),
      uploads: [
        {
          key: 'backups/manual-1/manual-1.tar.gz',
          id: 'u1',
          lastActivity: t('2025-06-15T10:30:00Z'),
          size: 1,
        },
      ],
    };
    expect(decide(input({ locations: [primary] })).map((a) => a.type)).toEqual(['cleanup', 'abort-upload']);
  });

  it('uses the grace period it is given', () => {
    const primary: LocationState = {
      ...location('primary', []),
      uploads: [{ key: 'backups/b/b.tar.gz', id: 'u1', lastActivity: t('2025-06-15T11:58:00Z'), size: 1 }],
    };
    expect(decide(input({ locations: [primary], leftoverGraceMs: 60_000 })).map((a) => a.type)).toEqual([
      'abort-upload',
    ]);
  });
});
