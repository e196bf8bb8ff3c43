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

/** One commit per pass: a subject that says what happened, and machine-readable trailers. */
export function commitMessage(events: PassEvent[]): { message: string; trailers: Record<string, string[]> } {
  const recorded = events.filter(recordedInTrailers);
  const actions = [...new Set(recorded.map((e) => e.action))];
  const backups = recorded
    .filter((e) => e.action === LIFEBOAT_ACTION.backup || e.action === LIFEBOAT_ACTION.expire)
    .map((e) => e.subject);
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
