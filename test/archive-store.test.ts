// The archive writer streaming straight into a store and the reader streaming back out of it,
// on the real S3 server and on a directory: the path every backup and restore takes.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ArchiveError, readArchive } from '../src/archive/reader.js';
import { createArchiveWriter } from '../src/archive/writer.js';
import type { ArchiveDigest } from '../src/archive/writer.js';
import { itemPath, METADATA_VERSION_PATH } from '../src/archive/paths.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { S3Store } from '../src/storage/s3-store.js';
import { backupLayout } from '../src/storage/layout.js';
import { StoreError } from '../src/storage/store.js';
import type { BackupStore } from '../src/storage/store.js';
import { ground, newBucket, tempDir, uniqueName } from './ground/world.js';

const ITEMS = 20_000;

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function s3Store(bucket: string): S3Store {
  const { s3 } = ground();
  return new S3Store({
    bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    // The smallest part S3 allows, so this archive takes several parts.
    multipart: { partSize: 5 * 1024 * 1024, queueSize: 2 },
  });
}

function configMap(i: number) {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${i}`, namespace: 'shop' },
    // Hex digests: deterministic, and gzip cannot shrink them below half, so the archive
    // spans several multipart parts.
    data: { payload: Array.from({ length: 10 }, (_, j) => sha256(`${i}/${j}`)).join('') },
  };
}

/** Streams an archive of ITEMS config maps into `store` while it is being written. */
async function backupTo(store: BackupStore, name: string): Promise<ArchiveDigest> {
  const writer = createArchiveWriter();
  const upload = store.put(backupLayout.archive(name), writer.output, { contentType: 'application/gzip' });
  upload.catch((err: unknown) => writer.abort(err as Error));
  await writer.addFile(METADATA_VERSION_PATH, '1.1.0\n');
  for (let i = 0; i < ITEMS; i++) {
    const path = itemPath({
      groupResource: 'configmaps',
      namespace: 'shop',
      name: `cm-${i}`,
      versionDir: '',
    });
    await writer.addJson(path, configMap(i));
  }
  const digest = await writer.finish();
  await upload;
  return digest;
}

async function bytesOf(store: BackupStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('archives in stores', () => {
  it('round-trips a multipart archive through S3 and matches the one in a directory byte for byte', async () => {
    const s3 = s3Store(await newBucket('archive'));
    const local = new LocalDirStore({ root: await tempDir('archive-') });
    const fromS3 = await backupTo(s3, 'b1');
    const fromLocal = await backupTo(local, 'b1');
    expect(fromS3.bytes).toBeGreaterThan(5 * 1024 * 1024);
    expect(fromS3).toEqual(fromLocal);
    const [s3Bytes, localBytes] = await Promise.all([
      bytesOf(s3, backupLayout.archive('b1')),
      bytesOf(local, backupLayout.archive('b1')),
    ]);
    expect(s3Bytes.equals(localBytes)).toBe(true);

    let count = 0;
    const source = `${s3.describe}/${backupLayout.archive('b1')}`;
    const stream = await s3.get(backupLayout.archive('b1'));
    for await (const entry of readArchive(stream, { source, expectedSha256: fromS3.sha256 })) {
      if (count === 0) expect(entry.path).toBe(METADATA_VERSION_PATH);
      else expect(entry.json).toEqual(configMap(count - 1));
      count++;
    }
    expect(count).toBe(ITEMS + 1);
  });

  it('rejects a stored archive that was tampered with', async () => {
    const store = s3Store(await newBucket('tamper'));
    const digest = await backupTo(store, 'b1');
    const original = await bytesOf(store, backupLayout.archive('b1'));
    // Another valid archive under the same key: only the checksum can tell.
    const other = createArchiveWriter();
    const put = store.put(backupLayout.archive('b1'), other.output);
    await other.addFile(METADATA_VERSION_PATH, '1.1.0\n');
    await other.finish();
    await put;
    expect((await bytesOf(store, backupLayout.archive('b1'))).equals(original)).toBe(false);

    const read = async () => {
      const stream = await store.get(backupLayout.archive('b1'));
      for await (const _ of readArchive(stream, { source: 'b1', expectedSha256: digest.sha256 })) {
        // consume
      }
    };
    await expect(read()).rejects.toThrow(ArchiveError);
    await expect(read()).rejects.toThrow(/sha256 mismatch/);
  });

  it('a failing upload stops the writer with the store’s reason', async () => {
    const bucket = uniqueName('missing');
    const err = await backupTo(s3Store(bucket), 'b1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as Error).message).toContain(`bucket ${bucket} does not exist`);
  });

  it('reads an archive from a Readable that arrives in small pieces', async () => {
    const local = new LocalDirStore({ root: await tempDir('archive-') });
    const digest = await backupTo(local, 'b1');
    const whole = await bytesOf(local, backupLayout.archive('b1'));
    const pieces = Array.from({ length: Math.ceil(whole.length / 1000) }, (_, i) =>
      whole.subarray(i * 1000, (i + 1) * 1000),
    );
    let count = 0;
    for await (const _ of readArchive(Readable.from(pieces), { source: 'x', expectedSha256: digest.sha256 }))
      count++;
    expect(count).toBe(ITEMS + 1);
  });
});
