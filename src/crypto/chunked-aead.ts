// lifeboat's encrypted-file format, v1: AES-256-GCM in fixed-size chunks, streamed both ways
// (docs/decisions/0025-client-side-encryption.md says why it is our own and what it resists).
//
//   header (48 bytes)   "LBOATENC" | version 1 | log2(chunk size) | 6 zero bytes | salt (32 random bytes)
//   chunk 0..n-1        AES-256-GCM(plaintext of exactly chunkSize bytes) | tag (16)
//   final chunk         AES-256-GCM(plaintext of 0..chunkSize-1 bytes)     | tag (16)
//
// Each file gets its own key, HKDF-SHA256(data key, salt, "lifeboat/v1 <context>"), where the
// context names the backup and the file's role: a file moved to another backup or role fails.
// The nonce is the chunk index (unique under the file's key); the additional data is the whole
// header, the chunk index and a final-chunk flag, so a chunk that is flipped, moved, dropped or
// cut off fails authentication, and a file cut at a chunk boundary fails because its last chunk
// was not sealed as the final one. The final chunk is always shorter than chunkSize (possibly
// empty), so a reader knows it at the end of the stream without a length in the header.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

export const MAGIC = Buffer.from('LBOATENC', 'ascii');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 48;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** 64 KiB: small enough to bound memory, large enough that the 16-byte tags cost 0.02 %. */
export const DEFAULT_CHUNK_LOG2 = 16;
const MIN_CHUNK_LOG2 = 10;
const MAX_CHUNK_LOG2 = 24;
const SALT_OFFSET = 16;

export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

export interface CipherOptions {
  /** The backup's 32-byte data key. */
  dataKey: Buffer;
  /** What the file is, e.g. `shop-1/archive`: part of the file key, so files cannot be swapped. */
  context: string;
  /** Named in errors, e.g. `s3://bucket/backups/shop-1/shop-1.tar.gz`. */
  source?: string;
}

function fileKey(dataKey: Buffer, salt: Buffer, context: string): Buffer {
  if (dataKey.length !== KEY_BYTES) throw new Error(`a data key must be ${KEY_BYTES} bytes`);
  return Buffer.from(hkdfSync('sha256', dataKey, salt, `lifeboat/v1 ${context}`, KEY_BYTES));
}

function nonceOf(index: number): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUIntBE(index, 6, 6);
  return nonce;
}

function aadOf(header: Buffer, index: number, final: boolean): Buffer {
  const tail = Buffer.alloc(9);
  tail.writeBigUInt64BE(BigInt(index), 0);
  tail[8] = final ? 1 : 0;
  return Buffer.concat([header, tail]);
}

/** Whether a file starts like one of ours (what a reader of a plain gzip meets instead). */
export function looksEncrypted(firstBytes: Buffer): boolean {
  return firstBytes.length >= MAGIC.length && firstBytes.subarray(0, MAGIC.length).equals(MAGIC);
}

/** A Transform from plaintext to the encrypted format. */
export function createEncryptStream(opts: CipherOptions & { chunkLog2?: number }): Transform {
  const log2 = opts.chunkLog2 ?? DEFAULT_CHUNK_LOG2;
  if (!Number.isInteger(log2) || log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2)
    throw new Error(`chunk size must be 2^${MIN_CHUNK_LOG2}..2^${MAX_CHUNK_LOG2}`);
  const chunkSize = 2 ** log2;
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header[8] = FORMAT_VERSION;
  header[9] = log2;
  randomBytes(32).copy(header, SALT_OFFSET);
  const key = fileKey(opts.dataKey, header.subarray(SALT_OFFSET), opts.context);
  let index = 0;
  let headerSent = false;
  let pending: Buffer[] = [];
  let pendingBytes = 0;

  const seal = (plain: Buffer, final: boolean): Buffer => {
    const cipher = createCipheriv('aes-256-gcm', key, nonceOf(index));
    cipher.setAAD(aadOf(header, index, final));
    const out = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    index++;
    return out;
  };

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      if (!headerSent) {
        this.push(header);
        headerSent = true;
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes >= chunkSize) {
        // Only whole chunks here: a chunk exactly at the end may still be followed by more.
        let all: Buffer = Buffer.concat(pending);
        while (all.length >= chunkSize) {
          this.push(seal(all.subarray(0, chunkSize), false));
          all = all.subarray(chunkSize);
        }
        pending = all.length > 0 ? [Buffer.from(all)] : [];
        pendingBytes = all.length;
      }
      done();
    },
    flush(done: TransformCallback) {
      if (!headerSent) this.push(header);
      // Shorter than chunkSize by construction (possibly empty): the reader's end marker.
      this.push(seal(Buffer.concat(pending), true));
      pending = [];
      done();
    },
  });
}

/** A Transform from the encrypted format to plaintext; errors with DecryptionError on any tampering. */
export function createDecryptStream(opts: CipherOptions): Transform {
  const where = opts.source ? `${opts.source}: ` : '';
  let header: Buffer | undefined;
  let key: Buffer | undefined;
  let sealedSize = 0;
  let index = 0;
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;

  const open = (sealed: Buffer, final: boolean): Buffer => {
    if (!header || !key) throw new DecryptionError(`${where}no header`);
    if (sealed.length < TAG_BYTES)
      throw new DecryptionError(`${where}truncated: chunk ${index} is shorter than its tag`);
    const decipher = createDecipheriv('aes-256-gcm', key, nonceOf(index));
    decipher.setAAD(aadOf(header, index, final));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
      index++;
      return plain;
    } catch {
      throw new DecryptionError(
        final
          ? `${where}chunk ${index} (the last one) failed authentication: the file is truncated, corrupted, or was not written with this key`
          : `${where}chunk ${index} failed authentication: the file is corrupted, reordered, or was not written with this key`,
      );
    }
  };

  const readHeader = (all: Buffer): Buffer => {
    const h = all.subarray(0, HEADER_BYTES);
    if (!looksEncrypted(h))
      throw new DecryptionError(`${where}not a lifeboat encrypted file (no LBOATENC header)`);
    if (h[8] !== FORMAT_VERSION)
      throw new DecryptionError(
        `${where}encryption format version ${h[8]} is not supported (this lifeboat reads ${FORMAT_VERSION})`,
      );
    const log2 = h[9] ?? 0;
    if (
      log2 < MIN_CHUNK_LOG2 ||
      log2 > MAX_CHUNK_LOG2 ||
      !h.subarray(10, SALT_OFFSET).equals(Buffer.alloc(6))
    )
      throw new DecryptionError(`${where}corrupted encryption header`);
    header = Buffer.from(h);
    sealedSize = 2 ** log2 + TAG_BYTES;
    key = fileKey(opts.dataKey, header.subarray(SALT_OFFSET), opts.context);
    return all.subarray(HEADER_BYTES);
  };

  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      buffered.push(chunk);
      bufferedBytes += chunk.length;
      try {
        if (!header && bufferedBytes < HEADER_BYTES) return done();
        // Held back until more than one sealed chunk is buffered: a chunk is the final one only
        // if the stream ends right after it, which flush() learns.
        if (header && bufferedBytes <= sealedSize) return done();
        let all: Buffer = Buffer.concat(buffered);
        if (!header) all = readHeader(all);
        while (all.length > sealedSize) {
          this.push(open(all.subarray(0, sealedSize), false));
          all = all.subarray(sealedSize);
        }
        buffered = all.length > 0 ? [Buffer.from(all)] : [];
        bufferedBytes = all.length;
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done: TransformCallback) {
      try {
        let all: Buffer = Buffer.concat(buffered);
        buffered = [];
        if (!header) {
          if (all.length < HEADER_BYTES)
            throw new DecryptionError(
              `${where}truncated: ${all.length} bytes, shorter than the encryption header`,
            );
          all = readHeader(all);
        }
        if (all.length === sealedSize)
          // A full chunk is never the final one: the file ends at a chunk boundary, cut off.
          throw new DecryptionError(
            `${where}truncated: chunk ${index} is the last one present but was not sealed as the last`,
          );
        this.push(open(all, true));
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}

async function collect(stream: Transform, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  stream.end(input);
  await ended;
  return Buffer.concat(out);
}

/** The whole of a small file (resource list, log) encrypted in one go. */
export function encryptBuffer(plain: Buffer, opts: CipherOptions & { chunkLog2?: number }): Promise<Buffer> {
  return collect(createEncryptStream(opts), plain);
}

export function decryptBuffer(sealed: Buffer, opts: CipherOptions): Promise<Buffer> {
  return collect(createDecryptStream(opts), sealed);
}
