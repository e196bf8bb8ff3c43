// Claims restored from CSI snapshots, after Velero's CSI restore actions
// (pkg/restore/actions/csi/pvc_action.go, volumesnapshot_action.go,
// volumesnapshotcontent_action.go), in lifeboat's own code:
//   - a backed-up VolumeSnapshotContent becomes a static (pre-provisioned) content: its source
//     is the stored snapshotHandle, its deletionPolicy Retain — deleting it later never deletes
//     the backup's snapshot — and it points at the restored VolumeSnapshot;
//   - the backed-up VolumeSnapshot is re-created in the claim's (possibly mapped) namespace,
//     bound to that content by name, without its class;
//   - the claim gets dataSource → that VolumeSnapshot and loses volumeName, so the provisioner
//     makes a new volume with the snapshot's data; the claim's old PersistentVolume is not
//     restored (Velero skips a PV whose volume info says CSISnapshot).
// Both objects get a name derived from the restore and the backed-up snapshot, as Velero does
// (it uses the restore's UID): two restores of one backup never collide, and the name is known
// when the plan is made. `restorePVs: false` keeps Velero's meaning: no snapshot objects, and
// the claim is restored without dataSource or volumeName (an empty new volume).
import { createHash } from 'node:crypto';
import type { KubeObject } from '../kube/types.js';
import type { BackupCsiSnapshot } from './csi-snapshots.js';
import { mapNamespace } from './namespace-mapping.js';
import { isJsonMap } from './strategic-merge.js';

export const VOLUME_SNAPSHOTS = 'volumesnapshots.snapshot.storage.k8s.io';
export const VOLUME_SNAPSHOT_CONTENTS = 'volumesnapshotcontents.snapshot.storage.k8s.io';
/** Velero's annotation (and label) on a backed-up claim: the VolumeSnapshot taken of it. */
export const VOLUME_SNAPSHOT_ANNOTATION = 'velero.io/volume-snapshot-name';
/** Velero's record of the content's deletion policy on a VolumeSnapshot. */
export const VSC_DELETION_POLICY_ANNOTATION = 'velero.io/csi-vsc-deletion-policy';

export interface CsiRestoreContext {
  restoreName: string;
  /** Velero's spec.restorePVs; only `false` changes anything. */
  restorePVs?: boolean;
  namespaceMapping?: Record<string, string>;
  /** The backup's snapshots by `namespace/claim` in the backup (csi-snapshots.ts). */
  snapshots: ReadonlyMap<string, BackupCsiSnapshot>;
  /** PersistentVolumes whose data the backup holds as a CSI snapshot (volume infos). */
  snapshottedVolumes: ReadonlySet<string>;
}

export type CsiTransform = { object: KubeObject } | { skip: string } | { invalid: string };

/** The name of the VolumeSnapshot and VolumeSnapshotContent a restore makes of a backed-up snapshot. */
export function restoredSnapshotName(restoreName: string, namespace: string, volumeSnapshot: string): string {
  const hash = createHash('sha256').update(`${restoreName}/${namespace}/${volumeSnapshot}`).digest('hex');
  return `lifeboat-${hash.slice(0, 40)}`;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function mapOf(obj: KubeObject, field: string): Record<string, unknown> {
  const value = obj[field];
  if (isJsonMap(value)) return value;
  const fresh: Record<string, unknown> = {};
  obj[field] = fresh;
  return fresh;
}

function findSnapshot(
  ctx: CsiRestoreContext,
  match: (s: BackupCsiSnapshot) => boolean,
): BackupCsiSnapshot | undefined {
  for (const s of ctx.snapshots.values()) if (match(s)) return s;
  return undefined;
}

/**
 * The VolumeSnapshot and VolumeSnapshotContent of a snapshot as a backup would hold them, made
 * from the side files when the archive lacks them (the restore's filters left the
 * cluster-scoped content out, or the backup kept only its volume infos): a restore of the
 * claim needs both, as Velero restores them as additional items of the claim.
 */
export function backedUpSnapshotObjects(snap: BackupCsiSnapshot): { vs: KubeObject; vsc?: KubeObject } {
  const api = 'snapshot.storage.k8s.io/v1';
  const vs: KubeObject = {
    apiVersion: api,
    kind: 'VolumeSnapshot',
    metadata: { name: snap.volumeSnapshot, namespace: snap.namespace },
    spec: { source: { persistentVolumeClaimName: snap.claim } },
    ...(snap.content ? { status: { boundVolumeSnapshotContentName: snap.content } } : {}),
  };
  if (snap.content === undefined) return { vs };
  const vsc: KubeObject = {
    apiVersion: api,
    kind: 'VolumeSnapshotContent',
    metadata: { name: snap.content },
    spec: {
      ...(snap.driver ? { driver: snap.driver } : {}),
      volumeSnapshotRef: { namespace: snap.namespace, name: snap.volumeSnapshot },
    },
    ...(snap.snapshotHandle ? { status: { snapshotHandle: snap.snapshotHandle } } : {}),
  };
  return { vs, vsc };
}

/** The backed-up VolumeSnapshot a claim (as in the backup) was restored from, if any. */
export function claimSnapshot(claim: KubeObject, ctx: CsiRestoreContext): string | undefined {
  const named = str(claim.metadata.annotations?.[VOLUME_SNAPSHOT_ANNOTATION]);
  return (
    named ??
    ctx.snapshots.get(`${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}`)?.volumeSnapshot
  );
}

/**
 * The CSI part of preparing one object: `fromBackup` is the object as backed up (source
 * namespace, with status), `prepared` the sanitized copy to change. Undefined when the object
 * is none of this module's business.
 */
export function csiRestoreTransform(
  groupResource: string,
  fromBackup: KubeObject,
  prepared: KubeObject,
  ctx: CsiRestoreContext,
): CsiTransform | undefined {
  const noSnapshots: CsiTransform = { skip: 'restorePVs is false: no volume is restored from a snapshot' };
  switch (groupResource) {
    case VOLUME_SNAPSHOTS:
      return ctx.restorePVs === false ? noSnapshots : restoreVolumeSnapshot(fromBackup, prepared, ctx);
    case VOLUME_SNAPSHOT_CONTENTS:
      return ctx.restorePVs === false ? noSnapshots : restoreContent(fromBackup, prepared, ctx);
    case 'persistentvolumeclaims':
      return restoreClaim(fromBackup, prepared, ctx);
    case 'persistentvolumes':
      return ctx.restorePVs !== false && ctx.snapshottedVolumes.has(fromBackup.metadata.name ?? '')
        ? { skip: 'its data is in a CSI snapshot: the restored claim is provisioned a new volume from it' }
        : undefined;
    default:
      return undefined;
  }
}

function refOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ? `${obj.metadata.namespace}/` : ''}${obj.metadata.name ?? ''}`;
}

function restoreVolumeSnapshot(
  fromBackup: KubeObject,
  prepared: KubeObject,
  ctx: CsiRestoreContext,
): CsiTransform {
  const status = isJsonMap(fromBackup.status) ? fromBackup.status : {};
  const known = findSnapshot(
    ctx,
    (s) => s.namespace === fromBackup.metadata.namespace && s.volumeSnapshot === fromBackup.metadata.name,
  );
  const bound = str(status.boundVolumeSnapshotContentName) ?? known?.content;
  if (bound === undefined) {
    return {
      invalid: `VolumeSnapshot ${refOf(fromBackup)} has no bound VolumeSnapshotContent in the backup`,
    };
  }
  const name = restoredSnapshotName(
    ctx.restoreName,
    fromBackup.metadata.namespace ?? '',
    fromBackup.metadata.name ?? '',
  );
  prepared.metadata.name = name;
  prepared.metadata.annotations = {
    ...prepared.metadata.annotations,
    [VSC_DELETION_POLICY_ANNOTATION]: 'Retain',
  };
  // Bound to the static content by name; no class, so the restore needs none in the cluster.
  prepared.spec = { source: { volumeSnapshotContentName: name } };
  return { object: prepared };
}

function restoreContent(fromBackup: KubeObject, prepared: KubeObject, ctx: CsiRestoreContext): CsiTransform {
  const spec = isJsonMap(fromBackup.spec) ? fromBackup.spec : {};
  const status = isJsonMap(fromBackup.status) ? fromBackup.status : {};
  const vsRef = isJsonMap(spec.volumeSnapshotRef) ? spec.volumeSnapshotRef : {};
  // The archive's copy may predate the snapshot's readiness; the side files know the rest.
  const known = findSnapshot(ctx, (s) => s.content === fromBackup.metadata.name);
  const handle = str(status.snapshotHandle) ?? known?.snapshotHandle;
  const driver = str(spec.driver) ?? known?.driver;
  const vsNamespace = str(vsRef.namespace) ?? known?.namespace;
  const vsName = str(vsRef.name) ?? known?.volumeSnapshot;
  if (handle === undefined || driver === undefined || vsNamespace === undefined || vsName === undefined) {
    return {
      invalid: `VolumeSnapshotContent ${refOf(fromBackup)} in the backup lacks ${[
        handle === undefined ? 'status.snapshotHandle' : '',
        driver === undefined ? 'spec.driver' : '',
        vsNamespace === undefined || vsName === undefined ? 'spec.volumeSnapshotRef' : '',
      ]
        .filter((x) => x !== '')
        .join(', ')}`,
    };
  }
  const name = restoredSnapshotName(ctx.restoreName, vsNamespace, vsName);
  prepared.metadata.name = name;
  const out = mapOf(prepared, 'spec');
  for (const key of Object.keys(out)) delete out[key];
  Object.assign(out, {
    deletionPolicy: 'Retain',
    driver,
    source: { snapshotHandle: handle },
    volumeSnapshotRef: {
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      namespace: mapNamespace(vsNamespace, ctx.namespaceMapping),
      name,
    },
  });
  if (str(spec.sourceVolumeMode) !== undefined) out.sourceVolumeMode = spec.sourceVolumeMode;
  return { object: prepared };
}

function restoreClaim(
  fromBackup: KubeObject,
  prepared: KubeObject,
  ctx: CsiRestoreContext,
): CsiTransform | undefined {
  const snapshot = claimSnapshot(fromBackup, ctx);
  if (snapshot === undefined) return undefined;
  const spec = mapOf(prepared, 'spec');
  delete spec.volumeName;
  delete spec.dataSourceRef;
  delete spec.dataSource;
  if (ctx.restorePVs !== false) {
    spec.dataSource = {
      apiGroup: 'snapshot.storage.k8s.io',
      kind: 'VolumeSnapshot',
      name: restoredSnapshotName(ctx.restoreName, fromBackup.metadata.namespace ?? '', snapshot),
    };
  }
  return { object: prepared };
}
