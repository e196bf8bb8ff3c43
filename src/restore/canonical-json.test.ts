import { describe, expect, it } from 'vitest';
import { canonicalJsonCompact } from './canonical-json.js';
import { stringifyJson } from '../util/json.js';

/** The definition: a sorted copy, then JSON.stringify (what plan.ts did before). */
function sortedCopy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedCopy);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
        .map((k) => [k, sortedCopy((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

const cases: [string, unknown][] = [
  ['scalars', [1, -2.5, 1e21, 0, -0, 'x', '', true, false, null]],
  ['non-finite numbers', [NaN, Infinity, -Infinity]],
  ['a BigInt beyond 2^53', { n: 12345678901234567890n, m: [-98765432109876543210n] }],
  ['nested objects in any order', { b: 1, a: { d: [{ z: 1, y: 2 }], c: 'c' } }],
  ['undefined members and array elements', { a: undefined, b: [undefined, 1], c: { d: undefined } }],
  ['functions and symbols', { f: () => 1, s: Symbol('s'), a: [() => 1] }],
  ['strings that need escaping', { 'k"\\\n': 'v\u0000\u2028"\\', é: 'ü', '\ud83d\ude00': '\ud800' }],
  [
    'array-index keys first, numerically',
    { b: 1, 10: 'ten', 9: 'nine', a: 2, 0: 'zero', '01': 'not an index' },
  ],
  ['keys past the largest array index', { 4294967295: 'big', 4294967294: 'index', x: 1 }],
  ['upper case before lower case', { b: 1, B: 2, a: 3, A: 4, _: 5, '-': 6 }],
  ['empty containers', { a: {}, b: [], c: [{}] }],
  [
    'a Kubernetes object',
    {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: { namespace: 'shop', name: 'db', labels: { tier: 'db', app: 'shop' }, annotations: {} },
      type: 'Opaque',
      data: { password: 'c2VjcmV0', 'tls.crt': 'LS0t' },
    },
  ],
];

describe('canonicalJsonCompact', () => {
  it.each(cases)('writes what a sorted copy stringifies to: %s', (_name, value) => {
    expect(canonicalJsonCompact(value)).toBe(stringifyJson(sortedCopy(value)));
  });

  it('sorts keys at every level', () => {
    expect(canonicalJsonCompact({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
  });

  it('refuses what is not JSON at the top', () => {
    expect(() => canonicalJsonCompact(undefined)).toThrow(TypeError);
  });
});
