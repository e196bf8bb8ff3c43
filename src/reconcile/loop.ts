// `lifeboat run`: a reconcile pass every interval (with jitter, so many reconcilers do not
// pull in lockstep), only while holding leadership. SIGTERM lets the current pass finish —
// a backup is not cut in half — and then stops.
import type { Logger } from '../observe/logger.js';
import type { Leadership } from './leader.js';
import { reconcileOnce, type PassReport, type ReconcilerDeps } from './pass.js';

export interface LoopOptions {
  intervalMs: number;
  /** Up to this fraction of the interval is added at random. */
  jitter?: number;
  leadership?: Leadership;
  signal: AbortSignal;
  log: Logger;
  onPass?: (report: PassReport | undefined, error?: unknown) => void;
  /** Starts the next pass at once (a forge webhook); polling stays the fallback. */
  trigger?: PassTrigger;
}

/** Wakes the loop between passes; a trigger during a pass makes the next one start right after. */
export class PassTrigger {
  #pending = false;
  #wake: (() => void) | undefined;
  fire(): void {
    this.#pending = true;
    this.#wake?.();
  }
  /** Resolves after ms, on fire(), or at once when fired since the last wait. */
  wait(ms: number, signal: AbortSignal): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return sleep(ms, signal, (wake) => (this.#wake = wake)).finally(() => {
      this.#pending = false;
      this.#wake = undefined;
    });
  }
}

export function jittered(intervalMs: number, jitter: number, random: () => number = Math.random): number {
  return Math.round(intervalMs * (1 + jitter * random()));
}

export async function runLoop(deps: ReconcilerDeps, opts: LoopOptions): Promise<void> {
  const clock = deps.clock ?? (() => new Date());
  let leading = false;
  while (!opts.signal.aborted) {
    try {
      const isLeader = opts.leadership ? await opts.leadership.tryAcquire(clock()) : true;
      if (isLeader !== leading) {
        opts.log.info(
          { leader: isLeader, lock: opts.leadership?.describe() },
          isLeader ? 'leading' : 'waiting for leadership',
        );
        leading = isLeader;
      }
      if (isLeader) {
        const report = await reconcileOnce(deps);
        opts.log.info(
          {
            revision: report.revision,
            actions: report.actions.length,
            policyErrors: report.policyErrors,
            commit: report.statusCommit,
          },
          'reconcile pass done',
        );
        opts.onPass?.(report);
      }
    } catch (err) {
      deps.metrics?.reconcileErrors.inc({ stage: 'pass' });
      opts.log.error({ err: err instanceof Error ? err.message : String(err) }, 'reconcile pass failed');
      opts.onPass?.(undefined, err);
    }
    const pause = jittered(opts.intervalMs, opts.jitter ?? 0.1);
    await (opts.trigger ? opts.trigger.wait(pause, opts.signal) : sleep(pause, opts.signal));
  }
  if (leading) await opts.leadership?.release().catch(() => undefined);
}

function sleep(ms: number, signal: AbortSignal, onWaker?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    onWaker?.(done);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}
