// Snapshots live and die with their backup, through the reconciler on the ground's real CSI
// storage: a scheduled backup snapshots the namespace's claim; when its TTL ends, expiry deletes
// the VolumeSnapshot and (deletionPolicy Delete) its content, so nothing is left behind; and a
// pass reports a snapshot labelled with a backup that no location holds.
import { afterEach, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { SnapshotApi } from '../src/kube/snapshots.js';
import {
  createPolicyRepo,
  FakeClock,
  HOUR,
  KubeHandle,
  localLocation,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { ground, kubeConfig, newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

async function eventually<T>(
  fn: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 180_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('CSI snapshots and expiry', () => {
  it('deletes a backup’s snapshots when it expires and reports snapshots whose backup is gone', async () => {
    const { csi } = ground();
    if (!csi) throw new Error('the test ground has no CSI storage (global-setup node: true)');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const api = new SnapshotApi(await kube.get());
    const ns = await newNamespace('csi-expiry');
    await core.createNamespacedPersistentVolumeClaim({
      namespace: ns,
      body: {
        metadata: { name: 'data' },
        spec: {
          storageClassName: csi.storageClass,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    await eventually(async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: ns });
      return pvc.status?.phase === 'Bound' ? true : undefined;
    }, 'the claim to be bound');
    // A snapshot some backup took whose backup is gone from every location.
    await api.createSnapshot({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'orphan', namespace: ns, labels: { 'velero.io/backup-name': `gone-${ns}` } },
      spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: csi.snapshotClass },
    });

    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'primary', isDefault: true }),
      // Yearly, so the first pass takes the only backup; kept one hour.
      'schedules/vols.yaml': scheduleDoc('vols', { cron: '0 0 1 1 *', namespaces: [ns], ttl: '1h' }),
    });
    // Hours ahead of the real clock: the orphan is then older than the leftover grace period.
    const clock = new FakeClock(new Date(Date.now() + 3 * HOUR).toISOString());
    const r = await reconcilerFor(repo, { dataDir: await tempDir('csi-expiry-'), kube, clock });

    const first = await r.pass();
    const backup = first.events.find((e) => e.action === 'backup')?.subject;
    expect(backup, JSON.stringify(first.events)).toBeDefined();
    const taken = await api.snapshotsLabelled(`velero.io/backup-name=${backup}`);
    expect(taken.map((s) => `${s.metadata.namespace}/${s.spec.source.persistentVolumeClaimName}`)).toEqual([
      `${ns}/data`,
    ]);
    expect(taken[0]?.status?.readyToUse).toBe(true);
    const content = taken[0]?.status?.boundVolumeSnapshotContentName ?? '?';
    expect(await api.content(content)).not.toBeNull();
    expect((first.orphanSnapshots ?? []).filter((o) => o.namespace === ns)).toEqual([
      expect.objectContaining({ namespace: ns, name: 'orphan', backup: `gone-${ns}` }),
    ]);

    clock.advance(2 * HOUR);
    const second = await r.pass();
    expect(second.events.map((e) => `${e.action} ${e.subject}`)).toContain(`expire ${backup}`);
    expect(await api.snapshotsLabelled(`velero.io/backup-name=${backup}`)).toEqual([]);
    // deletionPolicy Delete: the snapshot-controller removes the content (and the driver's copy).
    await eventually(
      async () => ((await api.content(content)) === null ? true : undefined),
      `content ${content} to go`,
    );
    // The orphan is reported again: lifeboat reports it, it does not delete what it cannot place.
    expect((second.orphanSnapshots ?? []).map((o) => o.name)).toContain('orphan');
    await api.deleteSnapshot(ns, 'orphan');
  }, 600_000);
});
