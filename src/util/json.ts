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

/**
 * How deeply a document may nest objects and arrays. JSON.parse itself copes with any depth,
 * but everything after it that walks a document (JSON.stringify, the restore's sanitizing,
 * diffing and redaction) recurses, and dies with a bare "Maximum call stack size exceeded"
 * somewhere past a few thousand levels. Kubernetes objects nest a few dozen levels (a CRD's
 * schema perhaps a hundred), so a limit far above that and far below the stack's reach.
 */
export const DEFAULT_MAX_JSON_DEPTH = 1000;

export class JsonDepthError extends Error {
  constructor(readonly maxDepth: number) {
    super(`nests objects and arrays deeper than ${maxDepth} levels`);
    this.name = 'JsonDepthError';
  }
}

export interface ParseJsonOptions {
  /** Refuse documents nesting deeper than this (JsonDepthError); unbounded when absent. */
  maxDepth?: number;
}

/**
 * JSON.parse, except that integers beyond Number.MAX_SAFE_INTEGER come back as BigInts, and,
 * with `maxDepth`, documents nested too deeply are refused before they are parsed.
 */
export function parseJson(text: string, opts: ParseJsonOptions = {}): unknown {
  if (opts.maxDepth !== undefined) assertDepth(text, opts.maxDepth);
  if (!LONG_NUMBER.test(text)) return JSON.parse(text) as unknown;
  return losslessParse(text, null, {
    parseNumber: (token) => (isInteger(token) && !isSafeNumber(token) ? BigInt(token) : Number(token)),
    // As JSON.parse: the last of duplicate keys wins.
    onDuplicateKey: ({ newValue }) => newValue,
  });
}

/**
 * Throw JsonDepthError when `text` opens more than `maxDepth` objects or arrays at once. One
 * pass over the characters, skipping strings; malformed text is left for the parser to report.
 */
export function assertDepth(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \\ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > maxDepth) throw new JsonDepthError(maxDepth);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      depth--;
    }
  }
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
