// One volume's outcome, and the record of it Velero reads: BackupVolumeInfo in
// `<backup>-volumeinfo.json.gz` (velero internal/volume/volumes_information.go), which
// `velero backup describe --details` and Velero's restore use to find each volume's snapshot.
import type { KubeObject } from '../kube/types.js';

export interface CsiSnapshotFacts {
  /** The VolumeSnapshot (in the claim's namespace) and its content. */
  volumeSnapshot: string;
  volumeSnapshotContent: string;
  volumeSnapshotClass: string;
  driver: string;
  snapshotHandle: string;
  /** Bytes a restored volume needs (the content's status.restoreSize). */
  restoreSize: number;
}

export interface VolumeOutcome {
  namespace: string;
  claim: string;
  pvName?: string;
  /** The pod the volume was captured through (around its hooks), if a pod mounts it. */
  pod?: string;
  method: 'CSISnapshot' | 'PodVolumeBackup';
  result: 'succeeded' | 'failed' | 'skipped';
  skippedReason?: string;
  error?: string;
  start?: Date;
  completion?: Date;
  csi?: CsiSnapshotFacts;
  /** Objects the archive and the side files get: the VolumeSnapshot, its content and class. */
  objects?: { volumeSnapshot?: KubeObject; content?: KubeObject; snapshotClass?: KubeObject };
  pvInfo?: { reclaimPolicy: string; labels: Record<string, string> };
}

/** Velero's BackupVolumeInfo, the fields lifeboat fills in. */
export interface BackupVolumeInfo {
  pvcName: string;
  pvcNamespace: string;
  pvName?: string;
  backupMethod?: 'CSISnapshot' | 'PodVolumeBackup';
  snapshotDataMoved: boolean;
  preserveLocalSnapshot: boolean;
  skipped: boolean;
  skippedReason?: string;
  startTimestamp?: string;
  completionTimestamp?: string;
  result?: 'succeeded' | 'failed';
  csiSnapshotInfo?: {
    snapshotHandle: string;
    size: number;
    driver: string;
    vscName: string;
    /** Go's field has no json tag, so Velero writes it with its Go name. */
    ReadyToUse?: boolean;
  };
  pvInfo?: { reclaimPolicy: string; labels: Record<string, string> };
  /** Velero's PodVolumeInfo, for a file-system copy. */
  pvbInfo?: {
    snapshotHandle: string;
    size: number;
    uploaderType: string;
    volumeName: string;
    podName: string;
    podNamespace: string;
    nodeName?: string;
  };
}

/** Metav1.Time as Velero marshals it: RFC 3339 in seconds. */
function metaTime(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toBackupVolumeInfo(o: VolumeOutcome): BackupVolumeInfo {
  return {
    pvcName: o.claim,
    pvcNamespace: o.namespace,
    ...(o.pvName ? { pvName: o.pvName } : {}),
    ...(o.result === 'skipped' ? {} : { backupMethod: o.method }),
    snapshotDataMoved: false,
    // A CSI snapshot without data movement is the local snapshot, kept.
    preserveLocalSnapshot: o.result === 'succeeded' && o.method === 'CSISnapshot',
    skipped: o.result === 'skipped',
    ...(o.skippedReason ? { skippedReason: o.skippedReason } : {}),
    ...(o.start ? { startTimestamp: metaTime(o.start) } : {}),
    ...(o.completion ? { completionTimestamp: metaTime(o.completion) } : {}),
    ...(o.result === 'skipped' ? {} : { result: o.result }),
    ...(o.csi
      ? {
          csiSnapshotInfo: {
            snapshotHandle: o.csi.snapshotHandle,
            size: o.csi.restoreSize,
            driver: o.csi.driver,
            vscName: o.csi.volumeSnapshotContent,
            ReadyToUse: o.result === 'succeeded',
          },
        }
      : {}),
    ...(o.pvInfo ? { pvInfo: o.pvInfo } : {}),
  };
}

/** Milliseconds the capture took, when it ran. */
export function durationOf(o: VolumeOutcome): number | undefined {
  return o.start && o.completion ? o.completion.getTime() - o.start.getTime() : undefined;
}
