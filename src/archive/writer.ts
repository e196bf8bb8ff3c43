// Streaming tar.gz writer for backup archives. Velero's backup engine writes a gzip'd tar to
// any io.Writer and leaves uploading to someone else (velero pkg/backup/backup.go); we do the
// same: `output` is a Readable that a BackupStore.put consumes while entries are still added.
//
// Memory stays bounded: each add* call resolves only once the tar packer has accepted the
// entry, and the packer stops accepting while gzip and the consumer of `output` lag behind.
import { createHash } from 'node:crypto';
import { pipeline, Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { pack as tarPack } from 'tar-stream';
import { assertSafeEntryPath } from './paths.js';

export interface ArchiveWriterOptions {
  /**
   * Modification time stamped on every entry. Fixed (the Unix epoch by default) so the same
   * input always gives a byte-identical archive, which makes archives comparable by sha256.
   */
  mtime?: Date;
  /** gzip level 0-9; Velero uses Go's default (6), as does zlib. */
  gzipLevel?: number;
}

export interface ArchiveDigest {
  /** Hex sha256 of the gzip bytes, as they went out through `output`. */
  sha256: string;
  /** Size of the gzip bytes. */
  bytes: number;
}

export interface ArchiveWriter {
  /** The tar.gz bytes. Must be consumed, or add* and finish() wait forever (backpressure). */
  readonly output: Readable;
  /** Add `value` as compact JSON, as Velero's json.Marshal writes items. */
  addJson(path: string, value: unknown): Promise<void>;
  addFile(path: string, content: string | Buffer): Promise<void>;
  /** End the archive; resolves once every gzip byte has passed into `output`. */
  finish(): Promise<ArchiveDigest>;
  /** Stop writing: pending and later calls reject, and `output` is destroyed with `err`. */
  abort(err: Error): void;
}

const FILE_MODE = 0o644;
/**
 * zlib compresses each write as a separate thread-pool job; a tar entry arrives as two or
 * three small writes, so batching them first makes writing many small objects ~4× faster.
 */
const COALESCE_BYTES = 64 * 1024;

export function createArchiveWriter(opts: ArchiveWriterOptions = {}): ArchiveWriter {
  const mtime = opts.mtime ?? new Date(0);
  const pack = tarPack();
  const gzip = createGzip({ level: opts.gzipLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION });
  const hash = createHash('sha256');
  let bytes = 0;
  // Hash and count the bytes on their way out, so the digest needs no second pass.
  const output = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });

  let failure: Error | undefined;
  // Registered before pipeline()'s own listeners, so pending add* calls reject with the
  // root cause (say, the upload consuming `output` failed) rather than "entry destroyed".
  for (const stream of [gzip, output]) stream.on('error', (err) => (failure ??= err));
  const done = new Promise<void>((resolve, reject) => {
    pipeline(pack, coalesce(COALESCE_BYTES), gzip, output, (err) => {
      if (err) {
        failure ??= err;
        reject(failure);
      } else resolve();
    });
  });
  // finish() reports the failure; this keeps an abort before finish() from being unhandled.
  done.catch(() => undefined);

  // Entries go into the tar one after another; chaining makes concurrent calls safe too.
  let tail: Promise<void> = Promise.resolve();
  let finishing = false;

  // async, so a bad path rejects like every other failure instead of throwing synchronously.
  async function addEntry(path: string, content: Buffer): Promise<void> {
    assertSafeEntryPath(path);
    if (finishing) throw new Error(`archive writer: cannot add ${path} after finish()`);
    const next = tail.then(
      () =>
        new Promise<void>((resolve, reject) => {
          if (failure) return reject(failure);
          // Only fixed values besides name and size: identical input, identical bytes.
          const header = {
            name: path,
            type: 'file' as const,
            mode: FILE_MODE,
            mtime,
            uid: 0,
            gid: 0,
            uname: '',
            gname: '',
          };
          // The callback fires once the packer has taken all bytes, i.e. after backpressure.
          const sink = pack.entry(header, content, (err) => {
            if (err) reject(failure ?? (err instanceof Error ? err : new Error(String(err))));
            else resolve();
          });
          // The entry stream re-emits the pack's destruction; the callback above reports it.
          sink.on('error', () => undefined);
        }),
    );
    tail = next.catch(() => undefined);
    await next;
  }

  return {
    output,
    addJson: (path, value) => {
      const json = JSON.stringify(value) as string | undefined;
      if (json === undefined) return Promise.reject(new Error(`archive entry ${path}: value is not JSON`));
      return addEntry(path, Buffer.from(json));
    },
    addFile: (path, content) => addEntry(path, typeof content === 'string' ? Buffer.from(content) : content),
    async finish() {
      finishing = true;
      await tail;
      if (failure) throw failure;
      pack.finalize();
      await done;
      return { sha256: hash.digest('hex'), bytes };
    },
    abort(err) {
      failure ??= err;
      pack.destroy(err);
      output.destroy(err);
    },
  };
}

/** Joins small chunks into chunks of at least `size` bytes (the last one may be smaller). */
function coalesce(size: number): Transform {
  let chunks: Buffer[] = [];
  let buffered = 0;
  const take = (): Buffer => {
    const joined = Buffer.concat(chunks, buffered);
    chunks = [];
    buffered = 0;
    return joined;
  };
  return new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
      chunks.push(chunk);
      buffered += chunk.length;
      if (buffered >= size) cb(null, take());
      else cb();
    },
    flush(cb: TransformCallback) {
      if (buffered > 0) cb(null, take());
      else cb();
    },
  });
}
