// apiVersion and kind come first: they decide which schema a document is checked against.
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import { closestMatch } from '../suggest.js';
import { API_VERSION, POLICY_KINDS } from '../types.js';
import type { PolicyKind } from '../types.js';

/** Kinds people coming from Velero are likely to write. */
const VELERO_KINDS: Record<string, PolicyKind> = {
  Schedule: 'BackupSchedule',
  BackupStorageLocation: 'StorageLocation',
};

export function headerIssues(content: Record<string, unknown>): Issue[] {
  return [...apiVersionIssues(content.apiVersion), ...kindIssues(content.kind)];
}

function apiVersionIssues(apiVersion: unknown): Issue[] {
  if (apiVersion === undefined) {
    return [
      issue(
        'api-version',
        ['apiVersion'],
        `missing required field "apiVersion": write apiVersion: ${API_VERSION}`,
        'key',
      ),
    ];
  }
  if (apiVersion === API_VERSION) return [];
  if (typeof apiVersion !== 'string')
    return [issue('api-version', ['apiVersion'], `apiVersion must be the string ${API_VERSION}`)];
  const message = apiVersion.startsWith('lifeboat.dev/')
    ? `unsupported apiVersion "${apiVersion}": this lifeboat reads ${API_VERSION}`
    : `unknown apiVersion "${apiVersion}": policy documents use ${API_VERSION}`;
  return [issue('api-version', ['apiVersion'], message)];
}

function kindIssues(kind: unknown): Issue[] {
  const expected = `one of ${POLICY_KINDS.join(', ')}`;
  if (kind === undefined)
    return [issue('kind', ['kind'], `missing required field "kind": ${expected}`, 'key')];
  if (typeof kind !== 'string') return [issue('kind', ['kind'], `kind must be ${expected}`)];
  if (isPolicyKind(kind)) return [];
  const suggestion = VELERO_KINDS[kind] ?? closestMatch(kind, POLICY_KINDS);
  const hint = suggestion ? ` (did you mean ${suggestion}?)` : '';
  return [issue('kind', ['kind'], `unknown kind "${kind}": expected ${expected}${hint}`)];
}

export function isPolicyKind(kind: unknown): kind is PolicyKind {
  return typeof kind === 'string' && (POLICY_KINDS as readonly string[]).includes(kind);
}
