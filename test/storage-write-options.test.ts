// What a StorageLocation's config asks of every write, against the ground's S3 server
// (versitygw): `checksumAlgorithm` makes the client send a checksum that the server checks and
// keeps (HEAD with checksum mode returns it), for single puts and multipart uploads;
// `serverSideEncryption` (AES256, aws:kms with kmsKeyId) is sent on every write. versitygw
// accepts the encryption header but does not encrypt (its posix backend stores files as they
// are, and returns no x-amz-server-side-encryption): that the header is honoured is up to the
// real server (AWS, MinIO with KES, Ceph RGW), as docs/policy-reference.md says.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { openStore, type StorageLocationConfig } from '../src/storage/open-store.js';
import { ground, newBucket, testS3Client } from './ground/world.js';

function location(bucket: string, config: StorageLocationConfig['config']): StorageLocationConfig {
  const { s3 } = ground();
  return {
    name: 'write-options',
    provider: 'aws',
    bucket,
    config: { s3Url: s3.endpoint, region: s3.region, s3ForcePathStyle: true, ...config },
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}

async function head(bucket: string, key: string) {
  return testS3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
}

const b64 = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('base64');

describe('StorageLocation write options on the real S3 server', () => {
  it('stores the SHA256 checksum of a single put, and the checksum of every part of a multipart upload', async () => {
    const bucket = await newBucket('sum');
    const store = openStore(location(bucket, { checksumAlgorithm: 'SHA256' }));
    const small = Buffer.from('{"kind":"Backup"}');
    await store.put('backups/b1/velero-backup.json', small);
    expect((await head(bucket, 'backups/b1/velero-backup.json')).ChecksumSHA256).toBe(b64('sha256', small));

    // 12 MiB as a stream: three 5 MiB parts, each checked by the server.
    const big = Buffer.alloc(12 * 1024 * 1024, 7);
    await store.put('backups/b1/b1.tar.gz', Readable.from([big.subarray(0, 6e6), big.subarray(6e6)]));
    const stored = await head(bucket, 'backups/b1/b1.tar.gz');
    expect(stored.ContentLength).toBe(big.length);
    expect(stored.ChecksumSHA256).toMatch(/^[A-Za-z0-9+/]+=*(-3)?$/);
  }, 120_000);

  it('sends CRC32 by default and CRC32C when asked', async () => {
    const bucket = await newBucket('crc');
    const body = Buffer.from('some bytes');
    await openStore(location(bucket, {})).put('a', body);
    expect((await head(bucket, 'a')).ChecksumCRC32).toBeTruthy();
    await openStore(location(bucket, { checksumAlgorithm: 'CRC32C' })).put('b', body);
    const b = await head(bucket, 'b');
    expect(b.ChecksumCRC32C).toBeTruthy();
    expect(b.ChecksumCRC32).toBeUndefined();
  }, 60_000);

  it('writes with serverSideEncryption AES256 and aws:kms with a key id, single and multipart', async () => {
    const bucket = await newBucket('sse');
    for (const config of [
      { serverSideEncryption: 'AES256' },
      { serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/lifeboat-test' },
    ]) {
      const store = openStore(location(bucket, config));
      const key = `${config.serverSideEncryption.replace(':', '-')}/`;
      await store.put(`${key}small`, 'x');
      await store.put(`${key}big`, Readable.from([Buffer.alloc(6 * 1024 * 1024, 1)]));
      expect((await head(bucket, `${key}small`)).ContentLength).toBe(1);
      expect((await head(bucket, `${key}big`)).ContentLength).toBe(6 * 1024 * 1024);
    }
  }, 120_000);

  it('refuses a kmsKeyId without aws:kms and an unknown algorithm, naming the location', () => {
    expect(() => openStore(location('x-bucket', { serverSideEncryption: 'AES256', kmsKeyId: 'k' }))).toThrow(
      'storage location "write-options": config.kmsKeyId needs config.serverSideEncryption: aws:kms',
    );
    expect(() => openStore(location('x-bucket', { checksumAlgorithm: 'MD5' }))).toThrow(
      /config.checksumAlgorithm must be one of CRC32, CRC32C, SHA1, SHA256 or "" \(off\), not "MD5"/,
    );
  });
});
