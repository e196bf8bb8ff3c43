// Each listed object's JSON, as the API server sent it. A backup writes every object as JSON;
// parsing a page and serializing each object again cost more CPU than anything else per object,
// and made a second copy of the page as short-lived strings. The bytes are already there: this
// finds where each element of the page's "items" array starts and ends, without parsing.
//
// Only the extent of values is found, so only strings and brackets matter: a string is skipped
// with a native search for its closing quote, and everything else outside strings (numbers,
// literals, commas, colons, whitespace) is passed over. The caller parses the page as before,
// and uses the spans only when their number equals the number of items it parsed; otherwise it
// serializes the parsed objects (see itemJsonOf).
import type { KubeObject } from './types.js';
import { stringifyJson } from '../util/json.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const ITEMS = 'items';

/**
 * The byte spans of the objects and arrays directly inside the top-level object's "items"
 * array, as [start, end) pairs: start of element k at 2k, its end at 2k + 1. Undefined when
 * the body has no such array or ends inside it. Other kinds of elements (strings, numbers) have
 * no span; a list of Kubernetes objects has none of them, and the caller's count check catches
 * them.
 */
export function itemSpans(buf: Buffer): number[] | undefined {
  const spans: number[] = [];
  let depth = 0;
  // The most recent string at depth 1: the key of the value that follows it.
  let keyStart = -1;
  let keyEnd = -1;
  let inItems = false;
  let elementStart = -1;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      const end = closingQuote(buf, i + 1);
      if (end < 0) return undefined;
      if (depth === 1) {
        keyStart = i + 1;
        keyEnd = end;
      }
      i = end;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (depth === 1 && c === OPEN_ARRAY && isItemsKey(buf, keyStart, keyEnd)) inItems = true;
      else if (depth === 2 && inItems) elementStart = i;
      depth++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth--;
      if (inItems && depth === 2 && elementStart >= 0) {
        spans.push(elementStart, i + 1);
        elementStart = -1;
      } else if (inItems && depth === 1) {
        // The end of "items": nothing after it is needed.
        return spans;
      }
    }
  }
  return undefined;
}

/** Index of the quote that closes a string whose contents start at `from`, or -1. */
function closingQuote(buf: Buffer, from: number): number {
  for (let at = from; ; at++) {
    at = buf.indexOf(QUOTE, at);
    if (at < 0) return -1;
    // Escaped when preceded by an odd number of backslashes.
    let backslashes = 0;
    while (buf[at - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return at;
  }
}

function isItemsKey(buf: Buffer, start: number, end: number): boolean {
  return end - start === ITEMS.length && buf.toString('latin1', start, end) === ITEMS;
}

// How an item's JSON is made (see itemJsonOf):
/** JSON.stringify of the parsed object. */
const SERIALIZE = 0;
/** The bytes as sent: they already hold apiVersion and kind. */
const AS_SENT = 1;
/** The bytes as sent, with apiVersion and kind put in front. */
const WITH_TYPE = 2;

/**
 * Set apiVersion and kind on every item of a parsed list page — list responses leave them out
 * for built-in types, and a backup must hold whole objects — and return, for each item, its
 * JSON: the bytes the API server sent where possible, computed on demand so that callers who
 * only read the parsed objects pay nothing. Must be called before anything changes the items.
 */
export function itemJsonOf(
  body: Buffer,
  items: KubeObject[],
  type: { apiVersion: string; kind: string },
): (index: number) => Buffer {
  const sources = new Uint8Array(items.length);
  for (let i = 0; i < items.length; i++) {
    const item = items[i] as KubeObject;
    if (item.apiVersion === type.apiVersion && item.kind === type.kind) sources[i] = AS_SENT;
    else if (item.apiVersion === undefined && item.kind === undefined && hasKeys(item))
      sources[i] = WITH_TYPE;
    item.apiVersion = type.apiVersion;
    item.kind = type.kind;
  }
  const prefix = Buffer.from(
    `{"apiVersion":${JSON.stringify(type.apiVersion)},"kind":${JSON.stringify(type.kind)},`,
  );
  let spans: number[] | undefined | null = null;
  return (index) => {
    const item = items[index];
    if (item === undefined) throw new RangeError(`list item ${index} of ${items.length}`);
    if (spans === null) {
      const found = itemSpans(body);
      spans = found?.length === items.length * 2 ? found : undefined;
    }
    const source = sources[index];
    if (!spans || source === SERIALIZE) return Buffer.from(stringifyJson(item));
    const start = spans[2 * index] as number;
    const end = spans[2 * index + 1] as number;
    if (source === AS_SENT) return body.subarray(start, end);
    // "{" + rest  →  prefix + rest, the prefix ending in the comma before the first key.
    const json = Buffer.allocUnsafe(prefix.length + end - start - 1);
    prefix.copy(json, 0);
    body.copy(json, prefix.length, start + 1, end);
    return json;
  };
}

function hasKeys(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}
