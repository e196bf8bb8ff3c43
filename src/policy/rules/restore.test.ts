import { describe, expect, it } from 'vitest';
import type { RestorePolicySpec } from '../types.js';
import { namespaceMappingIssues, restoreSourceIssues, systemNamespaceIssues } from './restore.js';

const spec = (fields: Partial<RestorePolicySpec>): RestorePolicySpec => ({
  includeClusterResources: 'auto',
  existingResourcePolicy: 'none',
  ...fields,
});

describe('restoreSourceIssues (Velero backupXorScheduleProvided)', () => {
  it.each([
    [spec({ backupName: 'nightly-shop-20250301020000' }), []],
    [spec({ scheduleName: 'nightly-shop' }), []],
    [spec({}), [['spec', 'a Restore needs a source: set backupName or scheduleName']]],
    [
      spec({ backupName: 'b', scheduleName: 's' }),
      [['spec.scheduleName', 'set either backupName or scheduleName, not both']],
    ],
    [
      spec({ backupName: 'Nightly/../x' }),
      [
        [
          'spec.backupName',
          "backup name \"Nightly/../x\" must be a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', starting and ending with a letter or digit",
        ],
      ],
    ],
  ])('%j', (input, expected) => {
    expect(restoreSourceIssues(input).map((i) => [i.path.join('.'), i.message])).toEqual(expected);
  });
});

describe('namespaceMappingIssues', () => {
  it('accepts namespace names on both sides', () => {
    expect(
      namespaceMappingIssues(spec({ namespaceMapping: { shop: 'shop-restored', billing: 'billing-2' } })),
    ).toEqual([]);
  });

  it('points at the key for a bad source and at the value for a bad target', () => {
    const issues = namespaceMappingIssues(
      spec({ namespaceMapping: { Shop: 'shop-restored', billing: 'billing.old' } }),
    );
    expect(issues.map((i) => [i.path.join('.'), i.at, i.message.split(' must')[0]])).toEqual([
      ['spec.namespaceMapping.Shop', 'key', 'namespace "Shop"'],
      ['spec.namespaceMapping.billing', undefined, 'namespace "billing.old"'],
    ]);
  });
});

describe('namespaceMappingIssues: collisions', () => {
  it('refuses two sources mapped to one target, at the second', () => {
    const issues = namespaceMappingIssues(spec({ namespaceMapping: { shop: 'merged', billing: 'merged' } }));
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'spec.namespaceMapping.billing',
        '"billing" and "shop" both map to "merged": their objects would collide',
      ],
    ]);
  });

  it('refuses a target that is also a source', () => {
    const issues = namespaceMappingIssues(
      spec({ namespaceMapping: { shop: 'billing', billing: 'archive' } }),
    );
    expect(issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'spec.namespaceMapping.shop',
        'target "billing" is itself mapped (to "archive"): a namespace cannot be both a target and a source',
      ],
    ]);
  });

  it('accepts a swap-free mapping and a namespace mapped to itself', () => {
    expect(
      namespaceMappingIssues(spec({ namespaceMapping: { shop: 'shop', billing: 'billing-2' } })),
    ).toEqual([]);
  });
});

describe('systemNamespaceIssues', () => {
  it('warns (not errs) for a mapping into a system namespace and for a system namespace restored in place', () => {
    const issues = systemNamespaceIssues(
      spec({
        namespaceMapping: { tools: 'kube-system' },
        includedNamespaces: ['tools', 'kube-public', 'shop'],
      }),
    );
    expect(issues.map((i) => [i.severity, i.path.join('.'), i.message])).toEqual([
      [
        'warning',
        'spec.namespaceMapping.tools',
        'restores into the system namespace "kube-system": objects there can change how the whole cluster runs',
      ],
      [
        'warning',
        'spec.includedNamespaces.1',
        'restores into the system namespace "kube-public": objects there can change how the whole cluster runs',
      ],
    ]);
  });

  it('says nothing for ordinary namespaces, or a system namespace mapped elsewhere', () => {
    expect(
      systemNamespaceIssues(
        spec({ namespaceMapping: { 'kube-system': 'ks-copy' }, includedNamespaces: ['kube-system', 'shop'] }),
      ),
    ).toEqual([]);
  });
});
