import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { applyNamespaceMapping, mapNamespace, validateNamespaceMapping } from './namespace-mapping.js';

const mapping = { shop: 'shop-restored', tools: 'tools-b' };

describe('applyNamespaceMapping', () => {
  it.each([
    [
      'moves a namespaced object to the mapped namespace',
      'configmaps',
      { namespace: 'shop' },
      'shop-restored',
    ],
    ['leaves an unmapped namespace alone', 'configmaps', { namespace: 'other' }, 'other'],
  ])('%s', (_label, groupResource, meta, expected) => {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', ...meta } };
    expect(applyNamespaceMapping(obj, groupResource, mapping).metadata.namespace).toBe(expected);
  });

  it('renames a Namespace object and its kubernetes.io/metadata.name label', () => {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'shop', labels: { 'kubernetes.io/metadata.name': 'shop', team: 'a' } },
    };
    const out = applyNamespaceMapping(ns, 'namespaces', mapping);
    expect(out.metadata.name).toBe('shop-restored');
    expect(out.metadata.labels).toEqual({ 'kubernetes.io/metadata.name': 'shop-restored', team: 'a' });
  });

  it.each(['rolebindings.rbac.authorization.k8s.io', 'clusterrolebindings.rbac.authorization.k8s.io'])(
    'moves mapped subject namespaces of %s (Velero rolebinding actions)',
    (groupResource) => {
      const binding: KubeObject = {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'b' },
        subjects: [
          { kind: 'ServiceAccount', name: 'app', namespace: 'shop' },
          { kind: 'ServiceAccount', name: 'ci', namespace: 'ci' },
          { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
        ],
      };
      expect(applyNamespaceMapping(binding, groupResource, mapping).subjects).toEqual([
        { kind: 'ServiceAccount', name: 'app', namespace: 'shop-restored' },
        { kind: 'ServiceAccount', name: 'ci', namespace: 'ci' },
        { kind: 'User', name: 'alice', apiGroup: 'rbac.authorization.k8s.io' },
      ]);
    },
  );

  it("moves a PersistentVolume's claimRef with its claim (Velero remapClaimRefNS)", () => {
    const pv: KubeObject = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: 'pv-1' },
      spec: { claimRef: { namespace: 'shop', name: 'data' } },
    };
    expect(applyNamespaceMapping(pv, 'persistentvolumes', mapping).spec).toEqual({
      claimRef: { namespace: 'shop-restored', name: 'data' },
    });
  });

  it('returns a copy and leaves the input alone', () => {
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c', namespace: 'shop' },
    };
    const out = applyNamespaceMapping(obj, 'configmaps', mapping);
    expect(obj.metadata.namespace).toBe('shop');
    expect(out).not.toBe(obj);
  });

  it('maps only own keys, not inherited ones', () => {
    expect(mapNamespace('constructor', mapping)).toBe('constructor');
    expect(mapNamespace('shop', undefined)).toBe('shop');
  });
});

describe('validateNamespaceMapping', () => {
  it.each([
    [{ shop: 'shop-b' }, []],
    [{ Shop: 'shop-b' }, [/namespaceMapping.Shop: "Shop" is not a valid namespace name/]],
    [{ shop: 'shop_b' }, [/namespaceMapping.shop: target "shop_b"/]],
    [{ shop: 'x'.repeat(64) }, [/is not a valid namespace name/]],
  ])('%j', (input, expected) => {
    const errors = validateNamespaceMapping(input);
    expect(errors).toHaveLength(expected.length);
    expected.forEach((re, i) => expect(errors[i]).toMatch(re));
  });
});
