import { describe, expect, it } from 'vitest';
import type { ResourceInfo } from '../kube/types.js';
import { liveKey, planLiveReads, type LiveRef } from './live-objects.js';

function info(resource: string, version = 'v1', group = ''): ResourceInfo {
  return {
    group,
    version,
    resource,
    kind: resource,
    namespaced: resource !== 'namespaces',
    verbs: [],
    shortNames: [],
    singularName: resource,
    preferredVersion: version,
  };
}

const refs = (resource: ResourceInfo, namespace: string, count: number, prefix = 'o'): LiveRef[] =>
  Array.from({ length: count }, (_, i) => ({ info: resource, namespace, name: `${prefix}-${i}` }));

const cm = info('configmaps');
const secrets = info('secrets');
const widgetsV1 = info('widgets', 'v1', 'example.com');
const widgetsV1beta1 = info('widgets', 'v1beta1', 'example.com');

describe('planLiveReads', () => {
  const cases: {
    name: string;
    refs: LiveRef[];
    threshold: number;
    lists: { resource: string; version: string; namespace: string; count: number }[];
    gets: number;
  }[] = [
    { name: 'nothing to read', refs: [], threshold: 3, lists: [], gets: 0 },
    { name: 'below the threshold: one GET each', refs: refs(cm, 'a', 2), threshold: 3, lists: [], gets: 2 },
    {
      name: 'at the threshold: one LIST',
      refs: refs(cm, 'a', 3),
      threshold: 3,
      lists: [{ resource: 'configmaps', version: 'v1', namespace: 'a', count: 3 }],
      gets: 0,
    },
    {
      name: 'grouped per namespace',
      refs: [...refs(cm, 'a', 3), ...refs(cm, 'b', 2)],
      threshold: 3,
      lists: [{ resource: 'configmaps', version: 'v1', namespace: 'a', count: 3 }],
      gets: 2,
    },
    {
      name: 'grouped per resource',
      refs: [...refs(cm, 'a', 2), ...refs(secrets, 'a', 2)],
      threshold: 3,
      lists: [],
      gets: 4,
    },
    {
      name: 'grouped per version: each is its own request',
      refs: [...refs(widgetsV1, 'a', 3), ...refs(widgetsV1beta1, 'a', 3, 'beta')],
      threshold: 3,
      lists: [
        { resource: 'widgets', version: 'v1', namespace: 'a', count: 3 },
        { resource: 'widgets', version: 'v1beta1', namespace: 'a', count: 3 },
      ],
      gets: 0,
    },
    {
      name: 'cluster-scoped objects group under the empty namespace',
      refs: refs(info('namespaces'), '', 4),
      threshold: 3,
      lists: [{ resource: 'namespaces', version: 'v1', namespace: '', count: 4 }],
      gets: 0,
    },
    {
      name: 'the same object twice is read once',
      refs: [...refs(cm, 'a', 2), ...refs(cm, 'a', 2)],
      threshold: 3,
      lists: [],
      gets: 2,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planLiveReads(c.refs, c.threshold);
      expect(
        plan.lists.map((l) => ({
          resource: l.info.resource,
          version: l.info.version,
          namespace: l.namespace,
          count: l.refs.length,
        })),
      ).toEqual(c.lists);
      expect(plan.gets).toHaveLength(c.gets);
      // Every distinct object is read exactly once, one way or the other.
      const read = [...plan.gets, ...plan.lists.flatMap((l) => l.refs)].map(liveKey);
      expect(new Set(read).size).toBe(read.length);
      expect(new Set(read)).toEqual(new Set(c.refs.map(liveKey)));
    });
  }
});

describe('liveKey', () => {
  it('tells apart versions, namespaces and names', () => {
    const keys = [
      liveKey({ info: widgetsV1, namespace: 'a', name: 'x' }),
      liveKey({ info: widgetsV1beta1, namespace: 'a', name: 'x' }),
      liveKey({ info: widgetsV1, namespace: 'b', name: 'x' }),
      liveKey({ info: widgetsV1, namespace: 'a', name: 'y' }),
      liveKey({ info: widgetsV1, namespace: '', name: 'x' }),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
