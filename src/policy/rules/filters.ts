// The resource filters of backups and restores, checked the way Velero checks them before it
// starts (velero pkg/controller/backup_controller.go prepareBackupRequest and
// restore_controller.go validateAndComplete, with pkg/util/collections/includes_excludes.go).
import type { LabelSelector } from '../../backup/spec.js';
import { issue } from '../issue.js';
import type { Issue } from '../issue.js';
import type { BackupTemplate, FieldPath, RestorePolicySpec } from '../types.js';
import { namespaceFilterError } from './k8s-names.js';
import { labelSelectorIssues } from './selectors.js';
import { timeoutIssues, ttlIssues } from './duration.js';

/**
 * Velero's ValidateIncludesExcludes: '*' only on its own in an include list, never in an
 * exclude list, and nothing both included and excluded.
 */
export function includesExcludesIssues(spec: object, base: FieldPath, names: [string, string]): Issue[] {
  const [includedField, excludedField] = names;
  const included = stringList(field(spec, includedField));
  const excluded = stringList(field(spec, excludedField));
  const issues: Issue[] = [];
  if (included.length > 1 && included.includes('*')) {
    issues.push(
      issue(
        'filter',
        [...base, includedField],
        `${includedField} must be either "*" alone or a list of names`,
        'key',
      ),
    );
  }
  excluded.forEach((item, index) => {
    if (item === '*')
      issues.push(issue('filter', [...base, excludedField, index], `${excludedField} must not contain "*"`));
    else if (included.includes(item)) {
      issues.push(
        issue(
          'filter',
          [...base, excludedField, index],
          `"${item}" is both in ${includedField} and ${excludedField}`,
        ),
      );
    }
  });
  return issues;
}

/** Velero's ValidateNamespaceIncludesExcludes: the list rules plus namespace name syntax. */
export function namespaceFilterIssues(spec: object, base: FieldPath): Issue[] {
  const issues = includesExcludesIssues(spec, base, ['includedNamespaces', 'excludedNamespaces']);
  for (const name of ['includedNamespaces', 'excludedNamespaces']) {
    stringList(field(spec, name)).forEach((namespace, index) => {
      const error = namespaceFilterError(namespace);
      if (error) issues.push(issue('namespace', [...base, name, index], `namespace "${namespace}" ${error}`));
    });
  }
  return issues;
}

/** labelSelector and orLabelSelectors: each well-formed, and not both (Velero refuses that). */
export function selectorFilterIssues(
  spec: { labelSelector?: LabelSelector; orLabelSelectors?: LabelSelector[] },
  base: FieldPath,
): Issue[] {
  const issues: Issue[] = [];
  if (spec.labelSelector) issues.push(...labelSelectorIssues(spec.labelSelector, [...base, 'labelSelector']));
  (spec.orLabelSelectors ?? []).forEach((selector, index) => {
    issues.push(...labelSelectorIssues(selector, [...base, 'orLabelSelectors', index]));
  });
  if (spec.labelSelector && spec.orLabelSelectors) {
    issues.push(
      issue(
        'filter',
        [...base, 'orLabelSelectors'],
        'set labelSelector or orLabelSelectors, not both',
        'key',
      ),
    );
  }
  return issues;
}

const SCOPED_FILTERS = [
  'includedClusterScopedResources',
  'excludedClusterScopedResources',
  'includedNamespaceScopedResources',
  'excludedNamespaceScopedResources',
] as const;

/**
 * Velero's two generations of resource filters cannot be mixed (collections.UseOldResourceFilters:
 * the old ones are in use when includeClusterResources is set or the resource lists are non-empty).
 */
export function filterGenerationIssues(template: BackupTemplate, base: FieldPath): Issue[] {
  const usesOld =
    template.includeClusterResources !== 'auto' ||
    stringList(template.includedResources).length > 0 ||
    stringList(template.excludedResources).length > 0;
  const scoped = SCOPED_FILTERS.find((name) => stringList(template[name]).length > 0);
  if (!usesOld || !scoped) return [];
  return [
    issue(
      'filter',
      [...base, scoped],
      `${scoped} is a scope-specific filter and cannot be combined with includedResources, excludedResources or includeClusterResources`,
      'key',
    ),
  ];
}

/** Everything about a backup template (BackupSchedule.spec.template, Backup.spec). */
export function backupTemplateIssues(template: BackupTemplate, base: FieldPath): Issue[] {
  return [
    ...namespaceFilterIssues(template, base),
    ...includesExcludesIssues(template, base, ['includedResources', 'excludedResources']),
    ...includesExcludesIssues(template, base, [
      'includedClusterScopedResources',
      'excludedClusterScopedResources',
    ]),
    ...includesExcludesIssues(template, base, [
      'includedNamespaceScopedResources',
      'excludedNamespaceScopedResources',
    ]),
    ...filterGenerationIssues(template, base),
    ...selectorFilterIssues(template, base),
    ...ttlIssues(template.ttl, [...base, 'ttl']),
    ...timeoutIssues('csiSnapshotTimeout', template.csiSnapshotTimeout, [...base, 'csiSnapshotTimeout']),
  ];
}

/**
 * Resources Velero never restores (velero pkg/controller/restore_controller.go,
 * nonRestorableResources): naming one in includedResources is an error there too.
 */
export const NON_RESTORABLE_RESOURCES: readonly string[] = [
  'nodes',
  'events',
  'events.events.k8s.io',
  'backups.velero.io',
  'restores.velero.io',
  'resticrepositories.velero.io',
  'csinodes.storage.k8s.io',
  'volumeattachments.storage.k8s.io',
  'backuprepositories.velero.io',
];

export function restoreFilterIssues(spec: RestorePolicySpec): Issue[] {
  const base = ['spec'];
  const issues = [
    ...namespaceFilterIssues(spec, base),
    ...includesExcludesIssues(spec, base, ['includedResources', 'excludedResources']),
    ...selectorFilterIssues(spec, base),
  ];
  if (spec.restoreStatus) {
    issues.push(
      ...includesExcludesIssues(
        spec.restoreStatus,
        [...base, 'restoreStatus'],
        ['includedResources', 'excludedResources'],
      ),
    );
  }
  stringList(spec.includedResources).forEach((resource, index) => {
    if (NON_RESTORABLE_RESOURCES.includes(resource)) {
      issues.push(
        issue(
          'filter',
          [...base, 'includedResources', index],
          `${resource} are never restored (as in Velero)`,
        ),
      );
    }
  });
  return issues;
}

function field(spec: object, name: string): unknown {
  return (spec as Record<string, unknown>)[name];
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
