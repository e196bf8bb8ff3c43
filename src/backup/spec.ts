// The backup spec: the same fields, names and meaning as Velero's BackupSpec
// (velero.io/v1), restricted to what lifeboat implements for cluster objects.
import type { BackupHooks } from '../hooks/spec.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ResourceFilterSpec {
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  /** Newer, scope-specific filters; Velero forbids mixing them with the old ones. */
  includedClusterScopedResources?: string[];
  excludedClusterScopedResources?: string[];
  includedNamespaceScopedResources?: string[];
  excludedNamespaceScopedResources?: string[];
  /** true, false, or undefined meaning Velero's "auto" (nil) behaviour. */
  includeClusterResources?: boolean | null;
  labelSelector?: LabelSelector;
  orLabelSelectors?: LabelSelector[];
}

export interface BackupSpec extends ResourceFilterSpec {
  /** Go duration, e.g. '720h'. Default 720h. */
  ttl?: string;
  storageLocation?: string;
  /**
   * lifeboat extension: what an unavailable API group-version (a broken aggregated API) makes
   * of the backup — `PartiallyFailed` (the default) or `Warn` (Completed, with a named warning).
   */
  unavailableApiGroups?: 'PartiallyFailed' | 'Warn';
  /** Commands run in pods around the backup; pod annotations win (src/hooks). */
  hooks?: BackupHooks;
}

export const DEFAULT_TTL = '720h';
