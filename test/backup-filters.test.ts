// The backup filters against real objects: namespaces (with wildcards), resources by every
// name people write, label selectors, and Velero's includeClusterResources rules — including
// the cluster-scoped objects a namespace-limited "auto" backup pulls in (the bound PV of a PVC,
// the CRD of a custom resource, the ClusterRoleBinding and ClusterRole of a ServiceAccount).
// Every assertion is on the archive's entry paths.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import type { BackupSpec } from '../src/backup/spec.js';
import { KubeApiError, type KubeClient } from '../src/kube/client.js';
import { discoverResources } from '../src/backup/discover.js';
import { uniqueName } from './ground/world.js';
import {
  archiveEntries,
  groundKube,
  itemKey,
  listAtRevision,
  localStore,
  retryIfCompacted,
  unversioned,
} from './fixtures/backups.js';
import {
  configMap,
  createCustomType,
  createObjects,
  customObject,
  deployment,
  namespace,
  secret,
  type CustomType,
} from './fixtures/seed.js';

const p = uniqueName('flt');
const ns = { a: `${p}-a`, b: `${p}-b`, c: `${p}-c` };
// A kind of this file's own, so looking it up by kind is never ambiguous on a shared cluster.
const sprockets: CustomType = {
  group: `${p}.lifeboat.test`,
  kind: `Sprocket${p.slice(-8)}`,
  plural: 'sprockets',
};
const SPROCKETS = `sprockets.${sprockets.group}`;
const names = {
  pv: `${p}-pv`,
  freePv: `${p}-free-pv`,
  role: `${p}-role`,
  binding: `${p}-binding`,
  otherRole: `${p}-other-role`,
  otherBinding: `${p}-other-binding`,
};

const RBAC = 'rbac.authorization.k8s.io';
const key = {
  ns: (namespace: string, groupResource: string, name: string) => `${groupResource}|${namespace}/${name}`,
  cluster: (groupResource: string, name: string) => `${groupResource}|${name}`,
};
const cluster = {
  nsA: key.cluster('namespaces', ns.a),
  nsB: key.cluster('namespaces', ns.b),
  nsC: key.cluster('namespaces', ns.c),
  pv: key.cluster('persistentvolumes', names.pv),
  freePv: key.cluster('persistentvolumes', names.freePv),
  crd: key.cluster(`customresourcedefinitions.apiextensions.k8s.io`, SPROCKETS),
  // The API server registers every CRD's group-version as an APIService.
  apiService: key.cluster('apiservices.apiregistration.k8s.io', `v1.${sprockets.group}`),
  role: key.cluster(`clusterroles.${RBAC}`, names.role),
  binding: key.cluster(`clusterrolebindings.${RBAC}`, names.binding),
  otherRole: key.cluster(`clusterroles.${RBAC}`, names.otherRole),
  otherBinding: key.cluster(`clusterrolebindings.${RBAC}`, names.otherBinding),
};
const inA = {
  web: key.ns(ns.a, 'configmaps', 'web'),
  db: key.ns(ns.a, 'configmaps', 'db'),
  rootCa: key.ns(ns.a, 'configmaps', 'kube-root-ca.crt'),
  secret: key.ns(ns.a, 'secrets', 'web-secret'),
  robot: key.ns(ns.a, 'serviceaccounts', 'robot'),
  defaultSa: key.ns(ns.a, 'serviceaccounts', 'default'),
  claim: key.ns(ns.a, 'persistentvolumeclaims', 'claim'),
  deploy: key.ns(ns.a, 'deployments.apps', 'api'),
  sprocket: key.ns(ns.a, SPROCKETS, 's1'),
};
const inB = {
  web: key.ns(ns.b, 'configmaps', 'web'),
  cache: key.ns(ns.b, 'configmaps', 'cache'),
  rootCa: key.ns(ns.b, 'configmaps', 'kube-root-ca.crt'),
  defaultSa: key.ns(ns.b, 'serviceaccounts', 'default'),
};
const inC = {
  other: key.ns(ns.c, 'configmaps', 'other'),
  rootCa: key.ns(ns.c, 'configmaps', 'kube-root-ca.crt'),
  defaultSa: key.ns(ns.c, 'serviceaccounts', 'default'),
};
const ALL_A = Object.values(inA);
const ALL_B = Object.values(inB);
const ALL_C = Object.values(inC);

let kube: KubeClient;

/** Back up with `spec` into a directory of its own; the keys of this test's objects it holds. */
async function backupKeys(spec: BackupSpec): Promise<string[]> {
  const store = await localStore();
  const name = uniqueName('f');
  const result = await runBackup({ name, spec }, { kube, store });
  expect(result.failureReason).toBeUndefined();
  expect(result.phase).toBe('Completed');
  const { items } = await archiveEntries(store, name);
  // Other test files share the cluster; everything this file made has `p` in its key.
  return unversioned(items)
    .map(itemKey)
    .filter((k) => k.includes(p))
    .sort();
}

const sorted = (keys: string[]) => [...keys].sort();

/** Whether any key is an object in `namespace` or the Namespace object itself. */
const touches = (keys: string[], namespace: string) =>
  keys.some((k) => k.includes(`|${namespace}/`) || k === key.cluster('namespaces', namespace));

async function waitForBoundClaim(): Promise<void> {
  const pvcs = (await discoverResources(kube)).find((r) => r.resource === 'persistentvolumeclaims');
  if (!pvcs) throw new Error('no persistentvolumeclaims resource');
  const deadline = Date.now() + 60_000;
  for (;;) {
    const claim = await kube.get(pvcs, ns.a, 'claim');
    if ((claim?.status as { phase?: string } | undefined)?.phase === 'Bound') return;
    if (Date.now() > deadline) throw new Error('the PersistentVolumeClaim did not become Bound');
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  kube = await groundKube();
  await createObjects(kube, [namespace(ns.a, { team: 'alpha' }), namespace(ns.b), namespace(ns.c)]);
  await createCustomType(kube, sprockets);
  const web = { app: 'web', tier: 'front' };
  await createObjects(kube, [
    configMap({ namespace: ns.a, name: 'web', labels: web }),
    configMap({ namespace: ns.a, name: 'db', labels: { app: 'db' } }),
    secret({ namespace: ns.a, name: 'web-secret', labels: web }),
    deployment({ namespace: ns.a, name: 'api' }),
    customObject(sprockets, { namespace: ns.a, name: 's1', labels: web }),
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', namespace: ns.a } },
    configMap({ namespace: ns.b, name: 'web', labels: { app: 'web' } }),
    configMap({ namespace: ns.b, name: 'cache', labels: { app: 'cache' } }),
    configMap({ namespace: ns.c, name: 'other', labels: { app: 'other' } }),
    // A volume bound to a claim in namespace a (the controller-manager's PV binder binds them),
    // and one bound to nothing.
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: names.pv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: `/tmp/${names.pv}` },
        claimRef: { namespace: ns.a, name: 'claim' },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'claim', namespace: ns.a },
      spec: {
        accessModes: ['ReadWriteOnce'],
        storageClassName: '',
        volumeName: names.pv,
        resources: { requests: { storage: '1Gi' } },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: names.freePv },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: 'none',
        hostPath: { path: `/tmp/${names.freePv}` },
      },
    },
    // The ServiceAccount a/robot is bound to a ClusterRole; another account elsewhere is too.
    ...[
      { binding: names.binding, role: names.role, account: { namespace: ns.a, name: 'robot' } },
      { binding: names.otherBinding, role: names.otherRole, account: { namespace: ns.c, name: 'nobody' } },
    ].flatMap(({ binding, role, account }) => [
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRole',
        metadata: { name: role },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
      },
      {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRoleBinding',
        metadata: { name: binding },
        roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: role },
        subjects: [{ kind: 'ServiceAccount', ...account }],
      },
    ]),
  ]);
  await waitForBoundClaim();
});

afterAll(() => kube?.close());

describe('namespace filters', () => {
  it('backs up one namespace, its Namespace object and the cluster objects it depends on (auto)', async () => {
    const keys = await backupKeys({ includedNamespaces: [ns.a] });
    expect(keys).toEqual(expect.arrayContaining(ALL_A));
    expect(touches(keys, ns.b) || touches(keys, ns.c)).toBe(false);
    // Namespace-limited "auto": only the cluster objects Velero's actions pull in.
    const clusterKeys = keys.filter((k) => !k.includes('/'));
    expect(clusterKeys).toEqual(
      sorted([cluster.nsA, cluster.pv, cluster.crd, cluster.binding, cluster.role]),
    );
  });

  it('takes namespace wildcards in includes and excludes', async () => {
    const keys = await backupKeys({ includedNamespaces: [`${p}-*`], excludedNamespaces: [`${p}-[bc]`] });
    expect(keys).toEqual(expect.arrayContaining([...ALL_A, cluster.nsA]));
    expect(touches(keys, ns.b) || touches(keys, ns.c)).toBe(false);

    const two = await backupKeys({ includedNamespaces: [`${p}-?`], excludedNamespaces: [ns.c] });
    expect(two).toEqual(expect.arrayContaining([...ALL_A, ...ALL_B, cluster.nsA, cluster.nsB]));
    expect(touches(two, ns.c)).toBe(false);
  });

  it('excludes namespaces from an otherwise full backup', async () => {
    const keys = await backupKeys({ includedNamespaces: [`${p}-*`], excludedNamespaces: [ns.a] });
    expect(keys).toEqual(expect.arrayContaining([...ALL_B, ...ALL_C, cluster.nsB, cluster.nsC]));
    expect(touches(keys, ns.a)).toBe(false);
    // Nothing in b or c depends on the PV, the CRD or the bound ServiceAccount.
    expect(keys.filter((k) => !k.includes('/'))).toEqual(sorted([cluster.nsB, cluster.nsC]));
  });
});

describe('resource filters', () => {
  it.each([
    { written: ['configmaps'], expected: ['configmaps'] },
    { written: ['cm'], expected: ['configmaps'] },
    { written: ['ConfigMap'], expected: ['configmaps'] },
    { written: ['configmap', 'secrets'], expected: ['configmaps', 'secrets'] },
    { written: ['deployments.apps'], expected: ['deployments.apps'] },
    { written: ['deploy'], expected: ['deployments.apps'] },
    { written: [SPROCKETS], expected: [SPROCKETS] },
    { written: [sprockets.kind], expected: [SPROCKETS] },
  ])('includedResources $written backs up exactly $expected', async ({ written, expected }) => {
    const keys = await backupKeys({ includedNamespaces: [ns.a], includedResources: written });
    expect([...new Set(keys.map((k) => k.split('|')[0]))].sort()).toEqual([...expected].sort());
    // Every object of the named types in namespace a is there.
    expect(keys).toEqual(
      expect.arrayContaining(ALL_A.filter((k) => expected.includes(k.split('|')[0] ?? ''))),
    );
  });

  it('excludedResources removes a type, and a dependency of an excluded type stays out', async () => {
    const keys = await backupKeys({
      includedNamespaces: [ns.a],
      excludedResources: ['secrets', 'persistentvolumes'],
    });
    expect(keys).toEqual(
      expect.arrayContaining([
        inA.web,
        inA.db,
        inA.claim,
        inA.robot,
        inA.sprocket,
        cluster.crd,
        cluster.role,
      ]),
    );
    expect(keys).not.toContain(inA.secret);
    // The claim is backed up; the volume bound to it is not, because its type is excluded.
    expect(keys).not.toContain(cluster.pv);
  });

  it('uses the scoped resource fields: namespace-scoped and cluster-scoped lists', async () => {
    const keys = await backupKeys({
      includedNamespaces: [ns.a],
      includedNamespaceScopedResources: ['configmaps'],
      includedClusterScopedResources: ['persistentvolumes'],
    });
    expect(keys).toEqual(sorted([inA.web, inA.db, inA.rootCa, cluster.nsA, cluster.pv, cluster.freePv]));
  });
});

describe('label selectors', () => {
  const three = [ns.a, ns.b, ns.c];

  it('matchLabels keeps matching objects; Namespace objects of included namespaces stay', async () => {
    const keys = await backupKeys({
      includedNamespaces: three,
      labelSelector: { matchLabels: { app: 'web' } },
    });
    expect(keys).toEqual(
      sorted([
        inA.web,
        inA.secret,
        inA.sprocket,
        inB.web,
        // The CRD of an included custom resource, and every listed namespace (Velero's
        // nsTracker keeps a namespace named in includedNamespaces even without matches).
        cluster.crd,
        cluster.nsA,
        cluster.nsB,
        cluster.nsC,
      ]),
    );
  });

  it('matchExpressions select by set membership', async () => {
    const keys = await backupKeys({
      includedNamespaces: three,
      includedResources: ['configmaps'],
      labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['db', 'cache'] }] },
    });
    expect(keys).toEqual(sorted([inA.db, inB.cache]));
  });

  it('orLabelSelectors keep an object matching any of them', async () => {
    const keys = await backupKeys({
      includedNamespaces: three,
      includedResources: ['configmaps'],
      orLabelSelectors: [{ matchLabels: { app: 'db' } }, { matchLabels: { app: 'other' } }],
    });
    expect(keys).toEqual(sorted([inA.db, inC.other]));
  });

  it('with all namespaces and a selector, only namespaces with matches are kept', async () => {
    const keys = await backupKeys({ labelSelector: { matchLabels: { tier: 'front' } } });
    // Every matching object in the cluster that this file made, and only their namespace.
    expect(keys).toEqual(sorted([inA.web, inA.secret, inA.sprocket, cluster.nsA]));
  });
});

describe('includeClusterResources', () => {
  it('false: no cluster-scoped objects at all', async () => {
    const keys = await backupKeys({ includedNamespaces: [ns.a], includeClusterResources: false });
    expect(keys).toEqual(expect.arrayContaining(ALL_A));
    expect(keys.filter((k) => !k.includes('/'))).toEqual([]);
  });

  it('true with one namespace: every cluster-scoped object, but only that Namespace', async () => {
    const keys = await backupKeys({ includedNamespaces: [ns.a], includeClusterResources: true });
    expect(keys).toEqual(expect.arrayContaining(ALL_A));
    expect(keys.filter((k) => !k.includes('/'))).toEqual(
      sorted([
        cluster.nsA,
        cluster.pv,
        cluster.freePv,
        cluster.crd,
        cluster.apiService,
        cluster.role,
        cluster.binding,
        cluster.otherRole,
        cluster.otherBinding,
      ]),
    );
  });

  it('auto with the whole cluster: every object, cluster-scoped or not, exactly as at the revision', async () => {
    await retryIfCompacted(async () => {
      const store = await localStore();
      const name = uniqueName('full');
      // Other test files add and remove CRDs meanwhile: the comparison covers the types served
      // both before the backup and when listing again at its revision.
      const typesBefore = await discoverResources(kube);
      // No volume snapshots: the objects a backup creates for them (VolumeSnapshots and their
      // contents, added to the archive after the listing) are not the cluster at the revision.
      const result = await runBackup({ name, spec: { snapshotVolumes: false } }, { kube, store });
      // Other test files' pods run on this node meanwhile, with Velero's hook and volume-copy
      // annotations: a whole-cluster backup runs their hooks and asks for their copies (this
      // one has no restic repository), and those items fail while their files delete or
      // restore them, which makes the backup PartiallyFailed. Their objects are still in the
      // archive, and that is what this test compares; items of this file's namespaces, or
      // cluster-scoped ones, must not fail.
      const mine = result.errors.filter((e) => !e.namespace || Object.values(ns).includes(e.namespace));
      expect(mine).toEqual([]);
      expect(result.phase).toBe(result.errors.length === 0 ? 'Completed' : 'PartiallyFailed');
      const revision = result.revision ?? '';
      // What the cluster held at the backup's revision, type by type.
      const expected = new Set<string>();
      const compared = new Set<string>();
      for (const info of typesBefore) {
        const gr = info.group === '' ? info.resource : `${info.resource}.${info.group}`;
        let objects;
        try {
          objects = await listAtRevision(kube, info, { revision });
        } catch (err) {
          if (err instanceof KubeApiError && err.status === 404) continue; // its CRD is gone
          throw err;
        }
        compared.add(gr);
        for (const o of objects) {
          expected.add(
            itemKey({
              groupResource: gr,
              namespace: o.metadata.namespace ?? '',
              name: o.metadata.name ?? '',
            }),
          );
        }
      }
      expect(compared).toContain('configmaps');
      const archived = new Set(
        unversioned((await archiveEntries(store, name)).items)
          .filter((i) => compared.has(i.groupResource))
          .map(itemKey),
      );
      expect([...archived].sort()).toEqual([...expected].sort());
      for (const k of Object.values(cluster)) expect(archived).toContain(k);
    });
  });
});
