// A file-system copy as Velero records it in <backup>-volumeinfo.json.gz: a BackupVolumeInfo
// with backupMethod PodVolumeBackup and its pvbInfo (velero internal/volume/volumes_information.go
// generateVolumeInfoFromPVB). A volume that is not a claim (emptyDir) has empty claim fields.
import type { FsVolumeOutcome } from './restic-capturer.js';
import type { BackupVolumeInfo } from './volume-info.js';

/** Metav1.Time as Velero marshals it: RFC 3339 in seconds. */
function metaTime(iso: string): string {
  return iso.replace(/\.\d{3}Z$/, 'Z');
}

export function fsVolumeInfo(x: FsVolumeOutcome): BackupVolumeInfo {
  const pv = x.object?.spec.persistentVolume;
  return {
    pvcName: x.claim ?? '',
    pvcNamespace: x.claim ? x.namespace : '',
    ...(pv ? { pvName: pv } : {}),
    backupMethod: 'PodVolumeBackup',
    snapshotDataMoved: false,
    preserveLocalSnapshot: false,
    skipped: false,
    startTimestamp: metaTime(x.start),
    completionTimestamp: metaTime(x.completion),
    result: x.result,
    pvbInfo: {
      snapshotHandle: x.snapshotId ?? '',
      size: x.bytes ?? 0,
      uploaderType: 'restic',
      volumeName: x.volume,
      podName: x.pod,
      podNamespace: x.namespace,
      ...(x.object?.spec.node ? { nodeName: x.object.spec.node } : {}),
    },
  };
}
