// One contract for every BackupStore, run against the local directory store and against the
// S3 store on the real S3 server of the test ground: whatever the backup, restore and expiry
// code relies on must hold for both. S3-only behaviour (bucket and credential errors) follows.
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { LocalDirStore } from '../src/storage/local-store.js';
import { S3Store } from '../src/storage/s3-store.js';
import type { S3StoreOptions } from '../src/storage/s3-store.js';
import { ReadOnlyStoreError, StoreError, StoreNotFoundError } from '../src/storage/store.js';
import type { BackupStore } from '../src/storage/store.js';
import { ground, newBucket, tempDir, testS3Client, uniqueName } from './ground/world.js';

/** A fresh, empty location; `open` gives stores on it (several may share the same objects). */
interface Location {
  open(opts?: { readOnly?: boolean }): BackupStore;
}

async function text(stream: Readable): Promise<string> {
  return (await bytes(stream)).toString('utf8');
}

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keys(store: BackupStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list(prefix)) out.push(o.key);
  return out;
}

/** `size` bytes of deterministic, incompressible-looking data, produced chunk by chunk. */
function generated(size: number): { stream: Readable; sha256: string } {
  const chunk = (i: number) => createHash('sha512').update(`chunk-${i}`).digest();
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let produced = 0;
  for (let i = 0; produced < size; i++) {
    const c = chunk(i).subarray(0, Math.min(64, size - produced));
    hash.update(c);
    produced += c.length;
    chunks.push(c);
  }
  // Coalesce to 64 KiB chunks so the stream looks like a real producer's.
  const big: Buffer[] = [];
  for (let i = 0; i < chunks.length; i += 1024) big.push(Buffer.concat(chunks.slice(i, i + 1024)));
  return { stream: Readable.from(big, { objectMode: false }), sha256: hash.digest('hex') };
}

function describeStoreContract(kind: string, newLocation: () => Promise<Location>): void {
  describe(`BackupStore contract: ${kind}`, () => {
    it('check() accepts a usable location', async () => {
      const store = (await newLocation()).open();
      await expect(store.check()).resolves.toBeUndefined();
    });

    it('stores strings, buffers and streams, and overwrites', async () => {
      const store = (await newLocation()).open();
      await store.put('backups/b1/velero-backup.json', '{"kind":"Backup"}', {
        contentType: 'application/json',
      });
      await store.put('backups/b1/b1-logs.gz', Buffer.from([0x1f, 0x8b, 0, 1]));
      await store.put('backups/b1/b1.tar.gz', Readable.from([Buffer.from('part1-'), Buffer.from('part2')]));
      await expect(text(await store.get('backups/b1/velero-backup.json'))).resolves.toBe('{"kind":"Backup"}');
      await expect(bytes(await store.get('backups/b1/b1-logs.gz'))).resolves.toEqual(
        Buffer.from([0x1f, 0x8b, 0, 1]),
      );
      await expect(text(await store.get('backups/b1/b1.tar.gz'))).resolves.toBe('part1-part2');
      await store.put('backups/b1/velero-backup.json', 'v2');
      await expect(text(await store.get('backups/b1/velero-backup.json'))).resolves.toBe('v2');
    });

    it('exists() tells present from absent keys', async () => {
      const store = (await newLocation()).open();
      await store.put('backups/b1/b1.tar.gz', 'x');
      await expect(store.exists('backups/b1/b1.tar.gz')).resolves.toBe(true);
      await expect(store.exists('backups/b1/velero-backup.json')).resolves.toBe(false);
      await expect(store.exists('backups/b2/b2.tar.gz')).resolves.toBe(false);
    });

    it('get() of a missing key rejects with StoreNotFoundError naming the key', async () => {
      const store = (await newLocation()).open();
      const err = await store.get('backups/nope/nope.tar.gz').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreNotFoundError);
      expect((err as StoreNotFoundError).key).toBe('backups/nope/nope.tar.gz');
      expect((err as Error).message).toContain(store.describe);
    });

    it('list() returns every key under a prefix, in key order, with sizes', async () => {
      const store = (await newLocation()).open();
      // Written out of order; 'backups/a-b' sorts before 'backups/a/' in byte order.
      const written = [
        'backups/b/2',
        'restores/r/1',
        'backups/a/x',
        'backups/a-b/y',
        'backups/a/y',
        'backups/b/1',
      ];
      for (const key of written) await store.put(key, key);
      expect(await keys(store, 'backups/')).toEqual([
        'backups/a-b/y',
        'backups/a/x',
        'backups/a/y',
        'backups/b/1',
        'backups/b/2',
      ]);
      expect(await keys(store, 'backups/a/')).toEqual(['backups/a/x', 'backups/a/y']);
      expect(await keys(store, 'backups/a')).toEqual(['backups/a-b/y', 'backups/a/x', 'backups/a/y']);
      expect(await keys(store, '')).toEqual([...written].sort());
      expect(await keys(store, 'nothing/')).toEqual([]);
      const listed = [];
      for await (const o of store.list('restores/')) listed.push(o);
      expect(listed).toHaveLength(1);
      expect(listed[0]).toMatchObject({ key: 'restores/r/1', size: 'restores/r/1'.length });
      expect(listed[0]?.lastModified).toBeInstanceOf(Date);
    });

    it('list() pages through more keys than one S3 listing page holds', async () => {
      const store = (await newLocation()).open();
      const names = Array.from({ length: 1105 }, (_, i) => `backups/many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < names.length; i += 50) {
        await Promise.all(names.slice(i, i + 50).map((k) => store.put(k, '')));
      }
      expect(await keys(store, 'backups/many/')).toEqual(names);
    });

    it('listPrefixes() returns the immediate "directories" under a prefix', async () => {
      const store = (await newLocation()).open();
      for (const key of [
        'backups/b2/x',
        'backups/b1/x',
        'backups/b1/deep/y',
        'backups/top',
        'backups/c1/x',
        'z/x',
      ]) {
        await store.put(key, 'x');
      }
      expect(await store.listPrefixes('backups/')).toEqual(['backups/b1/', 'backups/b2/', 'backups/c1/']);
      expect(await store.listPrefixes('backups/b')).toEqual(['backups/b1/', 'backups/b2/']);
      expect(await store.listPrefixes('')).toEqual(['backups/', 'z/']);
      expect(await store.listPrefixes('restores/')).toEqual([]);
    });

    it('delete() removes exactly the given keys and ignores absent ones', async () => {
      const store = (await newLocation()).open();
      for (const key of ['backups/b1/a', 'backups/b1/b', 'backups/b10/a', 'backups/b2/a'])
        await store.put(key, 'x');
      await store.delete(['backups/b1/a', 'backups/b1/b', 'backups/b1/never-existed']);
      expect(await keys(store, '')).toEqual(['backups/b10/a', 'backups/b2/a']);
      expect(await store.listPrefixes('backups/')).toEqual(['backups/b10/', 'backups/b2/']);
      await store.delete([]);
      expect(await keys(store, '')).toEqual(['backups/b10/a', 'backups/b2/a']);
    });

    it('streams a 25 MiB put (multipart on S3) and reads back the same bytes', async () => {
      const store = (await newLocation()).open();
      const size = 25 * 1024 * 1024;
      const body = generated(size);
      await store.put('backups/big/big.tar.gz', body.stream);
      const listed = [];
      for await (const o of store.list('backups/big/')) listed.push(o);
      expect(listed).toEqual([expect.objectContaining({ key: 'backups/big/big.tar.gz', size })]);
      const hash = createHash('sha256');
      for await (const chunk of await store.get('backups/big/big.tar.gz')) hash.update(chunk as Buffer);
      expect(hash.digest('hex')).toBe(body.sha256);
    });

    it('a put whose body stream fails stores nothing', async () => {
      const store = (await newLocation()).open();
      let sent = 0;
      const failing = new Readable({
        read() {
          // Past the first multipart part, then the producer fails (as an aborted backup does).
          if (sent >= 10 * 1024 * 1024) {
            this.destroy(new Error('producer failed'));
            return;
          }
          sent += 1024 * 1024;
          this.push(Buffer.alloc(1024 * 1024, 7));
        },
      });
      await expect(store.put('backups/b1/b1.tar.gz', failing)).rejects.toThrow(StoreError);
      await expect(store.exists('backups/b1/b1.tar.gz')).resolves.toBe(false);
      expect(await keys(store, '')).toEqual([]);
    });

    it('a read-only store reads, and refuses put and delete', async () => {
      const location = await newLocation();
      await location.open().put('backups/b1/b1.tar.gz', 'data');
      const store = location.open({ readOnly: true });
      expect(store.readOnly).toBe(true);
      await expect(store.put('backups/b1/other', 'x')).rejects.toThrow(ReadOnlyStoreError);
      await expect(store.delete(['backups/b1/b1.tar.gz'])).rejects.toThrow(ReadOnlyStoreError);
      await expect(text(await store.get('backups/b1/b1.tar.gz'))).resolves.toBe('data');
      expect(await keys(store, '')).toEqual(['backups/b1/b1.tar.gz']);
      await expect(store.check()).resolves.toBeUndefined();
    });
  });
}

describeStoreContract('LocalDirStore', async () => {
  const root = await tempDir('local-store-');
  return { open: (opts = {}) => new LocalDirStore({ root, readOnly: opts.readOnly ?? false }) };
});

function s3Options(overrides: Partial<S3StoreOptions> & { bucket: string }): S3StoreOptions {
  const { s3 } = ground();
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    ...overrides,
  };
}

describeStoreContract('S3Store', async () => {
  const bucket = await newBucket('contract');
  // A prefix, as Velero locations often have: the contract must hold relative to it.
  return { open: (opts = {}) => new S3Store(s3Options({ bucket, prefix: 'velero/cluster-a', ...opts })) };
});

describe('S3Store', () => {
  it('keeps every object under its prefix and lists keys relative to it', async () => {
    const bucket = await newBucket('prefix');
    const store = new S3Store(s3Options({ bucket, prefix: '/velero/cluster-a/' }));
    const neighbour = new S3Store(s3Options({ bucket, prefix: 'velero/cluster-ab' }));
    await store.put('backups/b1/b1.tar.gz', 'x');
    await neighbour.put('backups/b9/b9.tar.gz', 'y');
    const raw = await testS3Client().send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(raw.Contents?.map((o) => o.Key)).toEqual([
      'velero/cluster-a/backups/b1/b1.tar.gz',
      'velero/cluster-ab/backups/b9/b9.tar.gz',
    ]);
    expect(await keys(store, '')).toEqual(['backups/b1/b1.tar.gz']);
    expect(await store.listPrefixes('backups/')).toEqual(['backups/b1/']);
    expect(store.describe).toBe(`s3://${bucket}/velero/cluster-a`);
  });

  it('names the missing bucket and the endpoint', async () => {
    const bucket = uniqueName('missing');
    const store = new S3Store(s3Options({ bucket }));
    const want = `bucket ${bucket} does not exist at ${ground().s3.endpoint}`;
    await expect(store.check()).rejects.toThrow(want);
    await expect(store.put('backups/b1/b1.tar.gz', 'x')).rejects.toThrow(want);
    await expect(store.put('backups/b1/b1.tar.gz', Readable.from([Buffer.from('x')]))).rejects.toThrow(want);
    await expect(keys(store, 'backups/')).rejects.toThrow(want);
  });

  it('reports rejected credentials without revealing the secret', async () => {
    const bucket = await newBucket('creds');
    const secret = 'wrong-secret-4f8a1c';
    const { s3 } = ground();
    const store = new S3Store(
      s3Options({ bucket, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: secret } }),
    );
    const failures = await Promise.all([
      store.check().catch((e: unknown) => e),
      store.put('k', 'x').catch((e: unknown) => e),
      keys(store, '').catch((e: unknown) => e),
      store.get('k').catch((e: unknown) => e),
    ]);
    for (const err of failures) {
      expect(err).toBeInstanceOf(StoreError);
      expect((err as Error).message).toContain(`credentials rejected by ${s3.endpoint} for bucket ${bucket}`);
      expect((err as Error).message).not.toContain(secret);
      expect((err as Error).message).not.toContain(s3.secretAccessKey);
    }
  });

  it('reports an endpoint that cannot be reached', async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const store = new S3Store(s3Options({ bucket: 'any', endpoint }));
    await expect(store.check()).rejects.toThrow(`cannot reach S3 endpoint ${endpoint} (ECONNREFUSED)`);
  });

  it('an upload that fails tells its producer why', async () => {
    const bucket = uniqueName('missing');
    const partSize = 5 * 1024 * 1024;
    const store = new S3Store(s3Options({ bucket, multipart: { partSize, queueSize: 1 } }));
    // More than one part, then the producer stalls: the upload must fail on its own.
    const body = new Readable({ read() {} });
    body.push(Buffer.alloc(partSize + 1024));
    const producerError = new Promise<unknown>((resolve) => body.on('error', resolve));
    await expect(store.put('backups/b1/b1.tar.gz', body)).rejects.toThrow(StoreError);
    await expect(producerError).resolves.toBeInstanceOf(StoreError);
  });
});

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no TCP port');
  return address.port;
}
