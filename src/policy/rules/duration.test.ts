import { describe, expect, it } from 'vitest';
import { ttlError, ttlIssues } from './duration.js';

describe('ttlError', () => {
  it.each(['720h', '1h30m', '90s', '1.5h', '24h0m0s', '2562047h'])('accepts %s', (ttl) => {
    expect(ttlError(ttl)).toBeUndefined();
  });

  it.each([
    ['0', 'ttl must be positive (got "0")'],
    ['0s', 'ttl must be positive (got "0s")'],
    ['-1h', 'ttl must be positive (got "-1h")'],
    ['30 days', 'invalid duration "30 days"'],
    ['30d', 'invalid duration "30d"'],
    ['', 'invalid duration "": empty'],
    ['99999999999999999h', 'is longer than the longest duration Velero can store (2562047h'],
    ['2562048h', 'is longer than the longest duration Velero can store'],
  ])('rejects %j', (ttl, message) => {
    expect(ttlError(ttl)).toContain(message);
  });
});

describe('ttlIssues', () => {
  it('reports at the given path', () => {
    expect(ttlIssues('-5m', ['spec', 'template', 'ttl'])).toEqual([
      {
        code: 'duration',
        path: ['spec', 'template', 'ttl'],
        message: 'ttl must be positive (got "-5m"); for example "720h"',
      },
    ]);
  });
});
