// The one module that knows every key in a backup location. Velero's layout, so Velero
// buckets are readable and lifeboat backups restorable by Velero
// (velero pkg/persistence/object_store_layout.go).

export const BACKUPS_DIR = 'backups/';
export const RESTORES_DIR = 'restores/';

export const backupLayout = {
  dir: (name: string) => `backups/${name}/`,
  archive: (name: string) => `backups/${name}/${name}.tar.gz`,
  /**
   * Velero's Backup object; written last, its presence means the backup is complete. lifeboat's
   * own facts (sha256, etcd revision) are annotations on it, not a file of their own.
   */
  metadata: (name: string) => `backups/${name}/velero-backup.json`,
  resourceList: (name: string) => `backups/${name}/${name}-resource-list.json.gz`,
  log: (name: string) => `backups/${name}/${name}-logs.gz`,
  /**
   * Velero's CSI side files (object_store_layout.go getCSIVolumeSnapshotKey and its siblings):
   * gzip'd JSON arrays of the backup's VolumeSnapshots, VolumeSnapshotContents and
   * VolumeSnapshotClasses as they were when the snapshots were ready. Absent when the backup
   * took no CSI snapshot.
   */
  csiVolumeSnapshots: (name: string) => `backups/${name}/${name}-csi-volumesnapshots.json.gz`,
  csiVolumeSnapshotContents: (name: string) => `backups/${name}/${name}-csi-volumesnapshotcontents.json.gz`,
  csiVolumeSnapshotClasses: (name: string) => `backups/${name}/${name}-csi-volumesnapshotclasses.json.gz`,
  /** Velero's BackupVolumeInfo list (internal/volume/volumes_information.go): one per volume. */
  volumeInfo: (name: string) => `backups/${name}/${name}-volumeinfo.json.gz`,
  /** The PodVolumeBackups of the backup's file-system volume copies, as a gzipped JSON list. */
  podVolumeBackups: (name: string) => `backups/${name}/${name}-podvolumebackups.json.gz`,
};

/** restic repositories, one per namespace, beside backups/ (Velero's restic/<namespace>). */
export const resticRepositoryPrefix = (namespace: string) => `restic/${namespace}`;

export const restoreLayout = {
  dir: (name: string) => `restores/${name}/`,
  log: (name: string) => `restores/${name}/restore-${name}-logs.gz`,
  results: (name: string) => `restores/${name}/restore-${name}-results.gz`,
  resourceList: (name: string) => `restores/${name}/restore-${name}-resource-list.json.gz`,
  /** lifeboat's restore record (phase, per-item results, plan hash). */
  record: (name: string) => `restores/${name}/lifeboat-restore.json`,
};

/**
 * The lock object that keeps two reconcilers from working the same location. In `metadata/`,
 * a top-level directory Velero accepts and leaves alone: any other directory under the prefix
 * makes a Velero BackupStorageLocation on it Unavailable ("Backup store contains invalid
 * top-level directories", velero pkg/persistence/object_store.go IsValid).
 */
export const LOCK_KEY = 'metadata/lifeboat-reconciler.lock';
/** Where reconcilers before 0.2 kept the lock; still honoured while fresh, removed once taken over. */
export const LEGACY_LOCK_KEY = 'lifeboat/reconciler.lock';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Backup and restore names become key segments: they must not contain '/' or '..'. */
export function assertValidName(kind: string, name: string): void {
  if (!NAME.test(name) || name.length > 253 || name.includes('..')) {
    throw new Error(
      `invalid ${kind} name ${JSON.stringify(name)}: use lower-case letters, digits, '-' and '.' (at most 253)`,
    );
  }
}
