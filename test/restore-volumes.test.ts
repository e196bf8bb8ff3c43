// Claims restored beside surviving volumes. A Retain volume outlives its namespace as Released,
// its claimRef holding the deleted claim's UID. The restore binds the restored claim to exactly
// that volume again — clearing the stale UID — and never to another Available volume that
// happens to match; the plan says what happens to each claim and volume. Restored into a mapped
// namespace beside the original, the volume is never taken from the original claim.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  backupOf,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  eventually,
  infoFor,
  localWorld,
  read,
  uniqueName,
  waitClaimBound,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
const cleanup: Seeded[] = [];
afterEach(async () => {
  for (const s of cleanup.splice(0))
    if (world && (await read(world.kube, s))) await deleteAndWait(world.kube, s);
  world?.close();
});

function volume(name: string, storageClassName: string): Seeded {
  return {
    gr: 'persistentvolumes',
    obj: {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName,
        hostPath: { path: `/tmp/${name}` },
      },
    },
  };
}

const phase = (o: KubeObject | null) => (o?.status as { phase?: string } | undefined)?.phase;

describe('a restore of a claim whose Retain volume survived', () => {
  it('binds the claim to its own Released volume again, not to a matching stranger', async () => {
    world = await localWorld();
    const w = world;
    const id = uniqueName('vol');
    const ns = id;
    // A class of this test only, so no other test's claim takes these volumes.
    const storageClassName = `manual-${id}`;
    const own = volume(`${id}-own`, storageClassName);
    const stranger = volume(`${id}-stranger`, storageClassName);
    cleanup.push(own, stranger);
    const claim: Seeded = {
      gr: 'persistentvolumeclaims',
      obj: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: ns },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName,
          volumeName: own.obj.metadata.name,
          resources: { requests: { storage: '1Gi' } },
        },
      },
    };
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      own,
      claim,
    ]);
    await waitClaimBound(w.kube, ns, 'data');
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    expect(backup.counts.persistentvolumes).toBe(1);

    await deleteNamespaces(w.kube, [ns]);
    const released = await eventually(async () => {
      const pv = await read(w.kube, own);
      return phase(pv) === 'Released' ? pv : undefined;
    }, 'the volume to be Released');
    const staleUid = (released?.spec as { claimRef?: { uid?: string } }).claimRef?.uid;
    expect(staleUid).toBeTruthy();
    // Now an unrelated volume is Available and would match the claim.
    await createAll(w.kube, [stranger]);

    const spec = { backupName: backup.name };
    const { plan } = await planRestore({ name: uniqueName('vol'), spec }, w.deps());
    const pvItem = plan.items.find((i) => i.groupResource === 'persistentvolumes');
    expect(pvItem).toMatchObject({
      action: 'update',
      changes: [{ path: 'spec.claimRef.uid', op: 'remove', before: staleUid }],
      notes: [expect.stringContaining(`Released by its deleted claim ${ns}/data`)],
    });
    const pvcItem = plan.items.find((i) => i.groupResource === 'persistentvolumeclaims');
    expect(pvcItem).toMatchObject({
      action: 'create',
      notes: [expect.stringContaining(`binds again to its surviving volume ${own.obj.metadata.name}`)],
    });

    const result = await applyRestore({ name: uniqueName('vol'), spec }, w.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    const bound = await waitClaimBound(w.kube, ns, 'data');
    expect((bound.spec as { volumeName?: string }).volumeName).toBe(own.obj.metadata.name);
    const strangerNow = await read(w.kube, stranger);
    expect((strangerNow?.spec as { claimRef?: unknown }).claimRef).toBeUndefined();
    expect(phase(strangerNow)).toBe('Available');
    // The volume is the original one, still Retain, now bound to the new claim.
    const ownNow = await read(w.kube, own);
    expect((ownNow?.spec as { claimRef?: { uid?: string } }).claimRef?.uid).toBe(bound.metadata.uid);
    await deleteNamespaces(w.kube, [ns]);
  });

  it('never takes a volume from the original claim when restoring into a mapped namespace, even under update', async () => {
    world = await localWorld();
    const w = world;
    const id = uniqueName('volmap');
    const ns = id;
    const target = `${id}-copy`;
    const storageClassName = `manual-${id}`;
    const own = volume(`${id}-own`, storageClassName);
    cleanup.push(own);
    const claim: Seeded = {
      gr: 'persistentvolumeclaims',
      obj: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'data', namespace: ns },
        spec: {
          accessModes: ['ReadWriteOnce'],
          storageClassName,
          volumeName: own.obj.metadata.name,
          resources: { requests: { storage: '1Gi' } },
        },
      },
    };
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      own,
      claim,
    ]);
    const original = await waitClaimBound(w.kube, ns, 'data');
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    expect(backup.counts.persistentvolumes).toBe(1);

    const spec = {
      backupName: backup.name,
      namespaceMapping: { [ns]: target },
      existingResourcePolicy: 'update' as const,
    };
    const { plan } = await planRestore({ name: uniqueName('volmap'), spec }, w.deps());
    expect(plan.items.find((i) => i.groupResource === 'persistentvolumes')).toMatchObject({
      action: 'skip',
      reason: `it belongs to claim ${ns}/data in the cluster: the restore does not take it from that claim`,
    });
    expect(plan.items.find((i) => i.groupResource === 'persistentvolumeclaims')).toMatchObject({
      namespace: target,
      action: 'create',
      warnings: [
        `its volume ${own.obj.metadata.name ?? ''} belongs to claim ${ns}/data, which keeps it: storage class ${storageClassName} provisions a new, empty volume for claim ${target}/data (the backup holds no copy of its data)`,
      ],
    });

    const result = await applyRestore({ name: uniqueName('volmap'), spec }, w.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    // The original claim keeps its volume, and the volume its claim.
    const ownNow = await read(w.kube, own);
    expect((ownNow?.spec as { claimRef?: { namespace?: string; uid?: string } }).claimRef).toMatchObject({
      namespace: ns,
      uid: original.metadata.uid,
    });
    expect(phase(ownNow)).toBe('Bound');
    const restored = await w.kube.get(await infoFor(w.kube, 'persistentvolumeclaims'), target, 'data');
    expect((restored?.spec as { volumeName?: string }).volumeName).toBeUndefined();
    await deleteNamespaces(w.kube, [ns, target]);
  });
});
