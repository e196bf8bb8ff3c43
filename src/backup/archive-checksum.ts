// Whether a backup's archive can be verified before it is restored. lifeboat records the
// archive's sha256 in velero-backup.json (lifeboat.dev/archive-sha256) and the reader checks it;
// Velero records none. A lifeboat backup whose checksum is gone has been changed after it was
// written (by hand, by a tool, by someone with write access to the bucket), so restoring it
// unverified is refused unless the person restoring allows it; a Velero backup never had one,
// so it is restored with a warning.
//
// Who made a backup is read from the same file: lifeboat writes lifeboat.dev/created-by (and
// its other lifeboat.dev/ annotations) on every backup, Velero writes none of them. The check
// therefore guards against a checksum lost by accident or by a careless edit, not against
// someone who can rewrite velero-backup.json at will: they could remove every lifeboat.dev/
// annotation, or recompute the checksum. Protecting the bucket itself is the storage's job
// (credentials, object lock, versioning).
import { ANNOTATION_CREATED_BY, ANNOTATION_SHA256, type VeleroBackup } from './velero-backup.js';

export type BackupMaker = 'lifeboat' | 'velero';

const LIFEBOAT_ANNOTATION_PREFIX = 'lifeboat.dev/';

/** 'lifeboat' when velero-backup.json carries any lifeboat.dev/ annotation; 'velero' otherwise. */
export function backupMadeBy(b: VeleroBackup): BackupMaker {
  const annotations = b.metadata.annotations ?? {};
  if (annotations[ANNOTATION_CREATED_BY] !== undefined) return 'lifeboat';
  return Object.keys(annotations).some((k) => k.startsWith(LIFEBOAT_ANNOTATION_PREFIX))
    ? 'lifeboat'
    : 'velero';
}

export type ChecksumState =
  | { state: 'recorded'; sha256: string }
  /** Velero never records one: restorable, with a warning. */
  | { state: 'none-velero' }
  /** A lifeboat backup that lost its checksum: refused unless allowed. */
  | { state: 'missing' };

export function checksumState(b: VeleroBackup): ChecksumState {
  const sha256 = b.metadata.annotations?.[ANNOTATION_SHA256];
  if (sha256) return { state: 'recorded', sha256 };
  return backupMadeBy(b) === 'velero' ? { state: 'none-velero' } : { state: 'missing' };
}

export class MissingChecksumError extends Error {
  constructor(readonly backupName: string) {
    super(
      `backup ${backupName}: velero-backup.json records no archive checksum (${ANNOTATION_SHA256}), ` +
        `though lifeboat made the backup (${ANNOTATION_CREATED_BY}), so the archive cannot be verified; ` +
        'it was changed after it was written. Restore it only if you trust it: --allow-missing-checksum ' +
        '(the reconciler: run with --allow-missing-checksum)',
    );
    this.name = 'MissingChecksumError';
  }
}

/**
 * What restoring this backup may do about its checksum: nothing to say (recorded), a warning
 * (Velero's, or a lifeboat backup the caller allowed), or MissingChecksumError.
 */
export function checksumWarnings(b: VeleroBackup, opts: { allowMissing?: boolean } = {}): string[] {
  const c = checksumState(b);
  const name = b.metadata.name;
  if (c.state === 'recorded') return [];
  if (c.state === 'none-velero') {
    return [`backup ${name} was made by Velero, which records no checksum: the archive is not verified`];
  }
  if (!opts.allowMissing) throw new MissingChecksumError(name);
  return [
    `backup ${name} was made by lifeboat but records no checksum (${ANNOTATION_SHA256} removed); ` +
      'restored unverified because missing checksums are allowed',
  ];
}

/** The checksum as a person reads it: in a plan and in `backup describe`. */
export function describeChecksum(b: VeleroBackup): string {
  const c = checksumState(b);
  if (c.state === 'recorded') return c.sha256;
  if (c.state === 'none-velero') return 'none recorded (Velero backup)';
  return 'MISSING: a lifeboat backup without its checksum; restores refuse it unless allowed';
}
