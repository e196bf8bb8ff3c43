import { describe, expect, it } from 'vitest';
import { unavailableGroupIssues } from './unavailable-groups.js';

describe('unavailableGroupIssues', () => {
  it('makes each unavailable group-version an error naming it, by default', () => {
    const issues = unavailableGroupIssues({ includedNamespaces: ['shop'] }, ['metrics.k8s.io/v1beta1']);
    expect(issues.warnings).toEqual([]);
    expect(issues.errors).toEqual([
      {
        resource: 'metrics.k8s.io/v1beta1',
        message: expect.stringContaining('metrics.k8s.io/v1beta1 is unavailable'),
      },
    ]);
  });

  it('makes it a named warning when the spec says Warn', () => {
    const issues = unavailableGroupIssues({ unavailableApiGroups: 'Warn' }, ['a.example/v1', 'b.example/v1']);
    expect(issues.errors).toEqual([]);
    expect(issues.warnings).toEqual([
      expect.stringContaining('a.example/v1 is unavailable'),
      expect.stringContaining('b.example/v1 is unavailable'),
    ]);
  });

  it.each([
    [{ includedResources: ['configmaps'] }, 0],
    [{ includedNamespaceScopedResources: ['configmaps'], includedClusterScopedResources: ['nodes'] }, 0],
    [{ includedResources: ['*'] }, 1],
    [{ includedResources: [] }, 1],
    [{ excludedResources: ['configmaps'] }, 1],
  ])('with %j reports %i error(s)', (spec, count) => {
    expect(unavailableGroupIssues(spec, ['m.example/v1']).errors).toHaveLength(count);
  });
});
