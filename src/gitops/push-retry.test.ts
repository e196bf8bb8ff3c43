import { describe, expect, it } from 'vitest';
import { GitError } from './git-errors.js';
import { backoffDelay, retryPush } from './push-retry.js';
import type { AttemptOutcome, PushRetryEvent, RetryPolicy } from './push-retry.js';

const POLICY: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300 };

describe('backoffDelay', () => {
  it.each([
    // retry, random, expected: half of the capped exponential is fixed, half is jitter
    [1, 0, 50],
    [1, 1, 100],
    [2, 0.5, 150],
    [3, 0, 150],
    [3, 1, 300],
    [9, 1, 300],
  ])('retry %d with random %d → %d ms', (retry, random, expected) => {
    expect(backoffDelay(retry, POLICY, () => random)).toBe(expected);
  });
});

function scripted(outcomes: ('race' | 'ok' | Error)[]) {
  const calls: number[] = [];
  const attempt = (n: number): Promise<AttemptOutcome<string>> => {
    calls.push(n);
    const next = outcomes[n - 1];
    if (next instanceof Error) return Promise.reject(next);
    return Promise.resolve(next === 'ok' ? { done: true, value: `pushed on ${n}` } : { done: false });
  };
  return { calls, attempt };
}

describe('retryPush', () => {
  const noSleep = (slept: number[]) => (ms: number) => {
    slept.push(ms);
    return Promise.resolve();
  };

  it('returns at once when the first attempt succeeds', async () => {
    const { calls, attempt } = scripted(['ok']);
    const events: PushRetryEvent[] = [];
    const slept: number[] = [];
    await expect(
      retryPush({
        branch: 'main',
        policy: POLICY,
        attempt,
        onRetry: (e) => events.push(e),
        sleep: noSleep(slept),
      }),
    ).resolves.toBe('pushed on 1');
    expect(calls).toEqual([1]);
    expect(events).toEqual([]);
    expect(slept).toEqual([]);
  });

  it('retries races with growing delays and reports each retry', async () => {
    const { calls, attempt } = scripted(['race', 'race', 'ok']);
    const events: PushRetryEvent[] = [];
    const slept: number[] = [];
    const value = await retryPush({
      branch: 'main',
      policy: POLICY,
      attempt,
      onRetry: (e) => events.push(e),
      sleep: noSleep(slept),
      random: () => 1,
    });
    expect(value).toBe('pushed on 3');
    expect(calls).toEqual([1, 2, 3]);
    expect(events).toEqual([
      { branch: 'main', attempt: 1, delayMs: 100 },
      { branch: 'main', attempt: 2, delayMs: 200 },
    ]);
    expect(slept).toEqual([100, 200]);
  });

  it('gives up after the last attempt with a retryable "contended" GitError', async () => {
    const { calls, attempt } = scripted(['race', 'race', 'race', 'race', 'ok']);
    const slept: number[] = [];
    const err: unknown = await retryPush({
      branch: 'status',
      policy: POLICY,
      attempt,
      sleep: noSleep(slept),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect(err).toMatchObject({ kind: 'contended', operation: 'push status', retryable: true });
    expect(calls).toEqual([1, 2, 3, 4]);
    expect(slept).toHaveLength(3);
  });

  it('does not retry errors that are not races', async () => {
    const failure = new GitError({ kind: 'config', operation: 'push main', detail: 'hook declined' });
    const { calls, attempt } = scripted(['race', failure]);
    await expect(retryPush({ branch: 'main', policy: POLICY, attempt, sleep: noSleep([]) })).rejects.toBe(
      failure,
    );
    expect(calls).toEqual([1, 2]);
  });
});
