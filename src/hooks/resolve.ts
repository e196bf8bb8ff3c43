// Which hooks run in a pod, with Velero's semantics (internal/hook/item_hook_handler.go): a
// pod's own annotations win; only when it has none for that phase do the spec's resource
// hooks that select the pod apply. Pure: pods come in as small records, hooks go out resolved
// (container chosen, defaults applied, durations in ms).
//
// Unlike Velero, which logs a malformed annotation and falls back to defaults, a malformed
// annotation is an error naming the pod and the annotation: a `timeout: 5 minutes` silently
// becoming 30s is the kind of surprise a freeze hook must not have.
import { matchesSelector } from '../backup/label-selector.js';
import { parseDuration } from '../util/duration.js';
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  type BackupHooks,
  type HookOnError,
  type HookSelectorSpec,
  type RestoreHooks,
} from './spec.js';

/** What hooks need to know about a pod: a small record, never the whole object. */
export interface HookPod {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Container names in spec order: the first is the default for a hook without one. */
  containers: string[];
}

export type BackupHookPhase = 'pre' | 'post';

/** Where a hook came from, as Velero's hook tracker names it. */
export type HookSource = 'annotation' | 'spec';

/** The hook name Velero gives a hook from annotations. */
export const ANNOTATION_HOOK_NAME = '<from-annotation>';

export interface ResolvedExecHook {
  source: HookSource;
  /** The resource hook's name, or ANNOTATION_HOOK_NAME. */
  name: string;
  /** Position within its resource hook's list (0 for annotations). */
  index: number;
  container: string;
  command: string[];
  onError: HookOnError;
  timeoutMs: number;
}

export interface ResolvedRestoreExecHook extends Omit<ResolvedExecHook, 'timeoutMs'> {
  execTimeoutMs: number;
  /** 0: wait as long as the restore does. */
  waitTimeoutMs: number;
  waitForReady: boolean;
}

export interface ResolvedInitContainer {
  source: HookSource;
  name: string;
  /** The Container as it is added to the pod: name, image, command and whatever else was given. */
  container: { name: string; image: string; command: string[]; [field: string]: unknown };
}

/** Hooks for one pod, or why they cannot run (each message names the pod). */
export interface Resolved<T> {
  hooks: T[];
  errors: string[];
}

const BACKUP_KEY = 'hook.backup.velero.io';
const RESTORE_POST_KEY = 'post.hook.restore.velero.io';
const RESTORE_INIT_KEY = 'init.hook.restore.velero.io';

/** The annotations that make hooks, for the collector to keep (nothing else of a pod's). */
export function isHookAnnotation(key: string): boolean {
  return (
    key.startsWith(`${BACKUP_KEY}/`) ||
    key.startsWith(`pre.${BACKUP_KEY}/`) ||
    key.startsWith(`post.${BACKUP_KEY}/`) ||
    key.startsWith(`${RESTORE_POST_KEY}/`) ||
    key.startsWith(`${RESTORE_INIT_KEY}/`)
  );
}

function podName(pod: Pick<HookPod, 'namespace' | 'name'>): string {
  return `${pod.namespace}/${pod.name}`;
}

/**
 * Velero's parseStringToCommand: a value starting with `[` is a JSON list of strings, anything
 * else one word (no shell splitting: `/bin/sh -c ...` needs the list form).
 */
export function parseHookCommand(value: string): string[] | string {
  if (!value.startsWith('[')) return [value];
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (err) {
    return `not a JSON list of strings (${(err as Error).message})`;
  }
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string'))
    return 'not a JSON list of strings';
  if (parsed.length === 0) return 'an empty list';
  return parsed;
}

/** Reads annotations of one pod, collecting every problem rather than stopping at the first. */
class AnnotationReader {
  readonly errors: string[] = [];
  constructor(private readonly pod: HookPod) {}

  get(key: string): string | undefined {
    const v = this.pod.annotations?.[key];
    return v === undefined || v === '' ? undefined : v;
  }

  private fail(key: string, problem: string): void {
    this.errors.push(`pod ${podName(this.pod)}: annotation ${key}: ${problem}`);
  }

  command(key: string): string[] | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    const parsed = parseHookCommand(v);
    if (typeof parsed === 'string') {
      this.fail(key, parsed);
      return undefined;
    }
    return parsed;
  }

  onError(key: string, fallback: HookOnError): HookOnError {
    const v = this.get(key);
    if (v === undefined) return fallback;
    if (v === 'Continue' || v === 'Fail') return v;
    this.fail(key, `must be Continue or Fail, not ${JSON.stringify(v)}`);
    return fallback;
  }

  duration(key: string, fallback: number): number {
    const v = this.get(key);
    if (v === undefined) return fallback;
    const ms = durationMs(v);
    if (typeof ms === 'string') {
      this.fail(key, ms);
      return fallback;
    }
    return ms;
  }

  boolean(key: string): boolean {
    const v = this.get(key);
    if (v === undefined) return false;
    // Go's strconv.ParseBool, which Velero uses.
    if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
    if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
    this.fail(key, `must be true or false, not ${JSON.stringify(v)}`);
    return false;
  }

  container(key: string, containers: string[]): string | undefined {
    const v = this.get(key);
    if (v === undefined) return defaultContainer(this.pod, this.errors);
    if (!containers.includes(v)) {
      this.fail(key, `the pod has no container ${JSON.stringify(v)} (it has ${containers.join(', ')})`);
      return undefined;
    }
    return v;
  }
}

/** A Go duration in ms, or why it is not one (zero and negative durations are refused). */
export function durationMs(value: string): number | string {
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    return (err as Error).message;
  }
  return ms > 0 ? ms : `must be a positive duration, not ${JSON.stringify(value)}`;
}

function defaultContainer(pod: HookPod, errors: string[]): string | undefined {
  const first = pod.containers[0];
  if (first === undefined) errors.push(`pod ${podName(pod)}: has no containers to run a hook in`);
  return first;
}

/** Velero's ResourceHookSelector.applicableTo, for pods. */
export function selectsPod(selector: HookSelectorSpec, pod: HookPod, namespace = pod.namespace): boolean {
  if (!includesName(selector.includedNamespaces, selector.excludedNamespaces, namespace)) return false;
  if (!includesName(selector.includedResources, selector.excludedResources, 'pods', ['pod', 'po']))
    return false;
  return !selector.labelSelector || matchesSelector(pod.labels, selector.labelSelector);
}

/** Velero's IncludesExcludes: excludes win; no includes (or `*`) means all; globs as Velero's. */
function includesName(
  included: string[] | undefined,
  excluded: string[] | undefined,
  name: string,
  aliases: string[] = [],
): boolean {
  const names = [name, ...aliases];
  const matches = (pattern: string): boolean =>
    pattern === '*' || names.some((n) => globMatches(pattern, n) || pattern === `${n}.`);
  if ((excluded ?? []).some(matches)) return false;
  return !included || included.length === 0 || included.some(matches);
}

/** `*`, `?` and `[...]` as Velero's glob; names are short and patterns small. */
function globMatches(pattern: string, name: string): boolean {
  if (!/[*?[]/.test(pattern)) return pattern === name;
  const source = pattern
    .replace(/[.+^${}()|\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  try {
    return new RegExp(`^${source}$`).test(name);
  } catch {
    return false;
  }
}

/** The exec hooks of one backup phase for a pod: its annotations, else the spec's. */
export function backupHooksFor(
  pod: HookPod,
  phase: BackupHookPhase,
  hooks: BackupHooks | undefined,
): Resolved<ResolvedExecHook> {
  const reader = new AnnotationReader(pod);
  // Velero: `hook.backup.velero.io/*` (no phase) is the pre hook, for older annotations.
  const prefixes = phase === 'pre' ? [`pre.${BACKUP_KEY}`, BACKUP_KEY] : [`post.${BACKUP_KEY}`];
  for (const prefix of prefixes) {
    const command = reader.command(`${prefix}/command`);
    if (!command) {
      if (reader.errors.length > 0) return { hooks: [], errors: reader.errors };
      continue;
    }
    const container = reader.container(`${prefix}/container`, pod.containers);
    const onError = reader.onError(`${prefix}/on-error`, 'Fail');
    const timeoutMs = reader.duration(`${prefix}/timeout`, DEFAULT_EXEC_TIMEOUT_MS);
    if (reader.errors.length > 0 || container === undefined) return { hooks: [], errors: reader.errors };
    return {
      hooks: [
        {
          source: 'annotation',
          name: ANNOTATION_HOOK_NAME,
          index: 0,
          container,
          command,
          onError,
          timeoutMs,
        },
      ],
      errors: [],
    };
  }
  const resolved: ResolvedExecHook[] = [];
  const errors: string[] = [];
  for (const resource of hooks?.resources ?? []) {
    if (!selectsPod(resource, pod)) continue;
    (resource[phase] ?? []).forEach(({ exec }, index) => {
      const container = specContainer(pod, resource.name, exec.container, errors);
      const timeoutMs = specDuration(exec.timeout, DEFAULT_EXEC_TIMEOUT_MS);
      if (container === undefined) return;
      resolved.push({
        source: 'spec',
        name: resource.name,
        index,
        container,
        command: exec.command,
        onError: exec.onError ?? 'Fail',
        timeoutMs,
      });
    });
  }
  return { hooks: resolved, errors };
}

function specContainer(
  pod: HookPod,
  hookName: string,
  container: string | undefined,
  errors: string[],
): string | undefined {
  if (container === undefined) return defaultContainer(pod, errors);
  if (pod.containers.includes(container)) return container;
  errors.push(
    `pod ${podName(pod)}: hook ${hookName}: the pod has no container ${JSON.stringify(container)} ` +
      `(it has ${pod.containers.join(', ')})`,
  );
  return undefined;
}

/** Spec durations were checked when the policy was loaded (rules/hooks.ts). */
function specDuration(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = durationMs(value);
  return typeof ms === 'number' ? ms : fallback;
}

/**
 * The exec hooks run in a restored pod once it is up. `namespace` is where the pod is
 * restored (after namespace mapping): Velero selects restore hooks by the target namespace.
 */
export function restoreExecHooksFor(
  pod: HookPod,
  hooks: RestoreHooks | undefined,
  namespace = pod.namespace,
): Resolved<ResolvedRestoreExecHook> {
  const reader = new AnnotationReader(pod);
  const command = reader.command(`${RESTORE_POST_KEY}/command`);
  if (command) {
    const container = reader.container(`${RESTORE_POST_KEY}/container`, pod.containers);
    const hook = {
      source: 'annotation' as const,
      name: ANNOTATION_HOOK_NAME,
      index: 0,
      command,
      // Velero's restore exec hooks continue unless told to fail (wait_exec_hook_handler.go).
      onError: reader.onError(`${RESTORE_POST_KEY}/on-error`, 'Continue'),
      execTimeoutMs: reader.duration(`${RESTORE_POST_KEY}/exec-timeout`, DEFAULT_EXEC_TIMEOUT_MS),
      waitTimeoutMs: reader.duration(`${RESTORE_POST_KEY}/wait-timeout`, 0),
      waitForReady: reader.boolean(`${RESTORE_POST_KEY}/wait-for-ready`),
    };
    if (reader.errors.length > 0 || container === undefined) return { hooks: [], errors: reader.errors };
    return { hooks: [{ ...hook, container }], errors: [] };
  }
  if (reader.errors.length > 0) return { hooks: [], errors: reader.errors };
  const resolved: ResolvedRestoreExecHook[] = [];
  const errors: string[] = [];
  for (const resource of hooks?.resources ?? []) {
    if (!selectsPod(resource, pod, namespace)) continue;
    (resource.postHooks ?? []).forEach((hook, index) => {
      if (!('exec' in hook)) return;
      const { exec } = hook;
      const container = specContainer(pod, resource.name, exec.container, errors);
      if (container === undefined) return;
      resolved.push({
        source: 'spec',
        name: resource.name,
        index,
        container,
        command: exec.command,
        onError: exec.onError ?? 'Continue',
        execTimeoutMs: specDuration(exec.execTimeout, DEFAULT_EXEC_TIMEOUT_MS),
        waitTimeoutMs: specDuration(exec.waitTimeout, 0),
        waitForReady: exec.waitForReady ?? false,
      });
    });
  }
  return { hooks: resolved, errors };
}

/** The name an annotation's init container gets when it has none (Velero's is random). */
export const DEFAULT_INIT_CONTAINER_NAME = 'restore-init';

/** The init containers put before a restored pod's own: its annotations', else the spec's. */
export function restoreInitContainersFor(
  pod: HookPod,
  hooks: RestoreHooks | undefined,
  namespace = pod.namespace,
): Resolved<ResolvedInitContainer> {
  const reader = new AnnotationReader(pod);
  const image = reader.get(`${RESTORE_INIT_KEY}/container-image`);
  if (image !== undefined) {
    // Deterministic, unlike Velero's random suffix, so that a plan computed twice is the same.
    const name = reader.get(`${RESTORE_INIT_KEY}/container-name`) ?? DEFAULT_INIT_CONTAINER_NAME;
    const command = reader.command(`${RESTORE_INIT_KEY}/command`);
    if (reader.errors.length > 0) return { hooks: [], errors: reader.errors };
    return {
      hooks: [
        {
          source: 'annotation',
          name: ANNOTATION_HOOK_NAME,
          // Without a command the image's entrypoint runs, as in Velero.
          container: { name, image, ...(command ? { command } : {}) } as ResolvedInitContainer['container'],
        },
      ],
      errors: [],
    };
  }
  const resolved: ResolvedInitContainer[] = [];
  for (const resource of hooks?.resources ?? []) {
    if (!selectsPod(resource, pod, namespace)) continue;
    for (const hook of resource.postHooks ?? []) {
      if (!('init' in hook)) continue;
      for (const container of hook.init.initContainers)
        resolved.push({ source: 'spec', name: resource.name, container: structuredClone(container) });
    }
  }
  return { hooks: resolved, errors: [] };
}
