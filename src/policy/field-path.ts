// Field paths as people read them: `spec.template.includedNamespaces[0]`, with keys that are not
// plain identifiers quoted (`metadata.labels["app.kubernetes.io/name"]`).
import type { FieldPath } from './types.js';

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) out = appendFieldPath(out, segment);
  return out;
}

/** formatFieldPath([...path, segment]), given formatFieldPath(path): for walks over a tree. */
export function appendFieldPath(formatted: string, segment: string | number): string {
  if (typeof segment === 'number') return `${formatted}[${segment}]`;
  if (PLAIN_KEY.test(segment)) return formatted === '' ? segment : `${formatted}.${segment}`;
  return `${formatted}[${JSON.stringify(segment)}]`;
}

/**
 * Parse an ajv instancePath (JSON Pointer, RFC 6901) into a field path. `data` decides which
 * segments are list indexes, so a map key that looks like a number stays a key.
 */
export function fromJsonPointer(pointer: string, data: unknown): FieldPath {
  if (pointer === '') return [];
  const path: (string | number)[] = [];
  let current: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      path.push(Number(key));
      current = current[Number(key)];
    } else {
      path.push(key);
      current =
        typeof current === 'object' && current !== null
          ? (current as Record<string, unknown>)[key]
          : undefined;
    }
  }
  return path;
}
