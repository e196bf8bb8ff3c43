import { describe, expect, it } from 'vitest';
import { memoize } from './memo.js';

describe('memoize', () => {
  it('computes each answer once', () => {
    const calls: string[] = [];
    const upper = memoize((s) => {
      calls.push(s);
      return s.toUpperCase();
    });
    expect([upper('a'), upper('b'), upper('a')]).toEqual(['A', 'B', 'A']);
    expect(calls).toEqual(['a', 'b']);
  });

  it('remembers an answer that throws and throws it again', () => {
    let calls = 0;
    const check = memoize((s) => {
      calls += 1;
      throw new Error(`bad ${s}`);
    });
    expect(() => check('x')).toThrow('bad x');
    expect(() => check('x')).toThrow('bad x');
    expect(calls).toBe(1);
  });

  it('keeps at most `max` answers, forgetting the oldest first', () => {
    const calls: string[] = [];
    const id = memoize((s) => {
      calls.push(s);
      return s;
    }, 2);
    for (const s of ['a', 'b', 'c', 'b', 'a']) id(s);
    // 'c' pushed 'a' out; 'b' was still there; 'a' had to be computed again.
    expect(calls).toEqual(['a', 'b', 'c', 'a']);
  });
});
