// The one interface every backup location implements. Keys are relative to the
// location's prefix and use '/' separators; layout.ts is the only place that names them.
import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
  lastModified?: Date;
}

export interface BackupStore {
  /** Human-readable identity for errors and logs, e.g. `s3://bucket/prefix` (never credentials). */
  readonly describe: string;
  readonly readOnly: boolean;
  /** Stream `body` to `key`. Large bodies are uploaded in parts; memory stays bounded. */
  put(key: string, body: Readable | Buffer | string, opts?: { contentType?: string }): Promise<void>;
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
  /** Verify the location is reachable and usable; rejects with a clear error otherwise. */
  check(): Promise<void>;
  /**
   * Optional: the whole of a small object in one read, for stores that can do it cheaper than
   * a stream (a directory: one readFile, half the CPU of a stream per metadata file, which a
   * reconcile pass reads for every backup). Same errors as get().
   */
  readSmall?(key: string): Promise<Buffer>;
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
