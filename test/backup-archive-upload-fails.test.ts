// Without object lock, a backup stores its resource list and log while the archive's upload
// completes (docs/decisions/0047-backup-tail-and-entries.md). When that upload then fails, the
// backup must still leave what a failed backup leaves: its Failed record and log, and neither
// archive nor resource list. The archive's upload is made to fail for real: the ground's S3
// server sits behind toxiproxy, which cuts every connection after a number of bytes sent that
// the archive's PUT passes and the small files' do not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { getBackup, readBackupLog } from '../src/backup/catalog.js';
import type { KubeClient } from '../src/kube/client.js';
import { S3Store } from '../src/storage/s3-store.js';
import { backupLayout } from '../src/storage/layout.js';
import { ground, newBucket, uniqueName } from './ground/world.js';
import { startToxiproxy, type Toxiproxy } from './ground/toxiproxy.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';

/** Bytes a connection may send before toxiproxy cuts it: far above a log, far below the archive. */
const CUT_AFTER = 256 * 1024;

let kube: KubeClient;
let seeded: Seeded;
let toxiproxy: Toxiproxy;

beforeAll(async () => {
  kube = await groundKube();
  seeded = await seedNamespaces({
    kube,
    prefix: uniqueName('upfail'),
    namespaces: 1,
    // ~2 MB of hard-to-compress data: the archive's PUT is well past CUT_AFTER.
    perNamespace: { configMaps: 20 },
    configMapBytes: 100_000,
  });
  toxiproxy = await startToxiproxy({ workDir: ground().workDir });
}, 300_000);

afterAll(async () => {
  if (kube && seeded) await deleteNamespaces(kube, seeded.namespaces);
  await toxiproxy?.stop();
  kube?.close();
}, 300_000);

describe('a backup whose archive upload fails', () => {
  it('leaves its Failed record and log, and neither archive nor resource list', async () => {
    const s3 = new URL(ground().s3.endpoint);
    const proxy = await toxiproxy.proxy('s3-cut', `${s3.hostname}:${s3.port}`);
    await proxy.addToxic({
      name: 'cut-request',
      type: 'limit_data',
      stream: 'upstream',
      toxicity: 1,
      attributes: { bytes: CUT_AFTER },
    });
    const bucket = await newBucket('upfail');
    const { s3: ep } = ground();
    const store = new S3Store({
      bucket,
      endpoint: proxy.url,
      region: ep.region,
      forcePathStyle: true,
      credentials: { accessKeyId: ep.accessKeyId, secretAccessKey: ep.secretAccessKey },
      network: { connectTimeoutMs: 5_000, responseTimeoutMs: 20_000, idleTimeoutMs: 10_000, maxAttempts: 2 },
    });
    const name = uniqueName('upfail');
    const result = await runBackup(
      { name, spec: { includedNamespaces: seeded.namespaces } },
      { kube, store },
    );
    expect(result.phase).toBe('Failed');
    expect(result.failureReason).toContain(backupLayout.archive(name));

    const clean = s3Store(bucket);
    const stored = await getBackup(clean, name);
    expect(stored.status.phase).toBe('Failed');
    expect(await clean.exists(backupLayout.archive(name))).toBe(false);
    expect(await clean.exists(backupLayout.resourceList(name))).toBe(false);
    expect(await readBackupLog(clean, name)).toMatch(/backup failed/);
  }, 300_000);
});
