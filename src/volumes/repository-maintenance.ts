// What lifeboat does to a restic repository beyond backing up and restoring: forget the
// snapshots of an expired backup and prune their data, check the repository, and clear the
// stale locks a killed agent left behind. Everything goes through restic.ts; one repository at
// a time, each command bounded by restic itself.
import {
  checkRepository,
  forgetSnapshots,
  listLocks,
  pruneRepository,
  ResticError,
  snapshotsTagged,
  unlockStale,
  type ResticOptions,
  type ResticRepository,
} from './restic.js';

/** How long an exclusive command waits for a live lock (a backup running) before it gives up. */
export const RETRY_LOCK = '2m';

/**
 * Runs fn; when restic says the repository is locked, removes the stale locks (restic's own
 * judgement: their process is gone on this host, or they were not refreshed for 30 minutes)
 * and tries once more. A lock still held names its holder in the error.
 */
export async function withStaleLocksCleared<T>(
  repo: ResticRepository,
  opts: ResticOptions & { onUnlocked?: (removed: number) => void },
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof ResticError) || err.failure !== 'locked') throw err;
    const removed = await unlockStale(repo, opts);
    if (removed > 0) {
      opts.onUnlocked?.(removed);
      return fn();
    }
    const holders = await listLocks(repo, opts).catch(() => []);
    const who = holders
      .map(
        (l) =>
          `${l.exclusive ? 'exclusive' : 'shared'} lock of PID ${l.pid} on ${l.hostname} since ${l.time}`,
      )
      .join('; ');
    throw new ResticError('locked', `${err.message}${who ? ` [held: ${who}]` : ''}`);
  }
}

export interface ForgetResult {
  /** The snapshot ids forgotten (none: the backup had none in this repository). */
  forgotten: string[];
  /** Whether the prune after the forget finished (its failure leaves data, never a snapshot). */
  pruned: boolean;
  pruneError?: string;
  /** Stale locks removed on the way. */
  unlocked: number;
}

/**
 * Forgets the snapshots tagged backup=<name> (the agent tags each of its snapshots so) and
 * prunes the data only they referenced. A repository that does not exist holds nothing of
 * the backup. A failed forget throws (the backup is kept and expiry tries again); a failed
 * prune after it is reported, not thrown: the snapshots are gone, their data waits for the
 * repository's next prune.
 */
export async function forgetBackup(
  repo: ResticRepository,
  backupName: string,
  opts: ResticOptions = {},
): Promise<ForgetResult> {
  let unlocked = 0;
  const lockOpts = { ...opts, onUnlocked: (n: number) => (unlocked += n) };
  let snapshots;
  try {
    snapshots = await withStaleLocksCleared(repo, lockOpts, () =>
      snapshotsTagged(repo, { backup: backupName }, opts),
    );
  } catch (err) {
    if (err instanceof ResticError && err.failure === 'no-repository')
      return { forgotten: [], pruned: false, unlocked };
    throw err;
  }
  const ids = snapshots.map((s) => s.id);
  if (ids.length === 0) return { forgotten: [], pruned: false, unlocked };
  await withStaleLocksCleared(repo, lockOpts, () =>
    forgetSnapshots(repo, ids, { ...opts, retryLock: RETRY_LOCK }),
  );
  try {
    await withStaleLocksCleared(repo, lockOpts, () =>
      pruneRepository(repo, { ...opts, retryLock: RETRY_LOCK }),
    );
    return { forgotten: ids, pruned: true, unlocked };
  } catch (err) {
    return { forgotten: ids, pruned: false, pruneError: (err as Error).message, unlocked };
  }
}

/** `restic check` (with --read-data-subset when asked), after clearing stale locks. */
export async function verifyRepository(
  repo: ResticRepository,
  opts: ResticOptions & { readDataSubset?: string } = {},
): Promise<{ unlocked: number }> {
  let unlocked = 0;
  await withStaleLocksCleared(repo, { ...opts, onUnlocked: (n) => (unlocked += n) }, () =>
    checkRepository(repo, opts),
  );
  return { unlocked };
}
