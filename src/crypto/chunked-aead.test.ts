import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import {
  createDecryptStream,
  createEncryptStream,
  decryptBuffer,
  DecryptionError,
  encryptBuffer,
  HEADER_BYTES,
  TAG_BYTES,
} from './chunked-aead.js';

const dataKey = randomBytes(32);
const context = 'shop-1/archive';
// 1 KiB chunks, so a few KiB make several.
const chunkLog2 = 10;
const sealed = (n: number) => HEADER_BYTES + n * (1024 + TAG_BYTES);

async function roundTrip(plain: Buffer, pieces: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < plain.length; i += Math.ceil(plain.length / pieces) || 1)
    parts.push(plain.subarray(i, i + (Math.ceil(plain.length / pieces) || 1)));
  const out: Buffer[] = [];
  const decrypt = createDecryptStream({ dataKey, context });
  decrypt.on('data', (c: Buffer) => out.push(c));
  await pipeline(
    Readable.from(parts.length > 0 ? parts : [Buffer.alloc(0)]),
    createEncryptStream({ dataKey, context, chunkLog2 }),
    decrypt,
  );
  return Buffer.concat(out);
}

describe('chunked AES-256-GCM format', () => {
  it.each([0, 1, 1023, 1024, 1025, 4096, 10_000])('round-trips %i bytes, streamed in pieces', async (n) => {
    const plain = randomBytes(n);
    for (const pieces of [1, 3, 7]) expect((await roundTrip(plain, pieces)).equals(plain)).toBe(true);
  });

  it('stores a whole chunk multiple with an empty final chunk', async () => {
    const enc = await encryptBuffer(randomBytes(2048), { dataKey, context, chunkLog2 });
    expect(enc.length).toBe(sealed(2) + TAG_BYTES);
  });

  it('does not contain the plaintext', async () => {
    const plain = Buffer.from('password=hunter2-'.repeat(200));
    const enc = await encryptBuffer(plain, { dataKey, context, chunkLog2 });
    expect(enc.includes(Buffer.from('hunter2'))).toBe(false);
  });

  const threeChunks = () => encryptBuffer(randomBytes(2500), { dataKey, context, chunkLog2 });

  it('rejects a file truncated inside a chunk', async () => {
    const enc = await threeChunks();
    await expect(decryptBuffer(enc.subarray(0, enc.length - 5), { dataKey, context })).rejects.toThrow(
      /chunk 2 \(the last one\) failed authentication.*truncated/,
    );
  });

  it('rejects a file truncated at a chunk boundary (its last chunk was not sealed as last)', async () => {
    const enc = await threeChunks();
    await expect(decryptBuffer(enc.subarray(0, sealed(2)), { dataKey, context })).rejects.toThrow(
      /truncated: chunk 1 is the last one present/,
    );
    await expect(decryptBuffer(enc.subarray(0, sealed(1)), { dataKey, context })).rejects.toThrow(
      DecryptionError,
    );
  });

  it('rejects a file cut to its header, or shorter', async () => {
    const enc = await threeChunks();
    await expect(decryptBuffer(enc.subarray(0, HEADER_BYTES), { dataKey, context })).rejects.toThrow(
      /shorter than its tag/,
    );
    await expect(decryptBuffer(enc.subarray(0, 10), { dataKey, context })).rejects.toThrow(
      /shorter than the encryption header/,
    );
  });

  it('rejects reordered chunks', async () => {
    const enc = await threeChunks();
    const c0 = enc.subarray(HEADER_BYTES, sealed(1));
    const c1 = enc.subarray(sealed(1), sealed(2));
    const swapped = Buffer.concat([enc.subarray(0, HEADER_BYTES), c1, c0, enc.subarray(sealed(2))]);
    await expect(decryptBuffer(swapped, { dataKey, context })).rejects.toThrow(
      /chunk 0 failed authentication: the file is corrupted, reordered/,
    );
  });

  it('rejects a dropped middle chunk', async () => {
    const enc = await threeChunks();
    const dropped = Buffer.concat([enc.subarray(0, sealed(1)), enc.subarray(sealed(2))]);
    await expect(decryptBuffer(dropped, { dataKey, context })).rejects.toThrow(DecryptionError);
  });

  it.each([
    ['header salt', HEADER_BYTES - 1],
    ['chunk size byte', 9],
    ['first chunk', HEADER_BYTES + 3],
    ['a tag', sealed(1) - 1],
    ['the final chunk', sealed(2) + 2],
  ])('rejects a bit flipped in the %s', async (_what, offset) => {
    const enc = await threeChunks();
    enc[offset] = (enc[offset] ?? 0) ^ 0x01;
    await expect(decryptBuffer(enc, { dataKey, context })).rejects.toThrow(DecryptionError);
  });

  it('rejects the wrong data key, and the right key with another file context', async () => {
    const enc = await threeChunks();
    await expect(decryptBuffer(enc, { dataKey: randomBytes(32), context })).rejects.toThrow(
      /chunk 0 failed authentication/,
    );
    await expect(decryptBuffer(enc, { dataKey, context: 'shop-2/archive' })).rejects.toThrow(
      /chunk 0 failed authentication/,
    );
  });

  it('names the source and refuses a plain gzip', async () => {
    await expect(
      decryptBuffer(Buffer.concat([Buffer.from([0x1f, 0x8b]), randomBytes(100)]), {
        dataKey,
        context,
        source: 's3://b/backups/x/x.tar.gz',
      }),
    ).rejects.toThrow('s3://b/backups/x/x.tar.gz: not a lifeboat encrypted file');
  });

  it('encrypts the same plaintext differently each time (a fresh salt per file)', async () => {
    const plain = randomBytes(100);
    const a = await encryptBuffer(plain, { dataKey, context });
    const b = await encryptBuffer(plain, { dataKey, context });
    expect(a.equals(b)).toBe(false);
  });
});
