// The volume side files of Velero's layout, gzipped JSON as its backup controller writes them
// (pkg/controller/backup_controller.go persistBackup): the VolumeSnapshots, their contents and
// classes, the BackupVolumeInfo list, and the PodVolumeBackups of file-system copies. Written
// before velero-backup.json, only when the backup has volumes (a backup of objects alone keeps
// the layout it always had).
import { gzipSync } from 'node:zlib';
import { backupLayout } from '../storage/layout.js';
import { stringifyJson } from '../util/json.js';
import type { VolumePhaseResult } from './phase.js';
import { encodePodVolumeBackups } from './podvolumebackups-file.js';

export function volumeSideFileWrites(
  backupName: string,
  volumes: Pick<VolumePhaseResult, 'outcomes' | 'sideFiles'>,
): { key: string; body: Buffer }[] {
  const { podVolumeBackups } = volumes.sideFiles;
  if (volumes.outcomes.length === 0 && podVolumeBackups.length === 0) return [];
  // stringifyJson: int64s read as BigInt (a content's creationTime) are written as numbers.
  const gz = (value: unknown): Buffer => gzipSync(stringifyJson(value));
  const { sideFiles: f } = volumes;
  return [
    { key: backupLayout.csiVolumeSnapshots(backupName), body: gz(f.volumeSnapshots) },
    { key: backupLayout.csiVolumeSnapshotContents(backupName), body: gz(f.volumeSnapshotContents) },
    { key: backupLayout.csiVolumeSnapshotClasses(backupName), body: gz(f.volumeSnapshotClasses) },
    { key: backupLayout.volumeInfo(backupName), body: gz(f.volumeInfo) },
    ...(podVolumeBackups.length > 0
      ? [{ key: backupLayout.podVolumeBackups(backupName), body: encodePodVolumeBackups(podVolumeBackups) }]
      : []),
  ];
}
