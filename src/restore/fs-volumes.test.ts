import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { copiedVolumeSkip, copiedVolumesOf, withRestoreWait, type FsRestoreContext } from './fs-volumes.js';

const record = (volume: string, snapshotId: string) => ({
  namespace: 'shop',
  pod: 'db-0',
  volume,
  snapshotId,
  files: 3,
  dirs: 1,
  bytes: 100,
});

const ctx: FsRestoreContext = {
  restoreName: 'r1',
  image: 'ground.local/busybox:1',
  records: new Map([['shop/db-0', [record('data', 's1'), record('gone', 's2'), record('cache', 's3')]]]),
};

const pod = (initContainers: { name: string }[] = []): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { namespace: 'shop-copy', name: 'db-0' },
  spec: {
    initContainers,
    containers: [{ name: 'db' }],
    volumes: [
      { name: 'data', persistentVolumeClaim: { claimName: 'data-db-0' } },
      { name: 'cache', emptyDir: {} },
    ],
  },
});

describe('withRestoreWait', () => {
  it('puts the restore-wait container first, waiting for the volumes the pod still has', () => {
    const out = withRestoreWait(pod([{ name: 'migrate' }]), { namespace: 'shop', name: 'db-0' }, ctx);
    const init = (out.pod.spec as { initContainers: { name: string; command: string[] }[] }).initContainers;
    expect(init.map((c) => c.name)).toEqual(['lifeboat-restore-wait', 'migrate']);
    expect(init[0]?.command.join(' ')).toContain('/restore/1/.lifeboat-restore/r1');
    // Neither the pod nor its first container says how to run: restricted, as the helper uid.
    expect(init[0]).toMatchObject({
      securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
    });
    expect(out.volumes).toEqual([
      {
        volume: 'data',
        claim: 'data-db-0',
        sourceNamespace: 'shop',
        snapshotId: 's1',
        files: 3,
        dirs: 1,
        bytes: 100,
        action: 'restore',
      },
      {
        volume: 'cache',
        sourceNamespace: 'shop',
        snapshotId: 's3',
        files: 3,
        dirs: 1,
        bytes: 100,
        action: 'restore',
      },
    ]);
  });

  it("replaces the restore-wait container of an earlier restore: it waits for that restore's marker", () => {
    const out = withRestoreWait(
      pod([{ name: 'lifeboat-restore-wait' }]),
      { namespace: 'shop', name: 'db-0' },
      ctx,
    );
    const init = (out.pod.spec as { initContainers: { name: string; command: string[] }[] }).initContainers;
    expect(init.map((c) => c.name)).toEqual(['lifeboat-restore-wait']);
    expect(init[0]?.command.join(' ')).toContain('/r1 ]');
  });

  it("waits for a moved claim's volume too, which apply fills before the pod exists, without a restore of its own", () => {
    const moved: FsRestoreContext = {
      ...ctx,
      records: new Map(),
      movedClaims: new Map([
        ['shop/data-db-0', { sourceNamespace: 'shop', snapshotId: 's9', files: 1, dirs: 0, bytes: 1 }],
      ]),
    };
    const out = withRestoreWait(pod(), { namespace: 'shop', name: 'db-0' }, moved);
    const init = (out.pod.spec as { initContainers: { name: string; volumeMounts: { name: string }[] }[] })
      .initContainers;
    expect(init[0]?.name).toBe('lifeboat-restore-wait');
    expect(init[0]?.volumeMounts.map((m) => m.name)).toEqual(['data']);
    expect(out.volumes).toEqual([]);
    // The claim is looked up in the backed-up namespace.
    const other = pod();
    expect(withRestoreWait(other, { namespace: 'elsewhere', name: 'db-0' }, moved).pod).toBe(other);
  });

  it('leaves a pod alone whose volumes the backup did not copy', () => {
    const p = pod();
    expect(withRestoreWait(p, { namespace: 'shop', name: 'web' }, ctx)).toEqual({ pod: p, volumes: [] });
  });
});

describe('copiedVolumesOf', () => {
  it("takes the volumes of claims whose pod's file-system copy completed", () => {
    expect(
      copiedVolumesOf([
        { backupMethod: 'PodVolumeBackup', result: 'succeeded', pvName: 'pv-a' },
        { backupMethod: 'PodVolumeBackup', result: 'failed', pvName: 'pv-b' },
        { backupMethod: 'PodVolumeBackup', result: 'succeeded' },
        { backupMethod: 'CSISnapshot', result: 'succeeded', pvName: 'pv-c' },
      ]),
    ).toEqual(new Set(['pv-a']));
  });
});

describe('copiedVolumeSkip', () => {
  const volume = (storageClassName?: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: 'pv-a' },
    spec: { ...(storageClassName !== undefined ? { storageClassName } : {}) },
  });
  const fs = { copiedVolumes: new Set(['pv-a']) };

  it('skips a copied volume whose class provisions its claim a new one', () => {
    expect(copiedVolumeSkip('persistentvolumes', volume('fast'), fs)).toMatch(
      /file-system copy \(restic\): storage class fast provisions the restored claim a new volume/,
    );
  });

  it.each<[string, string, KubeObject, typeof fs | undefined]>([
    ['a volume of no class', 'persistentvolumes', volume(''), fs],
    ['a volume without storageClassName', 'persistentvolumes', volume(), fs],
    ['a volume not copied', 'persistentvolumes', volume('fast'), { copiedVolumes: new Set(['pv-b']) }],
    ['no file-system context', 'persistentvolumes', volume('fast'), undefined],
    ['another resource', 'persistentvolumeclaims', volume('fast'), fs],
  ])('restores %s as before', (_l, gr, obj, ctx) => {
    expect(copiedVolumeSkip(gr, obj, ctx)).toBeUndefined();
  });
});
