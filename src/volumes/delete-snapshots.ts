// A backup's VolumeSnapshots go with the backup (deleted by hand, by TTL or by retention).
// Each is found by Velero's label velero.io/backup-name and deleted. Its content was switched
// to Retain when the backup took it (so that losing the namespace does not lose the snapshot);
// what happens to the storage snapshot now is the policy the content had from its class, kept
// in an annotation: Delete removes the content and the storage snapshot with it (the
// snapshotter does that), Retain keeps both, as their owner chose. (Velero switches Retain to
// Delete; lifeboat respects the choice and says so.)
import type { KubeClient } from '../kube/client.js';
import { SnapshotApi, type VolumeSnapshot } from '../kube/snapshots.js';
import { BACKUP_NAME_LABEL, labelValue, ORIGINAL_DELETION_POLICY } from './csi-capturer.js';

export interface DeletedSnapshot {
  namespace: string;
  name: string;
  content?: string;
  /** The content's policy: Retain keeps the content and the storage snapshot. */
  deletionPolicy?: 'Delete' | 'Retain';
}

export async function deleteBackupSnapshots(
  kube: KubeClient,
  backupName: string,
): Promise<DeletedSnapshot[]> {
  const api = new SnapshotApi(kube);
  const selector = `${BACKUP_NAME_LABEL}=${labelValue(backupName)}`;
  const snapshots = await api.snapshotsLabelled(selector);
  const out: DeletedSnapshot[] = [];
  const byContent = new Map<string, DeletedSnapshot>();
  for (const vs of snapshots) {
    const namespace = vs.metadata.namespace ?? '';
    const name = vs.metadata.name ?? '';
    const contentName = vs.status?.boundVolumeSnapshotContentName;
    await api.deleteSnapshot(namespace, name);
    const entry: DeletedSnapshot = { namespace, name, ...(contentName ? { content: contentName } : {}) };
    out.push(entry);
    if (contentName) byContent.set(contentName, entry);
  }
  // Contents held for the backup, also those whose VolumeSnapshot went with its namespace.
  for (const content of await api.contentsLabelled(selector)) {
    const name = content.metadata.name ?? '';
    const annotated = content.metadata.annotations?.[ORIGINAL_DELETION_POLICY];
    const policy = annotated === 'Retain' || annotated === 'Delete' ? annotated : content.spec.deletionPolicy;
    if (policy === 'Delete') {
      await api.setContentDeletionPolicy(name, 'Delete');
      await api.deleteContent(name);
    }
    const entry = byContent.get(name);
    if (entry) entry.deletionPolicy = policy;
    else out.push({ namespace: '', name: '', content: name, deletionPolicy: policy });
  }
  return out;
}

export interface OrphanSnapshot {
  namespace: string;
  name: string;
  backup: string;
  created?: string;
}

/**
 * Snapshots labelled with a backup that no location holds: their backup is gone (deleted by
 * something that did not clean up, or a location removed). Young ones are left out: their
 * backup may still be running, here or in another reconciler.
 */
export function findOrphanSnapshots(o: {
  snapshots: readonly VolumeSnapshot[];
  backups: readonly string[];
  now: Date;
  graceMs: number;
}): OrphanSnapshot[] {
  const known = new Set(o.backups.map(labelValue));
  const out: OrphanSnapshot[] = [];
  for (const vs of o.snapshots) {
    const backup = vs.metadata.labels?.[BACKUP_NAME_LABEL];
    if (backup === undefined || known.has(backup)) continue;
    const created = vs.metadata.creationTimestamp;
    if (created && o.now.getTime() - Date.parse(created) < o.graceMs) continue;
    out.push({
      namespace: vs.metadata.namespace ?? '',
      name: vs.metadata.name ?? '',
      backup,
      ...(created ? { created } : {}),
    });
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
}

/** Every VolumeSnapshot a backup made (lifeboat's or Velero's), for the orphan report. */
export async function backupSnapshots(kube: KubeClient): Promise<VolumeSnapshot[]> {
  return new SnapshotApi(kube).snapshotsLabelled(BACKUP_NAME_LABEL);
}
