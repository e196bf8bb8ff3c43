// Validation of object keys and list prefixes. Keys come from layout.ts, but also from
// listings of a bucket someone else may write to, so a store never trusts them blindly:
// for the local store a key is a file path, and `..` would escape its root.
import { StoreError } from './store.js';

const SEGMENT_BLOCKLIST = new Set(['', '.', '..']);

/** Rejects keys that are empty, absolute, have empty/`.`/`..` segments, backslashes or NUL. */
export function assertValidKey(key: string, where: string): void {
  const problem = keyProblem(key, { allowTrailingSlash: false });
  if (problem) throw new StoreError(`${where}: invalid object key ${JSON.stringify(key)}: ${problem}`);
}

/** Like assertValidKey, but '' (everything) and a trailing '/' are fine for a prefix. */
export function assertValidPrefix(prefix: string, where: string): void {
  if (prefix === '') return;
  const problem = keyProblem(prefix, { allowTrailingSlash: true });
  if (problem) throw new StoreError(`${where}: invalid key prefix ${JSON.stringify(prefix)}: ${problem}`);
}

function keyProblem(key: string, opts: { allowTrailingSlash: boolean }): string | undefined {
  if (key === '') return 'empty';
  if (key.startsWith('/')) return 'absolute';
  if (key.includes('\\') || key.includes('\0')) return 'contains a backslash or NUL';
  const segments = key.split('/');
  if (opts.allowTrailingSlash && key.endsWith('/')) segments.pop();
  if (segments.some((s) => SEGMENT_BLOCKLIST.has(s))) return "has an empty, '.' or '..' segment";
  return undefined;
}

/**
 * S3 lists keys in UTF-8 byte order; compare the same way so every store lists alike.
 * UTF-8 byte order is code point order, which JavaScript's code unit order matches wherever the
 * first differing unit is below U+D800 on both sides (no surrogate, nothing from U+E000 up).
 * Only other keys are encoded: the local store sorts thousands of backup names each pass, and
 * two buffers per comparison cost ~10 ms of CPU for one sort of 2,000 backup names.
 */
export function compareKeys(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
  }
  return a.length - b.length;
}
