// Credentials never live in Git. Field names that suggest an inline key, and values that look
// like one, are errors wherever they appear; the messages never repeat the value.
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { FieldPath } from '../types.js';

export const CREDENTIAL_ADVICE =
  "credentials never live in Git: say where lifeboat finds them with a StorageLocation's spec.credential (fromEnv, file or secretRef)";

const CREDENTIAL_FIELD = /secret|passw(or)?d|token|access_?key|api_?key|private_?key|^key$/i;

/** Whether an (unknown) field name suggests its value is a credential. */
export function looksLikeCredentialField(name: string): boolean {
  return CREDENTIAL_FIELD.test(name);
}

const CREDENTIAL_VALUES: { pattern: RegExp; what: string }[] = [
  // AWS access key ids: AKIA (long-term) and ASIA (temporary), then 16 upper-case alphanumerics.
  { pattern: /\b(AKIA|ASIA)[A-Z0-9]{16}\b/, what: 'an AWS access key id' },
  { pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'a private key' },
];

export function looksLikeCredentialValue(value: string): boolean {
  return CREDENTIAL_VALUES.some(({ pattern }) => pattern.test(value));
}

/** Values anywhere in a document that look like credentials. */
export function inlineCredentialValues(document: unknown): Issue[] {
  const issues: Issue[] = [];
  const visit = (value: unknown, path: (string | number)[]): void => {
    if (typeof value === 'string') {
      const found = CREDENTIAL_VALUES.find(({ pattern }) => pattern.test(value));
      if (found) issues.push(credentialIssue(path, `this value looks like ${found.what}`));
    } else if (Array.isArray(value)) {
      value.forEach((item, index) => visit(item, [...path, index]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) visit(item, [...path, key]);
    }
  };
  visit(document, []);
  return issues;
}

function credentialIssue(path: FieldPath, what: string): Issue {
  return issue('inline-credential', path, `${what}; ${CREDENTIAL_ADVICE}`);
}
