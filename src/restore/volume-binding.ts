// Claims and volumes in a restore, after Velero's PV/PVC rules (pkg/restore/restore.go: a
// volume restored as-is keeps its claim's volumeName; resetVolumeBindingInfo clears the stale
// claimRef UID). Issue 18: when a namespace is deleted, a Retain volume survives as Released,
// its claimRef still holding the deleted claim's UID. Restoring the claim with volumeName
// cleared left it Pending forever, or bound it to a stranger's Available volume. Here:
//   - a claim keeps its volumeName whenever its own volume is restored or still in the cluster
//     reserved for it, so it binds to exactly that volume;
//   - a surviving Released volume reserved for a restored claim has its stale claimRef UID
//     cleared (a plan `update`), which makes it Available to that claim alone;
//   - volumeName is cleared only when the claim's volume is gone for good and a storage class
//     can provision a new one; otherwise the claim keeps it and waits, never taking another's.
// Every claim and volume gets a note or a warning in the plan saying which of these happens.
import type { KubeObject } from '../kube/types.js';
import { isJsonMap } from './strategic-merge.js';

export interface VolumeFacts {
  /** Names of the PersistentVolumes the restore writes from the backup. */
  restoredVolumes: ReadonlySet<string>;
  /** Name → why the restore does not write that PersistentVolume (sanitize's skip). */
  skippedVolumes: ReadonlyMap<string, string>;
}

export interface ClaimBinding {
  /** Whether the restored claim keeps spec.volumeName. */
  keepVolumeName: boolean;
  note?: string;
  warning?: string;
}

interface ClaimRef {
  namespace?: string;
  name?: string;
  uid?: string;
}

function claimRefOf(pv: KubeObject | null | undefined): ClaimRef | undefined {
  const ref = isJsonMap(pv?.spec) ? pv.spec.claimRef : undefined;
  return isJsonMap(ref) ? ref : undefined;
}

function phaseOf(obj: KubeObject | null | undefined): string | undefined {
  const phase = isJsonMap(obj?.status) ? obj.status.phase : undefined;
  return typeof phase === 'string' ? phase : undefined;
}

function specString(obj: KubeObject, field: string): string | undefined {
  const value = isJsonMap(obj.spec) ? obj.spec[field] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** The volume a claim asks for by name, if any. */
export function volumeNameOf(claim: KubeObject): string | undefined {
  const name = specString(claim, 'volumeName');
  return name === '' ? undefined : name;
}

/** What happens to a restored claim (`claim`, in its target namespace) and its volume. */
export function claimBinding(claim: KubeObject, livePv: KubeObject | null, facts: VolumeFacts): ClaimBinding {
  const volume = volumeNameOf(claim);
  if (volume === undefined) return { keepVolumeName: false };
  const ns = claim.metadata.namespace ?? '';
  const name = claim.metadata.name ?? '';
  if (livePv) {
    const ref = claimRefOf(livePv);
    if (ref === undefined) {
      return { keepVolumeName: true, note: `binds to volume ${volume}, which is Available in the cluster` };
    }
    if (ref.namespace === ns && ref.name === name) {
      return phaseOf(livePv) === 'Released'
        ? {
            keepVolumeName: true,
            note: `binds again to its surviving volume ${volume} (Released; the restore clears its stale claimRef.uid)`,
          }
        : { keepVolumeName: true, note: `binds to volume ${volume}, which the cluster keeps for this claim` };
    }
    return {
      keepVolumeName: true,
      warning: `its volume ${volume} now belongs to claim ${ref.namespace ?? ''}/${ref.name ?? ''}: this claim stays Pending rather than take another volume`,
    };
  }
  if (facts.restoredVolumes.has(volume)) {
    return { keepVolumeName: true, note: `binds to its volume ${volume}, restored from the backup` };
  }
  const why = facts.skippedVolumes.get(volume);
  const gone = why
    ? `its volume ${volume} is not restored (${why})`
    : `its volume ${volume} is neither in this restore nor in the cluster`;
  const storageClass = specString(claim, 'storageClassName');
  if (storageClass === '') {
    return {
      keepVolumeName: true,
      warning: `${gone}, and without a storage class nothing provisions another: the claim stays Pending until a volume ${volume} exists`,
    };
  }
  return {
    keepVolumeName: false,
    warning: `${gone}: storage class ${storageClass ?? '(the default)'} provisions a new, empty volume`,
  };
}

/**
 * The stale UID of a surviving volume that should be bound again to a restored claim: the live
 * volume is Released, reserved (by namespace and name) for the claim the backup's volume names,
 * and that claim is in the restore. Undefined when nothing needs clearing.
 */
export function staleClaimUid(
  desiredPv: KubeObject,
  livePv: KubeObject | null,
  restoredClaims: ReadonlySet<string>,
): string | undefined {
  if (!livePv || phaseOf(livePv) !== 'Released') return undefined;
  const live = claimRefOf(livePv);
  const wanted = claimRefOf(desiredPv);
  if (!live?.uid || !wanted || live.namespace !== wanted.namespace || live.name !== wanted.name)
    return undefined;
  return restoredClaims.has(`${live.namespace ?? ''}/${live.name ?? ''}`) ? live.uid : undefined;
}

/**
 * What the plan records as the object written when a Released volume is bound again under the
 * `none` policy: only claimRef, without UID and resourceVersion — nothing else of the live volume
 * is touched. claimRef is a granular struct for server-side apply, so apply removes the two
 * fields with a merge patch (engine.ts rebindVolume).
 */
export function rebindPatch(desiredPv: KubeObject): KubeObject {
  const ref = claimRefOf(desiredPv) ?? {};
  const { uid: _uid, resourceVersion: _rv, ...rest } = ref as ClaimRef & { resourceVersion?: string };
  return {
    apiVersion: desiredPv.apiVersion,
    kind: desiredPv.kind,
    metadata: { name: desiredPv.metadata.name ?? '' },
    spec: { claimRef: rest },
  };
}
