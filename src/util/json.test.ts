import { describe, expect, it } from 'vitest';
import { parseJson, stringifyJson } from './json.js';

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
