// Which unfinished uploads a pass aborts, and the record of every clean-up it made. Pure: the
// caller lists the locations and passes the clock.
//
// A writer killed mid-upload (kill -9, an OOM kill, a node lost) leaves an S3 multipart
// upload whose parts cost storage until someone aborts it, and S3 never shows it in a plain
// listing. A live upload and an abandoned one look alike except for one thing: a live writer
// keeps sending parts. So an upload is abandoned when its newest part (or, with none, its
// start) is older than the grace period; a backup that sends nothing for that long is stuck
// anyway. The same grace period protects half-written backup directories (expiry.ts), and
// their age counts the newest part of any upload under them, so a long archive upload keeps
// its directory alive.
import { formatDuration } from '../util/duration.js';
import { DEFAULT_LEFTOVER_GRACE_MS } from './expiry.js';

/** An unfinished upload as a location listing saw it (see storage/store.ts). */
export interface ObservedUpload {
  location: string;
  readOnlyLocation: boolean;
  key: string;
  id: string;
  initiated?: Date;
  lastActivity?: Date;
  size: number;
}

export interface UploadVerdict {
  location: string;
  key: string;
  id: string;
  size: number;
  reason: string;
}

export interface UploadPlan {
  abort: UploadVerdict[];
  kept: UploadVerdict[];
}

/** Abort the uploads idle for longer than the grace period; keep the rest, saying why. */
export function planAbandonedUploads(input: {
  uploads: readonly ObservedUpload[];
  now: Date;
  graceMs?: number;
}): UploadPlan {
  const graceMs = input.graceMs ?? DEFAULT_LEFTOVER_GRACE_MS;
  const plan: UploadPlan = { abort: [], kept: [] };
  const ordered = [...input.uploads].sort(
    (a, b) => a.location.localeCompare(b.location) || a.key.localeCompare(b.key) || a.id.localeCompare(b.id),
  );
  for (const u of ordered) {
    const base = { location: u.location, key: u.key, id: u.id, size: u.size };
    const since = u.lastActivity ?? u.initiated;
    if (since === undefined) {
      plan.kept.push({ ...base, reason: 'unfinished upload of unknown age' });
      continue;
    }
    const idle = `unfinished upload, no bytes since ${iso(since)}`;
    if (input.now.getTime() - since.getTime() < graceMs) {
      plan.kept.push({ ...base, reason: `${idle}: may still be running` });
    } else if (u.readOnlyLocation) {
      plan.kept.push({ ...base, reason: `location ${u.location} is read-only (would abort: ${idle})` });
    } else {
      plan.abort.push({
        ...base,
        reason: `${idle}, longer than the grace period ${formatDuration(graceMs)}`,
      });
    }
  }
  return plan;
}

/** The newest activity of the uploads under `dir`, to date a half-written backup directory. */
export function newestUploadActivity(uploads: readonly ObservedUpload[], dir: string): Date | undefined {
  let newest: Date | undefined;
  for (const u of uploads) {
    if (!u.key.startsWith(dir)) continue;
    const at = u.lastActivity ?? u.initiated;
    if (at && (!newest || at > newest)) newest = at;
  }
  return newest;
}

/** One clean-up, as status/cleanups.yaml records it. */
export interface CleanupRecord {
  /** When the pass made it (the pass's clock). */
  at: string;
  location: string;
  /** A half-written backup directory, or an unfinished upload. */
  kind: 'backup' | 'upload';
  /** The backup's name, or the upload's key. */
  name: string;
  uploadId?: string;
  bytes?: number;
  reason: string;
}

/** How many clean-ups status/cleanups.yaml keeps; the Git history keeps every one. */
export const CLEANUP_RECORDS_KEPT = 200;

/**
 * The records to keep: this pass's first, then the earlier ones, at most `limit`. A pass that
 * cleaned nothing returns the earlier records unchanged, so it writes nothing.
 */
export function mergeCleanups(
  earlier: readonly CleanupRecord[],
  now: readonly CleanupRecord[],
  limit = CLEANUP_RECORDS_KEPT,
): CleanupRecord[] {
  return [...now, ...earlier].slice(0, limit);
}

function iso(at: Date): string {
  return at.toISOString().replace('.000Z', 'Z');
}
