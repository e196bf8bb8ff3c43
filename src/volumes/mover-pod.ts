// The short-lived pod of snapshot data movement (Velero's data mover pods): it only mounts one
// claim, so that the kubelet mounts the volume on a node where the node agent can read it
// (backup) or fill it (restore). Its container only sleeps; it is deleted as soon as the agent
// is done. Used by the backup's data mover (data-mover.ts) and the restore's claim fill
// (src/restore/moved-claims-fill.ts).
import { createHash } from 'node:crypto';
import type { KubeClient } from '../kube/client.js';
import { PERSISTENT_VOLUME_CLAIM } from '../kube/snapshots.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { restrictedContainerContext, restrictedPodContext } from './pod-security.js';

export const PODS: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'pods',
  kind: 'Pod',
  namespaced: true,
  verbs: ['get', 'create', 'delete'],
  shortNames: [],
  singularName: 'pod',
  preferredVersion: 'v1',
};

/** The label on every temporary object of data movement: `backup` or `restore`. */
export const DATA_MOVER_LABEL = 'lifeboat.dev/data-mover';
/** The annotation naming the claim a temporary object stands in for. */
export const SOURCE_CLAIM_ANNOTATION = 'lifeboat.dev/source-claim';
/** The volume name of the claim in the mover pod. */
export const MOVER_VOLUME = 'data';
/** The image unless the caller says otherwise: lifeboat's own (it has sh and sleep). */
export const DEFAULT_MOVER_IMAGE = 'ghcr.io/lifeboat-dev/lifeboat:0.1.0';

/**
 * The name of the temporary claim and pod for one claim of one backup or restore: derived, so a
 * retried or interrupted run finds (and replaces) its own leftovers instead of adding more.
 */
export function moverName(o: {
  kind: 'backup' | 'restore';
  owner: string;
  namespace: string;
  claim: string;
}): string {
  const hash = createHash('sha256').update(`${o.kind}/${o.owner}/${o.namespace}/${o.claim}`).digest('hex');
  return `lifeboat-move-${hash.slice(0, 20)}`;
}

/**
 * A pod that mounts `claim` and sleeps; never restarted, no API token, killed at once. It passes
 * the restricted Pod Security level (pod-security.ts): it runs as a non-root user and only holds
 * the mount; the agent on the node does the I/O.
 */
export function moverPod(o: {
  namespace: string;
  name: string;
  claim: string;
  image: string;
  readOnly: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, namespace: o.namespace, labels: o.labels, annotations: o.annotations },
    spec: {
      restartPolicy: 'Never',
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      securityContext: restrictedPodContext(),
      containers: [
        {
          name: 'hold',
          image: o.image,
          imagePullPolicy: 'IfNotPresent',
          command: ['sh', '-c', 'while true; do sleep 3600; done'],
          securityContext: restrictedContainerContext(),
          volumeMounts: [{ name: MOVER_VOLUME, mountPath: '/data', readOnly: o.readOnly }],
        },
      ],
      volumes: [{ name: MOVER_VOLUME, persistentVolumeClaim: { claimName: o.claim, readOnly: o.readOnly } }],
    },
  };
}

interface PodShape {
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
  };
}

/** Why a pod is not running yet, in its own words (scheduler condition, container waiting). */
export function pendingReason(pod: KubeObject): string {
  const p = pod as KubeObject & PodShape;
  const phase = p.status?.phase ?? 'Pending';
  const unscheduled = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
  const waiting = p.status?.containerStatuses?.find((c) => c.state?.waiting)?.state?.waiting;
  const why = unscheduled
    ? `not scheduled: ${unscheduled.message ?? unscheduled.reason ?? 'no reason given'}`
    : waiting
      ? `container waiting: ${waiting.reason ?? ''}${waiting.message ? ` (${waiting.message})` : ''}`
      : undefined;
  return why ? `${phase}, ${why}` : phase;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates the pod and waits until it runs (its volume is mounted then): its node and uid. */
export async function startMoverPod(
  kube: KubeClient,
  pod: KubeObject,
  o: { timeoutMs: number; pollMs: number },
): Promise<{ node: string; uid: string }> {
  const namespace = pod.metadata.namespace ?? '';
  const name = pod.metadata.name ?? '';
  await kube.create(PODS, pod);
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const live = await kube.get(PODS, namespace, name).catch(() => undefined);
    if (live === null) throw new Error(`its pod ${namespace}/${name} was deleted before it ran`);
    const p: (KubeObject & PodShape) | undefined = live;
    if (p?.status?.phase === 'Running' && p.spec?.nodeName) {
      return { node: p.spec.nodeName, uid: p.metadata.uid ?? '' };
    }
    if (p?.status?.phase === 'Failed' || p?.status?.phase === 'Succeeded') {
      throw new Error(`its pod ${namespace}/${name} ended (${p.status.phase}) before the copy`);
    }
    if (Date.now() > deadline) {
      const seconds = Math.round(o.timeoutMs / 1000);
      throw new Error(
        `its pod ${namespace}/${name} did not run within ${seconds}s (${live ? pendingReason(live) : 'unreadable'})`,
      );
    }
    await sleep(o.pollMs);
  }
}

/** The claim's bound PersistentVolume (the kubelet names the claim's directory after it). */
export async function boundVolumeOf(kube: KubeClient, namespace: string, claim: string): Promise<string> {
  const pvc = await kube.get(PERSISTENT_VOLUME_CLAIM, namespace, claim);
  const volumeName = (pvc?.spec as { volumeName?: string } | undefined)?.volumeName;
  if (!volumeName) throw new Error(`claim ${namespace}/${claim} is not bound to a volume`);
  return volumeName;
}

/**
 * Deletes the objects (a pod, a claim) and waits until they are gone, so nothing temporary
 * outlives the run. Returns a message per object still there at the deadline, or not deletable.
 */
export async function deleteAndWait(
  kube: KubeClient,
  objects: { info: ResourceInfo; namespace: string; name: string }[],
  o: { timeoutMs: number; pollMs: number },
): Promise<string[]> {
  const problems: string[] = [];
  const left: typeof objects = [];
  for (const x of objects) {
    try {
      await kube.delete(x.info, x.namespace, x.name);
      left.push(x);
    } catch (err) {
      problems.push(`cannot delete ${x.info.kind} ${x.namespace}/${x.name}: ${(err as Error).message}`);
    }
  }
  const deadline = Date.now() + o.timeoutMs;
  for (const x of left) {
    for (;;) {
      const live = await kube.get(x.info, x.namespace, x.name).catch(() => undefined);
      if (live === null) break;
      if (Date.now() > deadline) {
        problems.push(`${x.info.kind} ${x.namespace}/${x.name} is still there after it was deleted`);
        break;
      }
      await sleep(o.pollMs);
    }
  }
  return problems;
}
