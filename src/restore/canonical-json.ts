// Compact JSON with the keys of every object sorted: what plan hashes are computed over. It
// writes exactly what JSON.stringify (stringifyJson, for BigInts) writes for a copy of the value
// whose keys were sorted, without making that copy: the copy of every object of a restore cost
// more than hashing it (restore planning's largest CPU item after the dry runs).
//
// "Exactly" includes JavaScript's own property order: keys that are array indices ("0", "17")
// come first in a plain object, in numeric order, whatever order they were added in, so a copy
// with sorted keys still writes them first; they are written first here too.

/** JSON.stringify(sortedCopy(value)) for JSON values (plain objects, arrays, strings, numbers, booleans, null, BigInts). */
export function canonicalJsonCompact(value: unknown): string {
  const out: string[] = [];
  if (!write(value, out)) throw new TypeError('value is not JSON');
  return out.join('');
}

/** Appends the JSON of `value`; false (nothing appended) where JSON.stringify leaves a member out. */
function write(value: unknown, out: string[]): boolean {
  switch (typeof value) {
    case 'string':
      out.push(JSON.stringify(value));
      return true;
    case 'number':
      out.push(Number.isFinite(value) ? String(value) : 'null');
      return true;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return true;
    case 'bigint':
      out.push(value.toString());
      return true;
    case 'object':
      if (value === null) out.push('null');
      else if (Array.isArray(value)) writeArray(value, out);
      else writeObject(value as Record<string, unknown>, out);
      return true;
    default:
      // undefined, functions, symbols
      return false;
  }
}

function writeArray(values: unknown[], out: string[]): void {
  out.push('[');
  for (let i = 0; i < values.length; i++) {
    if (i > 0) out.push(',');
    if (!write(values[i], out)) out.push('null');
  }
  out.push(']');
}

function writeObject(obj: Record<string, unknown>, out: string[]): void {
  const keys = sortedKeys(obj);
  out.push('{');
  let first = true;
  for (const key of keys) {
    const v = obj[key];
    // As sortKeys and JSON.stringify: undefined members are left out, and so are functions.
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    if (!first) out.push(',');
    first = false;
    out.push(JSON.stringify(key), ':');
    write(v, out);
  }
  out.push('}');
}

/** Object.keys lists array-index keys first, ascending; the other keys are sorted after them. */
function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices] ?? '')) indices++;
  if (indices === 0) return keys.sort();
  return [...keys.slice(0, indices), ...keys.slice(indices).sort()];
}

const MAX_ARRAY_INDEX = 2 ** 32 - 2;

function isArrayIndex(key: string): boolean {
  return /^(?:0|[1-9]\d*)$/.test(key) && Number(key) <= MAX_ARRAY_INDEX;
}
