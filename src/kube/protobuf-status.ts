// The API server's error answer (a metav1.Status) in its protobuf encoding. Creates ask for
// protobuf answers (client.ts, createOnly) because encoding the created object as JSON is part
// of the API server's CPU per create; a refused create then answers in protobuf too, and its
// reason (AlreadyExists, Invalid…) and message must still reach the caller. Only Status is ever
// decoded here: successful answers of those creates are not read at all.
//
// Wire format (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the 4 bytes "k8s\0", then
// a runtime.Unknown {typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4} whose raw is
// the Status: {metadata = 1, status = 2, message = 3, reason = 4, details = 5, code = 6};
// details: {name = 1, group = 2, kind = 3, causes = 4, retryAfterSeconds = 5, uid = 6}; a
// cause: {reason = 1, message = 2, field = 3}.

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from('k8s\0', 'latin1');

export interface DecodedStatus {
  kind: 'Status';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    retryAfterSeconds?: number;
    causes?: { reason?: string; message?: string; field?: string }[];
  };
}

/** The fields of one protobuf message: bigints for varints, Buffers for length-delimited ones. */
type Fields = Map<number, (bigint | Buffer)[]>;

/** Whether `body` is a protobuf-encoded API object (starts with the magic). */
export function isKubeProtobuf(body: Buffer): boolean {
  return body.length >= MAGIC.length && body.subarray(0, MAGIC.length).equals(MAGIC);
}

/**
 * The Status in a protobuf answer; undefined when the body is not a protobuf Status (another
 * kind, or bytes that do not parse), so the caller falls back to its plain-HTTP error.
 */
export function decodeProtobufStatus(body: Buffer): DecodedStatus | undefined {
  if (!isKubeProtobuf(body)) return undefined;
  try {
    const unknown = readFields(body.subarray(MAGIC.length));
    const typeMeta = readFields(bytes(unknown, 1) ?? Buffer.alloc(0));
    if (text(typeMeta, 2) !== 'Status') return undefined;
    const raw = readFields(bytes(unknown, 2) ?? Buffer.alloc(0));
    const out: DecodedStatus = { kind: 'Status' };
    setDefined(out, 'status', text(raw, 2));
    setDefined(out, 'message', text(raw, 3));
    setDefined(out, 'reason', text(raw, 4));
    setDefined(out, 'code', int(raw, 6));
    const detailBytes = bytes(raw, 5);
    if (detailBytes) {
      const d = readFields(detailBytes);
      const details: NonNullable<DecodedStatus['details']> = {};
      setDefined(details, 'name', text(d, 1));
      setDefined(details, 'group', text(d, 2));
      setDefined(details, 'kind', text(d, 3));
      setDefined(details, 'retryAfterSeconds', int(d, 5));
      setDefined(details, 'uid', text(d, 6));
      const causes = (d.get(4) ?? []).filter((c): c is Buffer => Buffer.isBuffer(c));
      if (causes.length > 0) {
        details.causes = causes.map((c) => {
          const f = readFields(c);
          const cause: { reason?: string; message?: string; field?: string } = {};
          setDefined(cause, 'reason', text(f, 1));
          setDefined(cause, 'message', text(f, 2));
          setDefined(cause, 'field', text(f, 3));
          return cause;
        });
      }
      out.details = details;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** One message's fields (wire types 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32). */
function readFields(buf: Buffer): Fields {
  const fields: Fields = new Map();
  let pos = 0;
  // Up to 64 bits: a negative int32 is sent as ten bytes, beyond a double's exact range.
  const varint = (): bigint => {
    let value = 0n;
    for (let i = 0; i < 10; i++) {
      if (pos >= buf.length) throw new Error('truncated varint');
      const b = buf[pos++] as number;
      value |= BigInt(b & 0x7f) << BigInt(7 * i);
      if ((b & 0x80) === 0) return value;
    }
    throw new Error('varint too long');
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const field = Math.floor(key / 8);
    const wire = key % 8;
    let value: bigint | Buffer;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error('truncated field');
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1 || wire === 5) {
      pos += wire === 1 ? 8 : 4;
      if (pos > buf.length) throw new Error('truncated field');
      continue;
    } else throw new Error(`wire type ${wire}`);
    const list = fields.get(field);
    if (list) list.push(value);
    else fields.set(field, [value]);
  }
  return fields;
}

function bytes(f: Fields, n: number): Buffer | undefined {
  const v = f.get(n)?.at(-1);
  return Buffer.isBuffer(v) ? v : undefined;
}

function text(f: Fields, n: number): string | undefined {
  return bytes(f, n)?.toString('utf8');
}

/** An int32 field (negative values arrive as 10-byte varints: two's complement of 64 bits). */
function int(f: Fields, n: number): number | undefined {
  const v = f.get(n)?.at(-1);
  return typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : undefined;
}

function setDefined<T extends object, K extends keyof T>(o: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) o[key] = value;
}
