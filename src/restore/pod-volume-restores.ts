// Apply's part of file-system volume restores: for each pod the restore created whose volumes
// the plan fills from restic snapshots, once the pod is on a node (its restore-wait init
// container holds the workload), one PodVolumeRestore per volume for the node agent of that
// node, then wait for each. The agent restores into the pod's volume directory, checks files,
// directories and bytes against the backup's record, and only then leaves the marker the init
// container waits for; a volume whose restore failed or did not match fails its pod's item,
// naming the volume — the pod then never starts on partial data.
import type { KubeClient } from '../kube/client.js';
import { PERSISTENT_VOLUME_CLAIM } from '../kube/snapshots.js';
import type { ResourceInfo } from '../kube/types.js';
import type { RunLog } from '../observe/run-log.js';
import {
  NODE_LABEL,
  POD_VOLUME_RESTORE,
  RESTORE_NAME_LABEL,
  VOLUME_API_GROUP,
  VOLUME_API_VERSION,
  type PodVolumeRestore,
  type RepositorySpec,
} from '../volumes/pod-volume-types.js';
import { RESTORE_WAIT_CONTAINER } from '../volumes/restore-wait.js';
import type { PlannedPodVolume } from './fs-volumes.js';

const PODS: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'pods',
  kind: 'Pod',
  namespaced: true,
  verbs: ['get'],
  shortNames: [],
  singularName: 'pod',
  preferredVersion: 'v1',
};

/** The restic repository of the backup's location and where the PodVolumeRestores are made. */
export interface FsRestoreConfig {
  /** The location's repository; each volume is read from restic/<its backed-up namespace>. */
  repository: Omit<RepositorySpec, 'volumeNamespace'>;
  /** The namespace the PodVolumeRestores are created in (lifeboat's). */
  namespace: string;
  /** How long a pod may take to be scheduled and a volume to be restored (default 4h, Velero's). */
  timeoutMs?: number;
  pollMs?: number;
  /**
   * Ask the agent to read every restored file back and check it against the snapshot's content
   * hashes (PodVolumeRestore spec.verify): verification restores do; it reads each volume twice.
   */
  verify?: boolean;
}

export interface PodVolumeRestoreOutcome {
  namespace: string;
  pod: string;
  volume: string;
  claim?: string;
  snapshotId: string;
  result: 'succeeded' | 'failed';
  error?: string;
  files?: number;
  bytes?: number;
  /** The agent read the restored files back and they matched the snapshot (config.verify). */
  verified?: boolean;
}

export interface RestorePodVolumesOptions {
  kube: KubeClient;
  restoreName: string;
  /** The created pods with volumes to fill (their plan items' podVolumes with action restore). */
  pods: { namespace: string; name: string; volumes: PlannedPodVolume[] }[];
  config?: FsRestoreConfig;
  runLog: RunLog;
}

/** Why no volume can be restored when the restore has no repository. */
export const NO_RESTORE_REPOSITORY =
  'no restic repository is configured for this restore (the storage location names no restic password Secret), so the node agent cannot restore it; the pod waits in its restore-wait init container';

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One outcome per volume; every pod's volumes at once. */
export async function restorePodVolumes(o: RestorePodVolumesOptions): Promise<PodVolumeRestoreOutcome[]> {
  const all = await Promise.all(o.pods.map((pod) => restorePod(pod, o)));
  const outcomes = all.flat();
  for (const x of outcomes) {
    const where = { namespace: x.namespace, pod: x.pod, volume: x.volume, snapshotID: x.snapshotId };
    if (x.result === 'succeeded') {
      o.runLog.add('info', 'pod volume restored', { ...where, files: x.files ?? 0, bytes: x.bytes ?? 0 });
    } else {
      o.runLog.add('error', 'pod volume restore failed', { ...where, error: x.error ?? '' });
    }
  }
  return outcomes;
}

async function restorePod(
  pod: { namespace: string; name: string; volumes: PlannedPodVolume[] },
  o: RestorePodVolumesOptions,
): Promise<PodVolumeRestoreOutcome[]> {
  // The claim too: it is what a user resizes or mounts read-only.
  const what = (v: PlannedPodVolume) =>
    `volume ${v.volume}${v.claim ? ` (claim ${v.claim})` : ''} of pod ${pod.namespace}/${pod.name}`;
  const fail = (v: PlannedPodVolume, error: string): PodVolumeRestoreOutcome => ({
    namespace: pod.namespace,
    pod: pod.name,
    volume: v.volume,
    ...(v.claim ? { claim: v.claim } : {}),
    snapshotId: v.snapshotId,
    result: 'failed',
    error: `${what(v)}: ${error}`,
  });
  const config = o.config;
  if (!config) return pod.volumes.map((v) => fail(v, NO_RESTORE_REPOSITORY));
  const deadline = Date.now() + (config.timeoutMs ?? 4 * 3_600_000);
  const pollMs = config.pollMs ?? 1_000;

  // The scheduler places the pod; the kubelet mounts its volumes, then starts the restore-wait
  // init container. Only then is the volume directory the mounted volume: before, the agent
  // would find no directory, or an empty one that the mount then hides (Velero's node agent
  // waits for its restore-helper to run the same way).
  let node: string | undefined;
  let uid = '';
  let started = false;
  for (;;) {
    const live = await o.kube.get(PODS, pod.namespace, pod.name).catch(() => undefined);
    if (live === null)
      return pod.volumes.map((v) => fail(v, 'the pod was deleted before its volume was restored'));
    node = (live?.spec as { nodeName?: string } | undefined)?.nodeName;
    uid = live?.metadata.uid ?? '';
    started = volumesMounted(live?.status);
    if (node && uid && started) break;
    if (Date.now() > deadline) {
      const why = node
        ? `its restore-wait init container did not start on node ${node} in time, so its volumes were not mounted (see the pod's events)`
        : 'the pod was not scheduled to a node in time, so no agent can fill it';
      return pod.volumes.map((v) => fail(v, why));
    }
    await sleep(pollMs);
  }
  return Promise.all(
    pod.volumes.map(async (v): Promise<PodVolumeRestoreOutcome> => {
      try {
        const pv = v.claim
          ? await boundVolume({ kube: o.kube, namespace: pod.namespace, deadline, pollMs }, v.claim)
          : undefined;
        if (v.claim && !pv) return fail(v, `its claim ${v.claim} was not bound to a volume in time`);
        const created = await o.kube.create(POD_VOLUME_RESTORE, {
          apiVersion: `${VOLUME_API_GROUP}/${VOLUME_API_VERSION}`,
          kind: 'PodVolumeRestore',
          metadata: {
            generateName: `${o.restoreName}-`.slice(0, 200),
            namespace: config.namespace,
            labels: { [NODE_LABEL]: node ?? '', [RESTORE_NAME_LABEL]: o.restoreName },
          },
          spec: {
            node,
            pod: { namespace: pod.namespace, name: pod.name, uid },
            volume: v.volume,
            ...(pv ? { persistentVolume: pv } : {}),
            restoreName: o.restoreName,
            repository: { ...config.repository, volumeNamespace: v.sourceNamespace },
            snapshotID: v.snapshotId,
            expected: { files: v.files, dirs: v.dirs, bytes: v.bytes },
            ...(config.verify ? { verify: true } : {}),
          },
        });
        const ended = await waitForEnd(
          { kube: o.kube, namespace: config.namespace, deadline, pollMs },
          created.metadata.name ?? '',
        );
        if (typeof ended === 'string') return fail(v, ended);
        if (ended.status?.phase !== 'Completed') {
          // The agent's message starts with the volume and pod; said again here with the claim.
          const own = `volume ${v.volume} of pod ${pod.namespace}/${pod.name}: `;
          const said = ended.status?.message ?? 'failed';
          return fail(v, said.startsWith(own) ? said.slice(own.length) : said);
        }
        return {
          namespace: pod.namespace,
          pod: pod.name,
          volume: v.volume,
          ...(v.claim ? { claim: v.claim } : {}),
          snapshotId: v.snapshotId,
          result: 'succeeded',
          ...(ended.status.files !== undefined ? { files: ended.status.files } : {}),
          ...(ended.status.bytes !== undefined ? { bytes: ended.status.bytes } : {}),
          ...(ended.status.verified === true ? { verified: true } : {}),
        };
      } catch (err) {
        return fail(v, errorText(err));
      }
    }),
  );
}

/**
 * Whether the pod's volumes are mounted: its restore-wait init container runs (or ran), or the
 * pod itself runs (a snapshot data mover's short-lived pod has no init container).
 */
function volumesMounted(status: unknown): boolean {
  const shape = status as { phase?: string; initContainerStatuses?: ContainerStatus[] } | undefined;
  if (shape?.phase === 'Running') return true;
  const statuses = shape?.initContainerStatuses;
  const state = statuses?.find((c) => c.name === RESTORE_WAIT_CONTAINER)?.state;
  return state?.running !== undefined || state?.terminated !== undefined;
}

interface ContainerStatus {
  name: string;
  state?: { running?: unknown; terminated?: unknown; waiting?: unknown };
}

interface Wait {
  kube: KubeClient;
  namespace: string;
  deadline: number;
  pollMs: number;
}

async function boundVolume(w: Wait, claim: string): Promise<string | undefined> {
  const { kube, namespace, deadline, pollMs } = w;
  for (;;) {
    const pvc = await kube.get(PERSISTENT_VOLUME_CLAIM, namespace, claim).catch(() => undefined);
    const volumeName = (pvc?.spec as { volumeName?: string } | undefined)?.volumeName;
    const phase = (pvc?.status as { phase?: string } | undefined)?.phase;
    if (volumeName && phase === 'Bound') return volumeName;
    if (Date.now() > deadline) return undefined;
    await sleep(pollMs);
  }
}

async function waitForEnd(w: Wait, name: string): Promise<PodVolumeRestore | string> {
  const { kube, namespace, deadline, pollMs } = w;
  for (;;) {
    const current = (await kube.get(POD_VOLUME_RESTORE, namespace, name).catch(() => undefined)) as
      PodVolumeRestore | null | undefined;
    if (current === null) return `its PodVolumeRestore ${namespace}/${name} was deleted`;
    const phase = current?.status?.phase;
    if (current && (phase === 'Completed' || phase === 'Failed')) return current;
    if (Date.now() > deadline) {
      return `its PodVolumeRestore ${namespace}/${name} did not finish in time (phase ${phase ?? 'New'}); is the node agent running on ${current?.spec.node ?? '?'}?`;
    }
    await sleep(pollMs);
  }
}
