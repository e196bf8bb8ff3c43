import { describe, expect, it } from 'vitest';
import { groupResource } from '../kube/types.js';
import {
  buildDiscovery,
  buildDiscoveryFromGroupVersions,
  DiscoveryError,
  isBackupable,
  parseGroupVersion,
  type FlatGroupVersion,
  type RawApiResource,
  type RawDiscovery,
} from './discovery-rules.js';

const ALL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function r(name: string, kind: string, opts: Partial<RawApiResource> = {}): RawApiResource {
  return { name, kind, namespaced: true, singularName: kind.toLowerCase(), verbs: ALL, ...opts };
}

/** A small cluster, shaped like the answers of /api, /apis and /apis/<g>/<v>. */
function cluster(): RawDiscovery {
  return {
    core: { kind: 'APIVersions', versions: ['v1'] },
    groups: {
      kind: 'APIGroupList',
      groups: [
        {
          name: 'extensions',
          versions: [{ groupVersion: 'extensions/v1beta1', version: 'v1beta1' }],
          preferredVersion: { groupVersion: 'extensions/v1beta1', version: 'v1beta1' },
        },
        {
          name: 'apps',
          versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
          preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
        },
        {
          name: 'autoscaling',
          versions: [
            { groupVersion: 'autoscaling/v2', version: 'v2' },
            { groupVersion: 'autoscaling/v1', version: 'v1' },
          ],
          preferredVersion: { groupVersion: 'autoscaling/v2', version: 'v2' },
        },
        {
          name: 'example.com',
          versions: [
            { groupVersion: 'example.com/v2', version: 'v2' },
            { groupVersion: 'example.com/v1', version: 'v1' },
          ],
          preferredVersion: { groupVersion: 'example.com/v2', version: 'v2' },
        },
        {
          name: 'metrics.k8s.io',
          versions: [{ groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' }],
          preferredVersion: { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' },
        },
      ],
    },
    resourceLists: [
      {
        groupVersion: 'v1',
        resources: [
          r('pods', 'Pod', { shortNames: ['po'] }),
          r('pods/log', 'Pod', { verbs: ['get'] }),
          r('pods/status', 'Pod', { verbs: ['get', 'patch', 'update'] }),
          r('namespaces', 'Namespace', { namespaced: false, shortNames: ['ns'] }),
          r('bindings', 'Binding', { verbs: ['create'] }),
          r('componentstatuses', 'ComponentStatus', { namespaced: false, verbs: ['get', 'list'] }),
          r('events', 'Event', { shortNames: ['ev'], singularName: '' }),
        ],
      },
      { groupVersion: 'extensions/v1beta1', resources: [r('ingresses', 'Ingress')] },
      {
        groupVersion: 'apps/v1',
        resources: [
          r('deployments', 'Deployment', { shortNames: ['deploy'] }),
          r('deployments/scale', 'Scale'),
        ],
      },
      {
        groupVersion: 'autoscaling/v2',
        resources: [r('horizontalpodautoscalers', 'HorizontalPodAutoscaler')],
      },
      {
        groupVersion: 'autoscaling/v1',
        resources: [r('horizontalpodautoscalers', 'HorizontalPodAutoscaler')],
      },
      // The preferred version lacks `legacies`; it is listed at v1, the only version serving it.
      { groupVersion: 'example.com/v2', resources: [r('widgets', 'Widget')] },
      { groupVersion: 'example.com/v1', resources: [r('widgets', 'Widget'), r('legacies', 'Legacy')] },
      // metrics.k8s.io/v1beta1 is absent: its aggregated server did not answer.
    ],
  };
}

describe('buildDiscovery', () => {
  const discovered = buildDiscovery(cluster());
  const listed = discovered.resources.map((info) => `${groupResource(info)}@${info.version}`);

  it('keeps backupable resources at the version they are listed at, core first and extensions last', () => {
    expect(listed).toEqual([
      'pods@v1',
      'namespaces@v1',
      'events@v1',
      'deployments.apps@v1',
      'horizontalpodautoscalers.autoscaling@v2',
      'widgets.example.com@v2',
      'legacies.example.com@v1',
      'ingresses.extensions@v1beta1',
    ]);
  });

  it('drops subresources and resources missing list, get, create or delete', () => {
    expect(listed.some((entry) => entry.includes('/'))).toBe(false);
    expect(
      listed.some((entry) => entry.startsWith('bindings') || entry.startsWith('componentstatuses')),
    ).toBe(false);
  });

  it('fills the resource facts', () => {
    const pods = discovered.resources[0];
    expect(pods).toEqual({
      group: '',
      version: 'v1',
      resource: 'pods',
      kind: 'Pod',
      namespaced: true,
      verbs: ALL,
      shortNames: ['po'],
      singularName: 'pod',
      preferredVersion: 'v1',
    });
    const events = discovered.resources.find((info) => info.resource === 'events');
    expect(events?.singularName).toBe('event'); // empty singularName falls back to the kind
    const legacies = discovered.resources.find((info) => info.resource === 'legacies');
    expect(legacies?.preferredVersion).toBe('v1');
  });

  it('records every version of every group with what it serves', () => {
    expect(discovered.groups.find((group) => group.group === 'example.com')).toEqual({
      group: 'example.com',
      preferredVersion: 'v2',
      versions: [
        { version: 'v2', aggregated: false, available: true, resources: ['widgets'] },
        { version: 'v1', aggregated: false, available: true, resources: ['widgets', 'legacies'] },
      ],
    });
    expect(discovered.groups.map((group) => group.group)).toEqual([
      '',
      'apps',
      'autoscaling',
      'example.com',
      'metrics.k8s.io',
      'extensions',
    ]);
  });

  it('reports group-versions whose discovery failed', () => {
    expect(discovered.unavailableGroupVersions).toEqual(['metrics.k8s.io/v1beta1']);
    const metrics = discovered.groups.find((group) => group.group === 'metrics.k8s.io');
    expect(metrics?.versions).toEqual([
      { version: 'v1beta1', aggregated: false, available: false, resources: [] },
    ]);
  });

  it('falls back to another version when the preferred one failed', () => {
    const raw = cluster();
    raw.resourceLists = raw.resourceLists.filter((list) => list.groupVersion !== 'autoscaling/v2');
    const hpa = buildDiscovery(raw).resources.find((info) => info.resource === 'horizontalpodautoscalers');
    expect(hpa?.version).toBe('v1');
  });

  it('marks aggregated group-versions', () => {
    const raw = cluster();
    raw.resourceLists.push({
      groupVersion: 'metrics.k8s.io/v1beta1',
      aggregated: true,
      resources: [r('pods', 'PodMetrics', { verbs: ['get', 'list'] })],
    });
    const result = buildDiscovery(raw);
    expect(result.groups.find((group) => group.group === 'metrics.k8s.io')?.versions[0]).toEqual({
      version: 'v1beta1',
      aggregated: true,
      available: true,
      resources: [],
    });
    expect(result.unavailableGroupVersions).toEqual([]);
  });

  it('defaults the preferred version to the first one listed', () => {
    const raw = cluster();
    raw.groups.groups = raw.groups.groups.map(({ preferredVersion: _dropped, ...group }) => group);
    const autoscaling = buildDiscovery(raw).groups.find((group) => group.group === 'autoscaling');
    expect(autoscaling?.preferredVersion).toBe('v2');
  });

  it.each<[string, string, (raw: RawDiscovery) => void]>([
    [
      'an unannounced group-version',
      'resourceLists[7].groupVersion',
      (raw) => raw.resourceLists.push({ groupVersion: 'nope.io/v1', resources: [] }),
    ],
    [
      'a malformed group-version',
      'resourceLists[7].groupVersion',
      (raw) => raw.resourceLists.push({ groupVersion: 'a/b/c', resources: [] }),
    ],
    [
      'a preferred version that is not offered',
      'groups.groups[1].preferredVersion',
      (raw) => {
        const apps = raw.groups.groups[1];
        if (apps) apps.preferredVersion = { groupVersion: 'apps/v9', version: 'v9' };
      },
    ],
    [
      'a group without versions',
      'groups.groups[5].versions',
      (raw) => raw.groups.groups.push({ name: 'empty.io', versions: [] }),
    ],
    [
      'a group without a name',
      'groups.groups[5].name',
      (raw) => raw.groups.groups.push({ name: '', versions: [] }),
    ],
  ])('rejects %s, naming %s', (_what, field, breakIt) => {
    const raw = cluster();
    breakIt(raw);
    const error = captureError(() => buildDiscovery(raw));
    expect(error).toBeInstanceOf(DiscoveryError);
    expect((error as DiscoveryError).field).toBe(field);
  });
});

describe('buildDiscoveryFromGroupVersions (the kube client form)', () => {
  it('gives the same result as the raw documents', () => {
    const raw = cluster();
    const flat: FlatGroupVersion[] = [];
    for (const version of raw.core.versions) {
      const list = raw.resourceLists.find((l) => l.groupVersion === version);
      flat.push({ group: '', version, preferred: true, resources: list?.resources ?? [] });
    }
    for (const group of raw.groups.groups) {
      for (const { groupVersion, version } of group.versions) {
        const list = raw.resourceLists.find((l) => l.groupVersion === groupVersion);
        flat.push({
          group: group.name,
          version,
          preferred: group.preferredVersion?.version === version,
          resources: list?.resources ?? [],
          aggregated: false,
          ...(list ? {} : { unavailable: 'service unavailable' }),
        });
      }
    }
    expect(buildDiscoveryFromGroupVersions(flat)).toEqual(buildDiscovery(raw));
  });

  it('puts the core group first even when it is not', () => {
    const flat: FlatGroupVersion[] = [
      { group: 'apps', version: 'v1', preferred: true, resources: [r('deployments', 'Deployment')] },
      { group: '', version: 'v1', preferred: true, resources: [r('pods', 'Pod')] },
    ];
    expect(buildDiscoveryFromGroupVersions(flat).resources.map((info) => info.resource)).toEqual([
      'pods',
      'deployments',
    ]);
  });

  it('rejects an entry without a version', () => {
    expect(() =>
      buildDiscoveryFromGroupVersions([{ group: 'x', version: '', preferred: true, resources: [] }]),
    ).toThrow(DiscoveryError);
  });
});

describe('isBackupable', () => {
  it.each<[string, string[], boolean]>([
    ['pods', ALL, true],
    ['pods', ['list', 'get', 'create', 'delete'], true],
    ['pods/log', ALL, false],
    ['bindings', ['create'], false],
    ['tokenreviews', ['create'], false],
    ['componentstatuses', ['get', 'list'], false],
    ['things', ['list', 'get', 'create'], false],
  ])('%s with %j → %s', (name, verbs, expected) => {
    expect(isBackupable({ name, verbs })).toBe(expected);
  });
});

describe('parseGroupVersion', () => {
  it.each<[string, { group: string; version: string }]>([
    ['v1', { group: '', version: 'v1' }],
    ['apps/v1', { group: 'apps', version: 'v1' }],
    ['example.com/v1alpha1', { group: 'example.com', version: 'v1alpha1' }],
  ])('%s', (input, expected) => {
    expect(parseGroupVersion(input, 'f')).toEqual(expected);
  });

  it.each(['', '/v1', 'apps/', 'a/b/c'])('rejects %j', (input) => {
    expect(() => parseGroupVersion(input, 'f')).toThrow(DiscoveryError);
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
