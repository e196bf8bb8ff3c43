// The status tree the reconciler owns in Git (status/…): a pure projection of the policies,
// what the locations hold and what this pass did. Every pass computes the whole tree; the
// working copy commits only what changed, so a quiet pass makes no commit.
//
// Nothing here carries a timestamp of the pass itself (only times of backups and restores),
// otherwise every pass would commit. Secret values never appear: status names objects only.
import { stringify } from 'yaml';
import type { VeleroBackup } from '../backup/velero-backup.js';
import { ANNOTATION_REVISION, ANNOTATION_SHA256 } from '../backup/velero-backup.js';
import type { PolicyError } from '../policy/types.js';
import { SCHEDULE_LABEL } from './naming.js';

export const STATUS_DIR = 'status';

export interface Condition {
  type: 'Ready' | 'Stalled';
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface ScheduleStatusInput {
  name: string;
  firstSeen: string;
  paused: boolean;
  lastBackup?: { name: string; phase?: string; slot?: string };
  nextRun?: string;
  conditions: Condition[];
}

export interface RestoreStatusInput {
  name: string;
  phase: string;
  branch?: string;
  backup?: string;
  planHash?: string;
  appliedAt?: string;
  counts?: Record<string, number>;
  failures?: string[];
  conditions: Condition[];
}

export interface StatusTreeInput {
  observedRevision: string;
  schedules: ScheduleStatusInput[];
  /** Every backup found in every location, with the location it is in. */
  backups: { location: string; backup: VeleroBackup }[];
  /** One-off Backup documents whose backup is gone (expired or deleted): they stay recorded. */
  finishedOneOffs: { name: string; location: string; phase: string }[];
  restores: RestoreStatusInput[];
  policyErrors: PolicyError[];
}

const header = (kind: string, name: string, observedRevision: string) => ({
  apiVersion: 'lifeboat.dev/v1',
  kind,
  name,
  observedRevision,
});

export function scheduleStatusPath(name: string): string {
  return `${STATUS_DIR}/schedules/${name}.yaml`;
}
export function backupStatusPath(name: string): string {
  return `${STATUS_DIR}/backups/${name}.yaml`;
}
export function restoreStatusPath(name: string): string {
  return `${STATUS_DIR}/restores/${name}.yaml`;
}
export const POLICY_ERRORS_PATH = `${STATUS_DIR}/policy-errors.yaml`;
export const CLAIMS_DIR = `${STATUS_DIR}/claims/`;
/** The file whose arrival on the status branch claims a restore for one reconciler (see pass.ts). */
export function restoreClaimPath(name: string): string {
  return `${CLAIMS_DIR}${name}.yaml`;
}

/**
 * A claim's content depends only on the restore and the plan it applies, never on who claims:
 * a second claimant's commit, rebuilt on top of the first one's, then adds nothing.
 */
export function renderRestoreClaim(name: string, planHash: string): string {
  return yaml({ apiVersion: 'lifeboat.dev/v1', kind: 'RestoreClaim', name, planHash });
}

function yaml(value: unknown): string {
  return stringify(value, { lineWidth: 0 });
}

function backupStatus(location: string, b: VeleroBackup): Record<string, unknown> {
  const s = b.status;
  return {
    location,
    phase: s.phase,
    ...(b.metadata.labels?.[SCHEDULE_LABEL] ? { schedule: b.metadata.labels[SCHEDULE_LABEL] } : {}),
    ...(s.startTimestamp ? { startTimestamp: s.startTimestamp } : {}),
    ...(s.completionTimestamp ? { completionTimestamp: s.completionTimestamp } : {}),
    ...(s.expiration ? { expiration: s.expiration } : {}),
    items: s.progress?.totalItems ?? 0,
    errors: s.errors ?? 0,
    warnings: s.warnings ?? 0,
    ...(b.metadata.annotations?.[ANNOTATION_SHA256]
      ? { checksum: `sha256:${b.metadata.annotations[ANNOTATION_SHA256]}` }
      : {}),
    ...(b.metadata.annotations?.[ANNOTATION_REVISION]
      ? { resourceVersion: b.metadata.annotations[ANNOTATION_REVISION] }
      : {}),
    ...(s.failureReason ? { failureReason: s.failureReason } : {}),
  };
}

/** path → file content for the whole status tree. */
export function renderStatusTree(input: StatusTreeInput): Map<string, string> {
  const files = new Map<string, string>();
  const rev = input.observedRevision;
  for (const s of input.schedules) {
    files.set(
      scheduleStatusPath(s.name),
      yaml({
        ...header('BackupScheduleStatus', s.name, rev),
        firstSeen: s.firstSeen,
        paused: s.paused,
        ...(s.lastBackup ? { lastBackup: s.lastBackup } : {}),
        ...(s.nextRun ? { nextRun: s.nextRun } : {}),
        conditions: s.conditions,
      }),
    );
  }
  for (const { location, backup } of input.backups) {
    files.set(
      backupStatusPath(backup.metadata.name),
      yaml({ ...header('BackupStatus', backup.metadata.name, rev), ...backupStatus(location, backup) }),
    );
  }
  for (const o of input.finishedOneOffs) {
    if (files.has(backupStatusPath(o.name))) continue;
    files.set(
      backupStatusPath(o.name),
      yaml({ ...header('BackupStatus', o.name, rev), location: o.location, phase: o.phase }),
    );
  }
  for (const r of input.restores) {
    const { name, conditions, ...rest } = r;
    files.set(restoreStatusPath(name), yaml({ ...header('RestoreStatus', name, rev), ...rest, conditions }));
  }
  if (input.policyErrors.length > 0) {
    files.set(
      POLICY_ERRORS_PATH,
      yaml({
        ...header('PolicyErrors', 'policy-errors', rev),
        errors: input.policyErrors.map((e) => ({
          location: `${e.file}:${e.line}:${e.column}`,
          ...(e.path ? { field: e.path } : {}),
          ...(e.document ? { document: `${e.document.kind}/${e.document.name}` } : {}),
          message: e.message,
        })),
      }),
    );
  }
  return files;
}

/**
 * What to write so the status tree becomes `desired`: changed or new files, and null for
 * status files that no longer describe anything (a deleted schedule, an expired backup).
 */
export function statusChanges(
  desired: Map<string, string>,
  existing: Map<string, string>,
): Record<string, string | null> {
  const changes: Record<string, string | null> = {};
  for (const [path, content] of desired) if (existing.get(path) !== content) changes[path] = content;
  for (const path of existing.keys()) if (!desired.has(path)) changes[path] = null;
  return changes;
}
