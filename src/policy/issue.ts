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
}

export function issue(code: PolicyErrorCode, path: FieldPath, message: string, at?: Anchor): Issue {
  return at ? { code, path, message, at } : { code, path, message };
}
