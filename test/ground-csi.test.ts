// Proof that the ground's CSI storage is real: a PVC is provisioned by csi-provisioner through
// our driver and bind-mounted into a pod by the kubelet; a VolumeSnapshot taken by the
// snapshot-controller and csi-snapshotter keeps the data as it was; a PVC restored from it holds
// that data in another pod; deleting the PVC deletes the volume.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import type { CsiInfo, NodeInfo } from './ground/context.js';
import { ground, kubeConfig, newNamespace } from './ground/world.js';
import { until } from './fixtures/pods.js';

function nodeAndCsi(): { node: NodeInfo; csi: CsiInfo } {
  const { node, csi } = ground();
  if (!node || !csi) {
    throw new Error(
      'the test ground has no node or no CSI storage: global-setup must start it with node: true',
    );
  }
  return { node, csi };
}

/** The shared strict wait, with the 3 minutes these CSI steps are given. */
const eventually = <T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 180_000): Promise<T> =>
  until(fn, what, timeoutMs);

describe('the ground CSI storage', () => {
  it('provisions, mounts, snapshots, restores from the snapshot and deletes volumes', async () => {
    const { node, csi } = nodeAndCsi();
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const custom = kc.makeApiClient(CustomObjectsApi);
    const namespace = await newNamespace('csi');

    const createPvc = async (name: string, fromSnapshot?: string): Promise<string> => {
      await core.createNamespacedPersistentVolumeClaim({
        namespace,
        body: {
          metadata: { name },
          spec: {
            storageClassName: csi.storageClass,
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: '1Gi' } },
            ...(fromSnapshot && {
              dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: fromSnapshot },
            }),
          },
        },
      });
      return eventually(async () => {
        const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
        return pvc.status?.phase === 'Bound' ? pvc.spec?.volumeName : undefined;
      }, `PVC ${name} to be bound`);
    };

    /** Runs a pod with the PVC at /data to completion and returns what it printed. */
    const runPod = async (name: string, claim: string, script: string): Promise<string> => {
      const pod: V1Pod = {
        metadata: { name },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: node.images.busybox,
              imagePullPolicy: 'Never',
              command: ['sh', '-euc', script],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }],
        },
      };
      await core.createNamespacedPod({ namespace, body: pod });
      const phase = await eventually(async () => {
        const p = await core.readNamespacedPod({ name, namespace });
        return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined;
      }, `pod ${name} to finish`);
      const out = await core.readNamespacedPodLog({ name, namespace });
      expect(phase, `pod ${name} printed:\n${out}`).toBe('Succeeded');
      await core.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 });
      return out;
    };
    const checksums = 'cd /data && sha256sum blob dir/version';

    // Provision and write.
    const sourcePv = await createPvc('source');
    const pv = await core.readPersistentVolume({ name: sourcePv });
    expect(pv.spec?.csi?.driver).toBe(csi.driver);
    expect(pv.spec?.capacity?.storage).toBe('1Gi');
    const sourceVolumeDir = join(csi.stateDir, 'volumes', pv.spec?.csi?.volumeHandle ?? '?');
    expect(existsSync(sourceVolumeDir)).toBe(true);
    const written = await runPod(
      'writer',
      'source',
      `head -c 1048576 /dev/urandom > /data/blob; mkdir /data/dir; echo first > /data/dir/version; ${checksums}`,
    );
    expect(written).toMatch(/^[0-9a-f]{64} {2}blob\n[0-9a-f]{64} {2}dir\/version\n$/);

    // Snapshot.
    const snapshots = {
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      namespace,
      plural: 'volumesnapshots',
    };
    await custom.createNamespacedCustomObject({
      ...snapshots,
      body: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: 'snap' },
        spec: { volumeSnapshotClassName: csi.snapshotClass, source: { persistentVolumeClaimName: 'source' } },
      },
    });
    const snapStatus = await eventually(async () => {
      const s = (await custom.getNamespacedCustomObject({ ...snapshots, name: 'snap' })) as {
        status?: {
          readyToUse?: boolean;
          restoreSize?: string;
          boundVolumeSnapshotContentName?: string;
          error?: unknown;
        };
      };
      if (s.status?.error) throw new Error(`snapshot failed: ${JSON.stringify(s.status.error)}`);
      return s.status?.readyToUse ? s.status : undefined;
    }, 'VolumeSnapshot snap to be ready');
    expect(snapStatus.restoreSize).toBe('1Gi');

    // Overwrite after the snapshot.
    const overwritten = await runPod(
      'overwriter',
      'source',
      `head -c 1048576 /dev/urandom > /data/blob; echo second > /data/dir/version; ${checksums}`,
    );
    expect(overwritten.split('\n')[0]).not.toBe(written.split('\n')[0]);
    expect(overwritten.split('\n')[1]).not.toBe(written.split('\n')[1]);

    // Restore the snapshot into a new PVC: it has the data as of the snapshot.
    const restoredPv = await createPvc('restored', 'snap');
    const restored = await runPod('reader', 'restored', checksums);
    expect(restored).toBe(written);
    // … and the source still has the later data.
    expect(await runPod('source-reader', 'source', checksums)).toBe(overwritten);

    // Deleting the PVC deletes the PV and the driver's directory.
    const restoredHandle =
      (await core.readPersistentVolume({ name: restoredPv })).spec?.csi?.volumeHandle ?? '?';
    const restoredDir = join(csi.stateDir, 'volumes', restoredHandle);
    expect(existsSync(restoredDir)).toBe(true);
    await core.deleteNamespacedPersistentVolumeClaim({ name: 'restored', namespace });
    await eventually(async () => {
      const pvs = await core.listPersistentVolume();
      return pvs.items.some((p) => p.metadata?.name === restoredPv) ? undefined : true;
    }, `PV ${restoredPv} to be deleted`);
    expect(existsSync(restoredDir)).toBe(false);

    // Deleting the VolumeSnapshot (deletionPolicy Delete) deletes the driver's copy.
    const content = (await custom.getClusterCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      plural: 'volumesnapshotcontents',
      name: snapStatus.boundVolumeSnapshotContentName ?? '?',
    })) as { status?: { snapshotHandle?: string } };
    const snapshotDir = join(csi.stateDir, 'snapshots', content.status?.snapshotHandle ?? '?');
    expect(existsSync(snapshotDir)).toBe(true);
    await custom.deleteNamespacedCustomObject({ ...snapshots, name: 'snap' });
    await eventually(
      () => Promise.resolve(existsSync(snapshotDir) ? undefined : true),
      'the snapshot copy to be deleted',
    );
  });
});
