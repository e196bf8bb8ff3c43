import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { prepareDesiredObject } from './plan.js';
import type { CsiRestoreContext } from './csi-restore.js';
import {
  backedUpSnapshotObjects,
  restoredSnapshotName,
  VOLUME_SNAPSHOT_CONTENTS,
  VOLUME_SNAPSHOTS,
} from './csi-restore.js';

const claim: KubeObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: {
    name: 'data',
    namespace: 'shop',
    uid: 'u1',
    annotations: {
      'velero.io/volume-snapshot-name': 'velero-data-x7k2p',
      'pv.kubernetes.io/bind-completed': 'yes',
    },
  },
  spec: {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: '16Mi' } },
    storageClassName: 'ground-csi',
    volumeName: 'pvc-1',
  },
  status: { phase: 'Bound' },
};
const snapshot: KubeObject = {
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshot',
  metadata: { name: 'velero-data-x7k2p', namespace: 'shop', uid: 'u2' },
  spec: { source: { persistentVolumeClaimName: 'data' }, volumeSnapshotClassName: 'ground-csi' },
  status: { boundVolumeSnapshotContentName: 'snapcontent-1', readyToUse: true, restoreSize: '16Mi' },
};
const content: KubeObject = {
  apiVersion: 'snapshot.storage.k8s.io/v1',
  kind: 'VolumeSnapshotContent',
  metadata: { name: 'snapcontent-1', uid: 'u3' },
  spec: {
    deletionPolicy: 'Delete',
    driver: 'csi.ground.lifeboat.dev',
    source: { volumeHandle: 'vol-1' },
    volumeSnapshotClassName: 'ground-csi',
    volumeSnapshotRef: { kind: 'VolumeSnapshot', namespace: 'shop', name: 'velero-data-x7k2p', uid: 'u2' },
  },
  status: { snapshotHandle: 'snap-abc', readyToUse: true },
};
const volume: KubeObject = {
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: { name: 'pvc-1' },
  spec: { persistentVolumeReclaimPolicy: 'Retain', claimRef: { namespace: 'shop', name: 'data' } },
};

function prepare(
  obj: KubeObject,
  gr: string,
  extra: Partial<CsiRestoreContext> = {},
  mapping?: Record<string, string>,
) {
  return prepareDesiredObject(obj, {
    groupResource: gr,
    spec: {
      backupName: 'b',
      ...(mapping ? { namespaceMapping: mapping } : {}),
      ...(extra.restorePVs === false ? { restorePVs: false } : {}),
    },
    backupName: 'b',
    restoreName: 'r1',
    restoreStatus: false,
    csi: {
      restoreName: 'r1',
      snapshots: new Map(),
      snapshottedVolumes: new Set(['pvc-1']),
      ...(mapping ? { namespaceMapping: mapping } : {}),
      ...extra,
    },
  });
}

describe('claims restored from CSI snapshots', () => {
  const name = restoredSnapshotName('r1', 'shop', 'velero-data-x7k2p');

  it('names the restored snapshot after the restore and the backed-up snapshot', () => {
    expect(name).toMatch(/^lifeboat-[0-9a-f]{40}$/);
    expect(restoredSnapshotName('r2', 'shop', 'velero-data-x7k2p')).not.toBe(name);
    expect(restoredSnapshotName('r1', 'other', 'velero-data-x7k2p')).not.toBe(name);
  });

  it('restores the claim with dataSource to the restored VolumeSnapshot, in the mapped namespace', () => {
    const out = prepare(claim, 'persistentvolumeclaims', {}, { shop: 'shop-copy' });
    expect(out.desired?.metadata.namespace).toBe('shop-copy');
    expect(out.desired?.spec).toEqual({
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: '16Mi' } },
      storageClassName: 'ground-csi',
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name },
    });
  });

  it('re-creates the VolumeSnapshot bound to a static content of the same name', () => {
    const vs = prepare(snapshot, VOLUME_SNAPSHOTS, {}, { shop: 'shop-copy' }).desired;
    expect(vs?.metadata.name).toBe(name);
    expect(vs?.metadata.namespace).toBe('shop-copy');
    expect(vs?.metadata.annotations?.['velero.io/csi-vsc-deletion-policy']).toBe('Retain');
    expect(vs?.spec).toEqual({ source: { volumeSnapshotContentName: name } });
    expect(vs?.status).toBeUndefined();

    const vsc = prepare(content, VOLUME_SNAPSHOT_CONTENTS, {}, { shop: 'shop-copy' }).desired;
    expect(vsc?.metadata.name).toBe(name);
    expect(vsc?.spec).toEqual({
      deletionPolicy: 'Retain',
      driver: 'csi.ground.lifeboat.dev',
      source: { snapshotHandle: 'snap-abc' },
      volumeSnapshotRef: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        namespace: 'shop-copy',
        name,
      },
    });
  });

  it('skips the claim’s old volume: the provisioner makes a new one from the snapshot', () => {
    expect(prepare(volume, 'persistentvolumes')).toEqual({
      desired: null,
      skipReason: 'its data is in a CSI snapshot: the restored claim is provisioned a new volume from it',
    });
  });

  it('finds the claim’s snapshot in the side files when the claim lacks Velero’s annotation', () => {
    const bare = structuredClone(claim);
    delete bare.metadata.annotations;
    const snapshots = new Map([
      ['shop/data', { namespace: 'shop', claim: 'data', volumeSnapshot: 'velero-data-x7k2p' }],
    ]);
    const spec = prepare(bare, 'persistentvolumeclaims', { snapshots }).desired?.spec as {
      dataSource?: unknown;
    };
    expect(spec.dataSource).toEqual({ apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name });
  });

  it('restorePVs false: no snapshot objects, and the claim gets a new empty volume (Velero)', () => {
    const off = { restorePVs: false };
    expect(prepare(snapshot, VOLUME_SNAPSHOTS, off)).toMatchObject({
      desired: null,
      skipReason: /restorePVs is false/,
    });
    expect(prepare(content, VOLUME_SNAPSHOT_CONTENTS, off)).toMatchObject({ desired: null });
    const spec = prepare(claim, 'persistentvolumeclaims', off).desired?.spec as Record<string, unknown>;
    expect(spec.dataSource).toBeUndefined();
    expect(spec.volumeName).toBeUndefined();
    // The volume itself then follows lifeboat's object rules (a Retain volume is restored as is).
    expect(prepare(volume, 'persistentvolumes', off).desired?.metadata.name).toBe('pvc-1');
  });

  it('makes a snapshot whose backup lacks what a restore needs invalid, naming it', () => {
    const unbound = structuredClone(snapshot);
    delete unbound.status;
    expect(prepare(unbound, VOLUME_SNAPSHOTS)).toEqual({
      desired: null,
      invalidReason: 'VolumeSnapshot shop/velero-data-x7k2p has no bound VolumeSnapshotContent in the backup',
    });
    const noHandle = structuredClone(content);
    delete noHandle.status;
    expect(prepare(noHandle, VOLUME_SNAPSHOT_CONTENTS)).toEqual({
      desired: null,
      invalidReason: 'VolumeSnapshotContent snapcontent-1 in the backup lacks status.snapshotHandle',
    });
  });

  it('makes the snapshot objects from the side files when the archive lacks them', () => {
    // Velero 1.18's volume info alone: handle, driver and content name.
    const snap = {
      namespace: 'shop',
      claim: 'data',
      volumeSnapshot: 'velero-data-x7k2p',
      content: 'snapcontent-1',
      snapshotHandle: 'snap-abc',
      driver: 'csi.ground.lifeboat.dev',
    };
    const { vs, vsc } = backedUpSnapshotObjects(snap);
    const restoredVs = prepare(vs, VOLUME_SNAPSHOTS).desired;
    expect(restoredVs?.metadata).toMatchObject({ name, namespace: 'shop' });
    expect(restoredVs?.spec).toEqual({ source: { volumeSnapshotContentName: name } });
    if (!vsc) throw new Error('no content made');
    expect(prepare(vsc, VOLUME_SNAPSHOT_CONTENTS).desired?.spec).toEqual({
      deletionPolicy: 'Retain',
      driver: 'csi.ground.lifeboat.dev',
      source: { snapshotHandle: 'snap-abc' },
      volumeSnapshotRef: {
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        namespace: 'shop',
        name,
      },
    });
  });

  it('fills what the archive copy of a content lacks from the side files', () => {
    const early = structuredClone(content);
    delete early.status;
    const snapshots = new Map([
      [
        'shop/data',
        {
          namespace: 'shop',
          claim: 'data',
          volumeSnapshot: 'velero-data-x7k2p',
          content: 'snapcontent-1',
          snapshotHandle: 'snap-abc',
        },
      ],
    ]);
    const spec = prepare(early, VOLUME_SNAPSHOT_CONTENTS, { snapshots }).desired?.spec as {
      source?: unknown;
    };
    expect(spec.source).toEqual({ snapshotHandle: 'snap-abc' });
  });
});
