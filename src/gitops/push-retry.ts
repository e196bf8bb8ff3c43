// Bounded retries for a push that lost a race with another writer. Each attempt rebuilds our
// commit on the branch's new tip, so nobody's commit is rewritten and nothing is force-pushed.
import { GitError } from './git-errors.js';

export interface RetryPolicy {
  /** Total push attempts, including the first. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_PUSH_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 8_000 };

/**
 * Delay before retry number `retry` (1-based): exponential, capped, with "equal jitter"
 * (half fixed, half random) so concurrent writers spread out but never retry instantly.
 */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** One attempt either finishes with a value or reports that the branch moved under it. */
export type AttemptOutcome<T> = { done: true; value: T } | { done: false };

export interface PushRetryEvent {
  branch: string;
  /** The attempt that just lost the race (1-based). */
  attempt: number;
  delayMs: number;
}

export interface RetryPushOptions<T> {
  branch: string;
  policy: RetryPolicy;
  attempt: (attempt: number) => Promise<AttemptOutcome<T>>;
  onRetry?: (event: PushRetryEvent) => void;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Run `attempt` until it finishes or the attempts run out (GitError "contended").
 * Errors thrown by an attempt are not retried here: they are not races.
 */
export async function retryPush<T>(options: RetryPushOptions<T>): Promise<T> {
  const attempts = Math.max(1, options.policy.attempts);
  const sleep = options.sleep ?? realSleep;
  for (let n = 1; n <= attempts; n++) {
    const outcome = await options.attempt(n);
    if (outcome.done) return outcome.value;
    if (n === attempts) break;
    const delayMs = backoffDelay(n, options.policy, options.random);
    options.onRetry?.({ branch: options.branch, attempt: n, delayMs });
    await sleep(delayMs);
  }
  throw new GitError({
    kind: 'contended',
    operation: `push ${options.branch}`,
    detail: `the remote branch moved during each of ${attempts} attempts`,
  });
}
