import { describe, expect, it } from 'vitest';
import { commitMessage, recoveredEvents, type PassEvent } from './commit-summary.js';

const ev = (action: string, subject: string, outcome: string, error?: string): PassEvent => ({
  action,
  subject,
  outcome,
  ...(error ? { error } : {}),
});

describe('commitMessage', () => {
  it('says "update status" when nothing happened', () => {
    expect(commitMessage([])).toEqual({ message: 'lifeboat: update status', trailers: {} });
  });

  it.each([
    {
      name: 'a backup and an expiry',
      events: [
        ev('backup', 'nightly-20250101020000', 'Completed'),
        ev('expire', 'nightly-20241201020000', 'ttl'),
      ],
      trailers: {
        'Lifeboat-Action': ['backup', 'expire'],
        'Lifeboat-Backup': ['nightly-20250101020000', 'nightly-20241201020000'],
      },
    },
    {
      name: 'an applied restore',
      events: [ev('apply-restore', 'shop', 'Completed')],
      trailers: { 'Lifeboat-Action': ['apply-restore'], 'Lifeboat-Restore': ['shop'] },
    },
    {
      name: 'a refused stale plan is not an apply',
      events: [ev('apply-restore', 'shop', 'PlanOutdated')],
      trailers: {},
    },
    {
      name: 'plans have their own commit on the review branch',
      events: [ev('plan-restore', 'shop', 'planned')],
      trailers: {},
    },
    {
      name: 'a backup that threw is not a backup taken',
      events: [ev('backup', 'nightly-20250101020000', 'Failed', 'bucket x does not exist')],
      trailers: {},
    },
  ])('trailers record only what took effect: $name', ({ events, trailers }) => {
    expect(commitMessage(events).trailers).toEqual(trailers);
  });

  it('lists everything in the subject (first four) and the body, errors included', () => {
    const events = [1, 2, 3, 4, 5].map((i) => ev('backup', `b${i}`, 'Completed'));
    events.push(ev('backup', 'b6', 'Failed', 'bucket gone'));
    const { message } = commitMessage(events);
    const [subject, , ...body] = message.split('\n');
    expect(subject).toBe(
      'lifeboat: backup b1 (Completed), backup b2 (Completed), backup b3 (Completed), backup b4 (Completed), and 2 more',
    );
    expect(body).toHaveLength(6);
    expect(body[5]).toBe('- backup b6: Failed — bucket gone');
  });
});

describe('recoveredEvents', () => {
  const existing = new Set(['status/backups/old.yaml', 'status/backups/gone.yaml']);

  it('records backup status files added or removed without an event of this pass', () => {
    const changes = {
      'status/backups/taken-now.yaml': 'x',
      'status/backups/lost-push.yaml': 'x',
      'status/backups/old.yaml': 'changed',
      'status/backups/gone.yaml': null,
      'status/schedules/nightly.yaml': 'x',
    };
    const events = [ev('backup', 'taken-now', 'Completed')];
    expect(recoveredEvents(changes, existing, events)).toEqual([
      ev('record-expire', 'gone', 'no longer in the bucket'),
      ev('record-backup', 'lost-push', 'found in the bucket'),
    ]);
  });

  it('records nothing for removals this pass expired', () => {
    expect(
      recoveredEvents({ 'status/backups/gone.yaml': null }, existing, [ev('expire', 'gone', 'TTL')]),
    ).toEqual([]);
  });

  it('puts late records in the trailers', () => {
    const { trailers } = commitMessage([ev('record-backup', 'lost-push', 'found in the bucket')]);
    expect(trailers).toEqual({ 'Lifeboat-Action': ['record-backup'], 'Lifeboat-Backup': ['lost-push'] });
  });
});
