import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { isNewWork, Wakeup } from './agent-wakeup.js';

describe('Wakeup', () => {
  it('ends a wait when notified', async () => {
    const w = new Wakeup();
    const signal = new AbortController().signal;
    let ended = false;
    const waiting = w.wait(3_600_000, signal).then(() => (ended = true));
    await Promise.resolve();
    expect(ended).toBe(false);
    w.notify();
    await waiting;
    expect(ended).toBe(true);
  });

  it('keeps a notification given while nobody waits for the next wait, once', async () => {
    const w = new Wakeup();
    const signal = new AbortController().signal;
    w.notify();
    await w.wait(3_600_000, signal);
    // The notification is used up: the next wait lasts until its time.
    let ended = false;
    const waiting = w.wait(20, signal).then(() => (ended = true));
    await Promise.resolve();
    expect(ended).toBe(false);
    await waiting;
  });

  it('ends a wait when the signal aborts', async () => {
    const w = new Wakeup();
    const controller = new AbortController();
    const waiting = w.wait(3_600_000, controller.signal);
    controller.abort();
    await waiting;
  });

  it('leaves no listener on the signal after a wait, however many waits there are', async () => {
    const w = new Wakeup();
    const signal = new AbortController().signal;
    for (let i = 0; i < 20; i++) {
      if (i % 2 === 0) setTimeout(() => w.notify(), 1);
      await w.wait(i % 2 === 0 ? 3_600_000 : 1, signal);
    }
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });
});

describe('isNewWork', () => {
  it('is true for an object no agent has taken (no phase, or New), false once taken', () => {
    expect(isNewWork(undefined)).toBe(true);
    expect(isNewWork({})).toBe(true);
    expect(isNewWork({ phase: 'New' })).toBe(true);
    expect(isNewWork({ phase: 'InProgress' })).toBe(false);
    expect(isNewWork({ phase: 'Completed' })).toBe(false);
  });
});
