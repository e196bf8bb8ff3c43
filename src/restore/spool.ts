// The objects a restore will write, kept between deciding and applying them. The first ones
// stay in memory, up to a fixed budget — a typical restore never touches the disk, which
// would cost a file read and a parse per object — and the rest go to disk, so that planning
// and applying a large restore hold a bounded set of objects plus an index of small records,
// never every object (ARCHITECTURE.md: memory does not grow with the cluster).
//
// The file is unlinked as soon as it is opened: the open handle keeps the data, and nothing is
// left behind when the process ends, however it ends. Its records are encrypted with a key
// that lives only in this process's memory, because Secrets are among the objects and their
// values must not land readable on a node's disk.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { KubeObject } from '../kube/types.js';
import { openUnlinkedFile } from '../util/unlinked-file.js';
import { parseJson, stringifyJson } from '../util/json.js';

const CIPHER = 'aes-256-gcm';
/**
 * Records are gathered up to this size and written with one call: a write per object would
 * cost a thread-pool round trip per object, which dominated planning.
 */
const FLUSH_BYTES = 1024 * 1024;
/** Objects kept in memory, by their JSON size times OBJECT_OVERHEAD. */
export const DEFAULT_MEMORY_BUDGET = 32 * 1024 * 1024;
/** A parsed object takes about this many times its JSON size (measured: 2.5–4 with V8). */
const OBJECT_OVERHEAD = 3;
const IV_BYTES = 12;
const TAG_BYTES = 16;

interface Place {
  offset: number;
  length: number;
  iv: Buffer;
  tag: Buffer;
}

export interface SpoolOptions {
  /** Where the file goes; the system's temporary directory by default. */
  dir?: string;
  /** Bytes of objects kept in memory before the rest go to disk. */
  memoryBudget?: number;
}

export class ObjectSpool {
  private readonly places = new Map<string, Place>();
  /** Objects kept as they are; callers must not change an object after put or get. */
  private readonly inMemory = new Map<string, { obj: KubeObject; cost: number }>();
  private memoryUsed = 0;
  private readonly key = randomBytes(32);
  private size = 0;
  /** Records not written yet; they start at `written`. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private written = 0;
  /** The write in progress, if any; writes happen one after another, in file order. */
  private flushing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: FileHandle,
    private readonly memoryBudget: number,
  ) {}

  /** A new, empty spool. */
  static async create(opts: SpoolOptions = {}): Promise<ObjectSpool> {
    const file = await openUnlinkedFile(opts.dir ?? tmpdir(), 'lifeboat-restore-', 'objects');
    return new ObjectSpool(file, opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET);
  }

  /** Objects stored. */
  get count(): number {
    return this.places.size + this.inMemory.size;
  }

  /** Objects stored on disk. */
  get onDisk(): number {
    return this.places.size;
  }

  has(key: string): boolean {
    return this.inMemory.has(key) || this.places.has(key);
  }

  /**
   * Store `obj` under `key` (replacing an earlier one). `jsonBytes`, about the size of its JSON
   * (its archive entry's size), counts it against the memory budget: within it the object is
   * kept as it is, not copied; beyond it, it is encrypted at once and written with others. The
   * promise resolves once it is accepted (usually at once) and rejects if a write failed.
   */
  async put(key: string, obj: KubeObject, jsonBytes: number): Promise<void> {
    this.forget(key);
    const cost = jsonBytes * OBJECT_OVERHEAD;
    if (this.memoryUsed + cost <= this.memoryBudget) {
      this.inMemory.set(key, { obj, cost });
      this.memoryUsed += cost;
      return;
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.key, iv);
    const data = Buffer.concat([cipher.update(stringifyJson(obj), 'utf8'), cipher.final()]);
    this.places.set(key, { offset: this.size, length: data.length, iv, tag: cipher.getAuthTag() });
    this.size += data.length;
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= FLUSH_BYTES) await this.flush();
  }

  /** The object stored under `key`, or undefined. */
  async get(key: string): Promise<KubeObject | undefined> {
    const kept = this.inMemory.get(key);
    if (kept) return kept.obj;
    const place = this.places.get(key);
    if (!place) return undefined;
    if (place.offset + place.length > this.written) await this.flush();
    const data = Buffer.allocUnsafe(place.length);
    const { bytesRead } = await this.file.read(data, 0, place.length, place.offset);
    if (bytesRead !== place.length) throw new Error(`restore spool: short read of ${key}`);
    const decipher = createDecipheriv(CIPHER, this.key, place.iv, { authTagLength: TAG_BYTES });
    decipher.setAuthTag(place.tag);
    const json = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    return parseJson(json) as KubeObject;
  }

  /** Drop the object stored under `key` (its bytes on disk stay until close). */
  delete(key: string): void {
    this.forget(key);
  }

  private forget(key: string): void {
    const kept = this.inMemory.get(key);
    if (kept) this.memoryUsed -= kept.cost;
    this.inMemory.delete(key);
    this.places.delete(key);
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
    this.inMemory.clear();
    this.pending = [];
    await this.flushing.catch(() => undefined);
    await this.file.close();
  }
}
