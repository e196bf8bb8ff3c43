// Namespace mapping (Velero's namespaceMapping): restoring `shop` as `shop-copy` beside the
// original. The copy gets every object, RoleBinding subjects follow their ServiceAccount into
// the new namespace, and the original is not touched.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import {
  backupOf,
  comparable,
  configMap,
  createAll,
  deployment,
  localWorld,
  read,
  ref,
  secret,
  secretValue,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

function inNamespace(s: Seeded, ns: string): Seeded {
  return { gr: s.gr, obj: { ...s.obj, metadata: { ...s.obj.metadata, namespace: ns } } };
}

describe('a restore with a namespace mapping', () => {
  it('copies shop into shop-copy, maps RoleBinding subjects and leaves shop as it was', async () => {
    world = await localWorld();
    const w = world;
    const shop = uniqueName('shop');
    const copy = `${shop}-copy`;
    const objects: Seeded[] = [
      configMap(shop, 'settings', { color: 'blue' }),
      secret(shop, 'db', { password: secretValue('pw') }),
      {
        gr: 'serviceaccounts',
        obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: shop } },
      },
      {
        gr: 'roles.rbac.authorization.k8s.io',
        obj: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          metadata: { name: 'reader', namespace: shop },
          rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
        },
      },
      {
        gr: 'rolebindings.rbac.authorization.k8s.io',
        obj: {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'api-reads', namespace: shop },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'reader' },
          subjects: [
            { kind: 'ServiceAccount', name: 'api', namespace: shop },
            // A subject in an unmapped namespace stays where it is.
            { kind: 'ServiceAccount', name: 'auditor', namespace: 'kube-system' },
          ],
        },
      },
      deployment(shop, 'web'),
      {
        gr: 'services',
        obj: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: shop },
          spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
        },
      },
    ];
    await createAll(w.kube, [
      {
        gr: 'namespaces',
        obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: shop, labels: { team: 'shop' } } },
      },
      ...objects,
    ]);
    const originals = new Map<string, unknown>();
    for (const s of objects) originals.set(ref(s), await read(w.kube, s));
    const backup = await backupOf(w, { includedNamespaces: [shop] });

    const spec = { backupName: backup.name, namespaceMapping: { [shop]: copy } };
    const name = uniqueName('copy');
    const { plan } = await planRestore({ name, spec }, w.deps());
    // Nothing of the plan touches the source namespace: it creates the copy.
    expect(
      plan.items.filter((i) => i.namespace === shop || (i.groupResource === 'namespaces' && i.name === shop)),
    ).toEqual([]);
    expect(plan.items.find((i) => i.groupResource === 'namespaces')).toMatchObject({
      name: copy,
      action: 'create',
    });
    for (const s of objects) {
      expect(
        plan.items.find(
          (i) => i.groupResource === s.gr && i.namespace === copy && i.name === s.obj.metadata.name,
        )?.action,
        ref(s),
      ).toBe('create');
    }

    const result = await applyRestore({ name, spec }, w.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');

    // Both namespaces exist; the copy carries the source's labels, with its own name label.
    const nsCopy = await read(w.kube, {
      gr: 'namespaces',
      obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: copy } },
    });
    expect(nsCopy?.metadata.labels).toMatchObject({ team: 'shop', 'kubernetes.io/metadata.name': copy });
    expect(
      await read(w.kube, {
        gr: 'namespaces',
        obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: shop } },
      }),
    ).not.toBeNull();

    for (const s of objects) {
      // The original is exactly as it was (same resourceVersion: never written).
      expect(await read(w.kube, s), ref(s)).toEqual(originals.get(ref(s)));
      const copied = await read(w.kube, inNamespace(s, copy));
      expect(copied, `${ref(s)} in ${copy}`).not.toBeNull();
      const expected = comparable(originals.get(ref(s)) as never, s.gr);
      expected.metadata.namespace = copy;
      if (s.gr === 'rolebindings.rbac.authorization.k8s.io') {
        expected.subjects = [
          { kind: 'ServiceAccount', name: 'api', namespace: copy },
          { kind: 'ServiceAccount', name: 'auditor', namespace: 'kube-system' },
        ];
      }
      expect(comparable(copied as never, s.gr), ref(s)).toEqual(expected);
    }
  });
});
