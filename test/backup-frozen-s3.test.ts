// A frozen S3 server — a process stopped, a connection a firewall silently dropped — used to
// hold a backup for ever: the SDK waits without limit by default. Here the real S3 server sits
// behind a loopback proxy that stops passing bytes once the backup has begun; the backup must
// end Failed within its timeouts and retries, saying which endpoint and which object, and a
// restore reading from the frozen server must fail the same way instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../src/backup/engine.js';
import { getBackup } from '../src/backup/catalog.js';
import { planRestore } from '../src/restore/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { S3Store, type S3NetworkOptions } from '../src/storage/s3-store.js';
import { backupLayout } from '../src/storage/layout.js';
import { ground, newBucket, uniqueName } from './ground/world.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';
import { startTcpProxy, type TcpProxy } from './fixtures/tcp-proxy.js';

/** Short, so the test takes seconds: ~2 s without a byte, 2 tries per request. */
const NETWORK: S3NetworkOptions = {
  connectTimeoutMs: 2_000,
  responseTimeoutMs: 3_000,
  idleTimeoutMs: 2_000,
  maxAttempts: 2,
};
/** Far beyond what the timeouts above allow; only a hang gets here. */
const HANG = 120_000;

let kube: KubeClient;
let seeded: Seeded;
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  kube = await groundKube();
  seeded = await seedNamespaces({
    kube,
    prefix: uniqueName('frozen'),
    namespaces: 1,
    perNamespace: { configMaps: 20 },
  });
}, 120_000);
afterAll(async () => {
  for (const p of proxies) await p.close();
  kube?.close();
});

/** The ground's S3 server, through a proxy this test can freeze. */
async function frozenLater(bucket: string): Promise<{ store: S3Store; proxy: TcpProxy }> {
  const real = new URL(ground().s3.endpoint);
  const proxy = await startTcpProxy({ host: real.hostname, port: Number(real.port) });
  proxies.push(proxy);
  const { s3 } = ground();
  const store = new S3Store({
    bucket,
    endpoint: proxy.url,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    network: NETWORK,
  });
  return { store, proxy };
}

function withinBound<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} still hangs after ${HANG / 1000} s`)), HANG);
  });
  return Promise.race([work, hang]).finally(() => clearTimeout(timer));
}

describe('a backup to an S3 server that freezes', () => {
  it('ends Failed, naming the endpoint and the object, instead of hanging', async () => {
    const bucket = await newBucket('frozen');
    const { store, proxy } = await frozenLater(bucket);
    const name = uniqueName('b');
    // The bucket is checked and the revision chosen; then the server stops answering, before
    // the archive's upload begins.
    const result: BackupResult = await withinBound(
      runBackup(
        { name, spec: { includedNamespaces: seeded.namespaces } },
        { kube, store, onRevision: () => Promise.resolve(proxy.freeze()) },
      ),
      'the backup',
    );
    expect(result.phase).toBe('Failed');
    expect(result.failureReason).toMatch(
      new RegExp(
        `^S3 endpoint ${proxy.url} did not answer in time \\(\\d attempt\\(s\\): .*\\) while writing ${backupLayout.archive(name)}$`,
      ),
    );
    // Nothing that looks like a backup reached the real server.
    await expect(getBackup(s3Store(bucket), name)).rejects.toThrow(/not found/);
  }, 180_000);
});

describe('a restore from an S3 server that freezes', () => {
  it('fails naming the endpoint instead of hanging', async () => {
    const bucket = await newBucket('frozen');
    const name = uniqueName('b');
    const done = await runBackup(
      { name, spec: { includedNamespaces: seeded.namespaces } },
      { kube, store: s3Store(bucket) },
    );
    expect(done.phase).toBe('Completed');
    const { store, proxy } = await frozenLater(bucket);
    // Frozen once the backup's metadata has been read: the archive's GET hangs.
    const read = await getBackup(store, name);
    expect(read.metadata.name).toBe(name);
    proxy.freeze();
    const err = await withinBound(
      planRestore({ name: uniqueName('r'), spec: { backupName: name } }, { kube, store }).catch(
        (e: unknown) => e,
      ),
      'the restore plan',
    );
    expect((err as Error).message).toMatch(new RegExp(`^S3 endpoint ${proxy.url} did not answer in time`));
  }, 180_000);
});
