// The file-system capturer of the backup's volume phase (SEAM.md): for the volumes of one pod
// that selectFsBackupVolumes chose, it creates one PodVolumeBackup each for the node agent of
// the pod's node, waits for them, and returns one outcome per volume — snapshot id, files,
// bytes, or the error naming the volume. The finished PodVolumeBackups are what Velero keeps
// in <name>-podvolumebackups.json.gz; a restore reads the snapshot ids and sizes from there.
import type { KubeClient } from '../kube/client.js';
import type { KubeObject } from '../kube/types.js';
import {
  BACKUP_NAME_LABEL,
  NODE_LABEL,
  POD_VOLUME_BACKUP,
  VOLUME_API_GROUP,
  VOLUME_API_VERSION,
  type PodVolumeBackup,
  type PodVolumeBackupStatus,
  type RepositorySpec,
} from './pod-volume-types.js';

/** What the capturer needs of a pod (src/volumes/collect.ts's PodRecord has these fields). */
export interface FsPod {
  namespace: string;
  name: string;
  uid: string;
  node?: string;
  volumes: readonly { name: string; type: string; claimName?: string }[];
}

export interface FsVolumeOutcome {
  namespace: string;
  pod: string;
  volume: string;
  claim?: string;
  method: 'PodVolumeBackup';
  result: 'succeeded' | 'failed';
  error?: string;
  snapshotId?: string;
  files?: number;
  dirs?: number;
  bytes?: number;
  start: string;
  completion: string;
  /** The PodVolumeBackup as it ended (for <name>-podvolumebackups.json.gz). */
  object?: PodVolumeBackup;
}

export interface FsCaptureOptions {
  kube: KubeClient;
  backupName: string;
  /** The location's repository; volumeNamespace is the pod's namespace. */
  repository: Omit<RepositorySpec, 'volumeNamespace'>;
  /** Where the PodVolumeBackups are created (lifeboat's namespace). */
  namespace: string;
  /** A claim's bound PersistentVolume (the kubelet names the claim's directory after it). */
  volumeOfClaim: (namespace: string, claim: string) => string | undefined;
  clock?: () => Date;
  /** How long one volume may take (Velero's fs backup timeout is 4h). */
  timeoutMs?: number;
  pollMs?: number;
  onProgress?: (o: { pod: string; volume: string; bytesDone: number; totalBytes: number }) => void;
  /** Snapshot data movement: the claim whose snapshot the pod mounts (spec.sourceClaim). */
  sourceClaim?: string;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One PodVolumeBackup per volume, all created at once, each waited for. */
export async function captureFsVolumes(
  pod: FsPod,
  volumes: readonly string[],
  o: FsCaptureOptions,
): Promise<FsVolumeOutcome[]> {
  return Promise.all(volumes.map((v) => captureOne(pod, v, o)));
}

async function captureOne(pod: FsPod, volume: string, o: FsCaptureOptions): Promise<FsVolumeOutcome> {
  const clock = o.clock ?? (() => new Date());
  const start = clock().toISOString();
  const claim = pod.volumes.find((v) => v.name === volume)?.claimName;
  const base = {
    namespace: pod.namespace,
    pod: pod.name,
    volume,
    ...(claim ? { claim } : {}),
    method: 'PodVolumeBackup' as const,
    start,
  };
  const fail = (error: string): FsVolumeOutcome => ({
    ...base,
    result: 'failed',
    error: `volume ${volume} of pod ${pod.namespace}/${pod.name}: ${error}`,
    completion: clock().toISOString(),
  });
  if (!pod.node) return fail('the pod is not running on a node, so no agent can read its volume');
  const pv = claim ? o.volumeOfClaim(pod.namespace, claim) : undefined;
  if (claim && !pv) return fail(`its claim ${claim} is not bound to a volume`);

  let created: KubeObject;
  try {
    created = await o.kube.create(POD_VOLUME_BACKUP, {
      apiVersion: `${VOLUME_API_GROUP}/${VOLUME_API_VERSION}`,
      kind: 'PodVolumeBackup',
      metadata: {
        generateName: `${o.backupName}-`.slice(0, 200),
        namespace: o.namespace,
        labels: { [NODE_LABEL]: pod.node, [BACKUP_NAME_LABEL]: o.backupName },
      },
      spec: {
        node: pod.node,
        pod: { namespace: pod.namespace, name: pod.name, uid: pod.uid },
        volume,
        ...(pv ? { persistentVolume: pv } : {}),
        backupName: o.backupName,
        repository: { ...o.repository, volumeNamespace: pod.namespace },
        ...(o.sourceClaim ? { sourceClaim: o.sourceClaim } : {}),
      },
    });
  } catch (err) {
    return fail(`cannot create its PodVolumeBackup: ${errorText(err)}`);
  }
  const name = created.metadata.name ?? '';
  const ended = await waitForEnd({ ...o, name, pod, volume });
  if (typeof ended === 'string') return fail(ended);
  const status = ended.status ?? {};
  const completion = clock().toISOString();
  if (status.phase === 'Failed') {
    // The agent's message already names the volume and pod.
    const error = status.message ?? `volume ${volume} of pod ${pod.namespace}/${pod.name}: failed`;
    return { ...base, result: 'failed', error, completion, object: ended };
  }
  return {
    ...base,
    result: 'succeeded',
    ...definedOnly({
      snapshotId: status.snapshotID,
      files: status.files,
      dirs: status.dirs,
      bytes: status.bytes,
    }),
    completion,
    object: ended,
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The PodVolumeBackup once Completed or Failed, or why it never will be. */
async function waitForEnd(
  o: FsCaptureOptions & { name: string; pod: FsPod; volume: string },
): Promise<PodVolumeBackup | string> {
  const deadline = Date.now() + (o.timeoutMs ?? 4 * 3_600_000);
  for (;;) {
    // A failed read is tried again, until the deadline.
    const current = (await o.kube.get(POD_VOLUME_BACKUP, o.namespace, o.name).catch(() => undefined)) as
      PodVolumeBackup | null | undefined;
    if (current === null) return `its PodVolumeBackup ${o.namespace}/${o.name} was deleted`;
    const status: PodVolumeBackupStatus | undefined = current?.status;
    if (status?.progress) o.onProgress?.({ pod: o.pod.name, volume: o.volume, ...status.progress });
    if (current && (status?.phase === 'Completed' || status?.phase === 'Failed')) return current;
    if (Date.now() > deadline) {
      return `its PodVolumeBackup ${o.namespace}/${o.name} did not finish in time (phase ${status?.phase ?? 'New'}); is the node agent running on ${o.pod.node ?? '?'}?`;
    }
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1_000));
  }
}

/** Items of the backup for failed volumes: each makes it PartiallyFailed, naming the volume. */
export function fsVolumeErrors(
  outcomes: readonly FsVolumeOutcome[],
): { namespace: string; resource: string; name: string; message: string }[] {
  return outcomes
    .filter((x) => x.result === 'failed')
    .map((x) => ({
      namespace: x.namespace,
      resource: 'pods',
      name: x.pod,
      message: `file-system backup failed: ${x.error ?? 'unknown error'}`,
    }));
}
