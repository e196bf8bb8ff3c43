import { describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import {
  compileFilter,
  compileNamePattern,
  FilterError,
  isFullClusterBackup,
  type ResourceScope,
} from './filters.js';
import type { ResourceFilterSpec } from './spec.js';

function res(
  groupVersion: string,
  resource: string,
  kind: string,
  opts: { cluster?: boolean; short?: string[] } = {},
): ResourceInfo {
  const [group, version] = groupVersion.includes('/') ? groupVersion.split('/') : ['', groupVersion];
  return {
    group: group ?? '',
    version: version ?? 'v1',
    resource,
    kind,
    namespaced: !opts.cluster,
    verbs: ['list', 'get', 'create', 'delete'],
    shortNames: opts.short ?? [],
    singularName: kind.toLowerCase(),
    preferredVersion: version ?? 'v1',
  };
}

const catalog: ResourceInfo[] = [
  res('v1', 'pods', 'Pod', { short: ['po'] }),
  res('v1', 'configmaps', 'ConfigMap', { short: ['cm'] }),
  res('v1', 'secrets', 'Secret'),
  res('v1', 'serviceaccounts', 'ServiceAccount', { short: ['sa'] }),
  res('v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', { short: ['pvc'] }),
  res('v1', 'persistentvolumes', 'PersistentVolume', { cluster: true, short: ['pv'] }),
  res('v1', 'namespaces', 'Namespace', { cluster: true, short: ['ns'] }),
  res('v1', 'nodes', 'Node', { cluster: true, short: ['no'] }),
  res('v1', 'events', 'Event', { short: ['ev'] }),
  res('apps/v1', 'deployments', 'Deployment', { short: ['deploy'] }),
  res('events.k8s.io/v1', 'events', 'Event', { short: ['ev'] }),
  res('rbac.authorization.k8s.io/v1', 'clusterroles', 'ClusterRole', { cluster: true }),
  res('rbac.authorization.k8s.io/v1', 'clusterrolebindings', 'ClusterRoleBinding', { cluster: true }),
  res('storage.k8s.io/v1', 'storageclasses', 'StorageClass', { cluster: true, short: ['sc'] }),
  res('apiextensions.k8s.io/v1', 'customresourcedefinitions', 'CustomResourceDefinition', {
    cluster: true,
    short: ['crd'],
  }),
  res('example.com/v1', 'widgets', 'Widget'),
  res('example.com/v1', 'gadgets', 'Gadget', { cluster: true }),
  res('velero.io/v1', 'backups', 'Backup'),
  res('velero.io/v1', 'restores', 'Restore'),
];

const scope = (name: string): ResourceScope => {
  const info = catalog.find((r) => (r.group ? `${r.resource}.${r.group}` : r.resource) === name);
  if (!info) throw new Error(`test catalog has no ${name}`);
  return info;
};

const obj = (meta: KubeObject['metadata'], extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Thing',
  metadata: meta,
  ...extra,
});

const LIMITED = { includedNamespaces: ['shop'] };

describe('includesNamespace', () => {
  it.each<[ResourceFilterSpec, string, boolean]>([
    [{}, 'anything', true],
    [{ includedNamespaces: [] }, 'anything', true],
    [{ includedNamespaces: ['*'] }, 'anything', true],
    [{ includedNamespaces: ['shop'] }, 'shop', true],
    [{ includedNamespaces: ['shop'] }, 'shop-2', false],
    [{ includedNamespaces: ['app-*'] }, 'app-prod', true],
    [{ includedNamespaces: ['app-*'] }, 'app-', true],
    [{ includedNamespaces: ['app-*'] }, 'app', false],
    [{ includedNamespaces: ['app-*'] }, 'xapp-1', false],
    [{ includedNamespaces: ['*-prod'] }, 'shop-prod', true],
    [{ includedNamespaces: ['ns?'] }, 'ns1', true],
    [{ includedNamespaces: ['ns?'] }, 'ns10', false],
    [{ includedNamespaces: ['ns[123]'] }, 'ns2', true],
    [{ includedNamespaces: ['ns[123]'] }, 'ns4', false],
    [{ includedNamespaces: ['ns[a-c]'] }, 'nsb', true],
    [{ includedNamespaces: ['ns[a-c]'] }, 'nsd', false],
    [{ includedNamespaces: ['ns[a-c0-9]'] }, 'ns7', true],
    [{ excludedNamespaces: ['kube-system'] }, 'kube-system', false],
    [{ excludedNamespaces: ['kube-system'] }, 'default', true],
    [{ includedNamespaces: ['*'], excludedNamespaces: ['kube-*'] }, 'kube-public', false],
    [{ includedNamespaces: ['*'], excludedNamespaces: ['kube-*'] }, 'shop', true],
    [{ includedNamespaces: ['app-*'], excludedNamespaces: ['app-test'] }, 'app-test', false],
    [{ includedNamespaces: ['app-*'], excludedNamespaces: ['app-test'] }, 'app-live', true],
    [{ includedNamespaces: ['shop', 'web'], excludedNamespaces: ['w*'] }, 'web', false],
  ])('%j: %s → %s', (spec, namespace, expected) => {
    expect(compileFilter(spec, catalog).includesNamespace(namespace)).toBe(expected);
  });
});

describe('includesResource with the old fields', () => {
  // [description, spec, resource, expected]
  it.each<[string, ResourceFilterSpec, string, boolean]>([
    ['full cluster, auto: namespaced', {}, 'deployments.apps', true],
    ['full cluster, auto: cluster-scoped', {}, 'storageclasses.storage.k8s.io', true],
    ['full cluster, auto: namespaces', {}, 'namespaces', true],
    [
      'full cluster, true: cluster-scoped',
      { includeClusterResources: true },
      'storageclasses.storage.k8s.io',
      true,
    ],
    [
      'full cluster, false: cluster-scoped',
      { includeClusterResources: false },
      'storageclasses.storage.k8s.io',
      false,
    ],
    ['full cluster, false: namespaces', { includeClusterResources: false }, 'namespaces', false],
    ['full cluster, false: namespaced', { includeClusterResources: false }, 'pods', true],
    ['full cluster, null is auto', { includeClusterResources: null }, 'persistentvolumes', true],
    ['limited, auto: namespaced', LIMITED, 'pods', true],
    ['limited, auto: cluster-scoped', LIMITED, 'storageclasses.storage.k8s.io', false],
    ['limited, auto: namespaces', LIMITED, 'namespaces', true],
    [
      'limited, true: cluster-scoped',
      { ...LIMITED, includeClusterResources: true },
      'persistentvolumes',
      true,
    ],
    [
      'limited, false: cluster-scoped',
      { ...LIMITED, includeClusterResources: false },
      'persistentvolumes',
      false,
    ],
    ['limited, false: namespaces', { ...LIMITED, includeClusterResources: false }, 'namespaces', false],
    ['excludes only, auto', { excludedNamespaces: ['kube-system'] }, 'persistentvolumes', false],
    ['wildcard include, auto', { includedNamespaces: ['*'] }, 'persistentvolumes', true],
    ['includedResources', { includedResources: ['deploy'] }, 'deployments.apps', true],
    ['includedResources', { includedResources: ['deploy'] }, 'pods', false],
    ['includedResources, auto', { includedResources: ['deploy'] }, 'namespaces', false],
    ['includedResources, full, auto', { includedResources: ['sc'] }, 'storageclasses.storage.k8s.io', true],
    [
      'includedResources, limited, auto',
      { ...LIMITED, includedResources: ['sc'] },
      'storageclasses.storage.k8s.io',
      false,
    ],
    [
      'includedResources, limited, true',
      { ...LIMITED, includedResources: ['sc'], includeClusterResources: true },
      'storageclasses.storage.k8s.io',
      true,
    ],
    ['includedResources *', { includedResources: ['*'] }, 'secrets', true],
    ['excludedResources', { excludedResources: ['secrets'] }, 'secrets', false],
    ['excludedResources', { excludedResources: ['secrets'] }, 'configmaps', true],
    [
      'excludedResources, true',
      { includeClusterResources: true, excludedResources: ['sc'] },
      'storageclasses.storage.k8s.io',
      false,
    ],
    ['excludedResources pattern', { excludedResources: ['*.velero.io'] }, 'backups.velero.io', false],
    ['excludedResources pattern', { excludedResources: ['*.velero.io'] }, 'pods', true],
    ['includedResources pattern', { includedResources: ['*.example.com'] }, 'widgets.example.com', true],
    ['includedResources pattern', { includedResources: ['*.example.com'] }, 'pods', false],
    ['events by kind', { excludedResources: ['Event'] }, 'events', false],
    ['events by kind keeps the other group', { excludedResources: ['Event'] }, 'events.events.k8s.io', true],
  ])('%s: %j, %s → %s', (_what, spec, resource, expected) => {
    expect(compileFilter(spec, catalog).includesResource(scope(resource))).toBe(expected);
  });
});

describe('includesResource with the scoped fields', () => {
  it.each<[string, ResourceFilterSpec, string, boolean]>([
    [
      'namespace-scoped include',
      { includedNamespaceScopedResources: ['deployments'] },
      'deployments.apps',
      true,
    ],
    ['namespace-scoped include', { includedNamespaceScopedResources: ['deployments'] }, 'pods', false],
    [
      'namespace-scoped include: no cluster types',
      { includedNamespaceScopedResources: ['deployments'] },
      'persistentvolumes',
      false,
    ],
    [
      'namespace-scoped include: namespaces kept',
      { includedNamespaceScopedResources: ['deployments'] },
      'namespaces',
      true,
    ],
    [
      'namespace-scoped *: full cluster',
      { includedNamespaceScopedResources: ['*'] },
      'persistentvolumes',
      true,
    ],
    ['namespace-scoped exclude', { excludedNamespaceScopedResources: ['secrets'] }, 'secrets', false],
    ['namespace-scoped exclude', { excludedNamespaceScopedResources: ['secrets'] }, 'pods', true],
    [
      'namespace-scoped exclude: not full',
      { excludedNamespaceScopedResources: ['secrets'] },
      'storageclasses.storage.k8s.io',
      false,
    ],
    ['namespace-scoped exclude *', { excludedNamespaceScopedResources: ['*'] }, 'pods', false],
    [
      'cluster-scoped include',
      { ...LIMITED, includedClusterScopedResources: ['sc'] },
      'storageclasses.storage.k8s.io',
      true,
    ],
    [
      'cluster-scoped include',
      { ...LIMITED, includedClusterScopedResources: ['sc'] },
      'persistentvolumes',
      false,
    ],
    ['cluster-scoped include', { ...LIMITED, includedClusterScopedResources: ['sc'] }, 'namespaces', true],
    ['cluster-scoped include', { ...LIMITED, includedClusterScopedResources: ['sc'] }, 'pods', true],
    ['cluster-scoped *', { ...LIMITED, includedClusterScopedResources: ['*'] }, 'nodes', true],
    [
      'cluster-scoped exclude *',
      { excludedClusterScopedResources: ['*'] },
      'storageclasses.storage.k8s.io',
      false,
    ],
    ['cluster-scoped exclude *', { excludedClusterScopedResources: ['*'] }, 'namespaces', false],
    ['cluster-scoped exclude *', { excludedClusterScopedResources: ['*'] }, 'pods', true],
    // Velero: once a cluster list is set, only the listed cluster types are included.
    ['cluster-scoped exclude one', { excludedClusterScopedResources: ['nodes'] }, 'nodes', false],
    [
      'cluster-scoped exclude one',
      { excludedClusterScopedResources: ['nodes'] },
      'storageclasses.storage.k8s.io',
      false,
    ],
    ['cluster-scoped exclude one', { excludedClusterScopedResources: ['nodes'] }, 'namespaces', true],
  ])('%s: %j, %s → %s', (_what, spec, resource, expected) => {
    expect(compileFilter(spec, catalog).includesResource(scope(resource))).toBe(expected);
  });
});

describe('excludesResource (may a dependency of this type be pulled in?)', () => {
  it.each<[string, ResourceFilterSpec, string, boolean]>([
    ['auto, limited, no resource filter', LIMITED, 'persistentvolumes', false],
    [
      'auto, limited, includes without pv',
      { ...LIMITED, includedResources: ['pvc'] },
      'persistentvolumes',
      true,
    ],
    [
      'auto, limited, includes with pv',
      { ...LIMITED, includedResources: ['pvc', 'pv'] },
      'persistentvolumes',
      false,
    ],
    [
      'auto, limited, includes *',
      { ...LIMITED, includedResources: ['*'] },
      'clusterroles.rbac.authorization.k8s.io',
      false,
    ],
    ['false', { ...LIMITED, includeClusterResources: false }, 'persistentvolumes', true],
    ['true', { ...LIMITED, includeClusterResources: true }, 'persistentvolumes', false],
    [
      'true, explicit exclude',
      { includeClusterResources: true, excludedResources: ['pv'] },
      'persistentvolumes',
      true,
    ],
    ['namespaced, explicit exclude', { excludedResources: ['secrets'] }, 'secrets', true],
    ['namespaced, not in includes', { includedResources: ['pods'] }, 'secrets', false],
    ['scoped, cluster exclude', { excludedClusterScopedResources: ['pv'] }, 'persistentvolumes', true],
    [
      'scoped, cluster exclude other',
      { excludedClusterScopedResources: ['pv'] },
      'storageclasses.storage.k8s.io',
      false,
    ],
    ['scoped, cluster include other', { includedClusterScopedResources: ['sc'] }, 'persistentvolumes', false],
    [
      'scoped, cluster exclude *',
      { excludedClusterScopedResources: ['*'] },
      'clusterroles.rbac.authorization.k8s.io',
      true,
    ],
    ['scoped, namespaced exclude *', { excludedNamespaceScopedResources: ['*'] }, 'pods', true],
  ])('%s: %j, %s → %s', (_what, spec, resource, expected) => {
    expect(compileFilter(spec, catalog).excludesResource(scope(resource))).toBe(expected);
  });
});

describe('includesObject', () => {
  const deleting = { deletionTimestamp: '2024-01-01T00:00:00Z' };
  it.each<[string, ResourceFilterSpec, KubeObject, boolean]>([
    ['no selector', {}, obj({ name: 'a', namespace: 'shop' }), true],
    [
      'selector match',
      { labelSelector: { matchLabels: { app: 'web' } } },
      obj({ name: 'a', labels: { app: 'web' } }),
      true,
    ],
    [
      'selector miss',
      { labelSelector: { matchLabels: { app: 'web' } } },
      obj({ name: 'a', labels: { app: 'api' } }),
      false,
    ],
    ['selector, no labels', { labelSelector: { matchLabels: { app: 'web' } } }, obj({ name: 'a' }), false],
    [
      'selector expression',
      { labelSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['db'] }] } },
      obj({ name: 'a' }),
      true,
    ],
    [
      'or-selectors, second matches',
      { orLabelSelectors: [{ matchLabels: { app: 'web' } }, { matchLabels: { env: 'prod' } }] },
      obj({ name: 'a', labels: { env: 'prod' } }),
      true,
    ],
    [
      'or-selectors, none matches',
      { orLabelSelectors: [{ matchLabels: { app: 'web' } }, { matchLabels: { env: 'prod' } }] },
      obj({ name: 'a', labels: { env: 'dev' } }),
      false,
    ],
    [
      'excluded namespace',
      { excludedNamespaces: ['kube-system'] },
      obj({ name: 'a', namespace: 'kube-system' }),
      false,
    ],
    ['namespace not included', LIMITED, obj({ name: 'a', namespace: 'other' }), false],
    ['cluster-scoped ignores namespaces', LIMITED, obj({ name: 'a' }), true],
    ['exclude label', {}, obj({ name: 'a', labels: { 'velero.io/exclude-from-backup': 'true' } }), false],
    [
      'exclude label not "true"',
      {},
      obj({ name: 'a', labels: { 'velero.io/exclude-from-backup': 'false' } }),
      true,
    ],
    ['being deleted', {}, obj({ name: 'a', ...deleting }), false],
  ])('%s', (_what, spec, object, expected) => {
    expect(compileFilter(spec, catalog).includesObject(object)).toBe(expected);
  });
});

describe('includesDependency', () => {
  const selector = { ...LIMITED, labelSelector: { matchLabels: { app: 'web' } } };
  it.each<[string, ResourceFilterSpec, KubeObject, string, boolean]>([
    ['ignores the label selector', selector, obj({ name: 'pv-1' }), 'persistentvolumes', true],
    [
      'exclude label',
      selector,
      obj({ name: 'pv-1', labels: { 'velero.io/exclude-from-backup': 'true' } }),
      'persistentvolumes',
      false,
    ],
    ['being deleted', LIMITED, obj({ name: 'pv-1', deletionTimestamp: 'x' }), 'persistentvolumes', false],
    [
      'type excluded',
      { ...LIMITED, includeClusterResources: false },
      obj({ name: 'pv-1' }),
      'persistentvolumes',
      false,
    ],
  ])('%s', (...[, spec, object, resource, expected]) => {
    expect(compileFilter(spec, catalog).includesDependency(object, scope(resource))).toBe(expected);
  });
});

describe('includesNamespaceObject (Velero nsTracker)', () => {
  const ns = (name: string, labels?: Record<string, string>, phase = 'Active'): KubeObject =>
    obj({ name, ...(labels ? { labels } : {}) }, { status: { phase } });
  const webSelector = { labelSelector: { matchLabels: { app: 'web' } } };
  it.each<[string, ResourceFilterSpec, KubeObject, boolean, boolean]>([
    ['full cluster', {}, ns('any'), false, true],
    ['limited: included name', LIMITED, ns('shop'), false, true],
    ['limited: other name', LIMITED, ns('other'), false, false],
    ['limited: name by pattern', { includedNamespaces: ['sh*'] }, ns('shop'), false, true],
    ['has included items', LIMITED, ns('other'), true, true],
    ['full + selector: labels match', webSelector, ns('a', { app: 'web' }), false, true],
    ['full + selector: no match, no items', webSelector, ns('a'), false, false],
    ['full + selector: no match, has items', webSelector, ns('a'), true, true],
    ['limited + selector: name matches', { ...LIMITED, ...webSelector }, ns('shop'), false, true],
    [
      'limited + selector: labels match',
      { ...LIMITED, ...webSelector },
      ns('other', { app: 'web' }),
      false,
      true,
    ],
    ['limited + selector: neither', { ...LIMITED, ...webSelector }, ns('other'), false, false],
    [
      'or-selectors: labels match',
      { orLabelSelectors: [{ matchLabels: { a: '1' } }, { matchLabels: { b: '2' } }] },
      ns('x', { b: '2' }),
      false,
      true,
    ],
    ['terminating, no items', LIMITED, ns('shop', undefined, 'Terminating'), false, false],
    ['terminating, has items', LIMITED, ns('shop', undefined, 'Terminating'), true, true],
    [
      'being deleted, has items',
      LIMITED,
      {
        ...ns('shop', undefined, 'Terminating'),
        metadata: { name: 'shop', deletionTimestamp: '2026-11-25T00:00:00Z' },
      },
      true,
      false,
    ],
    ['includeClusterResources false', { includeClusterResources: false }, ns('shop'), true, false],
    ['namespaces not in includedResources', { includedResources: ['pods'] }, ns('shop'), true, false],
    ['exclude label', {}, ns('shop', { 'velero.io/exclude-from-backup': 'true' }), true, false],
    ['excluded by name', { excludedNamespaces: ['shop'] }, ns('shop'), false, false],
  ])('%s', (...[, spec, namespace, hasIncludedItems, expected]) => {
    expect(compileFilter(spec, catalog).includesNamespaceObject(namespace, { hasIncludedItems })).toBe(
      expected,
    );
  });
});

describe('isFullClusterBackup', () => {
  it.each<[ResourceFilterSpec, boolean]>([
    [{}, true],
    [{ includedNamespaces: ['*'] }, true],
    [{ includedNamespaces: ['shop'] }, false],
    [{ excludedNamespaces: ['kube-system'] }, false],
    [{ includedNamespaces: ['*'], excludedNamespaces: ['kube-system'] }, false],
    [{ includedResources: ['deployments'] }, true],
    [{ includedNamespaceScopedResources: ['*'] }, true],
    [{ includedNamespaceScopedResources: ['deployments'] }, false],
    [{ excludedNamespaceScopedResources: ['secrets'] }, false],
    [{ includedClusterScopedResources: ['sc'] }, true],
  ])('%j → %s', (spec, expected) => {
    expect(isFullClusterBackup(spec)).toBe(expected);
    expect(compileFilter(spec, catalog).isFullCluster).toBe(expected);
  });
});

describe('listing plans', () => {
  it.each<[ResourceFilterSpec, string[] | undefined]>([
    [{}, undefined],
    [{ includedNamespaces: ['*'] }, undefined],
    [{ includedNamespaces: ['web', 'shop'] }, ['shop', 'web']],
    [{ includedNamespaces: ['web', 'shop', 'db'], excludedNamespaces: ['w*'] }, ['db', 'shop']],
    [{ includedNamespaces: ['shop', 'app-*'] }, undefined],
  ])('namespaces to list for %j: %j', (spec, expected) => {
    expect(compileFilter(spec, catalog).listNamespaces()).toEqual(expected);
  });

  it.each<[ResourceFilterSpec, string[]]>([
    [{}, ['']],
    [{ labelSelector: { matchLabels: { app: 'web' } } }, ['app=web']],
    [
      {
        orLabelSelectors: [
          { matchLabels: { app: 'web' } },
          { matchExpressions: [{ key: 'x', operator: 'Exists' }] },
        ],
      },
      ['app=web', 'x'],
    ],
  ])('list selectors for %j: %j', (spec, expected) => {
    expect(compileFilter(spec, catalog).listSelectors()).toEqual(expected);
  });

  it('describes the filter as Velero logs it', () => {
    expect(compileFilter({ ...LIMITED, excludedResources: ['sc', 'secrets'] }, catalog).describe()).toEqual({
      includedNamespaces: 'shop',
      excludedNamespaces: '<none>',
      includedResources: '*',
      excludedResources: 'secrets, storageclasses.storage.k8s.io',
      includeClusterResources: 'auto',
      labelSelectors: '<none>',
    });
    expect(compileFilter({ excludedClusterScopedResources: ['*'] }, catalog).describe()).toMatchObject({
      includedNamespaceScopedResources: '*',
      includedClusterScopedResources: '<none>',
      excludedClusterScopedResources: '*',
    });
  });
});

describe('validation errors name the field', () => {
  it.each<[string, Record<string, unknown>, string, RegExp]>([
    [
      'unknown resource',
      { excludedResources: ['pods', 'deployments', 'deploymnets'] },
      'excludedResources[2]',
      /unknown resource "deploymnets".*deployments\.apps/,
    ],
    ['* with others', { includedResources: ['*', 'pods'] }, 'includedResources', /\['\*'\] alone/],
    ['* excluded', { excludedResources: ['pods', '*'] }, 'excludedResources[1]', /cannot be excluded/],
    [
      'included and excluded',
      { includedResources: ['deploy'], excludedResources: ['deployments.apps'] },
      'excludedResources[0]',
      /"deployments.apps" is also in includedResources/,
    ],
    [
      'invalid resource pattern',
      { includedResources: ['apps/*'] },
      'includedResources[0]',
      /invalid resource pattern/,
    ],
    ['not a list', { includedNamespaces: 'shop' }, 'includedNamespaces', /must be a list/],
    ['not a string', { includedNamespaces: ['shop', 7] }, 'includedNamespaces[1]', /must be a string/],
    [
      'includeClusterResources',
      { includeClusterResources: 'yes' },
      'includeClusterResources',
      /true, false or unset/,
    ],
    [
      'namespace * with others',
      { includedNamespaces: ['*', 'shop'] },
      'includedNamespaces',
      /\['\*'\] alone/,
    ],
    ['namespace * excluded', { excludedNamespaces: ['*'] }, 'excludedNamespaces[0]', /cannot be excluded/],
    [
      'namespace in both',
      { includedNamespaces: ['shop'], excludedNamespaces: ['shop'] },
      'excludedNamespaces[0]',
      /also in includedNamespaces/,
    ],
    ['namespace **', { includedNamespaces: ['app-**'] }, 'includedNamespaces[0]', /consecutive asterisks/],
    ['namespace |', { includedNamespaces: ['a|b'] }, 'includedNamespaces[0]', /'\|' is not supported/],
    ['namespace braces', { excludedNamespaces: ['{a,b}'] }, 'excludedNamespaces[0]', /'\{' is not supported/],
    ['namespace negation', { includedNamespaces: ['!x'] }, 'includedNamespaces[0]', /'!' is not supported/],
    ['namespace empty brackets', { includedNamespaces: ['ns[]'] }, 'includedNamespaces[0]', /empty brackets/],
    ['namespace unclosed bracket', { includedNamespaces: ['ns[1'] }, 'includedNamespaces[0]', /unclosed/],
    ['namespace stray bracket', { includedNamespaces: ['ns]'] }, 'includedNamespaces[0]', /unmatched/],
    ['namespace reversed range', { includedNamespaces: ['ns[c-a]'] }, 'includedNamespaces[0]', /reversed/],
    [
      'namespace upper case',
      { includedNamespaces: ['Shop'] },
      'includedNamespaces[0]',
      /cannot appear in a namespace name/,
    ],
    ['namespace underscore', { includedNamespaces: ['my_ns'] }, 'includedNamespaces[0]', /cannot appear/],
    ['namespace leading dash', { includedNamespaces: ['-x'] }, 'includedNamespaces[0]', /DNS label/],
    ['namespace too long', { includedNamespaces: ['a'.repeat(64)] }, 'includedNamespaces[0]', /DNS label/],
    [
      'old and new mixed',
      { includedResources: ['pods'], includedClusterScopedResources: ['sc'] },
      'includedClusterScopedResources',
      /cannot be combined/,
    ],
    [
      'old and new mixed',
      { includeClusterResources: true, excludedNamespaceScopedResources: ['secrets'] },
      'excludedNamespaceScopedResources',
      /cannot be combined/,
    ],
    [
      'wrong scope (cluster list)',
      { includedClusterScopedResources: ['deployments'] },
      'includedClusterScopedResources[0]',
      /namespace-scoped/,
    ],
    [
      'wrong scope (namespace list)',
      { excludedNamespaceScopedResources: ['sc'] },
      'excludedNamespaceScopedResources[0]',
      /cluster-scoped/,
    ],
    [
      'scoped * with others',
      { excludedNamespaceScopedResources: ['*', 'pods'] },
      'excludedNamespaceScopedResources',
      /\['\*'\] alone/,
    ],
    [
      'scoped include with exclude *',
      { includedClusterScopedResources: ['sc'], excludedClusterScopedResources: ['*'] },
      'includedClusterScopedResources',
      /must be empty/,
    ],
    [
      'both selectors',
      { labelSelector: { matchLabels: { a: 'b' } }, orLabelSelectors: [{ matchLabels: { c: 'd' } }] },
      'orLabelSelectors',
      /cannot both be set/,
    ],
    [
      'bad selector operator',
      { labelSelector: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] } },
      'labelSelector.matchExpressions[0].operator',
      /must be one of/,
    ],
    [
      'bad or-selector value',
      { orLabelSelectors: [{}, { matchLabels: { a: 'not ok' } }] },
      'orLabelSelectors[1].matchLabels["a"]',
      /label value/,
    ],
    ['or-selectors not a list', { orLabelSelectors: { a: 'b' } }, 'orLabelSelectors', /must be a list/],
  ])('%s: %j → %s', (_what, spec, field, message) => {
    const error = captureError(() => compileFilter(spec, catalog));
    expect(error).toBeInstanceOf(FilterError);
    const filterError = error as FilterError;
    expect(filterError.field).toBe(field);
    expect(filterError.message).toMatch(message);
    expect(filterError.message.startsWith(`${field}: `)).toBe(true);
  });

  it('reports every problem at once', () => {
    const error = captureError(() =>
      compileFilter(
        { includedNamespaces: ['Bad'], excludedResources: ['nope', 'pods'], includedResources: ['pods'] },
        catalog,
      ),
    ) as FilterError;
    expect(error.issues.map((issue) => issue.field)).toEqual([
      'includedNamespaces[0]',
      'excludedResources[0]',
      'excludedResources[1]',
    ]);
  });

  it('accepts valid resource patterns that match nothing', () => {
    expect(
      compileFilter({ excludedResources: ['*.nothing.example'] }, catalog).includesResource(scope('pods')),
    ).toBe(true);
  });
});

describe('restore filters', () => {
  const restore = (spec: ResourceFilterSpec) => compileFilter(spec, catalog, { purpose: 'restore' });

  it.each<[ResourceFilterSpec, string, boolean]>([
    [{}, 'nodes', false],
    [{ includeClusterResources: true }, 'nodes', false],
    [{}, 'events', false],
    [{}, 'events.events.k8s.io', false],
    [{}, 'backups.velero.io', false],
    [{}, 'pods', true],
    [{}, 'persistentvolumes', true],
    [LIMITED, 'persistentvolumes', false],
    [{ includedResources: ['*'] }, 'restores.velero.io', false],
  ])('%j: %s → %s', (spec, resource, expected) => {
    expect(restore(spec).includesResource(scope(resource))).toBe(expected);
  });

  it.each<[ResourceFilterSpec, string, RegExp]>([
    [{ includedResources: ['pods', 'nodes'] }, 'includedResources[1]', /"nodes" is never restored/],
    [{ includedResources: ['ev'] }, 'includedResources[0]', /"events" is never restored/],
    [{ includedClusterScopedResources: ['sc'] }, 'includedClusterScopedResources', /backup-only/],
  ])('rejects %j at %s', (spec, field, message) => {
    const error = captureError(() => restore(spec)) as FilterError;
    expect(error).toBeInstanceOf(FilterError);
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('does not apply the backup-only object checks', () => {
    const labelled = obj({
      name: 'a',
      labels: { 'velero.io/exclude-from-backup': 'true' },
      deletionTimestamp: 'x',
    });
    expect(restore({}).includesObject(labelled)).toBe(true);
    expect(
      restore({ excludedNamespaces: ['shop'] }).includesObject(obj({ name: 'a', namespace: 'shop' })),
    ).toBe(false);
  });

  it('allows excluding a non-restorable resource again', () => {
    expect(restore({ excludedResources: ['nodes'] }).includesResource(scope('nodes'))).toBe(false);
  });
});

describe('compileNamePattern', () => {
  it.each<[string, 'namespace' | 'resource', string, boolean]>([
    ['app-*', 'namespace', 'app-x', true],
    ['app-*', 'namespace', 'app-a.b', true],
    ['app-*', 'namespace', 'xapp-a', false],
    ['*.velero.io', 'resource', 'backups.velero.io', true],
    ['*.velero.io', 'resource', 'backupsxvelero.io', false],
    ['?ods', 'resource', 'pods', true],
    ['[a-c]*', 'namespace', 'bravo', true],
    ['[a-c]*', 'namespace', 'delta', false],
    ['x[-a]', 'namespace', 'x-', true],
  ])('%j (%s) matches %j: %s', (pattern, kind, name, expected) => {
    const compiled = compileNamePattern(pattern, kind);
    if (typeof compiled === 'string') throw new Error(compiled);
    expect(compiled.test(name)).toBe(expected);
  });
});

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
