// The backup spec: the same fields, names and meaning as Velero's BackupSpec
// (velero.io/v1), restricted to what lifeboat implements for cluster objects.
import type { BackupHooks } from '../hooks/spec.js';

export interface LabelSelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface ResourceFilterSpec {
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  /** Newer, scope-specific filters; Velero forbids mixing them with the old ones. */
  includedClusterScopedResources?: string[];
  excludedClusterScopedResources?: string[];
  includedNamespaceScopedResources?: string[];
  excludedNamespaceScopedResources?: string[];
  /** true, false, or undefined meaning Velero's "auto" (nil) behaviour. */
  includeClusterResources?: boolean | null;
  labelSelector?: LabelSelector;
  orLabelSelectors?: LabelSelector[];
}

export interface BackupSpec extends ResourceFilterSpec {
  /** Go duration, e.g. '720h'. Default 720h. */
  ttl?: string;
  storageLocation?: string;
  /**
   * lifeboat extension: what an unavailable API group-version (a broken aggregated API) makes
   * of the backup — `PartiallyFailed` (the default) or `Warn` (Completed, with a named warning).
   */
  unavailableApiGroups?: 'PartiallyFailed' | 'Warn';
  /**
   * Velero's: take a CSI VolumeSnapshot of each included claim bound to a CSI volume. undefined
   * (Velero's nil) snapshots every claim whose driver has a VolumeSnapshotClass.
   */
  snapshotVolumes?: boolean;
  /** Velero's: how long a VolumeSnapshot may take to become ready. Default '10m'. */
  csiSnapshotTimeout?: string;
  /**
   * CSI driver → VolumeSnapshotClass. Stored as Velero's Backup annotations
   * `velero.io/csi-volumesnapshot-class_<driver>`, which Velero's CSI action reads.
   */
  csiVolumeSnapshotClasses?: Record<string, string>;
  /**
   * Velero's: copy every volume of the backed-up pods with restic (src/volumes/fs-backup-select.ts),
   * not only those a pod's backup.velero.io/backup-volumes annotation names.
   */
  defaultVolumesToFsBackup?: boolean;
  /**
   * Velero's: copy each CSI snapshot's data into the location's restic repository through a
   * temporary claim and pod (src/volumes/data-mover.ts), then delete the snapshot.
   */
  snapshotMoveData?: boolean;
  /** Commands run in pods around the backup; pod annotations win (src/hooks). */
  hooks?: BackupHooks;
}

export const DEFAULT_TTL = '720h';
export const DEFAULT_CSI_SNAPSHOT_TIMEOUT = '10m';
