import { describe, expect, it } from 'vitest';
import { pollDelay } from './poll-delay.js';

describe('pollDelay', () => {
  it('starts at the floor, then grows with the time waited', () => {
    expect(pollDelay(0)).toBe(50);
    expect(pollDelay(500)).toBe(50);
    expect(pollDelay(4_000)).toBe(200);
    expect(pollDelay(10_000)).toBe(500);
  });

  it('never waits longer than the cap, however long the wait has been', () => {
    expect(pollDelay(40_000)).toBe(2_000);
    expect(pollDelay(600_000)).toBe(2_000);
  });

  it('keeps a look within the fraction of the time waited once past the floor', () => {
    for (const elapsed of [2_000, 7_300, 19_999]) {
      expect(pollDelay(elapsed)).toBeLessThanOrEqual(elapsed * 0.05 + 1);
    }
  });

  it('takes its own fraction, floor and cap', () => {
    expect(pollDelay(1_000, { fraction: 0.5, minMs: 10, maxMs: 300 })).toBe(300);
    expect(pollDelay(10, { fraction: 0.5, minMs: 10, maxMs: 300 })).toBe(10);
    expect(pollDelay(-5)).toBe(50);
  });
});
