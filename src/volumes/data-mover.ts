// Snapshot data movement (Velero's snapshotMoveData; ADR 0034): the data of a claim's ready CSI
// snapshot is copied into the location's restic repository, so that the backup survives the
// storage system. A temporary claim is provisioned from the snapshot in the claim's namespace, a
// short-lived pod (mover-pod.ts) mounts it, and the node agent of that pod's node copies it with
// one PodVolumeBackup (restic-capturer.ts) whose spec.sourceClaim names the claim. Then the pod
// and the temporary claim are deleted and waited for, and the VolumeSnapshot is deleted with
// its content's own deletion policy restored (Delete, from the class: the storage snapshot goes
// too; Retain: the person who chose it keeps it). A failed move discards the snapshot as a
// failed snapshot is discarded (csi-capturer.ts), and fails the claim's item, naming it.
import type { KubeClient } from '../kube/client.js';
import { PERSISTENT_VOLUME_CLAIM, SnapshotApi, VOLUME_SNAPSHOT } from '../kube/snapshots.js';
import type { KubeObject } from '../kube/types.js';
import type { ClaimRecord } from './collect.js';
import { BACKUP_NAME_LABEL, labelValue } from './csi-capturer.js';
import {
  boundVolumeOf,
  DATA_MOVER_LABEL,
  deleteAndWait,
  MOVER_VOLUME,
  moverName,
  moverPod,
  PODS,
  SOURCE_CLAIM_ANNOTATION,
  startMoverPod,
} from './mover-pod.js';
import type { RepositorySpec } from './pod-volume-types.js';
import { captureFsVolumes, type FsVolumeOutcome } from './restic-capturer.js';
import type { VolumeOutcome } from './volume-info.js';

export interface DataMoverOptions {
  kube: KubeClient;
  backupName: string;
  /** The location's repository; the claim's data goes to restic/<claim namespace>. Absent: fails. */
  repository?: Omit<RepositorySpec, 'volumeNamespace'>;
  /** Where the PodVolumeBackups are created (lifeboat's namespace). */
  namespace: string;
  /** The mover pod's image (needs sh and sleep). */
  image: string;
  clock: () => Date;
  /** How long the temporary claim and pod may take to run (default 10 min). */
  startTimeoutMs?: number;
  /** How long the copy may take (Velero's data upload timeout is 4h). */
  copyTimeoutMs?: number;
  pollMs?: number;
  onProgress?: (o: { pod: string; volume: string; bytesDone: number; totalBytes: number }) => void;
}

export interface MoveResult {
  /** The claim's outcome: moved, or failed naming the claim. */
  outcome: VolumeOutcome;
  /** The PodVolumeBackup's outcome, when one was made (for the podvolumebackups side file). */
  copy?: FsVolumeOutcome;
  /** Temporary objects or a snapshot that could not be cleaned up (the backup's warnings). */
  warnings: string[];
}

/** Why no data can be moved when the backup has no repository. */
export const NO_MOVE_REPOSITORY =
  'no restic repository is configured for this backup (the storage location names no restic password Secret), so snapshotMoveData cannot copy its snapshot';

/**
 * The temporary claim made from the snapshot: the claim's storage class and size (at least the
 * snapshot's restore size, which the provisioner needs), read-write-once for the one mover pod.
 */
export function temporaryClaim(o: {
  claim: ClaimRecord;
  name: string;
  volumeSnapshot: string;
  restoreSize: number;
  labels: Record<string, string>;
}): KubeObject {
  const size = o.claim.size ?? (o.restoreSize > 0 ? String(o.restoreSize) : undefined);
  if (size === undefined) {
    throw new Error(
      `claim ${o.claim.namespace}/${o.claim.name} has no requested size and its snapshot no restore size`,
    );
  }
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: o.name,
      namespace: o.claim.namespace,
      labels: o.labels,
      annotations: { [SOURCE_CLAIM_ANNOTATION]: o.claim.name },
    },
    spec: {
      ...(o.claim.storageClass ? { storageClassName: o.claim.storageClass } : {}),
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: size } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: o.volumeSnapshot },
    },
  };
}

function text(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Moves the data of one claim's ready snapshot (`snap`, a succeeded CSI outcome) into restic. */
export async function moveSnapshotData(
  claim: ClaimRecord,
  snap: VolumeOutcome,
  o: DataMoverOptions,
): Promise<MoveResult> {
  const csi = snap.csi;
  if (snap.result !== 'succeeded' || !csi) return { outcome: snap, warnings: [] };
  const warnings: string[] = [];
  // The content's policy before the backup switched it to Retain (csi-capturer.ts).
  const originalPolicy = (snap.objects?.content?.spec as { deletionPolicy?: string } | undefined)
    ?.deletionPolicy;
  const pollMs = o.pollMs ?? 1_000;
  const moved = o.repository
    ? await copyThroughMover(claim, csi, { ...o, repository: o.repository, pollMs, warnings })
    : { error: NO_MOVE_REPOSITORY };
  // Moved or not, the snapshot goes: moved, the copy is in the bucket; failed, nothing half-done
  // is left (as a snapshot that never became ready is deleted).
  warnings.push(
    ...(await dropSnapshot({ kube: o.kube, api: new SnapshotApi(o.kube), snap, originalPolicy, pollMs })),
  );
  const { objects: _objects, ...rest } = snap;
  const { copy } = moved;
  if (moved.error !== undefined || !copy?.snapshotId) {
    return {
      outcome: {
        ...rest,
        result: 'failed',
        movementFailed: true,
        completion: o.clock(),
        error: `snapshot data movement of claim ${claim.namespace}/${claim.name} failed: ${moved.error ?? 'no restic snapshot'}`,
      },
      ...(copy ? { copy } : {}),
      warnings,
    };
  }
  return {
    outcome: {
      ...rest,
      completion: o.clock(),
      moved: {
        repositoryNamespace: claim.namespace,
        snapshotId: copy.snapshotId,
        files: copy.files ?? 0,
        dirs: copy.dirs ?? 0,
        bytes: copy.bytes ?? 0,
        podVolumeBackup: copy.object?.metadata.name ?? '',
        ...(originalPolicy === 'Retain' ? { retainedSnapshot: csi.volumeSnapshot } : {}),
      },
    },
    copy,
    warnings,
  };
}

/**
 * The temporary claim from the snapshot, the pod that mounts it and the agent's copy of it; the
 * pod and claim are deleted and waited for whatever happened (problems go to `warnings`).
 */
async function copyThroughMover(
  claim: ClaimRecord,
  csi: { volumeSnapshot: string; restoreSize: number },
  o: DataMoverOptions & {
    repository: Omit<RepositorySpec, 'volumeNamespace'>;
    pollMs: number;
    warnings: string[];
  },
): Promise<{ copy?: FsVolumeOutcome; error?: string }> {
  const { namespace } = claim;
  const name = moverName({ kind: 'backup', owner: o.backupName, namespace, claim: claim.name });
  const labels = { [DATA_MOVER_LABEL]: 'backup', [BACKUP_NAME_LABEL]: labelValue(o.backupName) };
  const { pollMs } = o;
  try {
    await o.kube.create(
      PERSISTENT_VOLUME_CLAIM,
      temporaryClaim({
        claim,
        name,
        volumeSnapshot: csi.volumeSnapshot,
        restoreSize: csi.restoreSize,
        labels,
      }),
    );
    const pod = moverPod({
      namespace,
      name,
      claim: name,
      image: o.image,
      readOnly: true,
      labels,
      annotations: { [SOURCE_CLAIM_ANNOTATION]: claim.name },
    });
    const { node, uid } = await startMoverPod(o.kube, pod, {
      timeoutMs: o.startTimeoutMs ?? 600_000,
      pollMs,
    });
    const pv = await boundVolumeOf(o.kube, namespace, name);
    const [copy] = await captureFsVolumes(
      {
        namespace,
        name,
        uid,
        node,
        volumes: [{ name: MOVER_VOLUME, type: 'persistentVolumeClaim', claimName: name }],
      },
      [MOVER_VOLUME],
      {
        kube: o.kube,
        backupName: o.backupName,
        repository: o.repository,
        namespace: o.namespace,
        volumeOfClaim: () => pv,
        clock: o.clock,
        sourceClaim: claim.name,
        ...(o.copyTimeoutMs !== undefined ? { timeoutMs: o.copyTimeoutMs } : {}),
        pollMs,
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      },
    );
    if (!copy || copy.result !== 'succeeded' || !copy.snapshotId) {
      return {
        ...(copy ? { copy } : {}),
        error: copy?.error ?? 'the node agent reported no restic snapshot',
      };
    }
    return { copy };
  } catch (err) {
    return { error: text(err) };
  } finally {
    // Pod first: the claim is protected while a pod uses it.
    const left = await deleteAndWait(
      o.kube,
      [
        { info: PODS, namespace, name },
        { info: PERSISTENT_VOLUME_CLAIM, namespace, name },
      ],
      { timeoutMs: 300_000, pollMs },
    );
    o.warnings.push(...left.map((w) => `snapshot data movement of claim ${namespace}/${claim.name}: ${w}`));
  }
}

/**
 * The VolumeSnapshot goes; its content gets back the policy its class gave it first, so the
 * snapshotter deletes the storage snapshot (Delete) or keeps it as its owner chose (Retain: the
 * VolumeSnapshot stays too, labelled with the backup, and goes when the backup is deleted).
 */
async function dropSnapshot(o: {
  kube: KubeClient;
  api: SnapshotApi;
  snap: VolumeOutcome;
  originalPolicy: string | undefined;
  pollMs: number;
}): Promise<string[]> {
  const csi = o.snap.csi;
  if (!csi || o.originalPolicy === 'Retain') return [];
  const what = `VolumeSnapshot ${o.snap.namespace}/${csi.volumeSnapshot}`;
  try {
    if (o.originalPolicy === 'Delete' && csi.volumeSnapshotContent) {
      await o.api.setContentDeletionPolicy(csi.volumeSnapshotContent, 'Delete');
    }
    // Waited for, so that a finished backup has nothing of this claim left in the cluster.
    return await deleteAndWait(
      o.kube,
      [{ info: VOLUME_SNAPSHOT, namespace: o.snap.namespace, name: csi.volumeSnapshot }],
      { timeoutMs: 120_000, pollMs: o.pollMs },
    );
  } catch (err) {
    return [`snapshot data movement: cannot delete ${what}: ${text(err)}`];
  }
}
