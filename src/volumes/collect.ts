// While the engine lists at revision R, it hands every backed-up Pod and PersistentVolumeClaim
// to this collector, which keeps a small record of each — never the whole object — for the
// volume phase that runs after the listing (SEAM: csi-backup owns this file; the hooks and
// restic work add fields, additively).
import type { KubeObject, ResourceInfo } from '../kube/types.js';

export interface PodVolumeRecord {
  /** The volume's name in the pod spec. */
  name: string;
  /** Set for persistentVolumeClaim volumes. */
  claimName?: string;
  /** The volume source's key: persistentVolumeClaim, emptyDir, configMap, … */
  type: string;
}

export interface PodRecord {
  namespace: string;
  name: string;
  uid: string;
  node?: string;
  phase?: string;
  volumes: PodVolumeRecord[];
  /** Only the annotations volume capture and hooks read (Velero's backup.velero.io/…, *.hook.…). */
  annotations: Record<string, string>;
}

export interface ClaimRecord {
  namespace: string;
  name: string;
  uid: string;
  /** The bound PersistentVolume; absent while Pending. */
  volumeName?: string;
  storageClass?: string;
  /** spec.resources.requests.storage, as written (e.g. '1Gi'). */
  size?: string;
  phase?: string;
  /** Velero copies the claim's labels onto its VolumeSnapshot. */
  labels: Record<string, string>;
  /** Only the annotations a volume decision reads (velero.io/csi-volumesnapshot-class). */
  annotations: Record<string, string>;
}

/** Annotation prefixes worth keeping on a pod record: fs-backup opt-in/out and hooks. */
const POD_ANNOTATION_PREFIXES = [
  'backup.velero.io/',
  'pre.hook.backup.velero.io/',
  'post.hook.backup.velero.io/',
];
const CLAIM_ANNOTATIONS = ['velero.io/csi-volumesnapshot-class'];

export class VolumeCollector {
  readonly pods: PodRecord[] = [];
  readonly claims: ClaimRecord[] = [];
  /**
   * The archive JSON of each claim, held back until its snapshot is known: Velero's restore
   * finds a claim's snapshot by the annotation velero.io/volume-snapshot-name on the claim in
   * the archive, which only exists once the snapshot is taken. A claim is a small object and
   * a cluster has far fewer claims than other objects, so holding them is bounded in practice.
   */
  readonly claimJson = new Map<string, Buffer>();

  /** Whether the archive entries of this type wait for the volume phase. */
  holdsEntries(info: Pick<ResourceInfo, 'group' | 'resource'>): boolean {
    return info.group === '' && info.resource === 'persistentvolumeclaims';
  }

  hold(obj: KubeObject, json: Buffer): void {
    this.claimJson.set(`${obj.metadata.namespace ?? ''}/${obj.metadata.name ?? ''}`, json);
  }

  /** Called for every object the backup keeps; ignores all but core/v1 Pods and claims. */
  observe(info: Pick<ResourceInfo, 'group' | 'resource'>, obj: KubeObject): void {
    if (info.group !== '') return;
    if (info.resource === 'pods') this.pods.push(podRecord(obj));
    else if (info.resource === 'persistentvolumeclaims') this.claims.push(claimRecord(obj));
  }
}

interface PodShape {
  spec?: { nodeName?: string; volumes?: (Record<string, unknown> & { name: string })[] };
  status?: { phase?: string };
}

export function podRecord(obj: KubeObject): PodRecord {
  const pod = obj as KubeObject & PodShape;
  const volumes = (pod.spec?.volumes ?? []).map((v): PodVolumeRecord => {
    const type = Object.keys(v).find((k) => k !== 'name') ?? 'unknown';
    const claim = (v.persistentVolumeClaim as { claimName?: string } | undefined)?.claimName;
    return { name: v.name, type, ...(claim ? { claimName: claim } : {}) };
  });
  const annotations = Object.fromEntries(
    Object.entries(obj.metadata.annotations ?? {}).filter(([k]) =>
      POD_ANNOTATION_PREFIXES.some((p) => k.startsWith(p)),
    ),
  );
  return {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
    uid: obj.metadata.uid ?? '',
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    volumes,
    annotations,
  };
}

interface ClaimShape {
  spec?: { volumeName?: string; storageClassName?: string; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string };
}

export function claimRecord(obj: KubeObject): ClaimRecord {
  const pvc = obj as KubeObject & ClaimShape;
  const annotations = Object.fromEntries(
    Object.entries(obj.metadata.annotations ?? {}).filter(([k]) => CLAIM_ANNOTATIONS.includes(k)),
  );
  const size = pvc.spec?.resources?.requests?.storage;
  return {
    namespace: obj.metadata.namespace ?? '',
    name: obj.metadata.name ?? '',
    uid: obj.metadata.uid ?? '',
    ...(pvc.spec?.volumeName ? { volumeName: pvc.spec.volumeName } : {}),
    ...(pvc.spec?.storageClassName ? { storageClass: pvc.spec.storageClassName } : {}),
    ...(size ? { size } : {}),
    ...(pvc.status?.phase ? { phase: pvc.status.phase } : {}),
    labels: { ...obj.metadata.labels },
    annotations,
  };
}
