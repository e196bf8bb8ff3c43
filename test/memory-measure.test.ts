// The memory measure the scale tests rely on (fixtures/memory.ts) must see what work holds on
// to and ignore what it only passes through, though it forces collections only now and then.
import { describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { MB, measureMemory } from './fixtures/memory.js';

/** Allocate `chunks` buffers of 1 MiB over about `ms`, and return those kept. */
async function allocate(chunks: number, ms: number, keep: boolean): Promise<Buffer[]> {
  const held: Buffer[] = [];
  for (let i = 0; i < chunks; i++) {
    const chunk = Buffer.alloc(MB, i);
    if (keep) held.push(chunk);
    await sleep(ms / chunks);
  }
  return held;
}

describe('measureMemory', () => {
  it('finds memory the work holds', async () => {
    const measured = await measureMemory(() => allocate(96, 1_500, true));
    expect(measured.result).toHaveLength(96);
    expect(measured.memoryGrowth).toBeGreaterThanOrEqual(96 * MB);
    expect(measured.memoryGrowth).toBeLessThan(128 * MB);
  });

  it('does not count memory the work lets go of as it goes', async () => {
    const measured = await measureMemory(() => allocate(400, 1_500, false));
    expect(measured.result).toHaveLength(0);
    expect(measured.memoryGrowth).toBeLessThan(32 * MB);
  });
});
