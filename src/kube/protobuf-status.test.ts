import { describe, expect, it } from 'vitest';
import { decodeProtobufStatus, isKubeProtobuf } from './protobuf-status.js';

// A small protobuf writer for the test's inputs: a field is a tag (number << 3 | wire type)
// and a varint or a length-prefixed value.
function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return Buffer.from(out);
}
const str = (field: number, value: string | Buffer): Buffer => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8');
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
};
const num = (field: number, value: number): Buffer => Buffer.concat([varint(field * 8), varint(value)]);
const msg = (...fields: Buffer[]): Buffer => Buffer.concat(fields);

function envelope(kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    msg(str(1, msg(str(1, 'v1'), str(2, kind))), str(2, raw), str(3, ''), str(4, '')),
  ]);
}

describe('decodeProtobufStatus', () => {
  it('reads status, message, reason, code and details with causes', () => {
    const raw = msg(
      str(1, msg()),
      str(2, 'Failure'),
      str(3, 'ConfigMap "Bad" is invalid: metadata.name: Invalid value: "Bad"'),
      str(4, 'Invalid'),
      str(
        5,
        msg(
          str(1, 'Bad'),
          str(2, ''),
          str(3, 'ConfigMap'),
          str(4, msg(str(1, 'FieldValueInvalid'), str(2, 'Invalid value: "Bad"'), str(3, 'metadata.name'))),
          str(4, msg(str(1, 'FieldValueRequired'), str(3, 'data'))),
          num(5, 0),
        ),
      ),
      num(6, 422),
    );
    expect(decodeProtobufStatus(envelope('Status', raw))).toEqual({
      kind: 'Status',
      status: 'Failure',
      message: 'ConfigMap "Bad" is invalid: metadata.name: Invalid value: "Bad"',
      reason: 'Invalid',
      code: 422,
      details: {
        name: 'Bad',
        group: '',
        kind: 'ConfigMap',
        retryAfterSeconds: 0,
        causes: [
          { reason: 'FieldValueInvalid', message: 'Invalid value: "Bad"', field: 'metadata.name' },
          { reason: 'FieldValueRequired', field: 'data' },
        ],
      },
    });
  });

  it('keeps multi-byte UTF-8 and long (multi-byte length) messages intact', () => {
    const message = `ünïcode ✓ ${'x'.repeat(400)}`;
    const decoded = decodeProtobufStatus(envelope('Status', msg(str(3, message), num(6, 409))));
    expect(decoded?.message).toBe(message);
    expect(decoded?.code).toBe(409);
  });

  it('reads a negative int32 (a 10-byte varint)', () => {
    // -1 as int32 in protobuf: the 64-bit two's complement, ten bytes.
    const minusOne = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
    const raw = Buffer.concat([varint(6 * 8), minusOne]);
    expect(decodeProtobufStatus(envelope('Status', raw))?.code).toBe(-1);
  });

  it('skips fixed-width fields it does not know', () => {
    const raw = msg(
      Buffer.concat([varint(9 * 8 + 1), Buffer.alloc(8)]),
      Buffer.concat([varint(10 * 8 + 5), Buffer.alloc(4)]),
      str(4, 'NotFound'),
    );
    expect(decodeProtobufStatus(envelope('Status', raw))?.reason).toBe('NotFound');
  });

  it('is undefined for another kind, JSON, or bytes that do not parse', () => {
    expect(decodeProtobufStatus(envelope('ConfigMap', msg(str(1, msg(str(1, 'x'))))))).toBeUndefined();
    expect(decodeProtobufStatus(Buffer.from('{"kind":"Status","reason":"NotFound"}'))).toBeUndefined();
    const cut = envelope('Status', msg(str(3, 'a message'))).subarray(0, 20);
    expect(decodeProtobufStatus(cut)).toBeUndefined();
    expect(decodeProtobufStatus(Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0xff])]))).toBe(
      undefined,
    );
  });

  it('knows the magic', () => {
    expect(isKubeProtobuf(Buffer.from('k8s\0rest', 'latin1'))).toBe(true);
    expect(isKubeProtobuf(Buffer.from('k8s'))).toBe(false);
    expect(isKubeProtobuf(Buffer.from('<html>'))).toBe(false);
  });
});
