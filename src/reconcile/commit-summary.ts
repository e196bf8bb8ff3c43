// The one commit a pass makes: a subject and body that say what happened, and trailers that
// make it machine-readable for `lifeboat audit` (src/gitops/audit-log.ts reads them back).
import { LIFEBOAT_ACTION, TRAILER } from '../gitops/commit-message.js';

/** Something a pass did (or tried), as the commit message reports it. */
export interface PassEvent {
  action: string;
  subject: string;
  outcome: string;
  error?: string;
}

/**
 * Whether the status commit's trailers record an event. The trailers are the audit log
 * (audit-log.ts), so they name only what this commit stands for: not a plan, which was
 * committed with its own trailers to its review branch (and reaches main's history when that
 * is merged), and not an action that took no effect — a refused stale plan or an action that
 * failed — which would otherwise read as "restore applied" or "backup taken". The subject and
 * body still tell everything.
 */
function recordedInTrailers(e: PassEvent): boolean {
  if (e.action === LIFEBOAT_ACTION.planRestore) return false;
  if (e.outcome === 'PlanOutdated') return false;
  return !(e.outcome === 'Failed' && e.error !== undefined);
}

/**
 * Events for what the status changes record that this pass's own events do not: a backup
 * status file added for a backup this pass did not take, or removed for one it did not
 * expire. Such a change means the commit that should have recorded it never landed (a lost
 * push race, a force-push), so the commit that finally records it carries the trailers audit
 * needs. Pure: status paths in, events out.
 */
export function recoveredEvents(
  changes: Readonly<Record<string, string | null>>,
  existing: ReadonlySet<string>,
  events: readonly PassEvent[],
): PassEvent[] {
  const seen = new Set(events.map((e) => `${e.action}\u0000${e.subject}`));
  const out: PassEvent[] = [];
  for (const [path, content] of Object.entries(changes).sort(([a], [b]) => a.localeCompare(b))) {
    const name = /^status\/backups\/(.+)\.yaml$/.exec(path)?.[1];
    if (name === undefined) continue;
    if (content !== null && !existing.has(path) && !seen.has(`${LIFEBOAT_ACTION.backup}\u0000${name}`)) {
      out.push({ action: LIFEBOAT_ACTION.recordBackup, subject: name, outcome: 'found in the bucket' });
    }
    if (content === null && !seen.has(`${LIFEBOAT_ACTION.expire}\u0000${name}`)) {
      out.push({ action: LIFEBOAT_ACTION.recordExpire, subject: name, outcome: 'no longer in the bucket' });
    }
  }
  return out;
}

/** One commit per pass: a subject that says what happened, and machine-readable trailers. */
export function commitMessage(events: PassEvent[]): { message: string; trailers: Record<string, string[]> } {
  const recorded = events.filter(recordedInTrailers);
  const actions = [...new Set(recorded.map((e) => e.action))];
  const backupActions: readonly string[] = [
    LIFEBOAT_ACTION.backup,
    LIFEBOAT_ACTION.expire,
    LIFEBOAT_ACTION.recordBackup,
    LIFEBOAT_ACTION.recordExpire,
  ];
  const backups = [
    ...new Set(recorded.filter((e) => backupActions.includes(e.action)).map((e) => e.subject)),
  ];
  const restores = recorded.filter((e) => e.action === LIFEBOAT_ACTION.applyRestore).map((e) => e.subject);
  const subject =
    events.length === 0
      ? 'lifeboat: update status'
      : `lifeboat: ${events
          .slice(0, 4)
          .map((e) => `${e.action} ${e.subject} (${e.outcome})`)
          .join(', ')}${events.length > 4 ? `, and ${events.length - 4} more` : ''}`;
  const body = events
    .map((e) => `- ${e.action} ${e.subject}: ${e.outcome}${e.error ? ` — ${e.error}` : ''}`)
    .join('\n');
  const trailers: Record<string, string[]> = {};
  if (actions.length > 0) trailers[TRAILER.action] = actions;
  if (backups.length > 0) trailers[TRAILER.backup] = backups;
  if (restores.length > 0) trailers[TRAILER.restore] = restores;
  return { message: body ? `${subject}\n\n${body}` : subject, trailers };
}
