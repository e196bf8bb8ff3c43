import { describe, expect, it } from 'vitest';
import { PassTrigger } from './loop.js';

describe('PassTrigger', () => {
  it('ends a wait when fired, and makes the next wait return at once when fired during a pass', async () => {
    const trigger = new PassTrigger();
    const signal = new AbortController().signal;
    let woke = false;
    const waiting = trigger.wait(3_600_000, signal).then(() => (woke = true));
    trigger.fire();
    await waiting;
    expect(woke).toBe(true);
    trigger.fire(); // during a pass: nobody waits
    await trigger.wait(3_600_000, signal); // returns without the hour
    const aborted = new AbortController();
    const w = trigger.wait(3_600_000, aborted.signal);
    aborted.abort();
    await w;
  });
});
