// Reading what a location holds. The bucket is the truth about which backups exist (Velero's
// backup_sync_controller); a backup directory without velero-backup.json is incomplete — an
// interrupted run — and is never shown as a usable backup.
import { pipeline, type Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import type { BackupStore } from '../storage/store.js';
import { readSmallObject, StoreNotFoundError } from '../storage/store.js';
import { assertValidName, backupLayout, BACKUPS_DIR } from '../storage/layout.js';
import {
  readArchive,
  type ArchiveEntry,
  type ArchiveLimits,
  type ReadArchiveOptions,
} from '../archive/reader.js';
import { ANNOTATION_SHA256, type VeleroBackup } from './velero-backup.js';
import type { BackupVolumeInfo } from '../volumes/volume-info.js';
import { keyringOf } from '../crypto/keyed-store.js';
import {
  assertNotEncrypted,
  openerFor,
  type BackupOpener,
  type EncryptedFile,
} from '../crypto/backup-encryption.js';

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

/**
 * The archive's tar.gz bytes, decrypted when the backup is encrypted. A backup the location has
 * no key for fails here, before a byte is read (never a partial restore); a tampered or
 * truncated encrypted archive makes the stream fail, naming the object.
 */
export async function openArchiveBytes(store: BackupStore, backup: VeleroBackup): Promise<Readable> {
  const opener = openerFor(backup, keyringOf(store));
  const key = backupLayout.archive(backup.metadata.name);
  return decrypted(await store.get(key), opener, 'archive', `${store.describe}/${key}`);
}

function decrypted(
  stream: Readable,
  opener: BackupOpener | undefined,
  file: EncryptedFile,
  source: string,
): Readable {
  if (!opener) return stream;
  const out = opener.decryptStream(file, source);
  pipeline(stream, out, () => undefined);
  return out;
}

/** The archive's entries, streamed; the sha256 recorded at backup time is verified at the end. */
export async function openArchive(
  store: BackupStore,
  backup: VeleroBackup,
  opts: { limits?: Partial<ArchiveLimits>; parse?: ReadArchiveOptions['parse'] } = {},
): Promise<AsyncGenerator<ArchiveEntry>> {
  const name = backup.metadata.name;
  const key = backupLayout.archive(name);
  const expected = backup.metadata.annotations?.[ANNOTATION_SHA256];
  const stream = await openArchiveBytes(store, backup);
  return readArchive(stream, {
    source: `${store.describe}/${key}`,
    ...(expected ? { expectedSha256: expected } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.parse ? { parse: opts.parse } : {}),
  });
}

export async function readBackupLog(store: BackupStore, name: string): Promise<string> {
  return (await readSmallFile(store, name, 'log', backupLayout.log(name))).toString('utf8');
}

export async function readResourceList(store: BackupStore, name: string): Promise<Record<string, string[]>> {
  return JSON.parse(
    (await readSmallFile(store, name, 'resource-list', backupLayout.resourceList(name))).toString('utf8'),
  );
}

/** A gzipped file of a backup, decrypted first when the backup's metadata says it is encrypted. */
async function readSmallFile(
  store: BackupStore,
  name: string,
  file: EncryptedFile,
  key: string,
): Promise<Buffer> {
  assertValidName('backup', name);
  let backup: VeleroBackup | undefined;
  try {
    backup = await getBackup(store, name);
  } catch {
    // An interrupted backup has a log but no metadata (and unreadable metadata must not hide
    // the log): read it as it is; an encrypted one is then refused below by its header.
  }
  const opener = backup ? openerFor(backup, keyringOf(store)) : undefined;
  const source = `${store.describe}/${key}`;
  let bytes = await readSmallObject(store, key);
  if (opener) bytes = await opener.decrypt(file, bytes, source);
  else assertNotEncrypted(bytes, source);
  return gunzipSync(bytes);
}

/**
 * A backup's volumes (Velero's `<name>-volumeinfo.json.gz`); [] for a backup without volumes
 * (no such file, as for every backup before volume snapshots).
 */
export async function readVolumeInfo(store: BackupStore, name: string): Promise<BackupVolumeInfo[]> {
  assertValidName('backup', name);
  try {
    const parsed: unknown = JSON.parse(
      gunzipSync(await readSmallObject(store, backupLayout.volumeInfo(name))).toString('utf8'),
    );
    return Array.isArray(parsed) ? (parsed as BackupVolumeInfo[]) : [];
  } catch (err) {
    if (err instanceof StoreNotFoundError) return [];
    throw err;
  }
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
