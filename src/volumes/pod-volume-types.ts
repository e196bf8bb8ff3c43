// The custom resources through which lifeboat asks the node agent for volume work
// (deploy/crds/). Their names and fields follow Velero's PodVolumeBackup / PodVolumeRestore so a
// Velero user recognizes them, in lifeboat's own group: Velero's controllers must not pick ours
// up, nor ours Velero's. The spec holds references only — the repository password and the S3
// credentials stay in their Secrets and are read by the agent on its node.
import type { KubeObject, ResourceInfo } from '../kube/types.js';

export const VOLUME_API_GROUP = 'lifeboat.dev';
export const VOLUME_API_VERSION = 'v1alpha1';
/** The label every such object carries with its node's name: an agent lists only its own. */
export const NODE_LABEL = 'lifeboat.dev/node';
export const BACKUP_NAME_LABEL = 'lifeboat.dev/backup-name';
export const RESTORE_NAME_LABEL = 'lifeboat.dev/restore-name';

function crd(resource: string, kind: string): ResourceInfo {
  return {
    group: VOLUME_API_GROUP,
    version: VOLUME_API_VERSION,
    resource,
    kind,
    namespaced: true,
    verbs: ['get', 'list', 'create', 'patch', 'delete'],
    shortNames: [],
    singularName: kind.toLowerCase(),
    preferredVersion: VOLUME_API_VERSION,
  };
}

export const POD_VOLUME_BACKUP = crd('podvolumebackups', 'PodVolumeBackup');
export const POD_VOLUME_RESTORE = crd('podvolumerestores', 'PodVolumeRestore');
export const SECRET: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'secrets',
  kind: 'Secret',
  namespaced: true,
  verbs: ['get'],
  shortNames: [],
  singularName: 'secret',
  preferredVersion: 'v1',
};

export interface SecretKeyRef {
  namespace: string;
  name: string;
  key: string;
}

/** The restic repository of one namespace: `<prefix>/restic/<namespace>` in the location's bucket. */
export interface RepositorySpec {
  /** The namespace whose volumes this repository holds (restic/<namespace>). */
  volumeNamespace: string;
  bucket: string;
  prefix?: string;
  s3Url?: string;
  region?: string;
  s3ForcePathStyle?: boolean;
  /** An AWS shared credentials file ([default] profile), as a StorageLocation's secretRef. */
  credentialsSecret?: SecretKeyRef;
  /** The restic repository password. Required: there is no built-in password. */
  passwordSecret: SecretKeyRef;
}

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export type PodVolumePhase = 'New' | 'InProgress' | 'Completed' | 'Failed';

export interface PodVolumeStatus {
  phase?: PodVolumePhase;
  progress?: { bytesDone: number; totalBytes: number };
  message?: string;
  startTimestamp?: string;
  completionTimestamp?: string;
  /** Files (regular), directories below the root and bytes of the volume. */
  files?: number;
  dirs?: number;
  bytes?: number;
  /**
   * A restore with spec.verify: restic read every restored file back and each chunk matched the
   * snapshot's content hash (`restic restore --verify`).
   */
  verified?: boolean;
}

export interface PodVolumeBackupSpec {
  node: string;
  pod: PodRef;
  /** The pod's volume name. */
  volume: string;
  /** The PersistentVolume's name when the volume is a claim (the kubelet's directory name). */
  persistentVolume?: string;
  backupName: string;
  repository: RepositorySpec;
  /**
   * Snapshot data movement (data-mover.ts): the claim, in the pod's namespace, whose CSI snapshot
   * the pod (lifeboat's short-lived one) mounts. A restore fills a new claim of that name from it.
   */
  sourceClaim?: string;
}

export interface PodVolumeBackupStatus extends PodVolumeStatus {
  snapshotID?: string;
  /** The volume's directory on the node when it was backed up: restic's path in the snapshot. */
  path?: string;
  /** Bytes the repository grew by (after dedup). */
  dataAdded?: number;
}

export interface PodVolumeRestoreSpec {
  node: string;
  pod: PodRef;
  volume: string;
  persistentVolume?: string;
  restoreName: string;
  repository: RepositorySpec;
  snapshotID: string;
  /** What the backup recorded: the restore is verified against it. */
  expected?: { files: number; dirs: number; bytes: number };
  /**
   * Read the restored files back and check their contents against the snapshot's hashes
   * (`restic restore --verify`): verification restores ask for it; it reads the volume twice.
   */
  verify?: boolean;
}

export interface PodVolumeBackup extends KubeObject {
  spec: PodVolumeBackupSpec;
  status?: PodVolumeBackupStatus;
}

export interface PodVolumeRestore extends KubeObject {
  spec: PodVolumeRestoreSpec;
  status?: PodVolumeStatus;
}
