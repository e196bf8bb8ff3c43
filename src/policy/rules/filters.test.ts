import { describe, expect, it } from 'vitest';
import type { BackupTemplate, RestorePolicySpec } from '../types.js';
import {
  backupTemplateIssues,
  filterGenerationIssues,
  includesExcludesIssues,
  namespaceFilterIssues,
  restoreFilterIssues,
  selectorFilterIssues,
} from './filters.js';

const template = (fields: Partial<BackupTemplate>): BackupTemplate => ({
  includeClusterResources: 'auto',
  ttl: '720h',
  ...fields,
});
const restore = (fields: Partial<RestorePolicySpec>): RestorePolicySpec => ({
  backupName: 'b',
  includeClusterResources: 'auto',
  existingResourcePolicy: 'none',
  ...fields,
});

describe('includesExcludesIssues (Velero ValidateIncludesExcludes)', () => {
  const names: [string, string] = ['includedResources', 'excludedResources'];
  it.each([
    [{}, []],
    [{ includedResources: ['*'] }, []],
    [{ includedResources: ['pods'], excludedResources: ['secrets'] }, []],
    [
      { includedResources: ['*', 'pods'] },
      [['spec', 'includedResources'], 'includedResources must be either "*" alone or a list of names'],
    ],
    [
      { excludedResources: ['*'] },
      [['spec', 'excludedResources', 0], 'excludedResources must not contain "*"'],
    ],
    [
      { includedResources: ['pods', 'secrets'], excludedResources: ['configmaps', 'secrets'] },
      [['spec', 'excludedResources', 1], '"secrets" is both in includedResources and excludedResources'],
    ],
  ])('%j', (spec, expected) => {
    const issues = includesExcludesIssues(spec, ['spec'], names).map((i) => [i.path, i.message]);
    expect(issues).toEqual(expected.length === 0 ? [] : [expected]);
  });
});

describe('namespaceFilterIssues', () => {
  it('accepts Velero wildcards and reports bad names', () => {
    const issues = namespaceFilterIssues({ includedNamespaces: ['shop', 'team-*', 'Bad_NS'] }, ['spec']);
    expect(issues.map((i) => [i.code, i.path])).toEqual([['namespace', ['spec', 'includedNamespaces', 2]]]);
    expect(issues[0]?.message).toContain('namespace "Bad_NS" must be a DNS-1123 label');
  });
});

describe('selectorFilterIssues', () => {
  it('refuses labelSelector together with orLabelSelectors, as Velero does', () => {
    const issues = selectorFilterIssues(
      { labelSelector: { matchLabels: { a: 'b' } }, orLabelSelectors: [{ matchLabels: { c: 'd' } }] },
      ['spec'],
    );
    expect(issues).toEqual([
      {
        code: 'filter',
        path: ['spec', 'orLabelSelectors'],
        message: 'set labelSelector or orLabelSelectors, not both',
        at: 'key',
      },
    ]);
  });

  it('checks every selector of orLabelSelectors', () => {
    const issues = selectorFilterIssues({ orLabelSelectors: [{}, { matchLabels: { 'a b': 'c' } }] }, [
      'spec',
    ]);
    expect(issues.map((i) => i.path)).toEqual([['spec', 'orLabelSelectors', 1, 'matchLabels', 'a b']]);
  });
});

describe('filterGenerationIssues (Velero UseOldResourceFilters)', () => {
  it.each([
    [template({ includedClusterScopedResources: ['storageclasses.storage.k8s.io'] }), undefined],
    [template({ includedResources: ['pods'] }), undefined],
    [template({ includedResources: [], includedNamespaceScopedResources: ['pods'] }), undefined],
    [
      template({ includedResources: ['pods'], excludedNamespaceScopedResources: ['secrets'] }),
      'excludedNamespaceScopedResources',
    ],
    [
      template({ includeClusterResources: false, includedClusterScopedResources: ['nodes'] }),
      'includedClusterScopedResources',
    ],
  ])('%j', (spec, field) => {
    const issues = filterGenerationIssues(spec, ['spec']);
    expect(issues.map((i) => i.path)).toEqual(field ? [['spec', field]] : []);
  });
});

describe('backupTemplateIssues', () => {
  it('reports every problem of a template under its path', () => {
    const issues = backupTemplateIssues(
      template({
        ttl: '0s',
        csiSnapshotTimeout: 'soon',
        excludedNamespaces: ['*'],
        excludedResources: ['events'],
        includedResources: ['events'],
      }),
      ['spec', 'template'],
    );
    expect(issues.map((i) => [i.code, i.path.join('.')])).toEqual([
      ['filter', 'spec.template.excludedNamespaces.0'],
      ['filter', 'spec.template.excludedResources.0'],
      ['duration', 'spec.template.ttl'],
      ['duration', 'spec.template.csiSnapshotTimeout'],
    ]);
  });
});

describe('restoreFilterIssues', () => {
  it.each([
    ['nodes', 'nodes are never restored (as in Velero)'],
    ['events.events.k8s.io', 'events.events.k8s.io are never restored (as in Velero)'],
    ['backups.velero.io', 'backups.velero.io are never restored (as in Velero)'],
  ])('refuses to include %s', (resource, message) => {
    const issues = restoreFilterIssues(restore({ includedResources: ['configmaps', resource] }));
    expect(issues).toEqual([{ code: 'filter', path: ['spec', 'includedResources', 1], message }]);
  });

  it('checks the restoreStatus lists', () => {
    const issues = restoreFilterIssues(
      restore({ restoreStatus: { includedResources: ['*'], excludedResources: ['*'] } }),
    );
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      [['spec', 'restoreStatus', 'excludedResources', 0], 'excludedResources must not contain "*"'],
    ]);
  });

  it('accepts an ordinary restore', () => {
    expect(
      restoreFilterIssues(restore({ includedNamespaces: ['shop'], excludedResources: ['secrets'] })),
    ).toEqual([]);
  });
});
