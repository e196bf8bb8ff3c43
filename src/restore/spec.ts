// The restore spec: the same fields, names and meaning as Velero's RestoreSpec.
import type { LabelSelector, ResourceFilterSpec } from '../backup/spec.js';
import type { RestoreHooks } from '../hooks/spec.js';

export interface ResourceModifierConditions {
  groupResource: string; // e.g. 'deployments.apps', '*' for all
  resourceNameRegex?: string;
  namespaces?: string[];
  labelSelector?: LabelSelector;
  matches?: { path: string; value: string }[];
}

export interface JsonPatchOperation {
  operation: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: string; // Velero takes the value as a string holding JSON
  from?: string;
}

export interface ResourceModifierRule {
  conditions: ResourceModifierConditions;
  patches?: JsonPatchOperation[];
  mergePatches?: { patchData: string }[];
  strategicPatches?: { patchData: string }[];
}

export interface ResourceModifiers {
  version: 'v1';
  resourceModifierRules: ResourceModifierRule[];
}

export interface RestoreSpec extends ResourceFilterSpec {
  backupName?: string;
  scheduleName?: string;
  namespaceMapping?: Record<string, string>;
  restorePVs?: boolean;
  preserveNodePorts?: boolean;
  existingResourcePolicy?: 'none' | 'update';
  /** Velero: restoreStatus.includedResources / excludedResources. */
  restoreStatus?: { includedResources?: string[]; excludedResources?: string[] };
  resourceModifiers?: ResourceModifiers;
  /** lifeboat: Argo CD / Flux tracking marks kept and flagged (default) or stripped (gitops-tracking.ts). */
  gitopsTracking?: 'Keep' | 'Strip';
  /** Init containers and commands for restored pods; pod annotations win (src/hooks). */
  hooks?: RestoreHooks;
}
