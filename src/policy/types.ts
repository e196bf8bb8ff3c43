// The policy documents people write in the Git repository (apiVersion lifeboat.dev/v1), as
// lifeboat holds them after loading: schema-valid, semantically checked, defaults applied.
// The JSON Schemas in policies/schema/ are the source of truth for the shapes below.
import type { LabelSelector, ResourceFilterSpec } from '../backup/spec.js';
import type { ResourceModifiers } from '../restore/spec.js';
import type { BackupHooks, RestoreHooks } from '../hooks/spec.js';

export const API_VERSION = 'lifeboat.dev/v1';

/** The kinds, in dependency order: a document may only refer to kinds listed before it. */
export const POLICY_KINDS = [
  'StorageLocation',
  'BackupSchedule',
  'Backup',
  'Restore',
  'RestoreApproval',
] as const;
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** A field inside a document: keys and list indexes from the document root. */
export type FieldPath = readonly (string | number)[];

/** 1-based, as editors count. */
export interface Position {
  line: number;
  column: number;
}

export interface PolicyMetadata {
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Where a document came from, kept so later errors (reconcile, restore plans) can point at it. */
export interface DocumentSource extends Position {
  /** Path relative to the repository root, with '/' separators. */
  file: string;
  /** 0-based index of the document within its file (files may hold several, split by `---`). */
  index: number;
  /** The position of every field the author wrote, keyed by formatFieldPath(). */
  fields: Record<string, Position>;
}

// ---- StorageLocation -------------------------------------------------------------------

export interface EnvCredential {
  fromEnv: { accessKeyIdVar: string; secretAccessKeyVar: string; sessionTokenVar?: string };
}
export interface FileCredential {
  file: string;
}
export interface SecretRefCredential {
  secretRef: { namespace?: string; name: string; key: string };
}
/** Where credentials are found; never the credentials themselves. */
export type StorageCredential = EnvCredential | FileCredential | SecretRefCredential;

// Client-side encryption (ADR 0025): where the key-encryption keys are, never the keys.
export type EncryptionKeySource =
  { secretRef: { namespace?: string; name: string; key: string } } | { file: string };
export interface StorageEncryption {
  /** Encrypts new backups; absent: new backups are plain and retiredKeys only read old ones. */
  key?: EncryptionKeySource;
  retiredKeys?: EncryptionKeySource[];
}

// Notifications (observe/notify.ts): where the webhook URL is, never the URL (it holds a token).
export interface StorageNotifications {
  webhook: EncryptionKeySource;
}

// restic repositories of file-system volume copies (src/volumes/location-repository.ts).
export interface StorageRestic {
  /** The repositories' password; there is no built-in one. */
  passwordSecretRef: { namespace?: string; name: string; key: string };
  /** `restic check` of every repository on a cron schedule (UTC). */
  verify?: { schedule: string; readDataSubset?: string };
}

interface StorageLocationCommon {
  accessMode: 'ReadWrite' | 'ReadOnly';
  default: boolean;
  encryption?: StorageEncryption;
  notifications?: StorageNotifications;
}

/** Where a location's CA bundle (PEM) is kept in the cluster. */
export interface CaCertRef {
  /** Defaulted to Secret. */
  kind?: 'Secret' | 'ConfigMap';
  namespace?: string;
  name: string;
  key: string;
}

/** Velero's AWS plugin config keys (velero-plugin-for-aws object_store.go), typed. */
export interface AwsLocationConfig {
  region?: string;
  s3Url?: string;
  s3ForcePathStyle?: boolean;
  profile?: string;
  insecureSkipTLSVerify?: boolean;
  serverSideEncryption?: 'AES256' | 'aws:kms';
  kmsKeyId?: string;
  /** '' turns checksums off; defaulted to CRC32 by the schema. */
  checksumAlgorithm?: '' | 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256';
}

export interface AwsStorageLocationSpec extends StorageLocationCommon {
  provider: 'aws';
  objectStorage: {
    bucket: string;
    prefix?: string;
    /** base64 of a PEM bundle, as Velero's objectStorage.caCert. */
    caCert?: string;
    caCertRef?: CaCertRef;
  };
  config?: AwsLocationConfig;
  /** S3 Object Lock: every object of a backup retained until the backup's expiration. */
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE' };
  /** Absent: the AWS SDK's default credential chain. */
  credential?: StorageCredential;
  /** Absent: no volume is copied with restic to this location. */
  restic?: StorageRestic;
}

export interface LocalStorageLocationSpec extends StorageLocationCommon {
  provider: 'local';
  path: string;
}

export type StorageLocationSpec = AwsStorageLocationSpec | LocalStorageLocationSpec;

// ---- BackupSchedule and Backup ---------------------------------------------------------

/** A Velero BackupSpec as written in policy: `includeClusterResources` may be 'auto'. */
export interface BackupTemplate extends Omit<ResourceFilterSpec, 'includeClusterResources'> {
  /** 'auto' is Velero's nil. Defaulted to 'auto'. */
  includeClusterResources: boolean | 'auto';
  /** Go duration; defaulted to DEFAULT_TTL ('720h'). */
  ttl: string;
  storageLocation?: string;
  /** lifeboat extension; absent means PartiallyFailed. */
  unavailableApiGroups?: 'PartiallyFailed' | 'Warn';
  /** Velero's; absent means snapshot every CSI claim whose driver has a class. */
  snapshotVolumes?: boolean;
  /** Go duration; absent means DEFAULT_CSI_SNAPSHOT_TIMEOUT ('10m'). */
  csiSnapshotTimeout?: string;
  /** CSI driver → VolumeSnapshotClass name. */
  csiVolumeSnapshotClasses?: Record<string, string>;
  /** Velero's; copy every pod volume with restic (the node agent) unless excluded. */
  defaultVolumesToFsBackup?: boolean;
  /** Velero's; move each CSI snapshot's data into the location's restic repository. */
  snapshotMoveData?: boolean;
  hooks?: BackupHooks;
}

export interface Retention {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

/** Verification restores of a schedule's latest backup (reconcile/verification.ts). */
export interface VerifySpec {
  /** Cron or macro, in the schedule's time zone. */
  schedule: string;
  /** Defaulted to 'verify-'. */
  namespacePrefix: string;
  /** Defaulted to 'Always'. */
  cleanup: 'Always' | 'OnSuccess';
}

export interface BackupScheduleSpec {
  /** Five-field cron or a macro (@daily …), read by src/reconcile/schedule.ts parseCron. */
  schedule: string;
  /** IANA zone; defaulted to 'UTC'. */
  timeZone: string;
  paused: boolean;
  skipImmediately: boolean;
  retention?: Retention;
  verify?: VerifySpec;
  template: BackupTemplate;
}

// ---- Restore ---------------------------------------------------------------------------

/** Velero's RestoreSpec filters: the old-style ones only (Velero's Restore has no scoped filters). */
export interface RestorePolicySpec {
  backupName?: string;
  scheduleName?: string;
  includedNamespaces?: string[];
  excludedNamespaces?: string[];
  includedResources?: string[];
  excludedResources?: string[];
  includeClusterResources: boolean | 'auto';
  labelSelector?: LabelSelector;
  orLabelSelectors?: LabelSelector[];
  namespaceMapping?: Record<string, string>;
  existingResourcePolicy: 'none' | 'update';
  restorePVs?: boolean;
  preserveNodePorts?: boolean;
  restoreStatus?: { includedResources?: string[]; excludedResources?: string[] };
  resourceModifiers?: ResourceModifiers;
  /** Argo CD / Flux tracking labels and annotations: kept and flagged (absent, Keep) or stripped. */
  gitopsTracking?: 'Keep' | 'Strip';
  hooks?: RestoreHooks;
}

/** Who must approve restores into some namespaces (policies/schema/restore-approval.json). */
export interface RestoreApprovalSpec {
  /** Target namespaces or `*` patterns. */
  namespaces: string[];
  approvers: { users?: string[]; teams?: string[] };
}

// ---- Documents -------------------------------------------------------------------------

interface PolicyDocumentOf<K extends PolicyKind, S> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: PolicyMetadata;
  spec: S;
  source: DocumentSource;
}

export type StorageLocationDocument = PolicyDocumentOf<'StorageLocation', StorageLocationSpec>;
export type BackupScheduleDocument = PolicyDocumentOf<'BackupSchedule', BackupScheduleSpec>;
export type BackupDocument = PolicyDocumentOf<'Backup', BackupTemplate>;
export type RestoreDocument = PolicyDocumentOf<'Restore', RestorePolicySpec>;
export type RestoreApprovalDocument = PolicyDocumentOf<'RestoreApproval', RestoreApprovalSpec>;

export type PolicyDocument =
  | StorageLocationDocument
  | BackupScheduleDocument
  | BackupDocument
  | RestoreDocument
  | RestoreApprovalDocument;

/** The document type of one kind. */
export type PolicyDocumentOfKind<K extends PolicyKind> = Extract<PolicyDocument, { kind: K }>;

// ---- Errors ----------------------------------------------------------------------------

/** What kind of problem; stable, for machines (the JSON output, status files). */
export type PolicyErrorCode =
  | 'io'
  | 'symlink'
  | 'limit'
  | 'yaml'
  | 'document'
  | 'api-version'
  | 'kind'
  | 'schema'
  | 'unknown-field'
  | 'inline-credential'
  | 'name'
  | 'label'
  | 'namespace'
  | 'cron'
  | 'time-zone'
  | 'duration'
  | 'selector'
  | 'filter'
  | 'resource-modifier'
  | 'storage'
  | 'restore-source'
  | 'duplicate-name'
  | 'reference'
  | 'hook'
  | 'approval';

export interface PolicyError extends Position {
  /** Path relative to the repository root, with '/' separators. */
  file: string;
  /** The field, as formatFieldPath() writes it ('' for the document or file as a whole). */
  path: string;
  message: string;
  code: PolicyErrorCode;
  /** The document, when its kind and name could be read. */
  document?: { kind: string; name: string };
  /** Other places the message refers to (the first of two duplicates, an invalid referent). */
  related?: (Position & { file: string })[];
  /** Set on warnings: shown, but the document stays valid. */
  severity?: 'warning';
}
