// One reconcile pass as a pure function: policies + what the locations hold + status + the
// clock → the actions to take. The I/O side gathers the input and carries the actions out;
// nothing here reads a bucket, a cluster or Git, so every decision is tested as a table.
//
// The bucket is the truth (Velero pkg/controller/backup_sync_controller.go): a schedule's last
// backup is the later of what status recorded and what the locations hold, so a lost status
// file never makes a schedule run twice for one slot.
import { DEFAULT_TTL } from '../backup/spec.js';
import type { BackupSpec } from '../backup/spec.js';
import { backupLayout } from '../storage/layout.js';
import { planExpiry } from './expiry.js';
import type { LockedVerdict, ObservedBackup, RetentionPolicy, StoredBackup } from './expiry.js';
import { LatestBackupIndex } from './backup-index.js';
import { newestUploadActivity, planAbandonedUploads, type ObservedUpload } from './leftovers.js';
import { scheduledBackupName } from './naming.js';
import { isDue, parseCron } from './schedule.js';
import type { DueDecision } from './schedule.js';

/** A BackupSchedule document. */
export interface SchedulePolicy {
  name: string;
  /** Five-field cron expression or descriptor (@daily …). */
  cron: string;
  /** IANA zone for the cron expression and for retention's days, weeks and months; default UTC. */
  timeZone?: string;
  paused?: boolean;
  skipImmediately?: boolean;
  /**
   * When the schedule was created or first seen; with skipImmediately the first run is the
   * first slot after it. Must be stable across passes (status, or the commit that added it).
   */
  createdAt?: Date;
  /** The spec of every backup it makes (Velero Schedule spec.template), ttl and storageLocation included. */
  template: BackupSpec;
  retention?: RetentionPolicy;
}

/** A one-off Backup document: it makes one backup, named like the document (as in Velero). */
export interface OneOffBackupPolicy {
  name: string;
  spec: BackupSpec;
}

/** A Restore document as read from one branch. */
export interface RestorePolicy {
  name: string;
  /** The backup it restores from; a pending Restore protects it from expiry. */
  backupName: string;
  /** The branch the document was read from. */
  branch: string;
  /** True on the main branch: merged, so approved. */
  onMain: boolean;
  /** Hash of the Restore document's spec as it is now on this branch. */
  specHash: string;
  /** Hash of the plan committed beside the document on this branch; absent when there is none. */
  planCommittedHash?: string;
  /** The spec hash the committed plan was computed for (recorded in the plan). */
  planSpecHash?: string;
  /** The restore has been applied and its result recorded. */
  applied: boolean;
  /** Its last attempt died part-way (its record stayed InProgress): applied again only as re-planned. */
  interrupted?: boolean;
}

/** One backup location and what listing it found. */
export interface LocationState {
  name: string;
  readOnly: boolean;
  /** Every backup in the location; undefined when it could not be listed this pass. */
  backups: readonly StoredBackup[] | undefined;
  /** Unfinished uploads under the location's prefix; undefined when they could not be listed. */
  uploads?: readonly Omit<ObservedUpload, 'location' | 'readOnlyLocation'>[];
  /** Completed backups here are under S3 Object Lock until their expiration (ADR 0026). */
  objectLock?: boolean;
}

/** What the reconciler recorded earlier (status files in Git). */
export interface ReconcileStatus {
  /** The slot of each schedule's last backup, by schedule name. */
  lastBackups: Readonly<Record<string, Date | undefined>>;
  /** One-off Backups that have run; their backup may since have expired, but they never run again. */
  oneOffsDone: readonly string[];
}

export interface DecideInput {
  now: Date;
  schedules: readonly SchedulePolicy[];
  backups: readonly OneOffBackupPolicy[];
  restores: readonly RestorePolicy[];
  locations: readonly LocationState[];
  status: ReconcileStatus;
  /** The location for specs that name none (Velero's default backup storage location). */
  defaultLocation?: string;
  /** How old an unfinished backup must be to be cleaned up; default one hour. */
  leftoverGraceMs?: number;
}

export type Action =
  | {
      type: 'backup';
      backupName: string;
      /** Set for scheduled backups: label the backup with it (SCHEDULE_LABEL). */
      schedule?: string;
      /** ttl and storageLocation are filled in. */
      spec: BackupSpec;
      location: string;
      scheduledFor?: Date;
      reason: string;
    }
  | { type: 'expire'; backupName: string; location: string; reason: string }
  | { type: 'cleanup'; backupName: string; location: string; reason: string }
  | {
      type: 'abort-upload';
      location: string;
      key: string;
      /** The store's handle (S3 UploadId). */
      id: string;
      size: number;
      reason: string;
    }
  | {
      type: 'plan-restore';
      restore: string;
      /** The branch the Restore was read from; when it is main, the fresh plan needs a new review branch. */
      branch: string;
      reason: string;
    }
  | {
      type: 'apply-restore';
      restore: string;
      /** The caller re-plans and applies only if the new plan hashes to this. */
      approvedPlanHash: string;
      reason: string;
    };

/** Why something did not turn into an action (or what an action rests on), for status and logs. */
export interface Note {
  /** `schedule/<name>`, `backup/<name>`, `restore/<name>@<branch>` or `stored/<location>/<name>`. */
  subject: string;
  message: string;
}

export interface Decision {
  /** Restores first (in a disaster they matter most), then backups, then deletions. */
  actions: Action[];
  notes: Note[];
  /** Backups a rule would delete that the object lock holds, and when each becomes deletable. */
  locked: LockedVerdict[];
}

/** The actions of one pass. */
export function decide(input: DecideInput): Action[] {
  return decideWithNotes(input).actions;
}

/** The actions of one pass, with a note for everything that was decided not to happen. */
export function decideWithNotes(input: DecideInput): Decision {
  const notes: Note[] = [];
  const restores = decideRestores(input.restores, notes);
  const backups = [...decideSchedules(input, notes), ...decideOneOffs(input, notes)];
  const { actions: deletions, locked } = decideExpiry(input, notes);
  const aborts = decideUploads(input, notes);
  return { actions: [...restores, ...backups, ...deletions, ...aborts], notes, locked };
}

type BackupAction = Extract<Action, { type: 'backup' }>;

/** Where a spec's backups go, or a note saying why they cannot go anywhere this pass. */
function targetLocation(
  input: DecideInput,
  spec: BackupSpec,
): { location: LocationState; backups: readonly StoredBackup[] } | { problem: string } {
  const name = spec.storageLocation ?? input.defaultLocation;
  if (name === undefined) return { problem: 'no storageLocation and no default location' };
  const location = input.locations.find((l) => l.name === name);
  if (location === undefined) return { problem: `storage location ${name} is not defined` };
  if (location.readOnly) {
    return { problem: `storage location ${name} is read-only: no backups are written to it` };
  }
  if (location.backups === undefined) {
    return { problem: `storage location ${name} could not be listed this pass; waiting` };
  }
  return { location, backups: location.backups };
}

function fullSpec(spec: BackupSpec, location: string): BackupSpec {
  return { ...spec, ttl: spec.ttl ?? DEFAULT_TTL, storageLocation: location };
}

function decideSchedules(input: DecideInput, notes: Note[]): BackupAction[] {
  const actions: BackupAction[] = [];
  const index = new LatestBackupIndex(input.locations.flatMap((l) => l.backups ?? []));
  for (const schedule of input.schedules) {
    const decided = scheduledBackup(schedule, input, index);
    if (typeof decided === 'string') notes.push({ subject: `schedule/${schedule.name}`, message: decided });
    else actions.push(decided);
  }
  return actions;
}

/** The backup a schedule makes this pass, or why it makes none. */
function scheduledBackup(
  schedule: SchedulePolicy,
  input: DecideInput,
  index: LatestBackupIndex,
): BackupAction | string {
  const target = targetLocation(input, schedule.template);
  if ('problem' in target) return target.problem;
  let due: DueDecision;
  let backupName: string | undefined;
  try {
    due = isDue({ schedule, lastBackupTime: lastBackupOf(schedule.name, input, index), now: input.now });
    backupName = due.scheduledFor && scheduledBackupName(schedule.name, due.scheduledFor);
  } catch (err) {
    // A bad expression, zone or name stops this schedule only; the others still run.
    return (err as Error).message;
  }
  if (!due.due || due.scheduledFor === undefined || backupName === undefined) return due.reason;
  if (target.backups.some((b) => b.name === backupName)) {
    return `backup ${backupName} already exists in ${target.location.name}`;
  }
  return {
    type: 'backup',
    backupName,
    schedule: schedule.name,
    spec: fullSpec(schedule.template, target.location.name),
    location: target.location.name,
    scheduledFor: due.scheduledFor,
    reason: due.reason,
  };
}

/**
 * The later of the status record and the newest backup of the schedule in any listed location.
 * Any phase counts, as in Velero, where a failed run still sets lastBackup: a failure waits for
 * the next slot instead of retrying every pass. A backup is the schedule's by its label or, when
 * its metadata is missing or unreadable, by its name; its time is the slot its name encodes, else
 * its start.
 */
function lastBackupOf(schedule: string, input: DecideInput, index: LatestBackupIndex): Date | undefined {
  const recorded = input.status.lastBackups[schedule];
  const stored = index.latest(schedule);
  if (stored === undefined) return recorded;
  return recorded === undefined || stored.getTime() > recorded.getTime() ? stored : recorded;
}

/** A one-off Backup runs once: done when status says so or its backup is in a listed location. */
function decideOneOffs(input: DecideInput, notes: Note[]): BackupAction[] {
  const actions: BackupAction[] = [];
  const done = new Set(input.status.oneOffsDone);
  // Where each backup is: the first location that lists it.
  const foundIn = new Map<string, string>();
  for (const location of input.locations) {
    for (const b of location.backups ?? []) if (!foundIn.has(b.name)) foundIn.set(b.name, location.name);
  }
  for (const backup of input.backups) {
    const subject = `backup/${backup.name}`;
    if (done.has(backup.name)) {
      notes.push({ subject, message: 'done: status records that it ran' });
      continue;
    }
    const found = foundIn.get(backup.name);
    if (found !== undefined) {
      notes.push({ subject, message: `done: backup ${backup.name} exists in ${found}` });
      continue;
    }
    const target = targetLocation(input, backup.spec);
    if ('problem' in target) {
      notes.push({ subject, message: target.problem });
      continue;
    }
    actions.push({
      type: 'backup',
      backupName: backup.name,
      spec: fullSpec(backup.spec, target.location.name),
      location: target.location.name,
      reason: 'one-off Backup not yet run',
    });
  }
  return actions;
}

/**
 * Restores are approved by merging: a review branch gets a plan, main gets it applied.
 * - applied: nothing more.
 * - on a branch: plan when there is no plan or it was made for another spec; else wait for review.
 * - on main: apply when the merged plan was made for this spec (the caller re-plans and applies
 *   only if the result hashes to the approved plan); otherwise plan afresh for a new review.
 */
function decideRestores(restores: readonly RestorePolicy[], notes: Note[]): Action[] {
  const actions: Action[] = [];
  const ordered = [...restores].sort(
    (a, b) => Number(b.onMain) - Number(a.onMain) || a.name.localeCompare(b.name),
  );
  for (const restore of ordered) {
    const subject = `restore/${restore.name}@${restore.branch}`;
    if (restore.applied) {
      notes.push({ subject, message: 'applied' });
      continue;
    }
    const current = restore.planCommittedHash !== undefined && restore.planSpecHash === restore.specHash;
    if (restore.onMain && current && restore.planCommittedHash !== undefined) {
      actions.push({
        type: 'apply-restore',
        restore: restore.name,
        approvedPlanHash: restore.planCommittedHash,
        reason: restore.interrupted
          ? 'interrupted: re-planned against the cluster, and applied if the plan is still the approved one'
          : 'merged with an up-to-date plan: approved',
      });
    } else if (!current) {
      const why = restore.planCommittedHash === undefined ? 'no plan yet' : 'the spec changed since the plan';
      const review = restore.onMain ? '; merged without an approvable plan, so it needs a new review' : '';
      actions.push({
        type: 'plan-restore',
        restore: restore.name,
        branch: restore.branch,
        reason: why + review,
      });
    } else {
      notes.push({ subject, message: 'plan is up to date; waiting for the pull request to be merged' });
    }
  }
  return actions;
}

function observedUploads(location: LocationState): ObservedUpload[] {
  return (location.uploads ?? []).map((u) => ({
    ...u,
    location: location.name,
    readOnlyLocation: location.readOnly,
  }));
}

/** Abandoned uploads are aborted; live ones are noted. */
function decideUploads(input: DecideInput, notes: Note[]): Action[] {
  const plan = planAbandonedUploads({
    uploads: input.locations.flatMap(observedUploads),
    now: input.now,
    ...(input.leftoverGraceMs !== undefined ? { graceMs: input.leftoverGraceMs } : {}),
  });
  for (const kept of plan.kept)
    notes.push({ subject: `upload/${kept.location}/${kept.key}`, message: kept.reason });
  return plan.abort.map((a) => ({ type: 'abort-upload' as const, ...a }));
}

/**
 * A half-written backup directory is as young as the newest part of an upload under it: a
 * large archive still being uploaded shows no object in a listing, only its parts.
 */
function datedByUploads(backup: StoredBackup, uploads: readonly ObservedUpload[]): StoredBackup {
  if (backup.phase !== undefined) return backup;
  const active = newestUploadActivity(uploads, backupLayout.dir(backup.name));
  if (active === undefined || (backup.lastModified && backup.lastModified >= active)) return backup;
  return { ...backup, lastModified: active };
}

function decideExpiry(input: DecideInput, notes: Note[]): { actions: Action[]; locked: LockedVerdict[] } {
  const observed: ObservedBackup[] = input.locations.flatMap((location) =>
    (location.backups ?? []).map((b) => ({
      ...datedByUploads(b, observedUploads(location)),
      location: location.name,
      readOnlyLocation: location.readOnly,
      ...(location.objectLock ? { objectLockedLocation: true } : {}),
    })),
  );
  const plan = planExpiry({
    backups: observed,
    schedules: input.schedules.map((s) => ({
      schedule: s.name,
      timeZone: zoneOf(s),
      retention: s.retention,
    })),
    pendingRestores: input.restores
      .filter((r) => !r.applied)
      .map((r) => ({ restore: r.name, backupName: r.backupName })),
    now: input.now,
    leftoverGraceMs: input.leftoverGraceMs,
  });
  for (const kept of plan.kept)
    notes.push({ subject: `stored/${kept.location}/${kept.name}`, message: kept.reason });
  const actions: Action[] = [
    ...plan.expire.map((e) => ({
      type: 'expire' as const,
      backupName: e.name,
      location: e.location,
      reason: e.reason,
    })),
    ...plan.leftovers.map((e) => ({
      type: 'cleanup' as const,
      backupName: e.name,
      location: e.location,
      reason: e.reason,
    })),
  ];
  return { actions, locked: plan.locked };
}

/** The zone retention counts days in: the schedule's, including a CRON_TZ= prefix. */
function zoneOf(schedule: SchedulePolicy): string | undefined {
  try {
    return parseCron(schedule.cron, schedule.timeZone).timeZone;
  } catch {
    // The schedule's own note reports the bad expression; retention falls back to UTC.
    return undefined;
  }
}
