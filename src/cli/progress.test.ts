import { describe, expect, it } from 'vitest';
import { createProgress } from './progress.js';

function logStream(): { isTTY: false; write: (s: string) => boolean; lines: string[] } {
  const lines: string[] = [];
  return {
    isTTY: false,
    lines,
    write: (s: string) => {
      lines.push(s);
      return true;
    },
  };
}

describe('createProgress on a log (not a terminal)', () => {
  it('writes nothing for work that ends within the first interval', () => {
    let t = 0;
    const stream = logStream();
    const progress = createProgress('backup b', stream, () => t);
    t = 100;
    progress.update(0);
    t = 4_999;
    progress.update(29);
    progress.stop();
    expect(stream.lines).toEqual([]);
  });

  it('writes a line with the rate every interval, and not between', () => {
    let t = 1_000;
    const stream = logStream();
    const progress = createProgress('restore r', stream, () => t);
    t = 6_000;
    progress.update(5_000, 20_000);
    t = 8_000;
    progress.update(7_000, 20_000);
    t = 11_000;
    progress.update(10_000);
    expect(stream.lines).toEqual([
      'restore r: 5000/20000 objects (1000/s)\n',
      'restore r: 10000 objects (1000/s)\n',
    ]);
  });
});
