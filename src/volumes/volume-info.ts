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

/** Where a CSI snapshot's data was moved (snapshotMoveData, data-mover.ts). */
export interface MovedData {
  /** The restic repository's namespace (restic/<namespace>), the claim's. */
  repositoryNamespace: string;
  snapshotId: string;
  files: number;
  dirs: number;
  bytes: number;
  /** The PodVolumeBackup that copied it (in lifeboat's namespace). */
  podVolumeBackup: string;
  /** The VolumeSnapshot that was kept (its class said Retain), if any. */
  retainedSnapshot?: string;
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
  /** The snapshot's data was copied into the bucket and the snapshot deleted (snapshotMoveData). */
  moved?: MovedData;
  /** The snapshot was taken, but moving its data failed (the error says why). */
  movementFailed?: boolean;
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
  /** Velero's SnapshotDataMovementInfo, for a snapshot whose data was moved. */
  snapshotDataMovementInfo?: {
    dataMover: string;
    uploaderType: string;
    retainedSnapshot?: string;
    snapshotHandle: string;
    size: number;
    phase: string;
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
    snapshotDataMoved: o.moved !== undefined || o.movementFailed === true,
    // A CSI snapshot without data movement is the local snapshot, kept.
    preserveLocalSnapshot:
      o.result === 'succeeded' &&
      o.method === 'CSISnapshot' &&
      (!o.moved || o.moved.retainedSnapshot !== undefined),
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
    ...(o.moved
      ? {
          snapshotDataMovementInfo: {
            dataMover: 'lifeboat',
            uploaderType: 'restic',
            ...(o.moved.retainedSnapshot ? { retainedSnapshot: o.moved.retainedSnapshot } : {}),
            snapshotHandle: o.moved.snapshotId,
            size: o.moved.bytes,
            phase: 'Completed',
          },
        }
      : {}),
  };
}

/** Milliseconds the capture took, when it ran. */
export function durationOf(o: VolumeOutcome): number | undefined {
  return o.start && o.completion ? o.completion.getTime() - o.start.getTime() : undefined;
}
