import { describe, expect, it } from 'vitest';
import { JsonDepthError, parseJson, stringifyJson } from './json.js';

describe('parseJson', () => {
  it('keeps integers beyond 2^53 exact, as BigInts', () => {
    const doc = parseJson(
      '{"spec":{"big":9007199254740993,"neg":-9223372036854775808,"list":[12345678901234567890]}}',
    );
    expect(doc).toEqual({
      spec: { big: 9007199254740993n, neg: -9223372036854775808n, list: [12345678901234567890n] },
    });
  });

  it('leaves safe integers and every non-integer a number', () => {
    expect(parseJson('{"a":9007199254740991,"b":1.5,"c":1e3,"d":12345678901234567.5,"e":-0}')).toEqual({
      a: 9007199254740991,
      b: 1.5,
      c: 1000,
      d: Number('12345678901234567.5'),
      e: -0,
    });
  });

  it('gives what JSON.parse gives when no long number is present', () => {
    const text = '{"a":[1,2,{"b":"c"}],"d":null,"e":true,"f":"sha256:1234567890123456789012345678"}';
    expect(parseJson(text)).toEqual(JSON.parse(text));
  });

  it('reads long digit runs inside strings as strings, on either path', () => {
    const text = '{"hash":"12345678901234567890","note":"x:12345678901234567890","n":12345678901234567890}';
    expect(parseJson(text)).toEqual({
      hash: '12345678901234567890',
      note: 'x:12345678901234567890',
      n: 12345678901234567890n,
    });
  });

  it('lets the last of duplicate keys win, as JSON.parse does', () => {
    expect(parseJson('{"a":1,"a":2,"n":90071992547409930}')).toEqual({ a: 2, n: 90071992547409930n });
  });

  it('rejects what is not JSON, on either path', () => {
    expect(() => parseJson('{"a":')).toThrow();
    expect(() => parseJson('{"a":90071992547409930')).toThrow();
  });
});

describe('stringifyJson', () => {
  it('writes BigInts as the same digits', () => {
    const text = '{"spec":{"big":9007199254740993,"s":"x","list":[1,12345678901234567890,null]}}';
    expect(stringifyJson(parseJson(text))).toBe(text);
  });

  it('writes what JSON.stringify writes, indented too', () => {
    const value = { a: [1, { b: 'c' }], d: null, e: undefined, f: new Date(0) };
    expect(stringifyJson(value)).toBe(JSON.stringify(value));
    expect(stringifyJson(value, 2)).toBe(JSON.stringify(value, null, 2));
    expect(stringifyJson({ ...value, big: 1n << 63n }, 2)).toBe(
      JSON.stringify(value, null, 2).replace(/\n}$/, ',\n  "big": 9223372036854775808\n}'),
    );
  });

  it('refuses a value that is not JSON', () => {
    expect(() => stringifyJson(undefined)).toThrow(TypeError);
  });
});

describe('parseJson with maxDepth', () => {
  const nested = (depth: number, open = '[', close = ']') => open.repeat(depth) + close.repeat(depth);

  it.each([
    ['arrays', nested(6)],
    ['objects', '{"a":'.repeat(6) + '1' + '}'.repeat(6)],
    ['a mix', '{"a":[{"b":[{"c":[1]}]}]}'],
  ])('refuses %s nested one level too deep, and reads them at the limit', (_label, text) => {
    expect(() => parseJson(text, { maxDepth: 5 })).toThrow(JsonDepthError);
    expect(() => parseJson(text, { maxDepth: 5 })).toThrow('nests objects and arrays deeper than 5 levels');
    expect(parseJson(text, { maxDepth: 6 })).toEqual(JSON.parse(text));
  });

  it('does not count brackets inside strings, escaped quotes included', () => {
    const text = JSON.stringify({ a: '[[[[[[[[{{{{{{', b: 'say \\"[[[[[[\\" "', c: [[1]] });
    expect(parseJson(text, { maxDepth: 3 })).toEqual(JSON.parse(text));
  });

  it('fails with a JsonDepthError, not a stack overflow, far past the stack', () => {
    expect(() => parseJson(nested(200_000), { maxDepth: 1000 })).toThrow(JsonDepthError);
    // Without the bound the text parses, and the first recursive walk dies.
    expect(() => JSON.stringify(parseJson(nested(200_000)))).toThrow(RangeError);
  });
});
