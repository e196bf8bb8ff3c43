// Round trip: back up namespaces, lose them (and the cluster-scoped objects they depend on),
// restore, and find every object as it was, up to what the servers assign. Once from a local
// directory with every kind an application has, once from a bucket on the real S3 server.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  backupOf,
  comparable,
  configMap,
  createAll,
  CRD_RESOURCE,
  deleteAndWait,
  deleteNamespaces,
  deployment,
  localWorld,
  randomNodePort,
  read,
  ref,
  s3World,
  secret,
  secretValue,
  shopApplication,
  uniqueName,
  waitClaimBound,
  widget,
  widgetCrd,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

function namespaceObject(name: string, labels: Record<string, string> = {}): Seeded {
  return { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } } };
}

async function snapshot(w: RestoreWorld, objects: Seeded[]): Promise<Map<string, KubeObject>> {
  const out = new Map<string, KubeObject>();
  for (const s of objects) {
    const live = await read(w.kube, s);
    if (!live) throw new Error(`${ref(s)} is missing`);
    out.set(ref(s), comparable(live, s.gr));
  }
  return out;
}

describe('a restore after the namespaces are lost', () => {
  it('recreates every object of every kind as it was, CRD first, volume bound to its claim again', async () => {
    world = await localWorld();
    const w = world;
    const shop = uniqueName('shop');
    const billing = uniqueName('billing');
    const group = `${uniqueName('g')}.restore.test`;
    const pvName = uniqueName('pv-shop');
    const app = shopApplication({ ns: shop, group, pvName, nodePort: randomNodePort() });
    const others: Seeded[] = [
      configMap(billing, 'rates', { eur: '1.00', usd: '1.08' }),
      secret(billing, 'api-key', { key: secretValue('key') }),
      deployment(billing, 'invoicer'),
    ];
    const namespaces = [
      namespaceObject(shop, { team: 'shop' }),
      namespaceObject(billing, { team: 'billing' }),
    ];
    // billing's deployment runs as `api` too; give it one.
    others.push({
      gr: 'serviceaccounts',
      obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: billing } },
    });
    await createAll(w.kube, [...namespaces, app.crd, app.pv, ...app.namespaced, ...others]);
    await waitClaimBound(w.kube, shop, 'data');

    const everything = [...namespaces, app.crd, app.pv, ...app.namespaced, ...others];
    const before = await snapshot(w, everything);
    const backup = await backupOf(w, { includedNamespaces: [shop, billing] });
    expect(backup.counts[CRD_RESOURCE]).toBe(1);
    expect(backup.counts.persistentvolumes).toBe(1);

    // The disaster: the namespaces go, and with them the claim; the CRD and the volume too.
    await deleteNamespaces(w.kube, [shop, billing]);
    await deleteAndWait(w.kube, app.crd);
    await deleteAndWait(w.kube, app.pv);
    for (const s of everything) expect(await read(w.kube, s), ref(s)).toBeNull();

    const name = uniqueName('rt');
    const planned = await planRestore({ name, spec: { backupName: backup.name } }, w.deps());
    const actions = new Map(
      planned.plan.items.map((i) => [
        `${i.groupResource} ${i.namespace ? `${i.namespace}/` : ''}${i.name}`,
        i.action,
      ]),
    );
    for (const s of everything) expect(actions.get(ref(s)), ref(s)).toBe('create');
    expect(planned.plan.summary.total.invalid).toBe(0);
    expect(planned.plan.summary.total.conflict).toBe(0);
    // The CRD is in the first tier; its objects come later.
    expect(planned.plan.tiers[0]).toEqual([CRD_RESOURCE]);

    const result = await applyRestore({ name, spec: { backupName: backup.name } }, w.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');
    expect(result.counts.created).toBeGreaterThanOrEqual(everything.length);

    // The PV controller binds the restored claim to the restored, pre-bound volume.
    const claim = await waitClaimBound(w.kube, shop, 'data');
    expect((claim.spec as { volumeName?: string }).volumeName).toBe(pvName);
    const after = await snapshot(w, everything);
    for (const s of everything) expect(after.get(ref(s)), ref(s)).toEqual(before.get(ref(s)));
    // Restored objects say where they came from.
    const cm = await read(w.kube, app.namespaced[0] as Seeded);
    expect(cm?.metadata.labels?.['velero.io/restore-name']).toBe(name);
    expect(cm?.metadata.labels?.['velero.io/backup-name']).toBe(backup.name);
  });

  it('restores from a bucket on the S3 server', async () => {
    const s3 = await s3World();
    world = s3;
    const ns = uniqueName('s3shop');
    const group = `${uniqueName('g')}.restore.test`;
    const crd = widgetCrd(group);
    const objects: Seeded[] = [
      namespaceObject(ns),
      crd,
      configMap(ns, 'settings', { color: 'green' }),
      secret(ns, 'token', { token: secretValue('tok') }),
      {
        gr: 'serviceaccounts',
        obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: ns } },
      },
      deployment(ns, 'web'),
      widget({ group, ns, name: 'w1', spec: { size: 1 } }),
    ];
    await createAll(s3.kube, objects);
    const before = await snapshot(s3, objects);
    const backup = await backupOf(s3, { includedNamespaces: [ns] });
    await deleteNamespaces(s3.kube, [ns]);
    await deleteAndWait(s3.kube, crd);

    const result = await applyRestore(
      { name: uniqueName('rt-s3'), spec: { backupName: backup.name } },
      s3.deps(),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');
    const after = await snapshot(s3, objects);
    for (const s of objects) expect(after.get(ref(s)), ref(s)).toEqual(before.get(ref(s)));
    // The result is stored in the bucket beside the backups, as Velero stores restores.
    expect(await s3.store.exists(`restores/${result.name}/lifeboat-restore.json`)).toBe(true);
  });
});
