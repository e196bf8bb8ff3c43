// Restore hooks of one restored pod, as the plan shows them and the restore applies them
// (Velero's InitContainerRestoreHookHandler and GroupRestoreExecHooks): init containers put
// before the pod's own, and exec hooks to run once its containers are up. Pure.
//
// The plan shows each hook's container and command as written — never the values of Secrets
// a container's env may refer to: only name, image and command of an init container are shown.
import type { KubeObject } from '../kube/types.js';
import { restoreExecHooksFor, restoreInitContainersFor, type HookPod } from './resolve.js';
import type { RestoreHooks } from './spec.js';
import { RESTORE_WAIT_CONTAINER } from '../volumes/restore-wait.js';

/** A hook as a restore plan lists it. */
export interface PlannedHook {
  type: 'init' | 'exec';
  /** The resource hook's name, or `<from-annotation>`. */
  hook: string;
  container: string;
  command: string[];
  /** Init containers only. */
  image?: string;
  /** Exec hooks only. */
  onError?: 'Continue' | 'Fail';
  execTimeoutMs?: number;
  waitTimeoutMs?: number;
  waitForReady?: boolean;
}

export function hookPodOf(pod: KubeObject): HookPod {
  const spec = pod.spec as { containers?: { name: string }[] } | undefined;
  return {
    namespace: pod.metadata.namespace ?? '',
    name: pod.metadata.name ?? '',
    ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}),
    ...(pod.metadata.annotations ? { annotations: pod.metadata.annotations } : {}),
    containers: (spec?.containers ?? []).map((c) => c.name),
  };
}

/**
 * The restored pod with the init hooks' containers first (after Velero's or lifeboat's
 * restore-wait container, which must stay first), or the errors that name the pod. `pod` is in
 * its target namespace: restore hooks select by the namespace a pod is restored into, as
 * Velero's.
 */
export function withInitHooks(
  pod: KubeObject,
  hooks: RestoreHooks | undefined,
): { pod: KubeObject; added: string[] } | { errors: string[] } {
  const resolved = restoreInitContainersFor(hookPodOf(pod), hooks);
  if (resolved.errors.length > 0) return { errors: resolved.errors };
  if (resolved.hooks.length === 0) return { pod, added: [] };
  const spec = (pod.spec ?? {}) as { initContainers?: { name: string }[] };
  const own = spec.initContainers ?? [];
  const first = own[0]?.name;
  const keepFirst = first === 'restore-wait' || first === RESTORE_WAIT_CONTAINER ? own.slice(0, 1) : [];
  const rest = own.slice(keepFirst.length);
  const added = resolved.hooks.map((h) => h.container);
  return {
    pod: { ...pod, spec: { ...spec, initContainers: [...keepFirst, ...added, ...rest] } },
    added: added.map((c) => c.name),
  };
}

/** Every hook a restored pod gets, for the plan; `pod` is the object the restore writes. */
export function plannedHooks(
  pod: KubeObject,
  hooks: RestoreHooks | undefined,
): { hooks: PlannedHook[]; errors: string[] } {
  const hookPod = hookPodOf(pod);
  const init = restoreInitContainersFor(hookPod, hooks);
  const exec = restoreExecHooksFor(hookPod, hooks);
  return {
    hooks: [
      ...init.hooks.map((h): PlannedHook => ({
        type: 'init',
        hook: h.name,
        container: h.container.name,
        command: h.container.command ?? [],
        image: h.container.image,
      })),
      ...exec.hooks.map((h): PlannedHook => ({
        type: 'exec',
        hook: h.name,
        container: h.container,
        command: h.command,
        onError: h.onError,
        execTimeoutMs: h.execTimeoutMs,
        waitTimeoutMs: h.waitTimeoutMs,
        waitForReady: h.waitForReady,
      })),
    ],
    errors: [...init.errors, ...exec.errors],
  };
}
