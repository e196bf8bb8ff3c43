// YAML for status files: the same bytes as `stringify(value, { lineWidth: 0 })` of the `yaml`
// package, written directly for the plain shapes status files have. Every pass renders the
// whole status tree to compare it with what Git holds (status-tree.ts), one file per backup:
// with 2,000 backups the yaml package's stringify (which builds a document of nodes first)
// cost ~0.6 s of CPU of a pass that changed nothing. Whatever this writer cannot prove it
// writes exactly as the yaml package would (a string that needs quotes, null, a float, an
// empty string) goes to the yaml package, for the whole file: the output never differs.
import { Document, stringify } from 'yaml';

/** The text of `value` as `stringify(value, { lineWidth: 0 })` writes it. */
export function statusYaml(value: unknown): string {
  return plainYaml(value) ?? stringify(value, { lineWidth: 0 });
}

/**
 * `value` written by this module's writer, or undefined when it holds anything outside the
 * shapes it knows (the caller then uses the yaml package). Exported for the tests, which
 * check both that it agrees with the yaml package and that status files take this path.
 */
export function plainYaml(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const out: string[] = [];
  return writeMap(value, '', out) ? out.join('') : undefined;
}

// The core schema's tags other than str (null, bool, int, float): a plain scalar that one of
// them would read back as its type must be quoted. The yaml package asks the same of its schema.
const nonStringTags = new Document().schema.tags.filter(
  (tag) => tag.default === true && tag.tag !== 'tag:yaml.org,2002:str' && tag.test !== undefined,
);

/**
 * Strings the yaml package writes plain or in plain double quotes: a conservative subset of
 * YAML's plain scalars. No indicator first (the first class has none), no ": " or " #" (no '#'
 * at all), no quote characters or backslashes, no line breaks or control characters, no
 * trailing space or colon, not empty.
 */
function isSimpleString(s: string): boolean {
  return /^[A-Za-z0-9_/(][A-Za-z0-9 _./:+()=,@$^~<>-]*$/.test(s) && !s.includes(': ') && !/ $|:$/.test(s);
}

/** A simple string that would read back as a null, boolean or number ("True", "42"). */
function looksTyped(s: string): boolean {
  return nonStringTags.some((tag) => tag.test?.test(s));
}

const KEY = /^[A-Za-z][A-Za-z0-9]*$/;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A scalar as the yaml package writes it, or undefined when it is not one this writer knows. */
function scalar(v: unknown): string | undefined {
  if (typeof v === 'string') {
    if (!isSimpleString(v)) return undefined;
    // Such a string the yaml package puts in double quotes, with nothing in it to escape.
    return looksTyped(v) ? `"${v}"` : v;
  }
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isSafeInteger(v) && !Object.is(v, -0)) return String(v);
  return undefined;
}

/** Block mapping at `indent`; false when anything in it is outside the known shapes. */
function writeMap(map: Record<string, unknown>, indent: string, out: string[], first = indent): boolean {
  const keys = Object.keys(map);
  if (keys.length === 0) return false; // `{}`: left to the yaml package
  let lead = first;
  for (const key of keys) {
    if (!KEY.test(key) || looksTyped(key)) return false;
    const v = map[key];
    const s = scalar(v);
    if (s !== undefined) out.push(`${lead}${key}: ${s}\n`);
    else if (isPlainObject(v)) {
      out.push(`${lead}${key}:\n`);
      if (!writeMap(v, `${indent}  `, out)) return false;
    } else if (Array.isArray(v)) {
      out.push(`${lead}${key}:\n`);
      if (!writeSeq(v, `${indent}  `, out)) return false;
    } else return false; // undefined, null, floats, other objects
    lead = indent;
  }
  return true;
}

/** Block sequence at `indent` (the yaml package indents a sequence under its key). */
function writeSeq(items: unknown[], indent: string, out: string[]): boolean {
  if (items.length === 0) return false; // `[]`: left to the yaml package
  for (const item of items) {
    const s = scalar(item);
    if (s !== undefined) out.push(`${indent}- ${s}\n`);
    else if (isPlainObject(item)) {
      // The first pair shares the line of the dash; the others line up under it.
      if (!writeMap(item, `${indent}  `, out, `${indent}- `)) return false;
    } else return false;
  }
  return true;
}
