import { describe, expect, it } from 'vitest';
import { lastCheckOf, renderRepositoryStatus, repositoryCheckDue } from './repository-checks.js';

describe('repository checks', () => {
  it.each<[string, string | undefined, string, boolean]>([
    ['never checked: at once', undefined, '2026-01-07T10:00:00Z', true],
    ['weekly, checked on Sunday, Wednesday now', '2026-01-04T00:00:00Z', '2026-01-07T10:00:00Z', false],
    ['weekly, the next Sunday has come', '2026-01-04T00:00:00Z', '2026-01-11T00:00:00Z', true],
  ])('%s', (_title, last, now, due) => {
    expect(
      repositoryCheckDue({
        schedule: '@weekly',
        lastCheck: last ? new Date(last) : undefined,
        now: new Date(now),
      }).due,
    ).toBe(due);
  });

  it('renders the result per namespace and reads the last check back', () => {
    const text = renderRepositoryStatus({
      location: 'primary',
      at: new Date('2026-01-04T00:00:05Z'),
      nextCheck: new Date('2026-01-11T00:00:00Z'),
      checks: [
        { namespace: 'shop', result: 'Passed', staleLocksRemoved: 1, seconds: 2 },
        { namespace: 'web', result: 'Failed', error: 'restic check: pack 1234 not found', seconds: 1 },
      ],
    });
    expect(text).toBe(
      [
        'location: primary',
        'lastCheck: 2026-01-04T00:00:05.000Z',
        'nextCheck: 2026-01-11T00:00:00.000Z',
        'result: Failed',
        'message: 1 of 2 repositories passed restic check',
        'repositories:',
        '  - namespace: shop',
        '    result: Passed',
        '    staleLocksRemoved: 1',
        '  - namespace: web',
        '    result: Failed',
        '    error: "restic check: pack 1234 not found"',
        '',
      ].join('\n'),
    );
    expect(lastCheckOf(text)).toEqual(new Date('2026-01-04T00:00:05Z'));
    expect(lastCheckOf('not: [yaml')).toBeUndefined();
    expect(lastCheckOf(undefined)).toBeUndefined();
  });
});
