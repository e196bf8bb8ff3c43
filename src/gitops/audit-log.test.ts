import { describe, expect, it } from 'vitest';
import { formatAuditTable } from './audit-log.js';
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
