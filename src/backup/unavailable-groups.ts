// API group-versions that discovery announced but could not read — an aggregated API whose
// Service has no ready backend. Nothing of them can be listed, so a backup that could have
// contained their objects is incomplete. Velero skips them with a log line; lifeboat makes it
// an error naming each one, so the backup ends PartiallyFailed (issue 18), unless the spec's
// `unavailableApiGroups: Warn` accepts it: then the backup completes with a named warning.
import type { BackupItemError } from './engine.js';
import type { BackupSpec } from './spec.js';

export const UNAVAILABLE_API_GROUP_CHOICES = ['PartiallyFailed', 'Warn'] as const;
export type UnavailableApiGroups = (typeof UNAVAILABLE_API_GROUP_CHOICES)[number];

export interface UnavailableGroupIssues {
  errors: BackupItemError[];
  warnings: string[];
}

/**
 * What the backup records for each unavailable group-version. None when the spec names the
 * resources it wants explicitly (no `*`): the resolver already refused any resource it names that
 * the cluster does not serve, so an unavailable group cannot hold what was asked for.
 */
export function unavailableGroupIssues(spec: BackupSpec, groupVersions: string[]): UnavailableGroupIssues {
  const issues: UnavailableGroupIssues = { errors: [], warnings: [] };
  if (!couldIncludeAnyGroup(spec)) return issues;
  for (const gv of groupVersions) {
    const message = `API group-version ${gv} is unavailable (its API service did not answer discovery): none of its objects are in the backup`;
    if (spec.unavailableApiGroups === 'Warn') issues.warnings.push(message);
    else issues.errors.push({ resource: gv, message });
  }
  return issues;
}

function couldIncludeAnyGroup(spec: BackupSpec): boolean {
  const lists = [
    spec.includedResources,
    spec.includedNamespaceScopedResources,
    spec.includedClusterScopedResources,
  ].filter((l): l is string[] => l !== undefined && l.length > 0);
  return lists.length === 0 || lists.some((l) => l.includes('*'));
}
