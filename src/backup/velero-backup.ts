// The `velero-backup.json` metadata object: a velero.io/v1 Backup with spec and status, as
// Velero persists it (pkg/persistence/object_store.go PutBackup). lifeboat's own facts (archive
// checksum, etcd revision, resources not read at that revision) travel as annotations, which
// Velero preserves and ignores.
import type { BackupHooks } from '../hooks/spec.js';
import type { BackupSpec } from './spec.js';
import { DEFAULT_CSI_SNAPSHOT_TIMEOUT, DEFAULT_TTL } from './spec.js';
import { formatDuration, parseDuration } from '../util/duration.js';
import { BACKUP_FORMAT_VERSION } from '../archive/paths.js';

export type BackupPhase = 'New' | 'InProgress' | 'Completed' | 'PartiallyFailed' | 'Failed' | 'Deleting';

export const ANNOTATION_SHA256 = 'lifeboat.dev/archive-sha256';
export const ANNOTATION_ARCHIVE_BYTES = 'lifeboat.dev/archive-bytes';
export const ANNOTATION_REVISION = 'lifeboat.dev/resource-version';
export const ANNOTATION_NOT_POINT_IN_TIME = 'lifeboat.dev/not-point-in-time';
export const ANNOTATION_CREATED_BY = 'lifeboat.dev/created-by';
/** Velero's Backup annotation naming the VolumeSnapshotClass of one CSI driver: prefix + `_<driver>`. */
export const ANNOTATION_CSI_CLASS_PREFIX = 'velero.io/csi-volumesnapshot-class_';

export interface VeleroBackup {
  apiVersion: 'velero.io/v1';
  kind: 'Backup';
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: string;
  };
  /** Velero's BackupSpec: the filters of BackupSpec (spec.ts), ttl as Go prints it, and the rest. */
  spec: Omit<BackupSpec, 'ttl'> & {
    ttl: string;
    hooks: BackupHooks | Record<string, never>;
    metadata: Record<string, never>;
    snapshotVolumes?: boolean;
    defaultVolumesToFsBackup?: boolean;
    snapshotMoveData?: boolean;
    csiSnapshotTimeout?: string;
    itemOperationTimeout?: string;
    volumeGroupSnapshotLabelKey?: string;
  };
  status: {
    version: number;
    formatVersion: string;
    phase: BackupPhase;
    expiration?: string;
    startTimestamp?: string;
    completionTimestamp?: string;
    progress?: { totalItems: number; itemsBackedUp: number };
    errors?: number;
    warnings?: number;
    failureReason?: string;
    csiVolumeSnapshotsAttempted?: number;
    csiVolumeSnapshotsCompleted?: number;
    /**
     * Velero counts its data mover's uploads (snapshotMoveData) as backup item operations;
     * lifeboat counts its moves of snapshot data into restic here too (ADR 0039).
     */
    backupItemOperationsAttempted?: number;
    backupItemOperationsCompleted?: number;
    backupItemOperationsFailed?: number;
  };
}

/**
 * What Velero's backup controller fills in when a Backup leaves them out (prepareBackupRequest,
 * with the server defaults of pkg/cmd/server/config/config.go), so that `velero backup describe`
 * of a lifeboat backup reads like one of Velero's instead of showing 0s timeouts.
 */
export const VELERO_SPEC_DEFAULTS = {
  csiSnapshotTimeout: '10m0s',
  itemOperationTimeout: '4h0m0s',
  volumeGroupSnapshotLabelKey: 'velero.io/volume-group',
  snapshotMoveData: false,
} as const;

/** Velero installs into the `velero` namespace; its sync controller rewrites this on import. */
const VELERO_NAMESPACE = 'velero';

export function ttlOf(spec: BackupSpec): number {
  return parseDuration(spec.ttl ?? DEFAULT_TTL);
}

export function csiSnapshotTimeoutOf(spec: BackupSpec): number {
  return parseDuration(spec.csiSnapshotTimeout ?? DEFAULT_CSI_SNAPSHOT_TIMEOUT);
}

/** The per-driver class choice as Velero's Backup annotations (pkg/util/csi, lower-case driver). */
export function csiClassAnnotations(spec: BackupSpec): Record<string, string> {
  return Object.fromEntries(
    Object.entries(spec.csiVolumeSnapshotClasses ?? {}).map(([driver, cls]) => [
      `${ANNOTATION_CSI_CLASS_PREFIX}${driver.toLowerCase()}`,
      cls,
    ]),
  );
}

export function buildVeleroBackup(opts: {
  name: string;
  spec: BackupSpec;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  phase: BackupPhase;
  start: Date;
  completion?: Date;
  totalItems?: number;
  itemsBackedUp?: number;
  errors?: number;
  warnings?: number;
  failureReason?: string;
  /** CSI VolumeSnapshots the backup took, and how many became ready. */
  csiSnapshots?: { attempted: number; completed: number };
  /** Claims whose snapshot data the backup moved into restic (snapshotMoveData), or tried to. */
  dataMovements?: { attempted: number; completed: number; failed: number };
}): VeleroBackup {
  const { spec } = opts;
  const ttlMs = ttlOf(spec);
  // The filters as given (Velero omits unset fields), ttl normalized the way Go prints it.
  const {
    ttl: _ttl,
    includeClusterResources,
    snapshotVolumes,
    csiSnapshotTimeout: _cst,
    csiVolumeSnapshotClasses: _classes,
    ...filters
  } = spec;
  const specOut: VeleroBackup['spec'] = {
    ...definedOnly(filters),
    ...(includeClusterResources !== undefined && includeClusterResources !== null
      ? { includeClusterResources }
      : {}),
    ttl: formatDuration(ttlMs),
    hooks: spec.hooks ?? {},
    metadata: {},
    // Velero's nil means "snapshot when a class exists", which is lifeboat's meaning too.
    ...(snapshotVolumes !== undefined ? { snapshotVolumes } : {}),
    defaultVolumesToFsBackup: spec.defaultVolumesToFsBackup ?? false,
    ...VELERO_SPEC_DEFAULTS,
    csiSnapshotTimeout: formatDuration(csiSnapshotTimeoutOf(spec)),
    snapshotMoveData: spec.snapshotMoveData ?? false,
  };
  return {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: {
      name: opts.name,
      namespace: VELERO_NAMESPACE,
      ...(opts.labels && Object.keys(opts.labels).length > 0 ? { labels: opts.labels } : {}),
      annotations: { [ANNOTATION_CREATED_BY]: 'lifeboat', ...csiClassAnnotations(spec), ...opts.annotations },
      creationTimestamp: opts.start.toISOString(),
    },
    spec: specOut,
    status: {
      version: 1,
      formatVersion: BACKUP_FORMAT_VERSION,
      phase: opts.phase,
      // Velero: expiration is fixed at backup time (gc_controller compares it with now).
      expiration: new Date(opts.start.getTime() + ttlMs).toISOString(),
      startTimestamp: opts.start.toISOString(),
      ...(opts.completion ? { completionTimestamp: opts.completion.toISOString() } : {}),
      ...(opts.totalItems !== undefined
        ? { progress: { totalItems: opts.totalItems, itemsBackedUp: opts.itemsBackedUp ?? opts.totalItems } }
        : {}),
      ...(opts.errors ? { errors: opts.errors } : {}),
      ...(opts.warnings ? { warnings: opts.warnings } : {}),
      ...(opts.failureReason ? { failureReason: opts.failureReason } : {}),
      ...(opts.csiSnapshots && opts.csiSnapshots.attempted > 0
        ? {
            csiVolumeSnapshotsAttempted: opts.csiSnapshots.attempted,
            csiVolumeSnapshotsCompleted: opts.csiSnapshots.completed,
          }
        : {}),
      ...(opts.dataMovements && opts.dataMovements.attempted > 0
        ? {
            backupItemOperationsAttempted: opts.dataMovements.attempted,
            backupItemOperationsCompleted: opts.dataMovements.completed,
            backupItemOperationsFailed: opts.dataMovements.failed,
          }
        : {}),
    },
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Read a BackupSpec back out of a stored Velero Backup (lifeboat's or Velero's own). */
export function specOfVeleroBackup(b: VeleroBackup): BackupSpec {
  const {
    hooks: _h,
    metadata: _m,
    snapshotVolumes: _s,
    defaultVolumesToFsBackup: _d,
    snapshotMoveData: _smd,
    csiSnapshotTimeout: _cst,
    itemOperationTimeout: _iot,
    volumeGroupSnapshotLabelKey: _vgs,
    ...rest
  } = b.spec;
  return rest;
}
