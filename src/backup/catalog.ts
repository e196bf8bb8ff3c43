// Reading what a location holds. The bucket is the truth about which backups exist (Velero's
// backup_sync_controller); a backup directory without velero-backup.json is incomplete — an
// interrupted run — and is never shown as a usable backup.
import { gunzipSync } from 'node:zlib';
import type { BackupStore } from '../storage/store.js';
import { readSmallObject, StoreNotFoundError } from '../storage/store.js';
import { assertValidName, backupLayout, BACKUPS_DIR } from '../storage/layout.js';
import { readArchive, type ArchiveEntry, type ArchiveLimits } from '../archive/reader.js';
import { ANNOTATION_SHA256, type VeleroBackup } from './velero-backup.js';

export interface CatalogEntry {
  name: string;
  /** The stored metadata; undefined when the backup is incomplete (no velero-backup.json). */
  backup?: VeleroBackup;
  /** Why the metadata could not be read, when it exists but is unreadable. */
  unreadable?: string;
}

export class BackupNotFoundError extends Error {
  constructor(name: string, where: string) {
    super(`backup ${name} not found in ${where}`);
    this.name = 'BackupNotFoundError';
  }
}

/** Every backup directory in the location, with its metadata when it has any. */
export async function listBackups(store: BackupStore): Promise<CatalogEntry[]> {
  const dirs = await store.listPrefixes(BACKUPS_DIR);
  const names = dirs.map((d) => d.slice(BACKUPS_DIR.length).replace(/\/$/, '')).filter((n) => n !== '');
  const out: CatalogEntry[] = [];
  for (const name of names.sort()) {
    try {
      const b = await getBackup(store, name);
      out.push({ name, backup: b });
    } catch (err) {
      if (err instanceof BackupNotFoundError) out.push({ name });
      else out.push({ name, unreadable: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

export async function getBackup(store: BackupStore, name: string): Promise<VeleroBackup> {
  assertValidName('backup', name);
  const key = backupLayout.metadata(name);
  let raw: Buffer;
  try {
    raw = await readSmallObject(store, key);
  } catch (err) {
    if (err instanceof StoreNotFoundError) throw new BackupNotFoundError(name, store.describe);
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new Error(`${store.describe}/${key}: not valid JSON: ${(err as Error).message}`);
  }
  const b = parsed as VeleroBackup;
  if (b?.kind !== 'Backup' || typeof b.metadata?.name !== 'string') {
    throw new Error(`${store.describe}/${key}: not a velero.io/v1 Backup object`);
  }
  return b;
}

/** The archive's entries, streamed; the sha256 recorded at backup time is verified at the end. */
export async function openArchive(
  store: BackupStore,
  backup: VeleroBackup,
  opts: { limits?: Partial<ArchiveLimits> } = {},
): Promise<AsyncGenerator<ArchiveEntry>> {
  const name = backup.metadata.name;
  const key = backupLayout.archive(name);
  const expected = backup.metadata.annotations?.[ANNOTATION_SHA256];
  const stream = await store.get(key);
  return readArchive(stream, {
    source: `${store.describe}/${key}`,
    ...(expected ? { expectedSha256: expected } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
}

export async function readBackupLog(store: BackupStore, name: string): Promise<string> {
  assertValidName('backup', name);
  return gunzipSync(await readSmallObject(store, backupLayout.log(name))).toString('utf8');
}

export async function readResourceList(store: BackupStore, name: string): Promise<Record<string, string[]>> {
  assertValidName('backup', name);
  return JSON.parse(
    gunzipSync(await readSmallObject(store, backupLayout.resourceList(name))).toString('utf8'),
  );
}

/** A backup under object lock: deletable after `until`, by no one (COMPLIANCE) or lifeboat before. */
export class BackupLockedError extends Error {
  constructor(
    readonly backup: string,
    readonly until: Date,
    mode: string,
    where: string,
  ) {
    super(
      `backup ${backup} in ${where} is under object lock (${mode}) until ${until.toISOString()}: ` +
        'it can be deleted after then',
    );
    this.name = 'BackupLockedError';
  }
}

/**
 * Delete every object of one backup, and nothing outside its directory: the listing is of
 * `backups/<name>/` with the trailing slash, so `backups/<name>-2/` is never touched.
 */
export async function deleteBackup(store: BackupStore, name: string): Promise<number> {
  assertValidName('backup', name);
  const dir = backupLayout.dir(name);
  const keys: string[] = [];
  for await (const o of store.list(dir)) {
    if (o.key.startsWith(dir)) keys.push(o.key);
  }
  if (keys.length === 0) throw new BackupNotFoundError(name, store.describe);
  // Metadata first: a half-deleted backup must never look complete.
  const meta = backupLayout.metadata(name);
  // Object lock: say when the backup becomes deletable rather than fail on the first object.
  if (store.objectLock && store.retainedUntil) {
    const until = await store.retainedUntil(keys.includes(meta) ? meta : (keys[0] ?? meta));
    if (until) throw new BackupLockedError(name, until, store.objectLock.mode, store.describe);
  }
  if (keys.includes(meta)) await store.delete([meta]);
  await store.delete(keys.filter((k) => k !== meta));
  return keys.length;
}
