import { describe, expect, it } from 'vitest';
import { compareKeys } from './keys.js';

/** The definition: UTF-8 byte order, as S3 lists keys. */
const byteOrder = (a: string, b: string): number =>
  Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));

// Characters on both sides of every boundary the fast path relies on: ASCII, two- and
// three-byte UTF-8, the last unit before the surrogates, U+E000 and up (which sort after
// surrogate pairs in UTF-8 but before them in UTF-16), and characters beyond the BMP (two of
// them with the same first surrogate).
const ALPHABET = [
  'a',
  'b',
  '-',
  '/',
  '0',
  'é',
  'ÿ',
  'Ā',
  '中',
  '\ud7ff',
  '\ue000',
  '\uff01',
  '\uffff',
  '😀',
  '😁',
  '𐀀',
  '\u{10ffff}',
];

function randomKey(random: () => number): string {
  let key = '';
  const length = Math.floor(random() * 6);
  for (let i = 0; i < length; i++) key += ALPHABET[Math.floor(random() * ALPHABET.length)];
  return key;
}

/** A small seeded generator, so a failure can be repeated. */
function mulberry32(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('compareKeys', () => {
  it('orders like UTF-8 bytes where UTF-16 code units would not', () => {
    // U+E000 is one UTF-16 unit above a surrogate pair's first unit, but its UTF-8 bytes
    // (EE 80 80) sort before the pair's (F0 ...).
    expect(compareKeys('backups/\ue000', 'backups/😀')).toBeLessThan(0);
    expect('backups/\ue000' < 'backups/😀').toBe(false);
    expect(compareKeys('a', 'a')).toBe(0);
    expect(compareKeys('a', 'a/')).toBeLessThan(0);
    expect(compareKeys('a-b', 'a/b')).toBeLessThan(0);
  });

  it('agrees with the byte order on 20,000 random pairs', () => {
    const random = mulberry32(16);
    for (let n = 0; n < 20_000; n++) {
      const prefix = random() < 0.5 ? randomKey(random) : '';
      const a = prefix + randomKey(random);
      const b = prefix + randomKey(random);
      expect([a, b, Math.sign(compareKeys(a, b))]).toEqual([a, b, byteOrder(a, b)]);
    }
  });
});
