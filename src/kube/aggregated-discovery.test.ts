import { describe, expect, it } from 'vitest';
import { groupVersionsOfAggregated, isAggregatedDiscovery } from './aggregated-discovery.js';

const core = {
  kind: 'APIGroupDiscoveryList',
  apiVersion: 'apidiscovery.k8s.io/v2',
  items: [
    {
      metadata: {},
      versions: [
        {
          version: 'v1',
          freshness: 'Current',
          resources: [
            {
              resource: 'pods',
              responseKind: { group: '', version: '', kind: 'Pod' },
              scope: 'Namespaced',
              singularResource: 'pod',
              verbs: ['create', 'get', 'list'],
              shortNames: ['po'],
              subresources: [
                { subresource: 'status', responseKind: { kind: 'Pod' }, verbs: ['get', 'patch'] },
              ],
            },
            {
              resource: 'namespaces',
              responseKind: { kind: 'Namespace' },
              scope: 'Cluster',
              singularResource: 'namespace',
              verbs: ['create', 'list'],
            },
          ],
        },
      ],
    },
  ],
};

const groups = {
  kind: 'APIGroupDiscoveryList',
  items: [
    {
      metadata: { name: 'autoscaling' },
      versions: [
        { version: 'v2', resources: [{ resource: 'horizontalpodautoscalers', scope: 'Namespaced' }] },
        { version: 'v1', resources: [] },
      ],
    },
    { metadata: { name: 'metrics.k8s.io' }, versions: [{ version: 'v1beta1', freshness: 'Stale' }] },
  ],
};

describe('groupVersionsOfAggregated', () => {
  it('gives each group version with its resources and subresources, the first version preferred', () => {
    const { groupVersions, stale } = groupVersionsOfAggregated(core, groups);
    expect(groupVersions.map((g) => [g.group, g.version, g.preferred])).toEqual([
      ['', 'v1', true],
      ['autoscaling', 'v2', true],
      ['autoscaling', 'v1', false],
      ['metrics.k8s.io', 'v1beta1', true],
    ]);
    expect(groupVersions[0]?.resources).toEqual([
      {
        name: 'pods',
        singularName: 'pod',
        namespaced: true,
        kind: 'Pod',
        verbs: ['create', 'get', 'list'],
        shortNames: ['po'],
      },
      { name: 'pods/status', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get', 'patch'] },
      {
        name: 'namespaces',
        singularName: 'namespace',
        namespaced: false,
        kind: 'Namespace',
        verbs: ['create', 'list'],
      },
    ]);
    expect(stale).toEqual(['metrics.k8s.io/v1beta1']);
  });

  it('tells the aggregated form from the legacy one', () => {
    expect(isAggregatedDiscovery(core)).toBe(true);
    expect(isAggregatedDiscovery({ kind: 'APIVersions', versions: ['v1'] })).toBe(false);
    expect(isAggregatedDiscovery(null)).toBe(false);
  });
});
