// A problem found in one document, before it is tied to a file and line: the rules and the
// schema check produce these; the loader locates them in the YAML source.
import type { Anchor } from './yaml-positions.js';
import type { FieldPath, PolicyError, PolicyErrorCode } from './types.js';

export interface Issue {
  path: FieldPath;
  message: string;
  code: PolicyErrorCode;
  /** Point at the field's key rather than its value (unknown and missing fields). */
  at?: Anchor;
  related?: PolicyError['related'];
  /** A warning is shown but does not make the document invalid. */
  severity?: 'warning';
}

export function issue(code: PolicyErrorCode, path: FieldPath, message: string, at?: Anchor): Issue {
  return at ? { code, path, message, at } : { code, path, message };
}

/** Shown by `lifeboat validate` and in status, but the document stays valid. */
export function warning(code: PolicyErrorCode, path: FieldPath, message: string): Issue {
  return { code, path, message, severity: 'warning' };
}
