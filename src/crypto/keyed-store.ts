// A location's store together with its encryption keys. The keys travel with the store (every
// reader of a backup already gets the store) instead of through every engine's options; the
// store itself stays plain: what is encrypted, and how, is decided by the backup engine and
// catalog, which ask keyringOf().
import type { Readable } from 'node:stream';
import type { BackupStore, StoredObject, UnfinishedUpload } from '../storage/store.js';
import type { Keyring } from './keyring.js';

export class KeyedStore implements BackupStore {
  readonly describe: string;
  readonly readOnly: boolean;
  readonly readSmall?: (key: string) => Promise<Buffer>;

  constructor(
    readonly inner: BackupStore,
    readonly keyring: Keyring,
  ) {
    this.describe = inner.describe;
    this.readOnly = inner.readOnly;
    if (inner.readSmall) this.readSmall = (key) => inner.readSmall!(key);
  }

  put(key: string, body: Readable | Buffer | string, opts?: { contentType?: string }): Promise<void> {
    return this.inner.put(key, body, opts);
  }
  get(key: string): Promise<Readable> {
    return this.inner.get(key);
  }
  exists(key: string): Promise<boolean> {
    return this.inner.exists(key);
  }
  list(prefix: string): AsyncIterable<StoredObject> {
    return this.inner.list(prefix);
  }
  listPrefixes(prefix: string): Promise<string[]> {
    return this.inner.listPrefixes(prefix);
  }
  delete(keys: string[]): Promise<void> {
    return this.inner.delete(keys);
  }
  listUnfinishedUploads(prefix: string): AsyncIterable<UnfinishedUpload> {
    return this.inner.listUnfinishedUploads(prefix);
  }
  abortUpload(upload: Pick<UnfinishedUpload, 'key' | 'id'>): Promise<void> {
    return this.inner.abortUpload(upload);
  }
  check(): Promise<void> {
    return this.inner.check();
  }
}

/** The location's keys, when it has any (encryption on, or old encrypted backups to read). */
export function keyringOf(store: BackupStore): Keyring | undefined {
  return store instanceof KeyedStore ? store.keyring : undefined;
}
