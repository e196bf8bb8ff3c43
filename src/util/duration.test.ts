import { describe, expect, it } from 'vitest';
import { DurationError, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['720h', 720 * 3_600_000],
    ['1h30m', 5_400_000],
    ['90s', 90_000],
    ['1.5h', 5_400_000],
    ['300ms', 300],
    ['0', 0],
    ['-2h', -7_200_000],
  ])('%s → %d ms', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', 'h', '12', '3 days', '1d', '1h-5m', 'abc'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow(DurationError);
  });
});

describe('formatDuration', () => {
  it('prints like Go', () => {
    expect(formatDuration(720 * 3_600_000)).toBe('720h0m0s');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(0)).toBe('0s');
  });
});
