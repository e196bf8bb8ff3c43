// When a location's restic repositories are checked (spec.restic.verify.schedule, UTC), and
// what status/repositories/<location>.yaml says about the last check. Pure: the pass reads the
// last check from the status file, asks whether one is due, and renders the new file.
import { parse as parseYaml, stringify } from 'yaml';
import type { RepositoryCheck } from '../volumes/check-repositories.js';
import { isDue, type DueDecision } from './schedule.js';

export const REPOSITORIES_DIR = 'status/repositories/';
export const repositoryStatusPath = (location: string) => `${REPOSITORIES_DIR}${location}.yaml`;

/** The time of the last check a status file records, if it is readable. */
export function lastCheckOf(text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  try {
    const doc = parseYaml(text) as { lastCheck?: unknown } | null;
    const t = typeof doc?.lastCheck === 'string' ? Date.parse(doc.lastCheck) : NaN;
    return Number.isNaN(t) ? undefined : new Date(t);
  } catch {
    // An unreadable file (edited by hand) counts as no check: one runs now and rewrites it.
    return undefined;
  }
}

/** A location never checked is checked at once; then at each slot of its schedule. */
export function repositoryCheckDue(o: {
  schedule: string;
  lastCheck: Date | undefined;
  now: Date;
}): DueDecision {
  return isDue({
    schedule: { cron: o.schedule, timeZone: 'UTC' },
    lastBackupTime: o.lastCheck,
    now: o.now,
  });
}

export function renderRepositoryStatus(o: {
  location: string;
  at: Date;
  nextCheck: Date;
  checks: readonly RepositoryCheck[];
}): string {
  const failed = o.checks.filter((c) => c.result === 'Failed').length;
  return stringify({
    location: o.location,
    lastCheck: o.at.toISOString(),
    nextCheck: o.nextCheck.toISOString(),
    result: failed > 0 ? 'Failed' : 'Passed',
    message:
      o.checks.length === 0
        ? 'no restic repository in this location yet'
        : `${o.checks.length - failed} of ${o.checks.length} repositories passed restic check`,
    repositories: o.checks.map((c) => ({
      namespace: c.namespace,
      result: c.result,
      ...(c.error ? { error: c.error } : {}),
      ...(c.staleLocksRemoved ? { staleLocksRemoved: c.staleLocksRemoved } : {}),
    })),
  });
}
