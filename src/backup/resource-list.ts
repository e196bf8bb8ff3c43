// Velero's <backup>-resource-list.json.gz: {"<apiVersion>/<Kind>": ["<ns>/<name>" | "<name>", …]},
// keys and names sorted (velero pkg/backup/backup.go sorts each list; json.Marshal sorts keys).
//
// It names every object of the backup, so kept in memory it would grow with the cluster
// (about 90 bytes an object as V8 strings: 90 MB at a million objects), against
// ARCHITECTURE.md's "memory does not grow with cluster size". The names are kept as they come,
// one chunk of JSON strings per page, in memory up to a fixed budget (a typical backup never
// touches the disk) and then in a temporary file; they are read back key by key when the list
// is written. The file is unlinked as soon as it is opened, like the restore spool's; it holds
// names only, never object contents.
//
// Sorting without holding the names: a list comes back in etcd key order, which is the order
// of "<ns>/<name>" strings, and listing namespaces one by one in the order of "<ns>/" keeps it
// (selection.ts orders them so). The writer checks the order as names arrive, and only a key
// whose names came out of order (an aggregated API may answer in any order) is sorted in memory.
import type { FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { createGzip, gzip } from 'node:zlib';
import { openUnlinkedFile } from '../util/unlinked-file.js';

/** Names held in memory before they go to disk, in bytes (~170,000 names). */
export const DEFAULT_MEMORY_BYTES = 4 * 1024 * 1024;
/** The JSON goes to gzip in pieces of at least this many characters. */
const YIELD_CHARS = 64 * 1024;

interface KeyState {
  /**
   * Where each page's names are: one JSON string per line (JSON escapes any newline a name
   * may hold), so they go into the list as they are. Offsets below `written` are in the file.
   */
  chunks: { offset: number; length: number }[];
  last: string | undefined;
  sorted: boolean;
}

export interface ResourceListSpoolOptions {
  /** Where the file goes, if one is needed; the system's temporary directory by default. */
  dir?: string;
  /** Bytes of names held in memory; more go to disk. */
  memoryBytes?: number;
}

export class ResourceListSpool {
  private readonly keys = new Map<string, KeyState>();
  /** Names not on disk; they start at offset `written`. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private size = 0;
  private written = 0;
  private file: Promise<FileHandle> | undefined;
  /** Writes happen one after another, in file order. */
  private flushing: Promise<void> = Promise.resolve();
  private readonly dir: string;
  private readonly memoryBytes: number;

  constructor(opts: ResourceListSpoolOptions = {}) {
    this.dir = opts.dir ?? tmpdir();
    this.memoryBytes = opts.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  }

  /** Add one page's names under `key` ("v1/ConfigMap", "apps/v1/Deployment"), in list order. */
  add(key: string, names: readonly string[]): void {
    let state = this.keys.get(key);
    if (!state) this.keys.set(key, (state = { chunks: [], last: undefined, sorted: true }));
    if (names.length === 0) return;
    for (const name of names) {
      if (state.last !== undefined && name < state.last) state.sorted = false;
      state.last = name;
    }
    const bytes = Buffer.from(`${names.map((n) => JSON.stringify(n)).join('\n')}\n`);
    state.chunks.push({ offset: this.size, length: bytes.length });
    this.size += bytes.length;
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= this.memoryBytes) this.spill();
  }

  /** Whether some names went to disk. */
  get spilled(): boolean {
    return this.written > 0;
  }

  /** The resource list as gzip'd JSON, produced while it is read. */
  async gzipped(): Promise<Readable> {
    await this.flushing;
    const tail = Buffer.concat(this.pending, this.pendingBytes);
    const source = Readable.from(this.json(tail));
    const gzip = createGzip();
    // pipe() does not pass errors on: a failed read must fail the upload reading `gzip`. The
    // reader sees the error through the stream even if it starts reading later; the listener
    // only keeps an error that comes before it does from being thrown as unhandled.
    source.on('error', (err) => gzip.destroy(err));
    gzip.on('error', () => undefined);
    return source.pipe(gzip);
  }

  /**
   * The same bytes as gzipped(), as one buffer, while every name is still in memory (at most
   * `memoryBytes` of them, so the buffer is bounded too); undefined once some went to disk. A
   * buffer is stored with one plain PUT, where a stream goes through a multipart upload's
   * machinery and a hop between streams for every piece.
   */
  async gzippedInMemory(): Promise<Buffer | undefined> {
    if (this.file) return undefined;
    return gzipBuffer(this.jsonInMemory(Buffer.concat(this.pending, this.pendingBytes)));
  }

  /**
   * json() as one buffer, from the names' bytes as they are held (every name in `tail`): a key's
   * pages are its lines joined, so the lines are copied as they are and their newlines made
   * commas, instead of each name turned into a string and back. JSON escapes a newline inside
   * a key or name, so every newline byte is one between two names.
   */
  private jsonInMemory(tail: Buffer): Buffer {
    const parts: Buffer[] = [];
    const keys = [...this.keys.keys()].sort();
    for (const [i, key] of keys.entries()) {
      const state = this.keys.get(key) as KeyState;
      parts.push(Buffer.from(`${i === 0 ? '{' : ','}${JSON.stringify(key)}:[`));
      if (!state.sorted) {
        // As sortedNames: the names parsed, sorted, and written again.
        const names = state.chunks.flatMap(({ offset, length }) =>
          tail
            .toString('utf8', offset, offset + length)
            .split('\n')
            .slice(0, -1)
            .map((line) => JSON.parse(line) as string),
        );
        parts.push(
          Buffer.from(
            names
              .sort()
              .map((n) => JSON.stringify(n))
              .join(','),
          ),
        );
      } else {
        // Each chunk ends in a newline; the key's last one has nothing after it.
        const last = state.chunks.length - 1;
        state.chunks.forEach(({ offset, length }, c) =>
          parts.push(tail.subarray(offset, offset + length - (c === last ? 1 : 0))),
        );
      }
      parts.push(CLOSE_KEY);
    }
    parts.push(keys.length === 0 ? EMPTY_OBJECT : CLOSE_OBJECT);
    const json = Buffer.concat(parts);
    for (let at = json.indexOf(NEWLINE); at >= 0; at = json.indexOf(NEWLINE, at + 1)) json[at] = COMMA;
    return json;
  }

  async close(): Promise<void> {
    await this.flushing.catch(() => undefined);
    await (await this.file?.catch(() => undefined))?.close();
  }

  /** Move every name held in memory to the end of the file. */
  private spill(): void {
    const data = Buffer.concat(this.pending, this.pendingBytes);
    const position = this.written;
    this.written += data.length;
    this.pending = [];
    this.pendingBytes = 0;
    if (!this.file) {
      this.file = openNamesFile(this.dir);
      // Reported by gzipped(), through the write below; never an unhandled rejection meanwhile.
      this.file.catch(() => undefined);
    }
    const file = this.file;
    // A failed write fails gzipped(), and with it the backup.
    this.flushing = this.flushing.then(async () => {
      await (await file).write(data, 0, data.length, position);
    });
    this.flushing.catch(() => undefined);
  }

  /** The list's JSON text in pieces of about YIELD_CHARS: zlib compresses each write as a job. */
  private async *json(tail: Buffer): AsyncGenerator<string> {
    let text = '{';
    // Byte order, as Go's json.Marshal sorts map keys (not the locale's order).
    const keys = [...this.keys.keys()].sort();
    for (const [i, key] of keys.entries()) {
      const state = this.keys.get(key) as KeyState;
      text += `${i === 0 ? '' : ','}${JSON.stringify(key)}:[`;
      let first = true;
      for await (const page of state.sorted ? this.readNames(state, tail) : this.sortedNames(state, tail)) {
        if (page.length === 0) continue;
        text += first ? page.join(',') : `,${page.join(',')}`;
        first = false;
        if (text.length >= YIELD_CHARS) {
          yield text;
          text = '';
        }
      }
      text += ']';
    }
    yield `${text}}`;
  }

  /** The names of one key as JSON strings, a page at a time, as they were added. */
  private async *readNames(state: KeyState, tail: Buffer): AsyncGenerator<string[]> {
    for (const { offset, length } of state.chunks) {
      let chunk: Buffer;
      if (offset >= this.written) {
        chunk = tail.subarray(offset - this.written, offset - this.written + length);
      } else {
        chunk = Buffer.allocUnsafe(length);
        const file = await (this.file as Promise<FileHandle>);
        const { bytesRead } = await file.read(chunk, 0, length, offset);
        if (bytesRead !== length) throw new Error(`resource list spool: short read at ${offset}`);
      }
      // Each chunk ends with a newline: drop the empty string after it.
      yield chunk.toString('utf8').split('\n').slice(0, -1);
    }
  }

  /** The names of a key that came out of order, sorted in memory (rare; one key at a time). */
  private async *sortedNames(state: KeyState, tail: Buffer): AsyncGenerator<string[]> {
    const all: string[] = [];
    for await (const page of this.readNames(state, tail)) {
      for (const line of page) all.push(JSON.parse(line) as string);
    }
    yield all.sort().map((n) => JSON.stringify(n));
  }
}

const gzipBuffer = promisify(gzip);
const NEWLINE = 0x0a;
const COMMA = 0x2c;
const CLOSE_KEY = Buffer.from(']');
const CLOSE_OBJECT = Buffer.from('}');
const EMPTY_OBJECT = Buffer.from('{}');

/** The names' file (util/unlinked-file.ts), with an error that says what it was for. */
async function openNamesFile(dir: string): Promise<FileHandle> {
  try {
    return await openUnlinkedFile(dir, 'lifeboat-backup-', 'resource-names');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`cannot keep the resource list's names on disk in ${dir}: ${reason}`);
  }
}
