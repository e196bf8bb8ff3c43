// Which backup a restore reads: one named backup, or the latest usable backup of a schedule
// (Velero's `--from-schedule`: the most recent Completed backup carrying the
// velero.io/schedule-name label; PartiallyFailed ones are used only when nothing better
// exists, which Velero also allows with --allow-partially-failed).
import type { BackupStore } from '../storage/store.js';
import { getBackup, listBackups } from '../backup/catalog.js';
import type { VeleroBackup } from '../backup/velero-backup.js';
import { SCHEDULE_LABEL } from '../reconcile/naming.js';

export class RestoreSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RestoreSourceError';
  }
}

const USABLE = new Set(['Completed', 'PartiallyFailed']);

export async function resolveRestoreSource(
  store: BackupStore,
  from: { backupName?: string; scheduleName?: string },
): Promise<VeleroBackup> {
  if (from.backupName && from.scheduleName) {
    throw new RestoreSourceError('give either a backup or a schedule to restore from, not both');
  }
  if (from.backupName) {
    const b = await getBackup(store, from.backupName);
    if (!USABLE.has(b.status.phase)) {
      throw new RestoreSourceError(
        `backup ${from.backupName} is ${b.status.phase}${b.status.failureReason ? ` (${b.status.failureReason})` : ''}: only Completed or PartiallyFailed backups can be restored`,
      );
    }
    return b;
  }
  if (from.scheduleName) {
    const candidates = (await listBackups(store))
      .map((e) => e.backup)
      .filter((b): b is VeleroBackup => b !== undefined)
      .filter((b) => b.metadata.labels?.[SCHEDULE_LABEL] === from.scheduleName && USABLE.has(b.status.phase))
      .sort((a, b) => (b.status.startTimestamp ?? '').localeCompare(a.status.startTimestamp ?? ''));
    const completed = candidates.find((b) => b.status.phase === 'Completed');
    const chosen = completed ?? candidates[0];
    if (!chosen) {
      throw new RestoreSourceError(
        `schedule ${from.scheduleName} has no Completed backup in ${store.describe}`,
      );
    }
    return chosen;
  }
  throw new RestoreSourceError('a restore needs a backup name or a schedule name');
}
