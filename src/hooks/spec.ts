// Hook specs as Velero writes them (velero.io/v1 BackupHooks and RestoreHooks), the shape of
// `spec.hooks` in Backup, BackupSchedule templates and Restore documents.
import type { LabelSelector } from '../backup/spec.js';

export type HookOnError = 'Continue' | 'Fail';

/** Which pods a set of hooks is for (Velero's ResourceHookSelector fields). */
export interface HookSelectorSpec {
  name: string;
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  labelSelector?: LabelSelector;
}

export interface ExecHookSpec {
  container?: string;
  command: string[];
  onError?: HookOnError;
  /** Go duration; 30s when omitted. */
  timeout?: string;
}

export interface BackupResourceHookSpec extends HookSelectorSpec {
  pre?: { exec: ExecHookSpec }[];
  post?: { exec: ExecHookSpec }[];
}

export interface BackupHooks {
  resources?: BackupResourceHookSpec[];
}

export interface ExecRestoreHookSpec {
  container?: string;
  command: string[];
  onError?: HookOnError;
  execTimeout?: string;
  waitTimeout?: string;
  waitForReady?: boolean;
}

/** A Kubernetes Container: name, image and command are required (Velero's ValidateContainer). */
export interface InitContainerSpec {
  name: string;
  image: string;
  command: string[];
  [field: string]: unknown;
}

export interface InitRestoreHookSpec {
  initContainers: InitContainerSpec[];
  timeout?: string;
}

export type RestoreResourceHook = { exec: ExecRestoreHookSpec } | { init: InitRestoreHookSpec };

export interface RestoreResourceHookSpec extends HookSelectorSpec {
  postHooks?: RestoreResourceHook[];
}

export interface RestoreHooks {
  resources?: RestoreResourceHookSpec[];
}

/** Velero's podexec defaultTimeout: an exec hook without a timeout may run this long. */
export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
