// A backup location on a local directory: the embedded default, and handy for air-gapped
// clusters (the directory can be a mounted volume). Keys map to files under the root.
//
// Writes are atomic: bytes go to a temporary file in the target directory, are fsync'd, and
// are renamed into place, so a reader never sees half an object (like an S3 PUT).
import { randomBytes } from 'node:crypto';
import { constants as fsConstants, readdirSync, readFileSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { access, mkdir, open, rename, rmdir, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { failProducer, feedFrom } from './feed.js';
import { assertValidKey, assertValidPrefix, compareKeys } from './keys.js';
import { ReadOnlyStoreError, StoreError, StoreNotFoundError } from './store.js';
import type { BackupStore, StoredObject, UnfinishedUpload } from './store.js';

export interface LocalDirStoreOptions {
  /** The directory that holds the objects (the location's root; keys are relative to it). */
  root: string;
  readOnly?: boolean;
  /** Create the directory if it is missing (default false: a missing directory is an error). */
  create?: boolean;
}

/** Temporary files of in-flight writes; never listed. */
const TEMP_PREFIX = '.lifeboat-tmp-';

export class LocalDirStore implements BackupStore {
  readonly describe: string;
  readonly readOnly: boolean;
  private readonly root: string;
  private readonly create: boolean;
  private rootReady: Promise<void> | undefined;

  constructor(opts: LocalDirStoreOptions) {
    this.root = resolve(opts.root);
    this.readOnly = opts.readOnly ?? false;
    this.create = opts.create ?? false;
    this.describe = `file://${this.root}`;
  }

  async put(key: string, body: Readable | Buffer | string): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `put ${key}`);
    assertValidKey(key, this.describe);
    this.rootReady ??= this.prepareRoot();
    await this.rootReady;
    const file = this.pathOf(key);
    const temp = join(dirname(file), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    try {
      const handle = await openTempFile(temp);
      try {
        await writeBody(handle, body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      const failure = new StoreError(`${this.describe}: writing ${key} failed: ${errorText(err)}`, {
        cause: err,
      });
      failProducer(body, failure);
      throw failure;
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key, this.describe);
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err)) throw new StoreNotFoundError(key, this.describe);
      throw new StoreError(`${this.describe}: reading ${key} failed: ${errorText(err)}`, { cause: err });
    }
    // open() succeeds on a directory, which is not an object.
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new StoreNotFoundError(key, this.describe);
    }
    return handle.createReadStream();
  }

  // Small reads and directory listings are synchronous: a pass reads every backup's metadata,
  // and for 2,000 backups the promise-based calls (a thread-pool round trip each) cost ~0.6 s
  // of CPU more than these, which block the event loop for well under a millisecond each.
  readSmall(key: string): Promise<Buffer> {
    try {
      assertValidKey(key, this.describe);
      return Promise.resolve(this.readSmallSync(key));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private readSmallSync(key: string): Buffer {
    try {
      return readFileSync(this.pathOf(key));
    } catch (err) {
      // EISDIR too: a directory is not an object, as get() says.
      if (isMissing(err)) throw new StoreNotFoundError(key, this.describe);
      throw new StoreError(`${this.describe}: reading ${key} failed: ${errorText(err)}`, { cause: err });
    }
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key, this.describe);
    try {
      return (await stat(this.pathOf(key))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw new StoreError(`${this.describe}: checking ${key} failed: ${errorText(err)}`, { cause: err });
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertValidPrefix(prefix, this.describe);
    const found: StoredObject[] = [];
    await this.walk(parentDirKey(prefix), prefix, found);
    // Directory order is not key order ('a-b' sorts before 'a/b'), so sort what we found.
    found.sort((a, b) => compareKeys(a.key, b.key));
    yield* found;
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix, this.describe);
    const dirKey = parentDirKey(prefix);
    const partial = prefix.slice(dirKey.length);
    const entries = this.readDir(dirKey);
    const prefixes: string[] = [];
    for (const entry of entries) {
      if (!entry.isDirectory() || !entry.name.startsWith(partial)) continue;
      const key = `${dirKey}${entry.name}/`;
      // Like S3, a "directory" exists only while some object lives under it.
      if (await this.holdsObject(key)) prefixes.push(key);
    }
    return prefixes.sort(compareKeys);
  }

  async delete(keys: string[]): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `delete ${keys.length} object(s)`);
    for (const key of keys) assertValidKey(key, this.describe);
    for (const key of keys) {
      const file = this.pathOf(key);
      try {
        await unlink(file);
      } catch (err) {
        if (!isMissing(err)) {
          throw new StoreError(`${this.describe}: deleting ${key} failed: ${errorText(err)}`, { cause: err });
        }
      }
      await this.pruneEmptyDirs(dirname(file));
    }
  }

  /**
   * The temporary files of writes that never finished (a writer killed before its rename):
   * a local directory's equivalent of S3's multipart uploads. Keyed by the temporary file.
   */
  async *listUnfinishedUploads(prefix: string): AsyncIterable<UnfinishedUpload> {
    assertValidPrefix(prefix, this.describe);
    const found: UnfinishedUpload[] = [];
    await this.walkTemp(parentDirKey(prefix), prefix, found);
    found.sort((a, b) => compareKeys(a.key, b.key));
    yield* found;
  }

  async abortUpload(upload: Pick<UnfinishedUpload, 'key' | 'id'>): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `abort an upload of ${upload.key}`);
    assertValidKey(upload.id, this.describe);
    // Only temporary files: an id naming a real object must never delete it.
    if (!basename(upload.id).startsWith(TEMP_PREFIX)) {
      throw new StoreError(`${this.describe}: ${upload.id} is not an unfinished upload`);
    }
    await this.delete([upload.id]);
  }

  private async walkTemp(dirKey: string, prefix: string, found: UnfinishedUpload[]): Promise<void> {
    let entries;
    try {
      entries = readdirSync(join(this.root, dirKey), { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw new StoreError(`${this.describe}: listing ${dirKey || '/'} failed: ${errorText(err)}`, {
        cause: err,
      });
    }
    for (const entry of entries) {
      const key = `${dirKey}${entry.name}`;
      if (entry.isDirectory()) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walkTemp(sub, prefix, found);
      } else if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) {
        // Which key a temporary file was to become is not recorded: one beside `prefix` counts.
        if (!key.startsWith(prefix) && dirKey !== parentDirKey(prefix)) continue;
        const info = statOrUndefined(this.pathOf(key));
        if (info)
          found.push({ key, id: key, lastActivity: info.mtime, initiated: info.birthtime, size: info.size });
      }
    }
  }

  async check(): Promise<void> {
    await this.prepareRoot();
    if (this.readOnly) return;
    try {
      await access(this.root, fsConstants.W_OK);
    } catch (err) {
      throw new StoreError(`${this.describe}: directory is not writable: ${errorText(err)}`, { cause: err });
    }
  }

  private pathOf(key: string): string {
    return join(this.root, key);
  }

  private async prepareRoot(): Promise<void> {
    if (this.create && !this.readOnly) {
      await mkdir(this.root, { recursive: true });
      return;
    }
    let info;
    try {
      info = await stat(this.root);
    } catch (err) {
      if (isMissing(err)) {
        throw new StoreError(`${this.describe}: directory does not exist (create it, or allow creating it)`, {
          cause: err,
        });
      }
      throw new StoreError(`${this.describe}: cannot use directory: ${errorText(err)}`, { cause: err });
    }
    if (!info.isDirectory()) throw new StoreError(`${this.describe}: not a directory`);
  }

  private readDir(dirKey: string) {
    try {
      const entries = readdirSync(join(this.root, dirKey), { withFileTypes: true });
      return entries.filter((e) => !e.name.startsWith(TEMP_PREFIX));
    } catch (err) {
      if (isMissing(err)) return [];
      throw new StoreError(`${this.describe}: listing ${dirKey || '/'} failed: ${errorText(err)}`, {
        cause: err,
      });
    }
  }

  /** Collects every file under `dirKey` whose key starts with `prefix`. Symlinks are not followed. */
  private async walk(dirKey: string, prefix: string, found: StoredObject[]): Promise<void> {
    for (const entry of this.readDir(dirKey)) {
      const key = `${dirKey}${entry.name}`;
      if (entry.isDirectory()) {
        const sub = `${key}/`;
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(sub, prefix, found);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        let info;
        try {
          info = statSync(this.pathOf(key));
        } catch (err) {
          if (!isMissing(err)) throw err; // else deleted while we listed
        }
        if (info) found.push({ key, size: info.size, lastModified: info.mtime });
      }
    }
  }

  private async holdsObject(dirKey: string): Promise<boolean> {
    for (const entry of this.readDir(dirKey)) {
      if (entry.isFile()) return true;
      if (entry.isDirectory() && (await this.holdsObject(`${dirKey}${entry.name}/`))) return true;
    }
    return false;
  }

  /** Removes directories left empty by a delete, up to (not including) the root. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    for (
      let current = dir;
      current !== this.root && current.startsWith(this.root);
      current = dirname(current)
    ) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone): stop climbing
      }
    }
  }
}

/** A temporary file's details, or undefined when it went away (or cannot be read) meanwhile. */
function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The directory part of a key or prefix, with its trailing '/': 'backups/b1' → 'backups/'. */
function parentDirKey(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

async function openTempFile(temp: string): Promise<FileHandle> {
  // A concurrent delete may prune the directory between mkdir and open; try again then.
  for (let attempt = 0; ; attempt++) {
    await mkdir(dirname(temp), { recursive: true });
    try {
      return await open(temp, 'wx', 0o644);
    } catch (err) {
      if (attempt >= 2 || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

async function writeBody(handle: FileHandle, body: Readable | Buffer | string): Promise<void> {
  if (typeof body === 'string' || Buffer.isBuffer(body)) {
    await handle.writeFile(body);
    return;
  }
  // One chunk at a time: the source is paused while the write is in flight (backpressure).
  for await (const chunk of feedFrom(body)) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    for (let offset = 0; offset < buf.length;) {
      offset += (await handle.write(buf, offset, buf.length - offset)).bytesWritten;
    }
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
