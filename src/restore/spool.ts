// The objects a restore will write, kept on disk between deciding and applying them, so that
// planning and applying a large restore hold an index of small records in memory, never every
// object (ARCHITECTURE.md: memory does not grow with the cluster).
//
// The file is unlinked as soon as it is opened: the open handle keeps the data, and nothing is
// left behind when the process ends, however it ends. Its records are encrypted with a key
// that lives only in this process's memory, because Secrets are among the objects and their
// values must not land readable on a node's disk.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeObject } from '../kube/types.js';

const CIPHER = 'aes-256-gcm';
/**
 * Records are gathered up to this size and written with one call: a write per object would
 * cost a thread-pool round trip per object, which dominated planning.
 */
const FLUSH_BYTES = 1024 * 1024;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Place {
  offset: number;
  length: number;
  iv: Buffer;
  tag: Buffer;
}

export class ObjectSpool {
  private readonly places = new Map<string, Place>();
  private readonly key = randomBytes(32);
  private size = 0;
  /** Records not written yet; they start at `written`. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  /** The write in progress, if any; writes happen one after another, in file order. */
  private flushing: Promise<void> = Promise.resolve();

  private constructor(private readonly file: FileHandle) {}

  /** A new, empty spool in `dir` (the system's temporary directory by default). */
  static async create(dir = tmpdir()): Promise<ObjectSpool> {
    const folder = await mkdtemp(join(dir, 'lifeboat-restore-'));
    try {
      const file = await open(join(folder, 'objects'), 'w+', 0o600);
      return new ObjectSpool(file);
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  }

  /** Objects stored. */
  get count(): number {
    return this.places.size;
  }

  has(key: string): boolean {
    return this.places.has(key);
  }

  /**
   * Store `obj` under `key` (replacing an earlier one). The record is encrypted at once and
   * written with others; the promise resolves once it is accepted (usually at once) and
   * rejects if a write failed.
   */
  async put(key: string, obj: KubeObject): Promise<void> {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(obj), 'utf8'), cipher.final()]);
    this.places.set(key, { offset: this.size, length: data.length, iv, tag: cipher.getAuthTag() });
    this.size += data.length;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** The object stored under `key`, or undefined. */
  async get(key: string): Promise<KubeObject | undefined> {
    const place = this.places.get(key);
    if (!place) return undefined;
    if (place.offset + place.length > this.written) await this.flush();
    const data = Buffer.allocUnsafe(place.length);
    const { bytesRead } = await this.file.read(data, 0, place.length, place.offset);
    if (bytesRead !== place.length) throw new Error(`restore spool: short read of ${key}`);
    const decipher = createDecipheriv(CIPHER, this.key, place.iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(place.tag);
    const json = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    return JSON.parse(json) as KubeObject;
  }

  /** Write every pending record; resolves once they are all in the file. */
  private flush(): Promise<void> {
    if (this.pending.length > 0) {
      const data = Buffer.concat(this.pending, this.pendingBytes);
      const offset = this.size - this.pendingBytes;
      this.pending = [];
      this.pendingBytes = 0;
      this.flushing = this.flushing.then(async () => {
        await this.file.write(data, 0, data.length, offset);
        this.written = offset + data.length;
      });
    }
    return this.flushing;
  }

  /** Release the file; its data is gone with it. */
  async close(): Promise<void> {
    this.places.clear();
    this.pending = [];
    await this.flushing.catch(() => undefined);
    await this.file.close();
  }
}
