// The semantic rules of each kind, run on documents that passed their schema.
import type { Issue } from '../issue.js';
import type { PolicyDocumentOfKind, PolicyKind } from '../types.js';
import { backupTemplateIssues, restoreFilterIssues } from './filters.js';
import { backupHookIssues, restoreHookIssues } from './hooks.js';
import { metadataIssues } from './metadata.js';
import { resourceModifierIssues } from './resource-modifiers.js';
import { namespaceMappingIssues, restoreSourceIssues, systemNamespaceIssues } from './restore.js';
import { restoreApprovalIssues } from './restore-approval.js';
import { scheduleIssues } from './schedule.js';
import { storageLocationIssues } from './storage-location.js';
import type { StorageLocationRuleOptions } from './storage-location.js';

/** What the reconciler's flags relax in the rules. */
export type PolicyRuleOptions = StorageLocationRuleOptions;

/** A document as the rules see it: content only, no source position. */
export type DocumentContent<K extends PolicyKind = PolicyKind> = Omit<PolicyDocumentOfKind<K>, 'source'>;

export type DocumentRule<K extends PolicyKind> = (
  document: DocumentContent<K>,
  options: PolicyRuleOptions,
) => Issue[];

export const DOCUMENT_RULES: { [K in PolicyKind]: DocumentRule<K>[] } = {
  StorageLocation: [(d) => metadataIssues(d.metadata), (d, o) => storageLocationIssues(d.spec, o)],
  BackupSchedule: [
    (d) => metadataIssues(d.metadata),
    (d) => scheduleIssues(d.spec),
    (d) => backupTemplateIssues(d.spec.template, ['spec', 'template']),
    (d) => backupHookIssues(d.spec.template.hooks, ['spec', 'template', 'hooks']),
  ],
  Backup: [
    (d) => metadataIssues(d.metadata),
    (d) => backupTemplateIssues(d.spec, ['spec']),
    (d) => backupHookIssues(d.spec.hooks, ['spec', 'hooks']),
  ],
  Restore: [
    (d) => metadataIssues(d.metadata),
    (d) => restoreSourceIssues(d.spec),
    (d) => namespaceMappingIssues(d.spec),
    (d) => systemNamespaceIssues(d.spec),
    (d) => restoreFilterIssues(d.spec),
    (d) =>
      d.spec.resourceModifiers
        ? resourceModifierIssues(d.spec.resourceModifiers, ['spec', 'resourceModifiers'])
        : [],
    (d) => restoreHookIssues(d.spec.hooks, ['spec', 'hooks']),
  ],
  RestoreApproval: [(d) => metadataIssues(d.metadata), (d) => restoreApprovalIssues(d.spec)],
};

/** Every semantic issue of one schema-valid document. */
export function documentIssues<K extends PolicyKind>(
  document: DocumentContent<K>,
  options: PolicyRuleOptions = {},
): Issue[] {
  const rules = DOCUMENT_RULES[document.kind] as DocumentRule<K>[];
  return rules.flatMap((rule) => rule(document, options));
}
