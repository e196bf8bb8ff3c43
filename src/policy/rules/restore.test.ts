import { describe, expect, it } from 'vitest';
import type { RestorePolicySpec } from '../types.js';
import { namespaceMappingIssues, restoreSourceIssues } from './restore.js';

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
