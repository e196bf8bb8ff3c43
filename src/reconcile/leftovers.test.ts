import { describe, expect, it } from 'vitest';
import {
  mergeCleanups,
  newestUploadActivity,
  planAbandonedUploads,
  type CleanupRecord,
  type ObservedUpload,
} from './leftovers.js';

const t = (iso: string) => new Date(iso);
const NOW = t('2025-06-15T12:00:00Z');
const HOUR = 3_600_000;

function upload(key: string, over: Partial<ObservedUpload> = {}): ObservedUpload {
  return {
    location: 'primary',
    readOnlyLocation: false,
    key,
    id: `id-${key}`,
    initiated: t('2025-06-15T09:00:00Z'),
    lastActivity: t('2025-06-15T09:30:00Z'),
    size: 5 * 1024 * 1024,
    ...over,
  };
}

describe('planAbandonedUploads', () => {
  it.each([
    {
      what: 'idle for longer than the grace period: aborted',
      over: {},
      verdict: 'abort',
      reason: /no bytes since 2025-06-15T09:30:00Z, longer than the grace period 1h/,
    },
    {
      what: 'idle for exactly the grace period: aborted',
      over: { lastActivity: t('2025-06-15T11:00:00Z') },
      verdict: 'abort',
      reason: /longer than the grace period/,
    },
    {
      what: 'started long ago but a part arrived a minute ago: a slow live upload, kept',
      over: { initiated: t('2025-06-14T00:00:00Z'), lastActivity: t('2025-06-15T11:59:00Z') },
      verdict: 'kept',
      reason: /may still be running/,
    },
    {
      what: 'no part yet: dated by its start',
      over: { lastActivity: undefined, initiated: t('2025-06-15T11:30:00Z') },
      verdict: 'kept',
      reason: /no bytes since 2025-06-15T11:30:00Z: may still be running/,
    },
    {
      what: 'no date at all: kept',
      over: { lastActivity: undefined, initiated: undefined },
      verdict: 'kept',
      reason: /unknown age/,
    },
    {
      what: 'in a read-only location: kept, saying what it would do',
      over: { readOnlyLocation: true },
      verdict: 'kept',
      reason: /read-only \(would abort: unfinished upload/,
    },
  ])('$what', ({ over, verdict, reason }) => {
    const plan = planAbandonedUploads({ uploads: [upload('backups/b1/b1.tar.gz', over)], now: NOW });
    const list = verdict === 'abort' ? plan.abort : plan.kept;
    expect(list).toHaveLength(1);
    expect(plan.abort.length + plan.kept.length).toBe(1);
    expect(list[0]?.reason).toMatch(reason);
  });

  it('honours a custom grace period', () => {
    const u = upload('backups/b1/b1.tar.gz', { lastActivity: t('2025-06-15T11:50:00Z') });
    expect(planAbandonedUploads({ uploads: [u], now: NOW, graceMs: 5 * 60_000 }).abort).toHaveLength(1);
    expect(planAbandonedUploads({ uploads: [u], now: NOW, graceMs: HOUR }).abort).toHaveLength(0);
  });

  it('lists aborts in a stable order, with key, id and size', () => {
    const plan = planAbandonedUploads({
      uploads: [upload('backups/b2/b2.tar.gz'), upload('backups/b1/b1.tar.gz', { location: 'secondary' })],
      now: NOW,
    });
    expect(plan.abort.map((a) => [a.location, a.key, a.id, a.size])).toEqual([
      ['primary', 'backups/b2/b2.tar.gz', 'id-backups/b2/b2.tar.gz', 5 * 1024 * 1024],
      ['secondary', 'backups/b1/b1.tar.gz', 'id-backups/b1/b1.tar.gz', 5 * 1024 * 1024],
    ]);
  });
});

describe('newestUploadActivity', () => {
  it('dates a backup directory by the newest part of the uploads under it only', () => {
    const uploads = [
      upload('backups/b1/b1.tar.gz', { lastActivity: t('2025-06-15T11:00:00Z') }),
      upload('backups/b1/b1-logs.gz', { lastActivity: undefined, initiated: t('2025-06-15T11:10:00Z') }),
      upload('backups/b10/b10.tar.gz', { lastActivity: t('2025-06-15T11:59:00Z') }),
    ];
    expect(newestUploadActivity(uploads, 'backups/b1/')).toEqual(t('2025-06-15T11:10:00Z'));
    expect(newestUploadActivity(uploads, 'backups/b2/')).toBeUndefined();
  });
});

describe('mergeCleanups', () => {
  const record = (name: string): CleanupRecord => ({
    at: '2025-06-15T12:00:00.000Z',
    location: 'primary',
    kind: 'upload',
    name,
    reason: 'idle',
  });

  it('puts this pass first and keeps at most the limit', () => {
    expect(mergeCleanups([record('a'), record('b')], [record('c')], 2).map((r) => r.name)).toEqual([
      'c',
      'a',
    ]);
  });

  it('returns the earlier records unchanged when nothing was cleaned', () => {
    const earlier = [record('a'), record('b')];
    expect(mergeCleanups(earlier, [])).toEqual(earlier);
  });
});
