// CSI snapshots in backups, on the ground's real CSI storage (csi-provisioner, csi-snapshotter,
// snapshot-controller and our driver): a backup takes one VolumeSnapshot per included claim,
// waits until it is ready, records handle and size in Velero's layout (archive, side files,
// volumeinfo) and its log; a snapshot the driver fails or stalls makes the backup
// PartiallyFailed naming that claim within csiSnapshotTimeout, and leaves no snapshot behind.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { runBackup, type BackupResult } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { SnapshotApi, type VolumeSnapshot } from '../src/kube/snapshots.js';
import { backupLayout } from '../src/storage/layout.js';
import { readSmallObject, type BackupStore } from '../src/storage/store.js';
import type { PodRecord } from '../src/volumes/collect.js';
import type { BackupVolumeInfo } from '../src/volumes/volume-info.js';
import { archiveEntries, groundKube, s3Store } from './fixtures/backups.js';
import type { CsiInfo, NodeInfo } from './ground/context.js';
import { ground, kubeConfig, newBucket, newNamespace, uniqueName } from './ground/world.js';
import { until } from './fixtures/pods.js';

function nodeAndCsi(): { node: NodeInfo; csi: CsiInfo } {
  const { node, csi } = ground();
  if (!node || !csi)
    throw new Error('the test ground has no node or no CSI storage (global-setup node: true)');
  return { node, csi };
}

/** The shared strict wait, with the 3 minutes these CSI steps are given. */
const eventually = <T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 180_000): Promise<T> =>
  until(fn, what, timeoutMs);

async function sideFile<T>(store: BackupStore, key: string): Promise<T> {
  return JSON.parse(gunzipSync(await readSmallObject(store, key)).toString('utf8')) as T;
}

let kube: KubeClient;
let core: CoreV1Api;
let api: SnapshotApi;
let namespace: string;

/** A bound claim on the ground's CSI storage; returns its volume's data directory in the driver. */
async function claim(name: string): Promise<string> {
  const { csi } = nodeAndCsi();
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: {
      metadata: { name, labels: { app: 'csi-backup-test' } },
      spec: {
        storageClassName: csi.storageClass,
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  const pvName = await eventually(async () => {
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
    return pvc.status?.phase === 'Bound' ? pvc.spec?.volumeName : undefined;
  }, `claim ${name} to be bound`);
  const pv = await core.readPersistentVolume({ name: pvName });
  return join(csi.stateDir, 'volumes', pv.spec?.csi?.volumeHandle ?? '?', 'data');
}

/** The backup's snapshots, without those being deleted (a finalizer holds them a while). */
async function snapshotsOf(backup: string): Promise<VolumeSnapshot[]> {
  const all = await api.snapshotsLabelled(`velero.io/backup-name=${backup}`);
  return all.filter((s) => !s.metadata.deletionTimestamp);
}

beforeAll(async () => {
  kube = await groundKube();
  core = kubeConfig().makeApiClient(CoreV1Api);
  api = new SnapshotApi(kube);
  namespace = await newNamespace('csi-backup');
});

afterAll(() => kube?.close());

describe('a backup of CSI volumes', () => {
  let store: BackupStore;
  let name: string;
  let result: BackupResult;
  const aroundPodCalls: string[] = [];

  beforeAll(async () => {
    const { node, csi } = nodeAndCsi();
    store = s3Store(await newBucket('csi'));
    const goodDir = await claim('good');
    const failDir = await claim('broken');
    const stallDir = await claim('stalled');
    await claim('unused');
    // The driver's fault injection: CreateSnapshot fails for one volume and never gets ready for another.
    await writeFile(join(failDir, '.ground-csi-fail-snapshot'), 'disk on fire\n');
    await writeFile(join(stallDir, '.ground-csi-stall-snapshot'), '');
    await writeFile(join(goodDir, 'blob'), Buffer.alloc(1 << 20, 7));
    // A pod mounting two of the claims: they are captured through it (around its hooks).
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'app' },
        spec: {
          containers: [
            {
              name: 'main',
              image: node.images.busybox,
              imagePullPolicy: 'Never',
              command: ['sleep', '3600'],
              volumeMounts: [
                { name: 'a', mountPath: '/a' },
                { name: 'b', mountPath: '/b' },
              ],
            },
          ],
          volumes: [
            { name: 'a', persistentVolumeClaim: { claimName: 'good' } },
            { name: 'b', persistentVolumeClaim: { claimName: 'broken' } },
          ],
          terminationGracePeriodSeconds: 0,
        },
      },
    });
    expect(csi.snapshotClass).toBe('ground-csi');
    name = uniqueName('csi');
    result = await runBackup(
      { name, spec: { includedNamespaces: [namespace], csiSnapshotTimeout: '20s' } },
      {
        kube,
        store,
        aroundPod: async (pod: PodRecord, capture) => {
          aroundPodCalls.push(`${pod.namespace}/${pod.name}`);
          await capture();
        },
      },
    );
  }, 600_000);

  it('takes a ready VolumeSnapshot of each claim and records handle, size and duration', async () => {
    const { csi } = nodeAndCsi();
    expect(result.failureReason).toBeUndefined();
    const byClaim = new Map(result.volumes.map((v) => [v.claim, v]));
    const good = byClaim.get('good');
    expect(good?.result).toBe('succeeded');
    expect(good?.pod).toBe('app');
    expect(good?.csi?.driver).toBe(csi.driver);
    expect(good?.csi?.volumeSnapshotClass).toBe('ground-csi');
    expect(good?.csi?.snapshotHandle).not.toBe('');
    expect(good?.csi?.restoreSize).toBe(1 << 30);
    expect(good!.completion!.getTime()).toBeGreaterThanOrEqual(good!.start!.getTime());
    expect(byClaim.get('unused')?.result).toBe('succeeded');
    expect(byClaim.get('unused')?.pod).toBeUndefined();
    expect(aroundPodCalls).toEqual([`${namespace}/app`]);

    const live = await snapshotsOf(name);
    expect(live.map((s) => s.spec.source.persistentVolumeClaimName).sort()).toEqual(['good', 'unused']);
    for (const s of live) expect(s.status?.readyToUse).toBe(true);
  });

  it('is PartiallyFailed, naming each claim whose snapshot failed or was not ready within the timeout', () => {
    expect(result.phase, result.failureReason).toBe('PartiallyFailed');
    const failed = result.errors.filter((e) => e.resource === 'persistentvolumeclaims');
    expect(failed.map((e) => `${e.namespace}/${e.name}`).sort()).toEqual([
      `${namespace}/broken`,
      `${namespace}/stalled`,
    ]);
    const broken = failed.find((e) => e.name === 'broken');
    expect(broken?.message).toMatch(
      /not ready to use within csiSnapshotTimeout \(20s\); last error: .*disk on fire/,
    );
    const stalled = failed.find((e) => e.name === 'stalled');
    expect(stalled?.message).toMatch(/not ready to use within csiSnapshotTimeout \(20s\)/);
    expect(result.metadata.status).toMatchObject({
      phase: 'PartiallyFailed',
      csiVolumeSnapshotsAttempted: 4,
      csiVolumeSnapshotsCompleted: 2,
    });
  });

  it('leaves no snapshot of a failed volume in the cluster', async () => {
    await eventually(
      async () => {
        const all = (await api.snapshotsLabelled('app=csi-backup-test')).filter(
          (s) => s.metadata.namespace === namespace,
        );
        const sources = all.map((s) => s.spec.source.persistentVolumeClaimName).sort();
        return sources.join(',') === 'good,unused' ? true : undefined;
      },
      'the failed snapshots to be deleted',
      60_000,
    );
  });

  it("stores the snapshots as Velero's CSI path does: archive entries, side files and volume info", async () => {
    const { items } = await archiveEntries(store, name);
    const kinds = (gr: string): string[] =>
      items
        .filter((i) => i.groupResource === gr && i.versionDir === '')
        .map((i) => (i.namespace ? `${i.namespace}/${i.name}` : i.name))
        .sort();
    const live = await snapshotsOf(name);
    expect(kinds('volumesnapshots.snapshot.storage.k8s.io')).toEqual(
      live.map((s) => `${namespace}/${s.metadata.name ?? ''}`).sort(),
    );
    expect(kinds('volumesnapshotcontents.snapshot.storage.k8s.io')).toEqual(
      live.map((s) => s.status?.boundVolumeSnapshotContentName ?? '').sort(),
    );
    expect(kinds('volumesnapshotclasses.snapshot.storage.k8s.io')).toEqual(['ground-csi']);

    // Each claim once per version directory; a snapshotted one names its snapshot as Velero's
    // restore looks for it (annotation velero.io/volume-snapshot-name).
    const claims = items.filter((i) => i.groupResource === 'persistentvolumeclaims');
    expect(claims.map((i) => `${i.versionDir}:${i.name}`).sort()).toEqual(
      ['broken', 'good', 'stalled', 'unused'].flatMap((n) => [`:${n}`, `v1-preferredversion:${n}`]).sort(),
    );
    const liveByClaim = new Map(live.map((s) => [s.spec.source.persistentVolumeClaimName, s.metadata.name]));
    for (const c of claims) {
      const marked = c.object.metadata.annotations?.['velero.io/volume-snapshot-name'];
      expect(marked, c.name).toBe(liveByClaim.get(c.name));
      if (marked) expect(c.object.metadata.labels?.['velero.io/backup-name']).toBe(name);
    }

    const vss = await sideFile<VolumeSnapshot[]>(store, backupLayout.csiVolumeSnapshots(name));
    expect(vss.map((s) => s.metadata.name).sort()).toEqual(live.map((s) => s.metadata.name).sort());
    const vscs = await sideFile<{ status: { snapshotHandle: string } }[]>(
      store,
      backupLayout.csiVolumeSnapshotContents(name),
    );
    expect(vscs).toHaveLength(2);
    const classes = await sideFile<{ metadata: { name: string } }[]>(
      store,
      backupLayout.csiVolumeSnapshotClasses(name),
    );
    expect(classes.map((c) => c.metadata.name)).toEqual(['ground-csi']);

    const info = await sideFile<BackupVolumeInfo[]>(store, backupLayout.volumeInfo(name));
    const good = info.find((i) => i.pvcName === 'good');
    expect(good).toMatchObject({
      pvcNamespace: namespace,
      backupMethod: 'CSISnapshot',
      result: 'succeeded',
      skipped: false,
      csiSnapshotInfo: { size: 1 << 30, ReadyToUse: true },
    });
    expect(vscs.map((c) => c.status.snapshotHandle)).toContain(good?.csiSnapshotInfo?.snapshotHandle);
    expect(info.find((i) => i.pvcName === 'stalled')).toMatchObject({ result: 'failed' });
  });

  it("lists each volume in the backup's log with its duration and size", async () => {
    const log = gunzipSync(await readSmallObject(store, backupLayout.log(name))).toString('utf8');
    const taken = log.split('\n').filter((l) => l.includes('msg="volume snapshot taken"'));
    expect(taken.map((l) => /claim="([^"]+)"/.exec(l)?.[1]).sort()).toEqual(['good', 'unused']);
    for (const l of taken) expect(l).toMatch(new RegExp(`restoreSize=${1 << 30} durationMs=\\d+`));
    expect(log).toMatch(/msg="volume snapshot failed".* claim="broken"/);
  });
});
