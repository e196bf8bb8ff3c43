// Names and labels of scheduled backups, the way Velero makes them, so a bucket shared with
// Velero reads the same both ways.
import { createHash } from 'node:crypto';
import { assertValidName } from '../storage/layout.js';

/** The label Velero puts on every backup a Schedule created (velero pkg/apis/velero/v1/labels_annotations.go). */
export const SCHEDULE_LABEL = 'velero.io/schedule-name';
/** The label Velero puts on a backup naming the storage location it was written to. */
export const STORAGE_LOCATION_LABEL = 'velero.io/storage-location';
/** lifeboat's label on restored objects: the backup they came from. */
export const BACKUP_NAME_LABEL = 'lifeboat.dev/backup-name';
/** lifeboat's label on restored objects: the Restore that created or updated them. */
export const RESTORE_NAME_LABEL = 'lifeboat.dev/restore-name';

const TIMESTAMP_DIGITS = 14;
const SCHEDULED_NAME = /^(.+)-(\d{14})$/;
// A label value may hold at most 63 characters (the DNS-1035 label length).
const LABEL_VALUE_MAX = 63;
const LABEL_HASH_CHARS = 6;

/** `at` in UTC as YYYYMMDDHHMMSS (Go's "20060102150405"), the suffix of a scheduled backup's name. */
export function formatTimestamp(at: Date): string {
  if (Number.isNaN(at.getTime())) throw new Error('cannot format an invalid date as a backup timestamp');
  const digits = at.toISOString().replace(/\D/g, '');
  return digits.slice(0, TIMESTAMP_DIGITS);
}

/**
 * The name of the backup a schedule makes for the slot `at`: `<schedule>-<YYYYMMDDHHMMSS>` in UTC,
 * as Velero's Schedule.TimestampedName does (velero pkg/apis/velero/v1/schedule_types.go).
 * Velero stamps the submission time; lifeboat stamps the scheduled slot, so a retried pass
 * produces the same name and never a second backup for one slot.
 */
export function scheduledBackupName(schedule: string, at: Date): string {
  assertValidName('schedule', schedule);
  const name = `${schedule}-${formatTimestamp(at)}`;
  assertValidName('backup', name);
  return name;
}

/**
 * The inverse of scheduledBackupName: the schedule and slot a backup name encodes, or
 * undefined when the name does not end in a valid UTC timestamp.
 */
export function parseScheduledBackupName(name: string): { schedule: string; at: Date } | undefined {
  const m = SCHEDULED_NAME.exec(name);
  const schedule = m?.[1];
  const stamp = m?.[2];
  if (schedule === undefined || stamp === undefined) return undefined;
  const field = (from: number, to: number) => Number(stamp.slice(from, to));
  const parts = [field(0, 4), field(4, 6) - 1, field(6, 8), field(8, 10), field(10, 12), field(12, 14)];
  const at = new Date(Date.UTC(...(parts as [number, number, number, number, number, number])));
  // Date.UTC rolls 20250230 over into March (and years 0-99 into the 1900s); a real timestamp
  // reads back the same fields. Compared as numbers: a pass parses every backup's name, and
  // formatting each one back was a tenth of a quiet pass's deciding.
  const back = [
    at.getUTCFullYear(),
    at.getUTCMonth(),
    at.getUTCDate(),
    at.getUTCHours(),
    at.getUTCMinutes(),
    at.getUTCSeconds(),
  ];
  if (Number.isNaN(at.getTime()) || back.some((v, i) => v !== parts[i])) return undefined;
  return { schedule, at };
}

/**
 * A name made fit for a label value. Velero's label.GetValidName (pkg/label/label.go): names
 * longer than 63 characters keep their first 57 and end in the first 6 hex digits of their
 * SHA-256, so long names still match the labels Velero wrote.
 */
export function labelValue(name: string): string {
  if (name.length <= LABEL_VALUE_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex');
  return name.slice(0, LABEL_VALUE_MAX - LABEL_HASH_CHARS) + hash.slice(0, LABEL_HASH_CHARS);
}
