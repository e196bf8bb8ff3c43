// Whether a restore record left InProgress is still being applied or was interrupted, and how
// to say so. Pure: the caller reads the record and passes the clock.
//
// The engine rewrites the InProgress record (and the log so far) every few objects and before
// the first one (restore/engine.ts ProgressRecord), so a record whose last progress is older
// than a few minutes belongs to a writer that died. Only one reconciler applies a restore (the
// claim in Git), so nobody else is applying it either: the restore is Interrupted.
import type { RestoreResult } from '../restore/engine.js';

/** Longer than any pause between two progress writes (a CRD's wait is at most one minute). */
export const RESTORE_INTERRUPTED_AFTER_MS = 10 * 60_000;

export type AttemptState = 'finished' | 'in-progress' | 'interrupted';

export function attemptState(
  record: RestoreResult,
  now: Date,
  afterMs = RESTORE_INTERRUPTED_AFTER_MS,
): AttemptState {
  if (record.phase !== 'InProgress') return 'finished';
  const last = Date.parse(record.progress?.updatedAt ?? record.startTimestamp);
  // A claim from Git alone has no time: it cannot be told dead, so it holds (as before).
  if (Number.isNaN(last)) return 'in-progress';
  return now.getTime() - last >= afterMs ? 'interrupted' : 'in-progress';
}

/** How far an unfinished restore got, for status and errors. */
export function attemptSummary(record: RestoreResult): string {
  const p = record.progress;
  if (p === undefined) return 'nothing was applied (it stopped before its first object)';
  const c = record.counts;
  return (
    `${p.done} of ${p.total} objects done (created ${c.created}, updated ${c.updated}, skipped ${c.skipped}, ` +
    `failed ${c.failed}), last progress ${p.updatedAt}; the log so far is restores/${record.name}/restore-${record.name}-logs.gz`
  );
}
