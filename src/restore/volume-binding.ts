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
// Issue 13 (ADR 0038): a claim restored into a mapped namespace while the original claim still
// holds the volume waited Pending forever. Now, as Velero does (restore.go: a volume with a pod
// volume backup is "dynamically re-provisioned"):
//   - a claim whose data a file-system copy (restic) holds gets a new volume from its storage
//     class, which the restore fills from the copy; its old volume is neither restored nor
//     updated, wherever it is;
//   - a claim whose volume belongs to another claim in the cluster gets a new, empty volume from
//     its storage class (a warning: no copy of its data), and the volume is never taken from
//     that claim, not even under the `update` policy;
//   - without a storage class nothing can provision: the claim keeps volumeName and the plan
//     warns that it stays Pending, naming it.
// Every claim and volume gets a note or a warning in the plan saying which of these happens.
import type { KubeObject } from '../kube/types.js';
import { isJsonMap } from './strategic-merge.js';

export interface VolumeFacts {
  /** Names of the PersistentVolumes the restore writes from the backup. */
  restoredVolumes: ReadonlySet<string>;
  /** Name → why the restore does not write that PersistentVolume (sanitize's skip). */
  skippedVolumes: ReadonlyMap<string, string>;
  /** Names of the PersistentVolumes whose claim's data a completed file-system copy holds. */
  copiedVolumes: ReadonlySet<string>;
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

/** `namespace/name` of the claim a live volume is bound or reserved to, when not `ns`/`name`. */
function otherClaimOf(pv: KubeObject | null, ns: string, name: string): string | undefined {
  const ref = claimRefOf(pv);
  if (ref === undefined || (ref.namespace === ns && ref.name === name)) return undefined;
  return `${ref.namespace ?? ''}/${ref.name ?? ''}`;
}

/** What happens to a restored claim (`claim`, in its target namespace) and its volume. */
export function claimBinding(claim: KubeObject, livePv: KubeObject | null, facts: VolumeFacts): ClaimBinding {
  const volume = volumeNameOf(claim);
  if (volume === undefined) return { keepVolumeName: false };
  const ns = claim.metadata.namespace ?? '';
  const name = claim.metadata.name ?? '';
  const storageClass = specString(claim, 'storageClassName');
  // '' asks for no class (static volumes only); absent asks for the cluster's default class.
  const provisions = storageClass !== '';
  const classText = storageClass ?? '(the default)';
  const other = otherClaimOf(livePv, ns, name);
  if (facts.copiedVolumes.has(volume) && provisions) {
    const stays = other ? `, and stays with claim ${other}` : livePv ? ', and is left as it is' : '';
    return {
      keepVolumeName: false,
      note: `its data comes from a file-system copy (restic): storage class ${classText} provisions a new volume, which the restore fills from the copy; its volume ${volume} is not restored${stays}`,
    };
  }
  if (livePv) {
    if (other !== undefined) {
      return provisions
        ? {
            keepVolumeName: false,
            warning: `its volume ${volume} belongs to claim ${other}, which keeps it: storage class ${classText} provisions a new, empty volume for claim ${ns}/${name} (the backup holds no copy of its data)`,
          }
        : {
            keepVolumeName: true,
            warning: `its volume ${volume} belongs to claim ${other}, and without a storage class nothing provisions another: claim ${ns}/${name} stays Pending`,
          };
    }
    if (claimRefOf(livePv) === undefined) {
      return { keepVolumeName: true, note: `binds to volume ${volume}, which is Available in the cluster` };
    }
    return phaseOf(livePv) === 'Released'
      ? {
          keepVolumeName: true,
          note: `binds again to its surviving volume ${volume} (Released; the restore clears its stale claimRef.uid)`,
        }
      : { keepVolumeName: true, note: `binds to volume ${volume}, which the cluster keeps for this claim` };
  }
  if (facts.restoredVolumes.has(volume)) {
    return { keepVolumeName: true, note: `binds to its volume ${volume}, restored from the backup` };
  }
  const why = facts.skippedVolumes.get(volume);
  const gone = why
    ? `its volume ${volume} is not restored (${why})`
    : `its volume ${volume} is neither in this restore nor in the cluster`;
  if (!provisions) {
    return {
      keepVolumeName: true,
      warning: `${gone}, and without a storage class nothing provisions another: claim ${ns}/${name} stays Pending until a volume ${volume} exists`,
    };
  }
  return {
    keepVolumeName: false,
    warning: `${gone}: storage class ${classText} provisions a new, empty volume`,
  };
}

/**
 * Why a backed-up volume must not be written over its live twin: the live volume is bound or
 * reserved to another claim than the one the restored volume names (after namespace mapping,
 * the original claim in the source namespace). Under `update`, writing claimRef would take the
 * volume from that claim, which then turns Lost. Undefined when nothing is taken.
 */
export function takenVolumeReason(desiredPv: KubeObject, livePv: KubeObject | null): string | undefined {
  const wanted = claimRefOf(desiredPv);
  if (!livePv || !wanted) return undefined;
  const other = otherClaimOf(livePv, wanted.namespace ?? '', wanted.name ?? '');
  return other === undefined
    ? undefined
    : `it belongs to claim ${other} in the cluster: the restore does not take it from that claim`;
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
