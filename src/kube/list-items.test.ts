import { describe, expect, it } from 'vitest';
import { itemJsonOf, itemSpans } from './list-items.js';
import type { KubeObject } from './types.js';

/** The elements of the items array, cut out of `body` by their spans. */
function cut(body: Buffer): unknown[] | undefined {
  const spans = itemSpans(body);
  if (!spans) return undefined;
  const out: unknown[] = [];
  for (let k = 0; k < spans.length; k += 2)
    out.push(JSON.parse(body.toString('utf8', spans[k], spans[k + 1])));
  return out;
}

/** A small deterministic generator (mulberry32), so a failure is reproducible. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Strings made of the characters that matter to a scanner: quotes, backslashes, brackets,
// commas, colons, non-ASCII, control characters (escaped by JSON.stringify).
const TRICKY = ['"', '\\', '{', '}', '[', ']', ',', ':', 'é', '€', '😀', '\n', '\u0000', 'a', ' ', 'items'];

function value(next: () => number, depth: number): unknown {
  const pick = Math.floor(next() * (depth > 3 ? 4 : 6));
  const text = (): string =>
    Array.from({ length: Math.floor(next() * 8) }, () => TRICKY[Math.floor(next() * TRICKY.length)]).join('');
  switch (pick) {
    case 0:
      return text();
    case 1:
      return Math.floor(next() * 1e6) - 5e5;
    case 2:
      return next() < 0.5 ? null : next() < 0.5;
    case 3:
      return next() * 10;
    case 4:
      return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(next() * 4); i > 0; i--) o[text()] = value(next, depth + 1);
      return o;
    }
  }
}

describe('itemSpans', () => {
  it('finds each object of the items array of a list response', () => {
    const list = {
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: { resourceVersion: '42', continue: 'abc' },
      items: [
        { metadata: { name: 'a', namespace: 'x' }, data: { k: 'v' } },
        { metadata: { name: 'b', namespace: 'x' }, data: { '{': '}', '[': ']' } },
      ],
    };
    expect(cut(Buffer.from(JSON.stringify(list)))).toEqual(list.items);
  });

  it('is not misled by quotes, backslashes and brackets inside strings', () => {
    const items = [
      { a: 'say "hi"', b: '\\', c: '\\"', d: '\\\\"]}' },
      { e: ']}],"items":[{', f: ['"', '\\\\'] },
      { g: 'ü€😀', h: '\u0000\u001f', i: 'trailing backslash \\' },
    ];
    expect(cut(Buffer.from(JSON.stringify({ items })))).toEqual(items);
  });

  it('takes the top-level "items" key, not a value or a nested key of that name', () => {
    const body = {
      kind: 'items',
      metadata: { items: [{ not: 'this' }] },
      items: [{ this: 1 }, { and: [{ this: 2 }] }],
      after: [{ nor: 'this' }],
    };
    expect(cut(Buffer.from(JSON.stringify(body)))).toEqual(body.items);
  });

  it('accepts whitespace and pretty-printed responses', () => {
    const items = [{ a: [1, 2, { b: 'c' }] }, [], {}];
    expect(cut(Buffer.from(JSON.stringify({ metadata: {}, items }, null, 2)))).toEqual(items);
    expect(cut(Buffer.from(' { "items" : [ { "x" : 1 } , { } ] } '))).toEqual([{ x: 1 }, {}]);
  });

  it('gives no spans for an empty list', () => {
    expect(itemSpans(Buffer.from('{"metadata":{},"items":[]}'))).toEqual([]);
  });

  it('finds nothing in a body without items, or one that ends inside them', () => {
    expect(itemSpans(Buffer.from('{"kind":"Status","message":"no"}'))).toBeUndefined();
    const whole = JSON.stringify({ items: [{ a: 'b' }, { c: 'd"}' }] });
    // Up to the bracket that closes the items: what follows it is not read (the caller has
    // parsed the whole body already).
    const itemsEnd = whole.lastIndexOf(']') + 1;
    for (let end = 0; end < itemsEnd; end++)
      expect(itemSpans(Buffer.from(whole.slice(0, end))), whole.slice(0, end)).toBeUndefined();
    expect(itemSpans(Buffer.from(whole.slice(0, itemsEnd)))).toHaveLength(4);
  });

  it('has no span for an element that is not an object or array (the caller counts them)', () => {
    expect(itemSpans(Buffer.from('{"items":[{"a":1},"text",2,{"b":2}]}'))).toHaveLength(4);
  });

  it('agrees with JSON.parse on random documents', () => {
    const next = random(20261125);
    for (let round = 0; round < 300; round++) {
      const items = Array.from({ length: Math.floor(next() * 6) }, () =>
        next() < 0.8 ? (value(next, 0) as object) : {},
      ).filter((v) => typeof v === 'object' && v !== null);
      const doc = { kind: value(next, 2), items, metadata: value(next, 2) };
      const text = round % 2 === 0 ? JSON.stringify(doc) : JSON.stringify(doc, null, round % 5);
      expect(cut(Buffer.from(text)), text).toEqual(items);
    }
  });
});

describe('itemJsonOf', () => {
  const type = { apiVersion: 'v1', kind: 'ConfigMap' };
  function page(items: unknown[]): { body: Buffer; items: KubeObject[] } {
    const body = Buffer.from(JSON.stringify({ metadata: { resourceVersion: '7' }, items }));
    return { body, items: (JSON.parse(body.toString()) as { items: KubeObject[] }).items };
  }

  it('puts apiVersion and kind on items that lack them, in the objects and in their JSON', () => {
    const p = page([{ metadata: { name: 'a' }, data: { x: 'é"' } }]);
    const json = itemJsonOf(p.body, p.items, type);
    expect(p.items[0]).toMatchObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } });
    expect(JSON.parse(json(0).toString())).toEqual(p.items[0]);
    expect(json(0).toString()).toBe(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"x":"é\\""}}',
    );
  });

  it('gives the bytes as sent for items that carry their type (custom resources)', () => {
    const cr = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'w' }, spec: { n: 1 } };
    const p = page([cr]);
    const json = itemJsonOf(p.body, p.items, type)(0);
    expect(json.toString()).toBe(JSON.stringify(cr));
    // A view of the response, not a copy.
    expect(json.buffer).toBe(p.body.buffer);
  });

  it('keeps numbers exactly as sent, where a JavaScript number would round them', () => {
    // An int64 above 2^53 (a custom resource may hold one): JSON.parse rounds it to
    // 9007199254740992, so serializing the parsed object would change the backup.
    const body = Buffer.from(
      '{"items":[{"metadata":{"name":"big"},"spec":{"n":9007199254740993,"f":1.50}}]}',
    );
    const items = (JSON.parse(body.toString()) as { items: KubeObject[] }).items;
    const json = itemJsonOf(body, items, type)(0).toString();
    expect(json).toBe(
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"spec":{"n":9007199254740993,"f":1.50}}',
    );
    expect(JSON.stringify(items[0])).toContain('9007199254740992');
  });

  it('serializes the parsed object when the bytes cannot be used as they are', () => {
    const p = page([
      { apiVersion: 'v2', kind: 'ConfigMap', metadata: { name: 'other-version' } },
      { kind: 'ConfigMap', metadata: { name: 'kind-only' } },
      {},
    ]);
    const json = itemJsonOf(p.body, p.items, type);
    for (let i = 0; i < 3; i++) expect(JSON.parse(json(i).toString())).toEqual(p.items[i]);
    expect(p.items.map((o) => o.apiVersion)).toEqual(['v1', 'v1', 'v1']);
  });

  it('serializes every item when the spans do not match the parsed items', () => {
    const items = [{ metadata: { name: 'a' } }] as KubeObject[];
    // Bytes that are not the response these items came from.
    const json = itemJsonOf(Buffer.from('{"items":[{"a":1},{"b":2}]}'), items, type);
    expect(JSON.parse(json(0).toString())).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a' },
    });
  });

  it('refuses an index outside the page', () => {
    const p = page([{ metadata: { name: 'a' } }]);
    expect(() => itemJsonOf(p.body, p.items, type)(1)).toThrow(RangeError);
  });
});
