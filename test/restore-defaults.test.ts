// A LimitRange and a default IngressClass fill in fields of objects created after them. Restored
// before those objects, they changed them: a Pod got the LimitRange's resources, an Ingress the
// default class. They are restored after, so the restored objects are as in the backup.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore } from '../src/restore/engine.js';
import {
  backupOf,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  localWorld,
  read,
  uniqueName,
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

describe('a restore with a LimitRange and a default IngressClass', () => {
  it('leaves the restored Pod and Ingress without the defaults they did not have', async () => {
    world = await localWorld();
    const w = world;
    const id = uniqueName('defaults');
    const ns = id;
    const labels = { 'restore-test': id };
    const pod: Seeded = {
      gr: 'pods',
      obj: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'bare', namespace: ns, labels },
        spec: { containers: [{ name: 'c', image: 'registry.example/app:1' }] },
      },
    };
    const ingress: Seeded = {
      gr: 'ingresses.networking.k8s.io',
      obj: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'Ingress',
        metadata: { name: 'web', namespace: ns, labels },
        spec: { defaultBackend: { service: { name: 'web', port: { number: 80 } } } },
      },
    };
    const ingressClass: Seeded = {
      gr: 'ingressclasses.networking.k8s.io',
      obj: {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'IngressClass',
        metadata: {
          name: id,
          labels,
          annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' },
        },
        spec: { controller: 'example.com/ingress' },
      },
    };
    const limitRange: Seeded = {
      gr: 'limitranges',
      obj: {
        apiVersion: 'v1',
        kind: 'LimitRange',
        metadata: { name: 'defaults', namespace: ns, labels },
        spec: { limits: [{ type: 'Container', default: { cpu: '200m' }, defaultRequest: { cpu: '100m' } }] },
      },
    };
    cleanup.push(ingressClass);
    // The Pod and the Ingress exist before the defaults, so they have none.
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels } } },
      pod,
      ingress,
      limitRange,
      ingressClass,
    ]);
    const backup = await backupOf(w, {
      includedNamespaces: [ns],
      includeClusterResources: true,
      labelSelector: { matchLabels: labels },
    });
    expect(backup.counts['ingressclasses.networking.k8s.io']).toBe(1);
    await deleteNamespaces(w.kube, [ns]);
    await deleteAndWait(w.kube, ingressClass);

    const result = await applyRestore(
      { name: uniqueName('defaults'), spec: { backupName: backup.name } },
      w.deps({ concurrency: 1 }),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    const restoredPod = await read(w.kube, pod);
    const containers = (restoredPod?.spec as { containers: { resources?: object }[] }).containers;
    expect(containers[0]?.resources ?? {}).toEqual({});
    const restoredIngress = await read(w.kube, ingress);
    expect((restoredIngress?.spec as { ingressClassName?: string }).ingressClassName).toBeUndefined();
    expect(await read(w.kube, ingressClass)).not.toBeNull();
    expect(await read(w.kube, limitRange)).not.toBeNull();
    await deleteNamespaces(w.kube, [ns]);
  });
});
