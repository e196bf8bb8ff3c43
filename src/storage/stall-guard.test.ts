import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { guardStalls } from './stall-guard.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const stalled = () => new Error('stalled');

describe('guardStalls', () => {
  it('ends a stream that is read but sends nothing', async () => {
    const s = guardStalls(new PassThrough(), 100, stalled);
    const failed = new Promise((resolve) => s.on('error', resolve));
    s.on('data', () => undefined); // flowing: a reader waits
    s.write('first');
    expect(await failed).toEqual(new Error('stalled'));
  });

  it('leaves a stream alone while its reader has paused it (backpressure), however long', async () => {
    const s = guardStalls(new PassThrough(), 100, stalled);
    s.on('data', () => undefined);
    s.pause();
    await sleep(400);
    expect(s.destroyed).toBe(false);
    s.end();
  });

  it('leaves a stream alone while bytes keep arriving', async () => {
    const s = guardStalls(new PassThrough(), 150, stalled);
    s.on('data', () => undefined);
    for (let i = 0; i < 8; i++) {
      s.write('x');
      await sleep(50);
    }
    expect(s.destroyed).toBe(false);
    s.end();
  });
});
