import { describe, expect, it } from 'vitest';
import { formatAuditTable, withBucketBackups, withoutLateDuplicates } from './audit-log.js';
import type { AuditEvent } from './audit-log.js';

const LIFEBOAT = { name: 'lifeboat', email: 'lifeboat@localhost' };
const CAROL = { name: 'Carol', email: 'carol@example.com' };

describe('formatAuditTable', () => {
  it('prints one aligned row per event', () => {
    const events: AuditEvent[] = [
      {
        type: 'restore-approved',
        at: new Date('2024-03-01T12:00:00.250Z'),
        actor: CAROL,
        commit: '0123456789abcdef0123',
        restore: 'shop-0412',
        via: 'merge',
        summary: 'merged restore/shop-0412 into main',
      },
      {
        type: 'backup-taken',
        at: new Date('2024-03-02T02:00:00Z'),
        actor: LIFEBOAT,
        commit: 'fedcba9876543210fedc',
        backup: 'nightly-20240302',
        action: 'backup',
        summary: 'backup completed',
      },
      {
        type: 'reconciler-action',
        at: new Date('2024-03-03T00:00:00Z'),
        actor: LIFEBOAT,
        commit: 'aaaaaaaaaaaaaaaaaaaa',
        action: 'status',
        summary: 'status refresh',
      },
    ];
    expect(formatAuditTable(events)).toBe(
      [
        'TIME                  EVENT              SUBJECT                  ACTOR                          COMMIT        SUMMARY',
        '2024-03-01T12:00:00Z  restore-approved   restore/shop-0412        Carol <carol@example.com>      0123456789ab  merged restore/shop-0412 into main',
        '2024-03-02T02:00:00Z  backup-taken       backup/nightly-20240302  lifeboat <lifeboat@localhost>  fedcba987654  backup completed',
        '2024-03-03T00:00:00Z  reconciler-action  -                        lifeboat <lifeboat@localhost>  aaaaaaaaaaaa  status refresh',
        '',
      ].join('\n'),
    );
  });

  it('says so when there is nothing to show', () => {
    expect(formatAuditTable([])).toBe('no audit events\n');
  });
});

describe('late records and the bucket fallback', () => {
  const at = (iso: string) => new Date(iso);
  const taken = (backup: string, action: string, iso: string): AuditEvent => ({
    type: 'backup-taken',
    at: at(iso),
    actor: LIFEBOAT,
    commit: `${backup}-${action}`,
    backup,
    action,
    summary: `${action} ${backup}`,
  });

  it('drops a late record when the backup event it stands in for is in the history', () => {
    const events = [
      taken('b1', 'backup', '2025-01-01T02:00:00Z'),
      taken('b1', 'record-backup', '2025-01-01T03:00:00Z'),
      taken('b2', 'record-backup', '2025-01-01T03:00:00Z'),
      taken('b2', 'record-backup', '2025-01-02T03:00:00Z'),
    ];
    expect(withoutLateDuplicates(events).map((e) => e.commit)).toEqual(['b1-backup', 'b2-record-backup']);
    expect(withoutLateDuplicates(events)[1]?.at).toEqual(at('2025-01-01T03:00:00Z'));
  });

  it('adds the backups only the bucket knows, marked as such, in time order', () => {
    const events = [taken('b1', 'backup', '2025-01-01T02:00:00Z')];
    const merged = withBucketBackups(events, [
      { name: 'b1', location: 'primary', phase: 'Completed', startTimestamp: '2025-01-01T02:00:00Z' },
      { name: 'b0', location: 'primary', phase: 'Failed', startTimestamp: '2024-12-31T02:00:00Z' },
    ]);
    expect(merged.map((e) => [e.backup, e.source ?? 'git'])).toEqual([
      ['b0', 'bucket'],
      ['b1', 'git'],
    ]);
    expect(merged[0]).toMatchObject({
      type: 'backup-taken',
      commit: '',
      summary: 'in storage location primary (Failed), not recorded in Git',
    });
    expect(formatAuditTable(merged)).toMatch(/backup\/b0 +\(bucket primary\) +\(not in Git\)/);
  });

  it('honours --since, and adds nothing to an audit of one restore', () => {
    const found = [{ name: 'b0', location: 'primary', startTimestamp: '2024-12-31T02:00:00Z' }];
    expect(withBucketBackups([], found, { since: at('2025-01-01T00:00:00Z') })).toEqual([]);
    expect(withBucketBackups([], found, { restore: 'r1' })).toEqual([]);
  });
});
