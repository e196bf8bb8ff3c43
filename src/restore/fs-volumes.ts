// Pod volumes restored from file-system copies (restic), planned as Velero's restore does it
// (pkg/restore/actions/pod_volume_restore_action.go and the restore-helper): a restored pod
// whose volumes the backup copied gets a first init container that waits until the node agent
// has filled each of them and left its marker; the plan lists every such volume with its
// restic snapshot, files and bytes. Pure, apart from reading the side file.
import type { KubeObject } from '../kube/types.js';
import { readJsonGzSideFile } from '../storage/side-files.js';
import { backupLayout } from '../storage/layout.js';
import type { BackupStore } from '../storage/store.js';
import { podVolumeRecordsOf, type FsVolumeRecord } from '../volumes/podvolumebackups-file.js';
import { RESTORE_WAIT_CONTAINER, restoreWaitContainer } from '../volumes/restore-wait.js';
import { restoreWaitContext } from '../volumes/pod-security.js';
import type { MovedClaimCopy } from './moved-claims.js';

/** The image of the restore-wait container unless the restore says otherwise (it needs sh). */
export const DEFAULT_RESTORE_WAIT_IMAGE = 'ghcr.io/lifeboat-dev/lifeboat:0.1.0';

/** One volume of a restored pod that the node agent fills from a restic snapshot. */
export interface PlannedPodVolume {
  volume: string;
  /** The claim the pod mounts as that volume (in the pod's target namespace). */
  claim?: string;
  /** The namespace whose repository holds the snapshot (restic/<namespace>): the backed-up pod's. */
  sourceNamespace: string;
  snapshotId: string;
  files: number;
  dirs: number;
  bytes: number;
  /** restore: filled before the pod's containers start; skip: the pod is not created. */
  action: 'restore' | 'skip';
  reason?: string;
}

export interface FsRestoreContext {
  restoreName: string;
  /** The completed copies of the backup by `namespace/pod` in the backup. */
  records: ReadonlyMap<string, readonly FsVolumeRecord[]>;
  /** The restore-wait container's image. */
  image: string;
  /** Claims whose snapshot data the backup moved into restic, by `namespace/claim` in the backup. */
  movedClaims?: ReadonlyMap<string, MovedClaimCopy>;
  /** The PersistentVolumes of those claims (not restored). */
  movedVolumes?: ReadonlySet<string>;
  /** The PersistentVolumes of claims whose data a completed file-system copy holds. */
  copiedVolumes?: ReadonlySet<string>;
}

/**
 * The PersistentVolumes of claims a pod's file-system copy holds, from the backup's volumeinfo
 * (Velero's BackupVolumeInfo, backupMethod PodVolumeBackup; an emptyDir has no pvName).
 */
export function copiedVolumesOf(
  infos: readonly { backupMethod?: string; result?: string; pvName?: string }[],
): Set<string> {
  return new Set(
    infos
      .filter((v) => v.backupMethod === 'PodVolumeBackup' && v.result === 'succeeded' && v.pvName)
      .map((v) => v.pvName ?? ''),
  );
}

/**
 * The skip reason of a PersistentVolume whose claim's data a file-system copy holds (Velero's
 * restore.go: "Dynamically re-provisioning persistent volume because it has a pod volume backup
 * to be restored"): the restored claim gets a new volume from its storage class, filled from the
 * copy, so the old volume is neither restored nor made to bind to it — after namespace mapping
 * it may still belong to the original claim. A volume of no storage class is restored as
 * before: nothing could provision its claim a new one. Undefined for every other object.
 */
export function copiedVolumeSkip(
  groupResource: string,
  obj: KubeObject,
  fs: { copiedVolumes?: ReadonlySet<string> } | undefined,
): string | undefined {
  if (groupResource !== 'persistentvolumes' || !fs?.copiedVolumes?.has(obj.metadata.name ?? '')) {
    return undefined;
  }
  const storageClass = (obj.spec as { storageClassName?: unknown } | undefined)?.storageClassName;
  return typeof storageClass === 'string' && storageClass !== ''
    ? `its claim's data is in a file-system copy (restic): storage class ${storageClass} provisions the restored claim a new volume, filled from the copy`
    : undefined;
}

/** The backup's completed file-system copies, by backed-up pod; none when it has no such file. */
export async function readPodVolumeRecords(
  store: BackupStore,
  backupName: string,
): Promise<Map<string, FsVolumeRecord[]>> {
  const key = backupLayout.podVolumeBackups(backupName);
  const list = await readJsonGzSideFile(store, key);
  const out = new Map<string, FsVolumeRecord[]>();
  if (list === undefined) return out;
  // Every entry is checked; errors name the file.
  for (const r of podVolumeRecordsOf(list, `${store.describe}/${key}`)) {
    const k = `${r.namespace}/${r.pod}`;
    out.set(k, [...(out.get(k) ?? []), r]);
  }
  return out;
}

interface PodSpecShape {
  volumes?: ({ name?: string; persistentVolumeClaim?: { claimName?: string } } & Record<string, unknown>)[];
  initContainers?: { name?: string }[];
}

/**
 * The restored pod (already in its target namespace) with the restore-wait container first and
 * the volumes it waits for; the pod unchanged when the backup copied none of its volumes. A
 * restore-wait container the pod already has (it was itself restored) is replaced: it waits
 * for another restore's marker.
 */
export function withRestoreWait(
  pod: KubeObject,
  source: { namespace: string; name: string },
  ctx: FsRestoreContext,
): { pod: KubeObject; volumes: PlannedPodVolume[] } {
  const records = ctx.records.get(`${source.namespace}/${source.name}`) ?? [];
  const spec = (pod.spec ?? {}) as PodSpecShape & Record<string, unknown>;
  const inSpec = new Map((spec.volumes ?? []).map((v) => [v.name ?? '', v]));
  // A volume no longer in the pod (a resource modifier removed it) is not waited for.
  const restored = records.filter((r) => inSpec.has(r.volume));
  // Claims whose moved snapshot data apply fills before the pod exists: the marker is there by
  // then, unless the fill failed, and then the pod must not start on an empty volume.
  const movedWaits = [...inSpec.values()]
    .filter((v) => {
      const claim = v.persistentVolumeClaim?.claimName;
      return claim !== undefined && ctx.movedClaims?.has(`${source.namespace}/${claim}`) === true;
    })
    .map((v) => v.name ?? '')
    .filter((v) => !restored.some((r) => r.volume === v));
  if (restored.length === 0 && movedWaits.length === 0) return { pod, volumes: [] };
  const wait = restoreWaitContainer({
    restoreName: ctx.restoreName,
    volumes: [...restored.map((r) => r.volume), ...movedWaits],
    image: ctx.image,
    securityContext: restoreWaitContext(spec),
  });
  const own = (spec.initContainers ?? []).filter((c) => c.name !== RESTORE_WAIT_CONTAINER);
  const volumes = restored.map((r): PlannedPodVolume => {
    const claim = inSpec.get(r.volume)?.persistentVolumeClaim?.claimName;
    return {
      volume: r.volume,
      ...(claim ? { claim } : {}),
      sourceNamespace: r.namespace,
      snapshotId: r.snapshotId,
      files: r.files,
      dirs: r.dirs,
      bytes: r.bytes,
      action: 'restore',
    };
  });
  return { pod: { ...pod, spec: { ...spec, initContainers: [wait, ...own] } }, volumes };
}
