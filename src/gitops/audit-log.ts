// The Git history of the policy repository, read as an audit log.
//
// - restore-requested / restore-approved: a `<restoresDir>/<name>.yaml` (or .yml) file
//   arriving on the main branch; see merge-info.ts for who counts as requester and approver.
//   The restore's name is the file's base name. Requests still waiting on a review branch
//   are not events yet: only main's history is the record.
// - reconciler commits, recognised by trailers (commit-message.ts): `Lifeboat-Action` with
//   `Lifeboat-Restore` / `Lifeboat-Backup` naming the subjects. A commit should carry one
//   action; each (action, subject) pair becomes one event. Read from the main branch and
//   the status branch.
import { LIFEBOAT_ACTION, TRAILER } from './commit-message.js';
import { formatPerson, logFormat, parseLog } from './git-log.js';
import type { LogRecord, Person } from './git-log.js';
import { approvalFromArrival } from './merge-info.js';
import type { ApprovalVia } from './merge-info.js';
import { checkRepoPath } from './repo-paths.js';
import type { WorkingCopy } from './working-copy.js';

export type AuditEventType =
  | 'restore-requested'
  | 'restore-approved'
  | 'restore-planned'
  | 'restore-applied'
  | 'backup-taken'
  | 'backup-expired'
  | 'reconciler-action';

export interface AuditEvent {
  type: AuditEventType;
  at: Date;
  actor: Person;
  commit: string;
  restore?: string;
  backup?: string;
  /** The raw `Lifeboat-Action` value, for reconciler events. */
  action?: string;
  /** How an approved restore reached main. */
  via?: ApprovalVia;
  /** One line for people: the commit subject or what happened. */
  summary: string;
  /**
   * Where the event was found: Git (the default), or only in a storage location — a backup Git
   * has no record of (withBucketBackups); such an event has no commit.
   */
  source?: 'git' | 'bucket';
}

export interface AuditOptions {
  /** Only events at or after this time. */
  since?: Date;
  /** Only events about this restore. */
  restore?: string;
  /** Where Restore documents live. Default "restores". */
  restoresDir?: string;
}

const ACTION_EVENTS: Record<string, { type: AuditEventType; subject: 'restore' | 'backup' }> = {
  [LIFEBOAT_ACTION.backup]: { type: 'backup-taken', subject: 'backup' },
  [LIFEBOAT_ACTION.expire]: { type: 'backup-expired', subject: 'backup' },
  [LIFEBOAT_ACTION.recordBackup]: { type: 'backup-taken', subject: 'backup' },
  [LIFEBOAT_ACTION.recordExpire]: { type: 'backup-expired', subject: 'backup' },
  [LIFEBOAT_ACTION.planRestore]: { type: 'restore-planned', subject: 'restore' },
  [LIFEBOAT_ACTION.applyRestore]: { type: 'restore-applied', subject: 'restore' },
};

// Order of events that share a timestamp (Git dates have one-second resolution).
const TYPE_ORDER: readonly AuditEventType[] = [
  'restore-requested',
  'restore-approved',
  'restore-planned',
  'restore-applied',
  'backup-taken',
  'backup-expired',
  'reconciler-action',
];

/** Audit events from the working copy's history (as last fetched), oldest first. */
export async function auditEvents(
  workingCopy: WorkingCopy,
  options: AuditOptions = {},
): Promise<AuditEvent[]> {
  const events = [
    ...(await restoreRequestEvents(workingCopy, options)),
    ...(await reconcilerEvents(workingCopy, options)),
  ];
  const since = options.since?.getTime();
  return withoutLateDuplicates(events)
    .filter((event) => since === undefined || event.at.getTime() >= since)
    .filter((event) => options.restore === undefined || event.restore === options.restore)
    .sort(compareEvents);
}

/** The recording action each late record stands in for. */
const LATE_RECORDS: Readonly<Record<string, string>> = {
  [LIFEBOAT_ACTION.recordBackup]: LIFEBOAT_ACTION.backup,
  [LIFEBOAT_ACTION.recordExpire]: LIFEBOAT_ACTION.expire,
};

/**
 * A late record (record-backup, record-expire) counts only when the commit it stands in for is
 * not in the history: the status push that lost its race may still have landed later, or a
 * force-push may have dropped it and the next pass recorded the backup again.
 */
export function withoutLateDuplicates(events: readonly AuditEvent[]): AuditEvent[] {
  const onTime = new Set(
    events.filter((e) => e.backup !== undefined).map((e) => `${e.action ?? ''}\u0000${e.backup ?? ''}`),
  );
  const lateSeen = new Set<string>();
  return [...events].sort(compareEvents).filter((e) => {
    const standsFor = e.action === undefined ? undefined : LATE_RECORDS[e.action];
    if (standsFor === undefined) return true;
    const key = `${standsFor}\u0000${e.backup ?? ''}`;
    if (onTime.has(key) || lateSeen.has(key)) return false;
    lateSeen.add(key);
    return true;
  });
}

/** A backup as a storage location lists it, for withBucketBackups. */
export interface BucketBackup {
  name: string;
  location: string;
  phase?: string;
  startTimestamp?: string;
}

/**
 * Audit falls back to the bucket: every backup a location holds that Git has no
 * `backup-taken` event for (a status commit lost to a push race, or dropped by a force-push)
 * is listed as taken, marked `source: 'bucket'`, at its start time. Pure.
 */
export function withBucketBackups(
  events: readonly AuditEvent[],
  found: readonly BucketBackup[],
  options: Pick<AuditOptions, 'since' | 'restore'> = {},
): AuditEvent[] {
  if (options.restore !== undefined) return [...events];
  const recorded = new Set(events.filter((e) => e.type === 'backup-taken').map((e) => e.backup));
  const since = options.since?.getTime();
  const missing = found
    .filter((b) => !recorded.has(b.name))
    .map((b): AuditEvent => ({
      type: 'backup-taken',
      at: new Date(b.startTimestamp ?? 0),
      actor: { name: 'storage location', email: b.location },
      commit: '',
      backup: b.name,
      source: 'bucket',
      summary: `in storage location ${b.location}${b.phase ? ` (${b.phase})` : ''}, not recorded in Git`,
    }))
    .filter((e) => since === undefined || e.at.getTime() >= since);
  return [...events, ...missing].sort(compareEvents);
}

function compareEvents(a: AuditEvent, b: AuditEvent): number {
  return (
    a.at.getTime() - b.at.getTime() ||
    TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type) ||
    (a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : 0)
  );
}

function sinceArgs(since: Date | undefined): string[] {
  return since === undefined ? [] : [`--since=${since.toISOString()}`];
}

async function restoreRequestEvents(workingCopy: WorkingCopy, options: AuditOptions): Promise<AuditEvent[]> {
  const dir = checkRepoPath((options.restoresDir ?? 'restores').replace(/\/$/, ''));
  const out = await workingCopy.log([
    '--first-parent',
    '--diff-filter=A',
    '--name-only',
    ...sinceArgs(options.since),
    logFormat(),
    workingCopy.remoteRef(workingCopy.branch),
    '--',
    `${dir}/`,
  ]);
  const fileName = new RegExp(`^${escapeRegExp(dir)}/([^/]+)\\.ya?ml$`);
  const events: AuditEvent[] = [];
  for (const record of parseLog(out)) {
    for (const path of record.files) {
      const restore = fileName.exec(path)?.[1];
      if (restore === undefined || (options.restore !== undefined && restore !== options.restore)) continue;
      const approval = await approvalFromArrival(workingCopy, { arrival: record.commit, path });
      events.push({
        type: 'restore-requested',
        at: approval.requestedAt,
        actor: approval.requestedBy,
        commit: approval.requestCommit,
        restore,
        summary: `added ${path}`,
      });
      events.push({
        type: 'restore-approved',
        at: approval.mergedAt,
        actor: approval.mergedBy,
        commit: approval.mergeCommit,
        restore,
        via: approval.via,
        summary:
          approval.via === 'merge'
            ? `merged ${approval.branch ?? 'a branch'} into ${workingCopy.branch}`
            : `arrived on ${workingCopy.branch} without a merge commit (fast-forward, squash or direct push)`,
      });
    }
  }
  return events;
}

async function reconcilerEvents(workingCopy: WorkingCopy, options: AuditOptions): Promise<AuditEvent[]> {
  const refs = [workingCopy.remoteRef(workingCopy.branch)];
  if (workingCopy.statusBranch !== workingCopy.branch) {
    const status = await workingCopy.remoteBranches(workingCopy.statusBranch);
    if (status.length > 0) refs.push(workingCopy.remoteRef(workingCopy.statusBranch));
  }
  const trailer = (key: string) => `%(trailers:key=${key},valueonly,separator=%x1d)`;
  const out = await workingCopy.log([
    `--grep=^${TRAILER.action}:`,
    ...sinceArgs(options.since),
    logFormat([trailer(TRAILER.action), trailer(TRAILER.restore), trailer(TRAILER.backup)]),
    ...refs,
    '--',
  ]);
  return parseLog(out).flatMap(eventsFromReconcilerCommit);
}

function eventsFromReconcilerCommit(record: LogRecord): AuditEvent[] {
  const [actions, restores, backups] = record.extra.map(splitValues);
  const { commit } = record;
  const base = { at: commit.committedAt, actor: commit.author, commit: commit.sha, summary: commit.subject };
  return (actions ?? []).flatMap((action): AuditEvent[] => {
    const known = ACTION_EVENTS[action];
    if (known === undefined) return [{ ...base, type: 'reconciler-action', action }];
    const names = (known.subject === 'restore' ? restores : backups) ?? [];
    if (names.length === 0) return [{ ...base, type: known.type, action }];
    return names.map((name) => ({
      ...base,
      type: known.type,
      action,
      ...(known.subject === 'restore' ? { restore: name } : { backup: name }),
    }));
  });
}

function splitValues(field: string): string[] {
  return field
    .split('\x1d')
    .map((value) => value.trim())
    .filter((value) => value !== '');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A plain-text table for `lifeboat audit`, one event per line. */
export function formatAuditTable(events: readonly AuditEvent[]): string {
  if (events.length === 0) return 'no audit events\n';
  const header = ['TIME', 'EVENT', 'SUBJECT', 'ACTOR', 'COMMIT', 'SUMMARY'];
  const rows = events.map((event) => [
    event.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    event.type,
    subjectOf(event),
    event.source === 'bucket' ? `(bucket ${event.actor.email})` : formatPerson(event.actor),
    event.source === 'bucket' ? '(not in Git)' : event.commit.slice(0, 12),
    event.summary,
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]?.length ?? 0)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[header, ...rows].map(line).join('\n')}\n`;
}

function subjectOf(event: AuditEvent): string {
  if (event.restore !== undefined) return `restore/${event.restore}`;
  if (event.backup !== undefined) return `backup/${event.backup}`;
  return '-';
}
