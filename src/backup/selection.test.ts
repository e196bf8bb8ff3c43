import { describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { listsNamespacesOneByOne, PER_NAMESPACE_MAX, selectResources } from './selection.js';

function res(group: string, resource: string, kind: string, namespaced = true): ResourceInfo {
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

const configMaps = res('', 'configmaps', 'ConfigMap');
const catalog = [
  configMaps,
  res('apps', 'deployments', 'Deployment'),
  res('', 'namespaces', 'Namespace', false),
];
const names = (n: number) => Array.from({ length: n }, (_, i) => `team-${i}`);

describe('listsNamespacesOneByOne', () => {
  it.each([
    // selected, namespaces in the cluster, one by one?
    [1, undefined, true],
    [PER_NAMESPACE_MAX, undefined, true],
    [PER_NAMESPACE_MAX + 1, undefined, false],
    [100, undefined, false],
    [2, 3, true],
    [4, 5, false],
    [100, 100, false],
    [100, 120, false],
    [10, 100, true],
    [11, 100, false],
    [100, 5000, true],
  ] as const)('%i of %s namespaces: %s', (selected, cluster, expected) => {
    expect(listsNamespacesOneByOne(selected, cluster)).toBe(expected);
  });
});

describe('selectResources: how a literal namespace list is listed', () => {
  it('lists a few namespaces one by one, in list order', () => {
    const sel = selectResources({ includedNamespaces: ['b', 'a-1', 'a'] }, catalog);
    const cm = sel.types.find((t) => t.info === configMaps);
    expect(cm?.namespaces).toEqual(['a-1', 'a', 'b']);
  });

  it('lists 100 namespaces of a 100-namespace cluster across all namespaces, keeping only those', () => {
    const wanted = names(100);
    const sel = selectResources({ includedNamespaces: wanted }, catalog, { clusterNamespaces: 100 });
    const cm = sel.types.find((t) => t.info === configMaps);
    expect(cm?.namespaces).toBeUndefined();
    const inside: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'team-7' },
    };
    const outside: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'x', namespace: 'other' },
    };
    expect(sel.keepObject(configMaps, inside)).toBe(true);
    expect(sel.keepObject(configMaps, outside)).toBe(false);
  });

  it('lists 100 namespaces of a 5,000-namespace cluster one by one', () => {
    const sel = selectResources({ includedNamespaces: names(100) }, catalog, { clusterNamespaces: 5000 });
    expect(sel.types.find((t) => t.info === configMaps)?.namespaces).toHaveLength(100);
  });

  it('lists patterns across all namespaces, as before', () => {
    const sel = selectResources({ includedNamespaces: ['team-*'] }, catalog, { clusterNamespaces: 5000 });
    expect(sel.types.find((t) => t.info === configMaps)?.namespaces).toBeUndefined();
  });
});
