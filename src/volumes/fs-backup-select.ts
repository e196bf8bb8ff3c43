// Which of a pod's volumes get a file-system copy (restic, through the node agent), as Velero
// decides it (pkg/util/podvolume): opt-in by the pod annotation backup.velero.io/backup-volumes
// (comma-separated volume names), or every volume when the backup says defaultVolumesToFsBackup,
// less those in backup.velero.io/backup-volumes-excludes. Volumes whose data is not the pod's
// (hostPath: the node's; secret, configMap, projected, downwardAPI: the API's) are never copied.
// A volume chosen here is not snapshotted by CSI: file-system backup wins, as in Velero.

export const BACKUP_VOLUMES_ANNOTATION = 'backup.velero.io/backup-volumes';
export const BACKUP_VOLUMES_EXCLUDES_ANNOTATION = 'backup.velero.io/backup-volumes-excludes';

/** What this needs of a pod (src/volumes/collect.ts's PodRecord has these fields). */
export interface FsPodVolumes {
  annotations: Record<string, string>;
  volumes: readonly { name: string; type: string; claimName?: string }[];
}

const NOT_POD_DATA: Record<string, string> = {
  hostPath: "a hostPath volume holds the node's files, not the pod's",
  secret: 'a secret volume is backed up as its Secret object',
  configMap: 'a configMap volume is backed up as its ConfigMap object',
  projected: 'a projected volume is made from API objects',
  downwardAPI: 'a downwardAPI volume is made from the pod itself',
};

export interface FsSelection {
  /** Volume names to copy with restic, in the pod's order. */
  volumes: string[];
  /** Volumes the annotation named that are not copied, with the reason (a warning of the backup). */
  skipped: { volume: string; reason: string }[];
}

function names(value: string | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export function selectFsBackupVolumes(pod: FsPodVolumes, defaultVolumesToFsBackup: boolean): FsSelection {
  const optIn = names(pod.annotations[BACKUP_VOLUMES_ANNOTATION]);
  const excluded = names(pod.annotations[BACKUP_VOLUMES_EXCLUDES_ANNOTATION]);
  const out: FsSelection = { volumes: [], skipped: [] };
  for (const v of pod.volumes) {
    const wanted = defaultVolumesToFsBackup ? !excluded.has(v.name) : optIn.has(v.name);
    if (!wanted) continue;
    const reason = NOT_POD_DATA[v.type];
    // Chosen by default, such volumes are left out silently (Velero does); named, they warn.
    if (reason) {
      if (optIn.has(v.name)) out.skipped.push({ volume: v.name, reason });
      continue;
    }
    out.volumes.push(v.name);
  }
  for (const name of optIn) {
    if (!pod.volumes.some((v) => v.name === name)) {
      out.skipped.push({ volume: name, reason: `the pod has no volume ${name}` });
    }
  }
  return out;
}
