import { describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import {
  boundVolumeName,
  createClusterDependencyCollector,
  type ClusterDependencyOptions,
} from './cluster-scope.js';
import { compileFilter } from './filters.js';
import type { ResourceFilterSpec } from './spec.js';

function res(group: string, resource: string, kind: string, namespaced: boolean): ResourceInfo {
  return {
    group,
    version: 'v1',
    resource,
    kind,
    namespaced,
    verbs: ['list', 'get', 'create', 'delete'],
    shortNames: [],
    singularName: kind.toLowerCase(),
    preferredVersion: 'v1',
  };
}

const catalog: ResourceInfo[] = [
  res('', 'pods', 'Pod', true),
  res('', 'serviceaccounts', 'ServiceAccount', true),
  res('', 'persistentvolumeclaims', 'PersistentVolumeClaim', true),
  res('', 'persistentvolumes', 'PersistentVolume', false),
  res('', 'namespaces', 'Namespace', false),
  res('apps', 'deployments', 'Deployment', true),
  res('rbac.authorization.k8s.io', 'clusterroles', 'ClusterRole', false),
  res('rbac.authorization.k8s.io', 'clusterrolebindings', 'ClusterRoleBinding', false),
  res('apiextensions.k8s.io', 'customresourcedefinitions', 'CustomResourceDefinition', false),
  res('example.com', 'widgets', 'Widget', true),
  res('example.com', 'gadgets', 'Gadget', false),
];

const LIMITED: ResourceFilterSpec = { includedNamespaces: ['shop'] };

function pvc(name: string, opts: { volume?: string; phase?: string } = {}): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'shop' },
    spec: opts.volume === undefined ? {} : { volumeName: opts.volume },
    status: { phase: opts.phase ?? 'Bound' },
  };
}

function serviceAccount(name: string, namespace = 'shop'): KubeObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace } };
}

function binding(name: string, role: string, subjects: Record<string, string>[]): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects,
  };
}

function widget(name: string, namespace?: string): KubeObject {
  return {
    apiVersion: 'example.com/v1',
    kind: 'Widget',
    metadata: { name, ...(namespace ? { namespace } : {}) },
  };
}

function collector(spec: ResourceFilterSpec, options: Partial<ClusterDependencyOptions> = {}) {
  return createClusterDependencyCollector({ filter: compileFilter(spec, catalog), ...options });
}

const keys = (c: ReturnType<typeof collector>): string[] =>
  c.dependencies().map((dep) => `${dep.groupResource}/${dep.name}`);

const saSubject = (name: string, namespace = 'shop') => ({ kind: 'ServiceAccount', name, namespace });

describe('PersistentVolumes of included claims', () => {
  it.each<[string, ResourceFilterSpec, KubeObject, string[]]>([
    ['bound claim', LIMITED, pvc('data', { volume: 'pv-1' }), ['namespaces/shop', 'persistentvolumes/pv-1']],
    ['pending claim', LIMITED, pvc('data', { volume: 'pv-1', phase: 'Pending' }), ['namespaces/shop']],
    ['bound without a volume name', LIMITED, pvc('data'), ['namespaces/shop']],
    [
      'includeClusterResources false',
      { ...LIMITED, includeClusterResources: false },
      pvc('d', { volume: 'pv-1' }),
      [],
    ],
    [
      'pvs excluded',
      { ...LIMITED, excludedResources: ['persistentvolumes'] },
      pvc('d', { volume: 'pv-1' }),
      ['namespaces/shop'],
    ],
    [
      'auto, includes lack pvs',
      { ...LIMITED, includedResources: ['persistentvolumeclaims'] },
      pvc('d', { volume: 'pv-1' }),
      [],
    ],
    [
      'auto, includes name pvs',
      { ...LIMITED, includedResources: ['persistentvolumeclaims', 'persistentvolumes', 'namespaces'] },
      pvc('d', { volume: 'pv-1' }),
      ['namespaces/shop', 'persistentvolumes/pv-1'],
    ],
    [
      'scoped, pvs excluded',
      { ...LIMITED, excludedClusterScopedResources: ['persistentvolumes'] },
      pvc('d', { volume: 'pv-1' }),
      ['namespaces/shop'],
    ],
  ])('%s', (_what, spec, claim, expected) => {
    const c = collector(spec);
    c.add(claim, 'persistentvolumeclaims');
    expect(keys(c)).toEqual(expected);
  });

  it('explains why a volume is included', () => {
    const c = collector(LIMITED);
    c.add(pvc('data', { volume: 'pv-1' }), 'persistentvolumeclaims');
    expect(c.dependencies()).toContainEqual({
      groupResource: 'persistentvolumes',
      name: 'pv-1',
      reason: 'bound to PersistentVolumeClaim shop/data',
    });
    expect(c.has('persistentvolumes', 'pv-1')).toBe(true);
    expect(c.has('persistentvolumes', 'pv-2')).toBe(false);
  });

  it.each<[KubeObject, string | undefined]>([
    [pvc('a', { volume: 'pv-a' }), 'pv-a'],
    [pvc('a', { volume: '' }), undefined],
    [pvc('a', { volume: 'pv-a', phase: 'Lost' }), undefined],
  ])('boundVolumeName of %j is %s', (claim, expected) => {
    expect(boundVolumeName(claim)).toBe(expected);
  });
});

describe('ClusterRoleBindings of included ServiceAccounts', () => {
  const bindings = [
    binding('app-reader', 'view', [saSubject('app')]),
    binding('other-ns', 'edit', [saSubject('app', 'elsewhere')]),
    binding('users', 'admin', [{ kind: 'User', name: 'app' }]),
    binding('mixed', 'cluster-admin', [{ kind: 'Group', name: 'ops' }, saSubject('ci')]),
  ];

  it('adds each binding naming the account, and its ClusterRole', () => {
    const c = collector(LIMITED, { clusterRoleBindings: bindings });
    c.add(serviceAccount('app'), 'serviceaccounts');
    c.add(serviceAccount('ci'), 'serviceaccounts');
    c.add(serviceAccount('unbound'), 'serviceaccounts');
    expect(keys(c)).toEqual([
      'clusterrolebindings.rbac.authorization.k8s.io/app-reader',
      'clusterrolebindings.rbac.authorization.k8s.io/mixed',
      'clusterroles.rbac.authorization.k8s.io/cluster-admin',
      'clusterroles.rbac.authorization.k8s.io/view',
      'namespaces/shop',
    ]);
  });

  it('works whichever arrives first, the account or the binding', () => {
    const c = collector(LIMITED);
    c.add(serviceAccount('app'), 'serviceaccounts');
    for (const b of bindings) c.addClusterRoleBinding(b);
    expect(c.has('clusterrolebindings.rbac.authorization.k8s.io', 'app-reader')).toBe(true);
    expect(c.has('clusterroles.rbac.authorization.k8s.io', 'view')).toBe(true);
    expect(c.has('clusterrolebindings.rbac.authorization.k8s.io', 'other-ns')).toBe(false);
    expect(c.has('clusterrolebindings.rbac.authorization.k8s.io', 'users')).toBe(false);
  });

  it.each<[string, ResourceFilterSpec, string[]]>([
    ['includeClusterResources false', { ...LIMITED, includeClusterResources: false }, []],
    [
      'roles excluded, bindings kept',
      { ...LIMITED, excludedResources: ['clusterroles'] },
      ['clusterrolebindings.rbac.authorization.k8s.io/app-reader', 'namespaces/shop'],
    ],
    [
      'scoped: bindings excluded',
      { ...LIMITED, excludedClusterScopedResources: ['clusterrolebindings'] },
      ['clusterroles.rbac.authorization.k8s.io/view', 'namespaces/shop'],
    ],
  ])('respects the filter: %s', (_what, spec, expected) => {
    const c = collector(spec, { clusterRoleBindings: bindings });
    c.add(serviceAccount('app'), 'serviceaccounts');
    expect(keys(c)).toEqual(expected);
  });
});

describe('CustomResourceDefinitions of included custom resources', () => {
  const CRD = 'customresourcedefinitions.apiextensions.k8s.io';

  it.each<[string, ResourceFilterSpec, Partial<ClusterDependencyOptions>, string[]]>([
    [
      'namespace-limited, CRD known',
      LIMITED,
      { customResourceDefinitions: ['widgets.example.com'] },
      [`${CRD}/widgets.example.com`],
    ],
    ['namespace-limited, CRD list absent', LIMITED, {}, [`${CRD}/widgets.example.com`]],
    ['not a CRD (built-in group)', LIMITED, { customResourceDefinitions: ['gadgets.example.com'] }, []],
    // Full cluster: CRDs are listed directly, so Velero's backupCRD step is skipped.
    ['full cluster', {}, {}, []],
    ['includeClusterResources false', { ...LIMITED, includeClusterResources: false }, {}, []],
    ['CRDs excluded', { ...LIMITED, excludedResources: ['customresourcedefinitions'] }, {}, []],
    ['auto with includes lacking CRDs', { ...LIMITED, includedResources: ['widgets'] }, {}, []],
    [
      'includeClusterResources true lists CRDs directly',
      { ...LIMITED, includeClusterResources: true },
      {},
      [],
    ],
    [
      'scoped, cluster include other',
      { ...LIMITED, includedClusterScopedResources: ['persistentvolumes'] },
      {},
      [`${CRD}/widgets.example.com`],
    ],
  ])('%s', (_what, spec, options, expected) => {
    const c = collector(spec, options);
    c.add(widget('w1', 'shop'), 'widgets.example.com');
    c.add(widget('w2', 'shop'), 'widgets.example.com');
    expect(keys(c).filter((key) => key.startsWith(CRD))).toEqual(expected);
  });

  it('ignores core resources', () => {
    const c = collector(LIMITED);
    c.add({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' } }, 'pods');
    expect(keys(c)).toEqual(['namespaces/shop']);
  });

  it('covers cluster-scoped custom resources too', () => {
    const c = collector({ ...LIMITED, includedClusterScopedResources: ['gadgets.example.com'] });
    c.add(widget('g1'), 'gadgets.example.com');
    expect(keys(c)).toEqual([`${CRD}/gadgets.example.com`]);
  });
});

describe('Namespaces of included objects', () => {
  it('records the namespace of every included object', () => {
    const c = collector({ includedNamespaces: ['shop', 'web'] });
    c.add(widget('w', 'shop'), 'widgets.example.com');
    c.add({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'web' } }, 'pods');
    expect([...c.namespacesWithItems()].sort()).toEqual(['shop', 'web']);
    expect(keys(c).filter((key) => key.startsWith('namespaces/'))).toEqual([
      'namespaces/shop',
      'namespaces/web',
    ]);
  });

  it('decides namespace objects with the items it has seen', () => {
    const c = collector({ labelSelector: { matchLabels: { app: 'web' } } });
    const ns = (name: string): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name },
      status: { phase: 'Active' },
    });
    c.add(
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop', labels: { app: 'web' } } },
      'pods',
    );
    expect(c.includesNamespaceObject(ns('shop'))).toBe(true);
    expect(c.includesNamespaceObject(ns('empty'))).toBe(false);
  });

  it('adds no namespace objects when namespaces are filtered out', () => {
    const c = collector({ ...LIMITED, includedResources: ['pods'] });
    c.add({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'shop' } }, 'pods');
    expect(keys(c)).toEqual([]);
    expect([...c.namespacesWithItems()]).toEqual(['shop']);
  });
});

describe('ClusterRoles of included RoleBindings', () => {
  const roleBinding = (name: string, kind: string, role: string): KubeObject => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name, namespace: 'shop' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
    subjects: [{ kind: 'User', name: 'alice' }],
  });
  const RB = 'rolebindings.rbac.authorization.k8s.io';

  it('adds the ClusterRole a RoleBinding refers to, not a Role', () => {
    // No CRDs known: rbac.authorization.k8s.io is a built-in group.
    const c = collector(LIMITED, { customResourceDefinitions: [] });
    c.add(roleBinding('shop-editors', 'ClusterRole', 'shop-editor'), RB);
    c.add(roleBinding('readers', 'Role', 'reader'), RB);
    expect(keys(c)).toEqual(['clusterroles.rbac.authorization.k8s.io/shop-editor', 'namespaces/shop']);
    expect(c.dependencies()[0]?.reason).toBe('role of RoleBinding shop/shop-editors');
  });

  it('respects a filter that excludes ClusterRoles', () => {
    const c = collector(
      { ...LIMITED, excludedResources: ['clusterroles'] },
      { customResourceDefinitions: [] },
    );
    c.add(roleBinding('shop-editors', 'ClusterRole', 'shop-editor'), RB);
    expect(keys(c)).toEqual(['namespaces/shop']);
  });
});
