// Claims whose CSI snapshot data the backup moved into restic (snapshotMoveData, ADR 0034): the
// podvolumebackups side file holds one completed PodVolumeBackup per such claim, with
// spec.sourceClaim naming it. A restore brings the claim back as a new claim — fresh
// provisioning from its storage class, no volumeName, no dataSource — which apply fills from the
// restic snapshot (moved-claims-fill.ts) before the pods of the next tiers are created. The
// claim's old PersistentVolume is not restored. Pure.
import type { KubeObject } from '../kube/types.js';
import type { FsVolumeRecord } from '../volumes/podvolumebackups-file.js';
import { isJsonMap } from './strategic-merge.js';

/** A moved claim's restic snapshot, as the plan shows it and apply reads it. */
export interface MovedClaimCopy {
  /** The repository's namespace (restic/<namespace>): the backed-up claim's. */
  sourceNamespace: string;
  snapshotId: string;
  files: number;
  dirs: number;
  bytes: number;
}

/** The backup's moved claims by `namespace/claim` in the backup. */
export function movedClaimsOf(
  records: ReadonlyMap<string, readonly FsVolumeRecord[]>,
): Map<string, MovedClaimCopy> {
  const out = new Map<string, MovedClaimCopy>();
  for (const list of records.values()) {
    for (const r of list) {
      if (r.sourceClaim === undefined) continue;
      out.set(`${r.namespace}/${r.sourceClaim}`, {
        sourceNamespace: r.namespace,
        snapshotId: r.snapshotId,
        files: r.files,
        dirs: r.dirs,
        bytes: r.bytes,
      });
    }
  }
  return out;
}

/** The moved claim's copy, for a claim as it is in the backup (its backed-up namespace). */
export function movedCopyOf(
  claim: KubeObject,
  moved: ReadonlyMap<string, MovedClaimCopy> | undefined,
): MovedClaimCopy | undefined {
  return moved?.get(`${claim.metadata.namespace ?? ''}/${claim.metadata.name ?? ''}`);
}

/**
 * The prepared claim as a new one: the provisioner makes its volume from the storage class (the
 * old volume and the deleted snapshot are not asked for), and apply fills it from restic.
 */
export function asFreshClaim(prepared: KubeObject): KubeObject {
  const spec = isJsonMap(prepared.spec) ? { ...prepared.spec } : {};
  delete spec.volumeName;
  delete spec.dataSource;
  delete spec.dataSourceRef;
  return { ...prepared, spec };
}

/** Why a moved claim's old PersistentVolume is not restored. */
export const MOVED_VOLUME_SKIP =
  'its data was moved into the restic repository (snapshotMoveData): the restored claim gets a new volume, filled from there';

/** The skip reason of a PersistentVolume whose claim's data was moved; undefined for others. */
export function movedVolumeSkip(
  groupResource: string,
  obj: KubeObject,
  fs: { movedVolumes?: ReadonlySet<string> } | undefined,
): string | undefined {
  return groupResource === 'persistentvolumes' && fs?.movedVolumes?.has(obj.metadata.name ?? '')
    ? MOVED_VOLUME_SKIP
    : undefined;
}

/** `prepared` as a fresh claim when the claim (`backedUp`, as in the backup) was moved; else as is. */
export function freshIfMoved(
  groupResource: string,
  backedUp: KubeObject,
  prepared: KubeObject,
  fs: { movedClaims?: ReadonlyMap<string, MovedClaimCopy> } | undefined,
): KubeObject {
  return groupResource === 'persistentvolumeclaims' && movedCopyOf(backedUp, fs?.movedClaims)
    ? asFreshClaim(prepared)
    : prepared;
}
