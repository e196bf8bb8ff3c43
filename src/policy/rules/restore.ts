// What only a Restore has: its source and its namespace mapping.
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { RestorePolicySpec } from '../types.js';
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

/** Keys are namespaces in the backup, values namespaces to restore into: both real names. */
export function namespaceMappingIssues(spec: RestorePolicySpec): Issue[] {
  const issues: Issue[] = [];
  for (const [from, to] of Object.entries(spec.namespaceMapping ?? {})) {
    const at = ['spec', 'namespaceMapping', from];
    const fromError = dns1123LabelError(from);
    if (fromError) issues.push(issue('namespace', at, `namespace "${from}" ${fromError}`, 'key'));
    const toError = dns1123LabelError(to);
    if (toError) issues.push(issue('namespace', at, `namespace "${to}" ${toError}`));
  }
  return issues;
}
