// JSON for Kubernetes objects, keeping integers exact. The API server (Go) holds int64 values
// exactly; JSON.parse turns any integer above 2^53 into the nearest double, so a restore would
// write back a different number than it backed up. Such integers become BigInts here, and
// go back out as the same digits.
//
// Almost no document has one, so the native parser stays the rule: a document goes through
// lossless-json (slower, in JavaScript) only when it holds a number token of 16 or more digits,
// the shortest that can pass Number.MAX_SAFE_INTEGER (9007199254740991). The check looks for
// digits right after a ':', ',' or '[' — where a number starts — so that long digit runs inside
// strings (hex digests in annotations) do not send a document down the slow path; a string
// that happens to contain ":1234567890123456" only costs that path, never a wrong value.
import {
  isInteger,
  isSafeNumber,
  parse as losslessParse,
  stringify as losslessStringify,
} from 'lossless-json';

const LONG_NUMBER = /[:,[]\s*-?\d{16}/;

/** JSON.parse, except that integers beyond Number.MAX_SAFE_INTEGER come back as BigInts. */
export function parseJson(text: string): unknown {
  if (!LONG_NUMBER.test(text)) return JSON.parse(text) as unknown;
  return losslessParse(text, null, {
    parseNumber: (token) => (isInteger(token) && !isSafeNumber(token) ? BigInt(token) : Number(token)),
    // As JSON.parse: the last of duplicate keys wins.
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/** JSON.stringify of a document parsed by parseJson: BigInts are written as plain numbers. */
export function stringifyJson(value: unknown, space?: number): string {
  let text: string | undefined;
  try {
    // Typed string, but undefined for undefined, functions and symbols.
    text = JSON.stringify(value, null, space);
  } catch (err) {
    // "Do not know how to serialize a BigInt": only then is the slower writer needed.
    if (!(err instanceof TypeError) || !/BigInt/.test(err.message)) throw err;
    text = losslessStringify(value, null, space);
  }
  if (text === undefined) throw new TypeError('value is not JSON');
  return text;
}
