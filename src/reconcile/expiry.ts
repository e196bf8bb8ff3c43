// Which backups to delete: TTL expiry, retention per schedule, and the clean-up of
// interrupted backups. Pure: the caller lists the locations and passes the clock.
//
// TTL follows Velero's GC controller (velero pkg/controller/gc_controller.go): the expiration
// is fixed in the backup's status when it starts (start + ttl) and compared with now, so
// changing a schedule's ttl later does not touch existing backups. Retention follows restic's
// `forget --keep-*` (and borg prune): among a schedule's good backups, keep the newest of each
// of the last N days, ISO weeks and months that have one, in the schedule's time zone.
//
// Expiry deletes only what it has listed and read: an unreadable backup, a backup in a
// read-only location and a backup a pending Restore needs are never deleted; each is reported
// as kept with the reason.
import { formatDuration } from '../util/duration.js';
import { memoize } from '../util/memo.js';
import { groupBy, labelledWith } from './backup-index.js';
import { parseScheduledBackupName } from './naming.js';
import { assertTimeZone, DEFAULT_TIME_ZONE } from './schedule.js';

/** Velero's backup phases (velero pkg/apis/velero/v1/backup_types.go). */
export type BackupPhase =
  | 'New'
  | 'FailedValidation'
  | 'InProgress'
  | 'WaitingForPluginOperations'
  | 'WaitingForPluginOperationsPartiallyFailed'
  | 'Finalizing'
  | 'FinalizingPartiallyFailed'
  | 'Completed'
  | 'PartiallyFailed'
  | 'Failed'
  | 'Deleting';

/** Phases of a backup that has not finished; if one is old, its writer died. */
const UNFINISHED: ReadonlySet<BackupPhase> = new Set<BackupPhase>([
  'New',
  'InProgress',
  'WaitingForPluginOperations',
  'WaitingForPluginOperationsPartiallyFailed',
  'Finalizing',
  'FinalizingPartiallyFailed',
]);

/** The phases retention counts: a backup that can be restored from. */
const RESTORABLE: ReadonlySet<BackupPhase> = new Set<BackupPhase>(['Completed', 'PartiallyFailed']);

/** How long an unfinished backup may look abandoned before it is cleaned up. */
export const DEFAULT_LEFTOVER_GRACE_MS = 3_600_000;

/** One backup directory as a location listing saw it. */
export interface StoredBackup {
  name: string;
  /**
   * false when velero-backup.json exists but could not be read or parsed. Such a backup is
   * never deleted, by any rule: expiry deletes only what it has read.
   */
  readable: boolean;
  /** The phase in velero-backup.json; undefined when the directory has none (an interrupted upload). */
  phase?: BackupPhase;
  /** The velero.io/schedule-name label. */
  schedule?: string;
  /** status.startTimestamp. */
  startTime?: Date;
  /** status.expiration: start + ttl, fixed when the backup started. */
  expiration?: Date;
  /** The newest lastModified of the directory's objects; dates a directory without metadata. */
  lastModified?: Date;
}

/** A StoredBackup and the location it was listed in. */
export interface ObservedBackup extends StoredBackup {
  location: string;
  readOnlyLocation: boolean;
  /**
   * The location writes its completed backups under S3 Object Lock until their expiration
   * (ADR 0026): such a backup cannot be deleted before then, whatever retention says.
   */
  objectLockedLocation?: boolean;
}

/**
 * restic-style retention. Each rule keeps some backups; a backup kept by any rule is kept.
 * A policy without a positive rule is no retention at all (only TTL applies), so `keepLast: 0`
 * alone never empties a schedule.
 */
export interface RetentionPolicy {
  /** The newest N Completed backups, and the PartiallyFailed ones newer than the oldest of them. */
  keepLast?: number;
  /** The newest backup of each of the last N days that have one. */
  keepDaily?: number;
  /** The newest backup of each of the last N ISO weeks that have one. */
  keepWeekly?: number;
  /** The newest backup of each of the last N months that have one. */
  keepMonthly?: number;
}

export interface ScheduleRetention {
  schedule: string;
  /** Days, weeks and months are counted in this zone; default UTC. */
  timeZone?: string;
  retention?: RetentionPolicy;
}

/** A Restore not yet applied, and the backup it will read. */
export interface PendingRestoreRef {
  restore: string;
  backupName: string;
}

export interface ExpiryInput {
  backups: readonly ObservedBackup[];
  schedules: readonly ScheduleRetention[];
  pendingRestores: readonly PendingRestoreRef[];
  now: Date;
  /** Default DEFAULT_LEFTOVER_GRACE_MS. */
  leftoverGraceMs?: number;
}

export interface BackupVerdict {
  name: string;
  location: string;
  reason: string;
}

/** A backup a rule would delete, held by the object lock until it becomes deletable. */
export interface LockedVerdict extends BackupVerdict {
  /** When the lock ends: the backup's expiration. */
  deletableAfter: Date;
  /** Why it would be deleted, were it not locked. */
  wouldDelete: string;
}

export interface ExpiryPlan {
  /** Finished backups to delete: TTL expired, not retained, or deletion already requested. */
  expire: BackupVerdict[];
  /** Interrupted backups to clean up. */
  leftovers: BackupVerdict[];
  /** Every other backup, and why it stays. */
  kept: BackupVerdict[];
  /** Of the kept ones, those a rule would delete but the object lock holds (also in kept). */
  locked: LockedVerdict[];
}

type Verdict =
  | { kind: 'expire' | 'leftover' | 'keep'; reason: string; locked?: undefined }
  | { kind: 'keep'; reason: string; locked: { until: Date; wouldDelete: string } };

interface Context {
  now: Date;
  graceMs: number;
  retained: ReadonlyMap<string, RetentionOutcome>;
  restoresByBackup: ReadonlyMap<string, string[]>;
}

/** Decide, for every listed backup, whether it is deleted, cleaned up or kept. */
export function planExpiry(input: ExpiryInput): ExpiryPlan {
  const graceMs = input.leftoverGraceMs ?? DEFAULT_LEFTOVER_GRACE_MS;
  const restoresByBackup = new Map<string, string[]>();
  for (const ref of input.pendingRestores) {
    restoresByBackup.set(ref.backupName, [...(restoresByBackup.get(ref.backupName) ?? []), ref.restore]);
  }
  const ctx: Context = {
    now: input.now,
    graceMs,
    retained: applyRetention({ backups: input.backups, schedules: input.schedules }),
    restoresByBackup,
  };
  const plan: ExpiryPlan = { expire: [], leftovers: [], kept: [], locked: [] };
  const ordered = [...input.backups].sort(
    (a, b) => a.location.localeCompare(b.location) || a.name.localeCompare(b.name),
  );
  for (const backup of ordered) {
    const verdict = protect(backup, classify(backup, ctx), ctx);
    const entry = { name: backup.name, location: backup.location, reason: verdict.reason };
    if (verdict.kind === 'expire') plan.expire.push(entry);
    else if (verdict.kind === 'leftover') plan.leftovers.push(entry);
    else plan.kept.push(entry);
    if (verdict.locked) {
      plan.locked.push({
        ...entry,
        deletableAfter: verdict.locked.until,
        wouldDelete: verdict.locked.wouldDelete,
      });
    }
  }
  return plan;
}

/** What the rules alone say about one backup. */
function classify(backup: ObservedBackup, ctx: Context): Verdict {
  if (!backup.readable) {
    return {
      kind: 'keep',
      reason: 'velero-backup.json could not be read: only backups that were read are deleted',
    };
  }
  if (backup.phase === undefined) {
    return leftoverIfStale(
      { since: backup.lastModified, what: 'no velero-backup.json (interrupted upload)' },
      ctx,
    );
  }
  if (UNFINISHED.has(backup.phase)) {
    return leftoverIfStale(
      { since: backup.startTime ?? backup.lastModified, what: `phase ${backup.phase}` },
      ctx,
    );
  }
  if (backup.phase === 'Deleting') {
    return { kind: 'expire', reason: 'phase Deleting: a deletion was requested and did not finish' };
  }
  const expiration = backup.expiration;
  if (expiration !== undefined && ctx.now.getTime() >= expiration.getTime()) {
    return { kind: 'expire', reason: `TTL expired at ${iso(expiration)}` };
  }
  const retention = ctx.retained.get(key(backup));
  if (retention !== undefined && !retention.kept) return { kind: 'expire', reason: retention.reason };
  const ttl = expiration === undefined ? 'no expiration recorded' : `expires at ${iso(expiration)}`;
  return { kind: 'keep', reason: retention === undefined ? ttl : `${retention.reason}; ${ttl}` };
}

function leftoverIfStale(seen: { since: Date | undefined; what: string }, ctx: Context): Verdict {
  if (seen.since === undefined) {
    return { kind: 'keep', reason: `${seen.what} and no timestamp: its age is unknown` };
  }
  const age = ctx.now.getTime() - seen.since.getTime();
  if (age >= ctx.graceMs) {
    return {
      kind: 'leftover',
      reason: `${seen.what} since ${iso(seen.since)}, longer than the grace period ${formatDuration(ctx.graceMs)}`,
    };
  }
  return { kind: 'keep', reason: `${seen.what} since ${iso(seen.since)}: may still be running` };
}

/**
 * The guards that override any rule: read-only locations, pending restores and the object
 * lock. A locked backup is not tried before its lock ends (the delete would be refused every
 * pass); the verdict says when it becomes deletable instead.
 */
function protect(backup: ObservedBackup, verdict: Verdict, ctx: Context): Verdict {
  if (verdict.kind === 'keep') return verdict;
  if (backup.readOnlyLocation) {
    return {
      kind: 'keep',
      reason: `location ${backup.location} is read-only (would delete: ${verdict.reason})`,
    };
  }
  const restores = ctx.restoresByBackup.get(backup.name);
  if (restores !== undefined) {
    const names = [...restores].sort().join(', ');
    return { kind: 'keep', reason: `needed by pending Restore ${names} (would delete: ${verdict.reason})` };
  }
  const until = lockedUntil(backup, ctx.now);
  if (until !== undefined) {
    return {
      kind: 'keep',
      reason: `under object lock until ${iso(until)}: deletable after then (would delete: ${verdict.reason})`,
      locked: { until, wouldDelete: verdict.reason },
    };
  }
  return verdict;
}

/**
 * When the object lock of a backup ends, if it has not yet: completed and partially failed
 * backups on a locked location are retained until their expiration (backup/engine.ts).
 */
function lockedUntil(backup: ObservedBackup, now: Date): Date | undefined {
  if (!backup.objectLockedLocation || !restorable(backup)) return undefined;
  const until = backup.expiration;
  return until !== undefined && until.getTime() > now.getTime() ? until : undefined;
}

interface RetentionOutcome {
  kept: boolean;
  reason: string;
}

/**
 * Retention per schedule and location (each location keeps its own copies). Returns an outcome
 * for every backup a retention policy governs; backups of schedules without one are absent.
 */
function applyRetention(input: {
  backups: readonly ObservedBackup[];
  schedules: readonly ScheduleRetention[];
}): Map<string, RetentionOutcome> {
  const outcomes = new Map<string, RetentionOutcome>();
  // Only restorable backups are governed by retention; grouped by label once, not per schedule.
  const byLabel = groupBy(input.backups, (b) => (restorable(b) ? b.schedule : undefined));
  for (const schedule of input.schedules) {
    const policy = activePolicy(schedule);
    if (policy === undefined) continue;
    const keyOf = periodKeyFunction(schedule.timeZone ?? DEFAULT_TIME_ZONE);
    const byLocation = groupBy(labelledWith(byLabel, schedule.schedule), (b) => b.location);
    for (const group of byLocation.values()) {
      for (const [k, outcome] of retainGroup(group, { schedule, policy, keyOf })) outcomes.set(k, outcome);
    }
  }
  return outcomes;
}

function retainGroup(
  group: readonly ObservedBackup[],
  rules: { schedule: ScheduleRetention; policy: RetentionPolicy; keyOf: (at: Date) => PeriodKeys },
): Map<string, RetentionOutcome> {
  const outcomes = new Map<string, RetentionOutcome>();
  const pool: { backup: ObservedBackup; at: Date }[] = [];
  for (const backup of group) {
    const at = backupTime(backup);
    if (at === undefined) {
      outcomes.set(key(backup), { kept: true, reason: 'no start time: retention cannot place it' });
    } else {
      pool.push({ backup, at });
    }
  }
  pool.sort((a, b) => b.at.getTime() - a.at.getTime() || b.backup.name.localeCompare(a.backup.name));
  const reasons = new Map<string, string[]>();
  const keep = (backup: ObservedBackup, why: string) =>
    reasons.set(key(backup), [...(reasons.get(key(backup)) ?? []), why]);
  const { policy, schedule, keyOf } = rules;
  keepLast(pool, policy.keepLast ?? 0).forEach((b, i) => keep(b, `keepLast #${i + 1}`));
  const periods: [keyof RetentionPolicy, 'day' | 'week' | 'month'][] = [
    ['keepDaily', 'day'],
    ['keepWeekly', 'week'],
    ['keepMonthly', 'month'],
  ];
  for (const [rule, unit] of periods) {
    for (const [period, b] of keepPeriods(pool, {
      n: policy[rule] ?? 0,
      periodOf: (at) => keyOf(at)[unit],
    })) {
      keep(b, `${rule} ${period}`);
    }
  }
  const summary = describePolicy(policy);
  for (const { backup } of pool) {
    const why = reasons.get(key(backup));
    outcomes.set(
      key(backup),
      why === undefined
        ? { kept: false, reason: `not kept by retention of schedule ${schedule.schedule} (${summary})` }
        : { kept: true, reason: `retained by ${why.join(', ')}` },
    );
  }
  return outcomes;
}

/**
 * keepLast counts Completed backups: the newest N of them are kept, and a PartiallyFailed
 * backup only while it is newer than the N-th, so a run of partial failures never pushes the
 * last full backups out.
 */
function keepLast(pool: readonly { backup: ObservedBackup }[], n: number): ObservedBackup[] {
  const kept: ObservedBackup[] = [];
  let completed = 0;
  for (const { backup } of pool) {
    if (completed >= n) break;
    kept.push(backup);
    if (backup.phase === 'Completed') completed += 1;
  }
  return kept;
}

/**
 * The newest backup of each of the last N periods that have one (restic counts periods with
 * backups, not calendar periods). Within a period a Completed backup is preferred to a newer
 * PartiallyFailed one.
 */
function keepPeriods(
  pool: readonly { backup: ObservedBackup; at: Date }[],
  rule: { n: number; periodOf: (at: Date) => string },
): Map<string, ObservedBackup> {
  const chosen = new Map<string, ObservedBackup>();
  for (const { backup, at } of pool) {
    const period = rule.periodOf(at);
    const current = chosen.get(period);
    if (current === undefined) {
      if (chosen.size >= rule.n) break;
      chosen.set(period, backup);
    } else if (current.phase !== 'Completed' && backup.phase === 'Completed') {
      chosen.set(period, backup);
    }
  }
  return chosen;
}

function activePolicy(schedule: ScheduleRetention): RetentionPolicy | undefined {
  const policy = schedule.retention;
  if (policy === undefined) return undefined;
  let active = false;
  for (const [field, value] of Object.entries(policy)) {
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
      throw new Error(
        `schedule ${schedule.schedule}: retention.${field} must be a whole number >= 0, got ${JSON.stringify(value)}`,
      );
    }
    if (value > 0) active = true;
  }
  return active ? policy : undefined;
}

function describePolicy(policy: RetentionPolicy): string {
  const rules: (keyof RetentionPolicy)[] = ['keepLast', 'keepDaily', 'keepWeekly', 'keepMonthly'];
  return rules
    .filter((r) => (policy[r] ?? 0) > 0)
    .map((r) => `${r} ${policy[r]}`)
    .join(', ');
}

/** Retention governs the backups that can be restored from, and only those that were read. */
function restorable(backup: ObservedBackup): boolean {
  return backup.readable && backup.phase !== undefined && RESTORABLE.has(backup.phase);
}

/** When the backup was taken: its start, else the slot its name encodes. */
function backupTime(backup: StoredBackup): Date | undefined {
  return backup.startTime ?? parseScheduledBackupName(backup.name)?.at;
}

export interface PeriodKeys {
  /** YYYY-MM-DD */
  day: string;
  /** ISO 8601 week, YYYY-Www (the year is the ISO week-numbering year). */
  week: string;
  /** YYYY-MM */
  month: string;
}

/** The calendar day, ISO week and month of `at` in `timeZone`. */
export function periodKeys(at: Date, timeZone: string): PeriodKeys {
  return periodKeyFunction(timeZone)(at);
}

function periodKeyFunction(timeZone: string): (at: Date) => PeriodKeys {
  assertTimeZone(timeZone);
  const format = dayFormat(timeZone);
  return (at) => {
    const parts = format.formatToParts(at);
    const part = (type: string) => Number(parts.find((p) => p.type === type)?.value);
    const [y, m, d] = [part('year'), part('month'), part('day')];
    return { day: `${y}-${pad(m)}-${pad(d)}`, week: isoWeek({ y, m, d }), month: `${y}-${pad(m)}` };
  };
}

const dayFormat = memoize(
  (timeZone) =>
    new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: 'numeric', day: 'numeric' }),
);

/** ISO 8601: weeks start on Monday; week 1 is the one holding the year's first Thursday. */
function isoWeek(date: { y: number; m: number; d: number }): string {
  const DAY_MS = 86_400_000;
  const day = new Date(Date.UTC(date.y, date.m - 1, date.d));
  const weekday = (day.getUTCDay() + 6) % 7; // Monday 0 … Sunday 6
  const thursday = new Date(day.getTime() + (3 - weekday) * DAY_MS);
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${pad(week)}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function key(backup: ObservedBackup): string {
  return `${backup.location}\u0000${backup.name}`;
}

function iso(at: Date): string {
  return at.toISOString().replace('.000Z', 'Z');
}
