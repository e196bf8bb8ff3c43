// The status tree the reconciler owns in Git (status/…): a pure projection of the policies,
// what the locations hold and what this pass did. Every pass computes the whole tree; the
// working copy commits only what changed, so a quiet pass makes no commit.
//
// Nothing here carries a timestamp of the pass itself (only times of backups and restores),
// otherwise every pass would commit. Nor does a file carry the revision of the whole repository:
// each file's observedRevision is the last commit that changed the document it describes, so a
// commit that touches nothing of a schedule (a README, another schedule) leaves its status
// file as it is, and a pass after an unrelated commit commits nothing. Secret values never
// appear: status names objects only.
import type { VeleroBackup } from '../backup/velero-backup.js';
import { ANNOTATION_REVISION, ANNOTATION_SHA256 } from '../backup/velero-backup.js';
import type { PolicyError } from '../policy/types.js';
import { parse as parseYaml } from 'yaml';
import type { CleanupRecord } from './leftovers.js';
import { SCHEDULE_LABEL } from './naming.js';
import { statusYaml } from './status-yaml.js';

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
  /** Exec hooks run in restored pods: where, what, and how each ended (no output: it may hold secrets). */
  hooks?: RestoreHookStatus[];
  conditions: Condition[];
}

export interface RestoreHookStatus {
  pod: string;
  container: string;
  hook: string;
  command: string[];
  exitCode?: number;
  failed: boolean;
  reason?: string;
}

/** Which commit each status file reflects (see the head comment). */
export interface RevisionLookup {
  /** The last commit on the policy branch that changed the file holding this document. */
  document(kind: string, name: string): string | undefined;
  /** The last commit on the policy branch that changed any of these files. */
  files(files: readonly string[]): string | undefined;
}

export interface StatusTreeInput {
  revisions: RevisionLookup;
  schedules: ScheduleStatusInput[];
  /** Every backup found in every location, with the location it is in. */
  backups: {
    location: string;
    backup: VeleroBackup;
    objectLock?: 'GOVERNANCE' | 'COMPLIANCE';
    /** A rule would delete it, but the object lock holds it until deletableAfter. */
    heldExpiry?: { reason: string; deletableAfter: string };
  }[];
  /** One-off Backup documents whose backup is gone (expired or deleted): they stay recorded. */
  finishedOneOffs: { name: string; location: string; phase: string }[];
  restores: RestoreStatusInput[];
  policyErrors: PolicyError[];
  /** Findings that leave their documents valid; written beside the errors, marked as warnings. */
  policyWarnings?: PolicyError[];
  /** The clean-ups of leftovers, newest first (leftovers.ts mergeCleanups). */
  cleanups?: CleanupRecord[];
}

const header = (kind: string, name: string, observedRevision: string | undefined) => ({
  apiVersion: 'lifeboat.dev/v1',
  kind,
  name,
  ...(observedRevision ? { observedRevision } : {}),
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
/** Every clean-up of a half-written backup or an abandoned upload, newest first. */
export const CLEANUPS_PATH = `${STATUS_DIR}/cleanups.yaml`;

/** The clean-ups recorded so far; none when the file is missing or unreadable. */
export function earlierCleanups(existing: Map<string, string>): CleanupRecord[] {
  const text = existing.get(CLEANUPS_PATH);
  if (text === undefined) return [];
  try {
    const doc = parseYaml(text) as { cleanups?: unknown } | null;
    return Array.isArray(doc?.cleanups) ? (doc.cleanups as CleanupRecord[]) : [];
  } catch {
    return [];
  }
}
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
  return statusYaml(value);
}

function backupStatus(entry: StatusTreeInput['backups'][number]): Record<string, unknown> {
  const { location, backup: b, objectLock, heldExpiry } = entry;
  const s = b.status;
  // A completed backup on a locked location is retained until it expires (backup/engine.ts).
  const locked = objectLock && s.expiration && (s.phase === 'Completed' || s.phase === 'PartiallyFailed');
  return {
    location,
    phase: s.phase,
    ...(b.metadata.labels?.[SCHEDULE_LABEL] ? { schedule: b.metadata.labels[SCHEDULE_LABEL] } : {}),
    ...(s.startTimestamp ? { startTimestamp: s.startTimestamp } : {}),
    ...(s.completionTimestamp ? { completionTimestamp: s.completionTimestamp } : {}),
    ...(s.expiration ? { expiration: s.expiration } : {}),
    ...(locked
      ? {
          objectLock: {
            mode: objectLock,
            deletableAfter: s.expiration,
            // Retention wants it gone: the pass deletes it once the lock ends, not before.
            ...(heldExpiry ? { deleteWhenUnlocked: heldExpiry.reason } : {}),
          },
        }
      : {}),
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
    ...volumeSummary(b),
  };
}

/**
 * What the backup did with volume data, from velero-backup.json (the bucket is the truth, and the
 * side files are not read on every pass): its CSI snapshots and, with snapshotMoveData, how many
 * claims' snapshot data went into restic (Velero's backup item operations, ADR 0039).
 */
function volumeSummary(b: VeleroBackup): { volumes?: Record<string, unknown> } {
  const s = b.status;
  const moveData = b.spec.snapshotMoveData === true;
  const volumes = {
    ...(moveData ? { snapshotMoveData: true } : {}),
    ...(s.csiVolumeSnapshotsAttempted
      ? {
          csiSnapshots: {
            attempted: s.csiVolumeSnapshotsAttempted,
            completed: s.csiVolumeSnapshotsCompleted ?? 0,
          },
        }
      : {}),
    ...(moveData && s.backupItemOperationsAttempted
      ? {
          dataMoved: {
            attempted: s.backupItemOperationsAttempted,
            completed: s.backupItemOperationsCompleted ?? 0,
            failed: s.backupItemOperationsFailed ?? 0,
          },
        }
      : {}),
  };
  return Object.keys(volumes).length > 0 ? { volumes } : {};
}

/** A backup reflects the document that made it: its schedule, or its one-off Backup. */
function backupRevision(rev: RevisionLookup, b: VeleroBackup): string | undefined {
  const schedule = b.metadata.labels?.[SCHEDULE_LABEL];
  return (
    (schedule ? rev.document('BackupSchedule', schedule) : undefined) ??
    rev.document('Backup', b.metadata.name)
  );
}

/** path → file content for the whole status tree. */
export function renderStatusTree(input: StatusTreeInput): Map<string, string> {
  const files = new Map<string, string>();
  const rev = input.revisions;
  for (const s of input.schedules) {
    files.set(
      scheduleStatusPath(s.name),
      yaml({
        ...header('BackupScheduleStatus', s.name, rev.document('BackupSchedule', s.name)),
        firstSeen: s.firstSeen,
        paused: s.paused,
        ...(s.lastBackup ? { lastBackup: s.lastBackup } : {}),
        ...(s.nextRun ? { nextRun: s.nextRun } : {}),
        conditions: s.conditions,
      }),
    );
  }
  for (const entry of input.backups) {
    const { backup } = entry;
    files.set(
      backupStatusPath(backup.metadata.name),
      yaml({
        ...header('BackupStatus', backup.metadata.name, backupRevision(rev, backup)),
        ...backupStatus(entry),
      }),
    );
  }
  for (const o of input.finishedOneOffs) {
    if (files.has(backupStatusPath(o.name))) continue;
    files.set(
      backupStatusPath(o.name),
      yaml({
        ...header('BackupStatus', o.name, rev.document('Backup', o.name)),
        location: o.location,
        phase: o.phase,
      }),
    );
  }
  for (const r of input.restores) {
    const { name, conditions, ...rest } = r;
    const at = rev.document('Restore', name);
    files.set(restoreStatusPath(name), yaml({ ...header('RestoreStatus', name, at), ...rest, conditions }));
  }
  if (input.cleanups && input.cleanups.length > 0) {
    files.set(
      CLEANUPS_PATH,
      yaml({ apiVersion: 'lifeboat.dev/v1', kind: 'Cleanups', cleanups: input.cleanups }),
    );
  }
  const findings = [...input.policyErrors, ...(input.policyWarnings ?? [])];
  if (findings.length > 0) {
    files.set(
      POLICY_ERRORS_PATH,
      yaml({
        ...header('PolicyErrors', 'policy-errors', rev.files(findings.map((e) => e.file))),
        errors: findings.map((e) => ({
          location: `${e.file}:${e.line}:${e.column}`,
          ...(e.path ? { field: e.path } : {}),
          ...(e.document ? { document: `${e.document.kind}/${e.document.name}` } : {}),
          ...(e.severity ? { severity: e.severity } : {}),
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

/** status/verifications/<schedule>.yaml: the last verification restore of a schedule. */
export function renderVerificationStatus(v: {
  name: string;
  observedRevision: string | undefined;
  lastRun: Record<string, unknown>;
  nextRun: string;
}): string {
  return yaml({
    ...header('VerificationStatus', v.name, v.observedRevision),
    lastRun: v.lastRun,
    nextRun: v.nextRun,
  });
}
