// Two reconcilers on one repository and one location: an approved restore is applied exactly
// once however their passes interleave. And the two kinds of leadership — a lock object in the
// bucket and a Lease on the apiserver — let one holder at a time lead, and hand over when the
// holder releases or stops renewing.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WorkingCopy, type CommitAndPushOptions, type CommitResult } from '../src/gitops/working-copy.js';
import { BucketLock, LeaseLock } from '../src/reconcile/leader.js';
import type { RestoreResult } from '../src/restore/engine.js';
import type { RestorePlan } from '../src/restore/plan.js';
import { S3Store } from '../src/storage/s3-store.js';
import { LOCK_KEY } from '../src/storage/layout.js';
import { readSmallObject } from '../src/storage/store.js';
import { configMap, createAll, read, uniqueName } from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  restoreDoc,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { ground, newBucket, newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

/** A working copy that waits at `beforeNextCommit` (once) before its next commit. */
class RendezvousWorkingCopy extends WorkingCopy {
  beforeNextCommit: (() => Promise<void>) | undefined;
  override async commitAndPush(options: CommitAndPushOptions): Promise<CommitResult> {
    const wait = this.beforeNextCommit;
    this.beforeNextCommit = undefined;
    await wait?.();
    return super.commitAndPush(options);
  }
}

/** Resolves for everyone once `parties` have arrived (or after a timeout, so a miss fails an assertion, not the run). */
function barrier(parties: number, timeoutMs = 20_000): () => Promise<void> {
  let arrived = 0;
  let release = (): void => undefined;
  const all = new Promise<void>((resolve) => {
    release = resolve;
    setTimeout(resolve, timeoutMs).unref();
  });
  return () => {
    if (++arrived >= parties) release();
    return all;
  };
}

describe('two reconcilers', () => {
  it('apply an approved restore exactly once, concurrently or one after the other', async () => {
    const ns = await newNamespace('twice');
    const target = uniqueName('twice-copy');
    const k = await kube.get();
    await createAll(k, [configMap(ns, 'a', { v: '1' }), configMap(ns, 'b', { v: '2' })]);
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/shop.yaml': scheduleDoc('shop', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    // One data directory, so both see the same location; two working copies.
    const dataDir = await tempDir('twice-data-');
    const clock = new FakeClock('2025-08-01T06:00:00Z');
    const workingCopy = async () =>
      new RendezvousWorkingCopy({
        remoteUrl: repo.remote,
        dir: await newWorkdir(),
        pushRetry: { baseDelayMs: 1, maxDelayMs: 20 },
      });
    const firstWc = await workingCopy();
    const secondWc = await workingCopy();
    const first = await reconcilerFor(repo, { dataDir, kube, clock, wc: firstWc });
    const second = await reconcilerFor(repo, { dataDir, kube, clock, wc: secondWc });
    await first.pass();

    await (
      await repo.as(BOB)
    ).push(
      {
        'restores/copy.yaml': restoreDoc('copy', {
          backupName: 'shop-20250801060000',
          includedNamespaces: [ns],
          namespaceMapping: { [ns]: target },
        }),
      },
      { message: 'copy', branch: 'restore/copy' },
    );
    await first.pass();
    const plan = JSON.parse((await repo.file('plans/copy.json', 'restore/copy')) ?? 'null') as RestorePlan;
    const planned = (gr: string, name: string) =>
      plan.items.find((i) => i.groupResource === gr && i.name === name)?.action;
    expect([planned('namespaces', target), planned('configmaps', 'a'), planned('configmaps', 'b')]).toEqual([
      'create',
      'create',
      'create',
    ]);
    await (await repo.as(CAROL)).mergeNoFf('restore/copy');

    // Both passes at once, lined up so that both have decided to apply before either commits
    // anything; then each again, one after the other.
    const lineUp = barrier(2);
    firstWc.beforeNextCommit = lineUp;
    secondWc.beforeNextCommit = lineUp;
    const concurrent = await Promise.all([first.pass(), second.pass()]);
    for (const report of concurrent) {
      expect(
        report.actions.map(
          (a) => `${a.type} ${'restore' in a ? a.restore : 'backupName' in a ? a.backupName : a.key}`,
        ),
      ).toEqual(['apply-restore copy']);
    }
    const sequential = [await first.pass(), await second.pass()];
    const applyEvents = [...concurrent, ...sequential].flatMap((report) =>
      report.events.filter((e) => e.action === 'apply-restore'),
    );
    expect(applyEvents).toEqual([{ action: 'apply-restore', subject: 'copy', outcome: 'Completed' }]);

    // The stored record is of one apply that created what it planned to create: a second apply
    // would have found every object and recorded it as skipped (or updated).
    const record = JSON.parse(
      await readFile(join(dataDir, 'backups', 'restores', 'copy', 'lifeboat-restore.json'), 'utf8'),
    ) as RestoreResult;
    expect(record).toMatchObject({ phase: 'Completed', planHash: plan.hash });
    const result = (gr: string, namespace: string, name: string) =>
      record.items.find((i) => i.groupResource === gr && i.namespace === namespace && i.name === name)
        ?.result;
    expect(result('namespaces', '', target)).toBe('created');
    expect(result('configmaps', target, 'a')).toBe('created');
    expect(result('configmaps', target, 'b')).toBe('created');
    expect(record.items).toHaveLength(plan.items.length);
    expect(record.counts.failed).toBe(0);
    expect((await read(k, configMap(target, 'a', {})))?.data).toEqual({ v: '1' });
    expect((await read(k, configMap(target, 'b', {})))?.data).toEqual({ v: '2' });

    // Git says so once too.
    const applies = (await repo.commits('main', { firstParent: true })).filter((c) =>
      c.trailers['Lifeboat-Action']?.includes('apply-restore'),
    );
    expect(applies).toHaveLength(1);
    expect(await repo.yaml('status/restores/copy.yaml')).toMatchObject({
      phase: 'Completed',
      counts: record.counts,
    });
  });
});

describe('BucketLock', () => {
  const store = async () => {
    const { s3 } = ground();
    return new S3Store({
      bucket: await newBucket('lock'),
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
  };

  it('lets one of two contenders hold it; the other takes over on release or when it goes stale', async () => {
    const s = await store();
    const a = new BucketLock(s, 'reconciler-a', 60, 100);
    const b = new BucketLock(s, 'reconciler-b', 60, 100);
    const t0 = new Date('2025-08-01T00:00:00Z');
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

    // Both try at once: exactly one wins, and the lock names it.
    const [gotA, gotB] = await Promise.all([a.tryAcquire(t0), b.tryAcquire(t0)]);
    expect([gotA, gotB].filter(Boolean)).toHaveLength(1);
    const [holder, other] = gotA ? [a, b] : [b, a];
    const lock = JSON.parse((await readSmallObject(s, LOCK_KEY)).toString('utf8')) as { holder: string };
    expect(lock.holder).toBe(holder.identity);

    // While the holder renews, the other waits.
    expect(await holder.tryAcquire(at(30))).toBe(true);
    expect(await other.tryAcquire(at(31))).toBe(false);
    // Releasing hands it over at once.
    await holder.release();
    expect(await other.tryAcquire(at(32))).toBe(true);
    expect(await holder.tryAcquire(at(33))).toBe(false);
    // The new holder stops renewing (it died): after its duration the first takes over.
    expect(await holder.tryAcquire(at(32 + 59))).toBe(false);
    expect(await holder.tryAcquire(at(32 + 60))).toBe(true);
    expect(await other.tryAcquire(at(32 + 61))).toBe(false);
    // Releasing a lock one does not hold leaves it alone.
    await other.release();
    expect(await s.exists(LOCK_KEY)).toBe(true);
  });
});

describe('LeaseLock', () => {
  it('lets one of two contenders hold the Lease; the other takes over on release or when it expires', async () => {
    const namespace = await newNamespace('lease');
    const k = await kube.get();
    const a = new LeaseLock({ kube: k, namespace, identity: 'reconciler-a', durationSeconds: 60 });
    const b = new LeaseLock({ kube: k, namespace, identity: 'reconciler-b', durationSeconds: 60 });
    const t0 = new Date('2025-08-01T00:00:00Z');
    const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

    const [gotA, gotB] = await Promise.all([a.tryAcquire(t0), b.tryAcquire(t0)]);
    expect([gotA, gotB].filter(Boolean)).toHaveLength(1);
    const [holder, other] = gotA ? [a, b] : [b, a];
    const lease = await k.request<{ spec: { holderIdentity: string; leaseDurationSeconds: number } }>({
      method: 'GET',
      path: `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/lifeboat-reconciler`,
    });
    expect(lease.spec).toMatchObject({ holderIdentity: holder.identity, leaseDurationSeconds: 60 });

    expect(await holder.tryAcquire(at(30))).toBe(true);
    expect(await other.tryAcquire(at(31))).toBe(false);
    await holder.release();
    expect(await other.tryAcquire(at(32))).toBe(true);
    expect(await holder.tryAcquire(at(33))).toBe(false);
    expect(await holder.tryAcquire(at(32 + 59))).toBe(false);
    expect(await holder.tryAcquire(at(32 + 60))).toBe(true);
    expect(await other.tryAcquire(at(32 + 61))).toBe(false);

    // Two contenders for an expired Lease at the same moment: both update from the same read,
    // and the apiserver accepts one (resourceVersion), so still only one wins.
    const [x, y] = await Promise.all([a.tryAcquire(at(500)), b.tryAcquire(at(500))]);
    expect([x, y].filter(Boolean)).toHaveLength(1);
  });
});
