// The one module that knows every key in a backup location. Velero's layout, so Velero
// buckets are readable and lifeboat backups restorable by Velero
// (velero pkg/persistence/object_store_layout.go).

export const BACKUPS_DIR = 'backups/';
export const RESTORES_DIR = 'restores/';

export const backupLayout = {
  dir: (name: string) => `backups/${name}/`,
  archive: (name: string) => `backups/${name}/${name}.tar.gz`,
  /** Velero's Backup object; written last, its presence means the backup is complete. */
  metadata: (name: string) => `backups/${name}/velero-backup.json`,
  resourceList: (name: string) => `backups/${name}/${name}-resource-list.json.gz`,
  log: (name: string) => `backups/${name}/${name}-logs.gz`,
  /** lifeboat's own extras (sha256 and point-in-time facts); Velero ignores unknown files. */
  lifeboatInfo: (name: string) => `backups/${name}/lifeboat-backup.json`,
};

export const restoreLayout = {
  dir: (name: string) => `restores/${name}/`,
  log: (name: string) => `restores/${name}/restore-${name}-logs.gz`,
  results: (name: string) => `restores/${name}/restore-${name}-results.gz`,
  resourceList: (name: string) => `restores/${name}/restore-${name}-resource-list.json.gz`,
  /** lifeboat's restore record (phase, per-item results, plan hash). */
  record: (name: string) => `restores/${name}/lifeboat-restore.json`,
};

/** The lock object that keeps two reconcilers from working the same location. */
export const LOCK_KEY = 'lifeboat/reconciler.lock';

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Backup and restore names become key segments: they must not contain '/' or '..'. */
export function assertValidName(kind: string, name: string): void {
  if (!NAME.test(name) || name.length > 253 || name.includes('..')) {
    throw new Error(
      `invalid ${kind} name ${JSON.stringify(name)}: use lower-case letters, digits, '-' and '.' (at most 253)`,
    );
  }
}
