// What only a Restore has: its source and its namespace mapping.
import { issue, warning } from '../issue.js';
import type { Issue } from '../issue.js';
import type { RestorePolicySpec } from '../types.js';
import { SYSTEM_NAMESPACES, systemNamespaceWarning } from '../../restore/namespace-mapping.js';
import { dns1123LabelError, dns1123SubdomainError } from './k8s-names.js';

/** Exactly one of backupName and scheduleName (velero restore_controller.go, backupXorScheduleProvided). */
export function restoreSourceIssues(spec: RestorePolicySpec): Issue[] {
  const issues: Issue[] = [];
  if (spec.backupName !== undefined && spec.scheduleName !== undefined) {
    issues.push(
      issue(
        'restore-source',
        ['spec', 'scheduleName'],
        'set either backupName or scheduleName, not both',
        'key',
      ),
    );
  } else if (spec.backupName === undefined && spec.scheduleName === undefined) {
    issues.push(
      issue('restore-source', ['spec'], 'a Restore needs a source: set backupName or scheduleName', 'key'),
    );
  }
  if (spec.backupName !== undefined) {
    // Backup names are object names in Velero and key segments in the bucket.
    const error = dns1123SubdomainError(spec.backupName);
    if (error)
      issues.push(issue('name', ['spec', 'backupName'], `backup name "${spec.backupName}" ${error}`));
  }
  return issues;
}

/**
 * Keys are namespaces in the backup, values namespaces to restore into: both real names, and
 * one target per source. Two sources merged into one target would overwrite each other's
 * objects of the same name; a target that is itself mapped away would receive objects while
 * its own go elsewhere, which is never what a person meant.
 */
export function namespaceMappingIssues(spec: RestorePolicySpec): Issue[] {
  const issues: Issue[] = [];
  const mapping = spec.namespaceMapping ?? {};
  const firstSourceOf = new Map<string, string>();
  for (const [from, to] of Object.entries(mapping)) {
    const at = ['spec', 'namespaceMapping', from];
    const fromError = dns1123LabelError(from);
    if (fromError) issues.push(issue('namespace', at, `namespace "${from}" ${fromError}`, 'key'));
    const toError = dns1123LabelError(to);
    if (toError) issues.push(issue('namespace', at, `namespace "${to}" ${toError}`));
    if (from === to) continue;
    const earlier = firstSourceOf.get(to);
    if (earlier !== undefined) {
      issues.push(
        issue('namespace', at, `"${from}" and "${earlier}" both map to "${to}": their objects would collide`),
      );
    } else firstSourceOf.set(to, from);
    if (Object.hasOwn(mapping, to) && mapping[to] !== to) {
      issues.push(
        issue(
          'namespace',
          at,
          `target "${to}" is itself mapped (to "${mapping[to]}"): a namespace cannot be both a target and a source`,
        ),
      );
    }
  }
  return issues;
}

/** Warnings (not errors) for a Restore that writes into a system namespace. */
export function systemNamespaceIssues(spec: RestorePolicySpec): Issue[] {
  const issues: Issue[] = [];
  for (const [from, to] of Object.entries(spec.namespaceMapping ?? {})) {
    if (SYSTEM_NAMESPACES.includes(to))
      issues.push(warning('namespace', ['spec', 'namespaceMapping', from], systemNamespaceWarning(to)));
  }
  const mapped = spec.namespaceMapping ?? {};
  (spec.includedNamespaces ?? []).forEach((namespace, index) => {
    if (SYSTEM_NAMESPACES.includes(namespace) && !Object.hasOwn(mapped, namespace))
      issues.push(
        warning('namespace', ['spec', 'includedNamespaces', index], systemNamespaceWarning(namespace)),
      );
  });
  return issues;
}
