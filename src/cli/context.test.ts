import { describe, expect, it } from 'vitest';
import { archiveLimitsOf } from './context.js';
import { UsageError } from './output.js';

describe('archive limit flags', () => {
  it('set only the limits given', () => {
    expect(archiveLimitsOf({})).toEqual({});
    expect(archiveLimitsOf({ maxItemBytes: '1048576', maxArchiveEntries: '10' })).toEqual({
      maxEntryBytes: 1048576,
      maxEntries: 10,
    });
    expect(archiveLimitsOf({ maxArchiveBytes: '68719476736' })).toEqual({ maxTotalBytes: 68719476736 });
  });

  it.each(['0', '-1', '1.5', '8MiB', '', '99999999999999999999'])('refuse %j, naming the flag', (value) => {
    expect(() => archiveLimitsOf({ maxItemBytes: value })).toThrow(UsageError);
    expect(() => archiveLimitsOf({ maxItemBytes: value })).toThrow(
      /^--max-item-bytes must be a positive whole number/,
    );
  });
});
