// The one interface every backup location implements. Keys are relative to the
// location's prefix and use '/' separators; layout.ts is the only place that names them.
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

/**
 * A write that began and neither finished nor was abandoned cleanly: an S3 multipart upload
 * (its parts cost storage until it is aborted), or a local store's temporary file. A writer
 * killed mid-upload leaves one behind.
 */
export interface UnfinishedUpload {
  /** The key the upload would have written. */
  key: string;
  /** The store's handle on it (S3's UploadId; the temporary file's key for a local store). */
  id: string;
  /** When it began, when known. */
  initiated?: Date;
  /**
   * When its last bytes arrived (the newest part, or the file's mtime): a live writer keeps
   * this recent, so only its age tells an abandoned upload from a slow one.
   */
  lastActivity?: Date;
  /** Bytes stored so far. */
  size: number;
}

export interface BackupStore {
  /** Human-readable identity for errors and logs, e.g. `s3://bucket/prefix` (never credentials). */
  readonly describe: string;
  readonly readOnly: boolean;
  /**
   * Stream `body` to `key`. Large bodies are uploaded in parts; memory stays bounded.
   * `retainUntil`: on a store with object lock, the object cannot be deleted or overwritten
   * before then (ignored by stores without it).
   */
  put(key: string, body: Readable | Buffer | string, opts?: PutOptions): Promise<void>;
  /** A stream of the object's bytes; rejects with StoreNotFoundError when absent. */
  get(key: string): Promise<Readable>;
  /** Whether the object exists. */
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Every immediate "directory" under `prefix` (keys ending in '/'). */
  listPrefixes(prefix: string): Promise<string[]>;
  /** Delete exactly these keys (no-op for absent ones). */
  delete(keys: string[]): Promise<void>;
  /** Uploads under `prefix` that were begun and never completed or aborted. */
  listUnfinishedUploads(prefix: string): AsyncIterable<UnfinishedUpload>;
  /** Abort one, freeing what it stored; no-op when it is already gone. */
  abortUpload(upload: Pick<UnfinishedUpload, 'key' | 'id'>): Promise<void>;
  /** Verify the location is reachable and usable; rejects with a clear error otherwise. */
  check(): Promise<void>;
  /**
   * Optional: the whole of a small object in one read, for stores that can do it cheaper than
   * a stream (a directory: one readFile, half the CPU of a stream per metadata file, which a
   * reconcile pass reads for every backup). Same errors as get().
   */
  readSmall?(key: string): Promise<Buffer>;
  /** Object lock, when the store has it: the mode its puts with `retainUntil` apply. */
  readonly objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE' };
  /** Object lock: retain an object already written until `until` (no rewrite of its bytes). */
  retain?(key: string, until: Date): Promise<void>;
  /** Object lock: until when the object is retained; undefined when it is not (or no longer). */
  retainedUntil?(key: string): Promise<Date | undefined>;
}

export interface PutOptions {
  contentType?: string;
  retainUntil?: Date;
}

export class StoreError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}

export class StoreNotFoundError extends StoreError {
  constructor(
    readonly key: string,
    where: string,
  ) {
    super(`${where}: object ${key} not found`);
    this.name = 'StoreNotFoundError';
  }
}

/** Objects that object lock keeps until a date: deletable after it, never before. */
export class ObjectLockedError extends StoreError {
  constructor(
    readonly keys: string[],
    readonly until: Date | undefined,
    where: string,
  ) {
    super(
      `${where}: ${keys.length} object(s) are under object lock${until ? ` until ${until.toISOString()}` : ''} ` +
        `and cannot be deleted before then (${keys.slice(0, 3).join(', ')}${keys.length > 3 ? ', ...' : ''})`,
    );
    this.name = 'ObjectLockedError';
  }
}

export class ReadOnlyStoreError extends StoreError {
  constructor(where: string, op: string) {
    super(`${where} is a read-only location: refusing to ${op}`);
    this.name = 'ReadOnlyStoreError';
  }
}

/** The whole of a small object (metadata, logs, locks) — never an archive, which is streamed. */
export async function readSmallObject(store: BackupStore, key: string): Promise<Buffer> {
  if (store.readSmall) return store.readSmall(key);
  const chunks: Buffer[] = [];
  for await (const c of await store.get(key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
