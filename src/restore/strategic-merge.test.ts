import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import { jsonEqual, schemaForKind, StrategicMergeError, strategicMergePatch } from './strategic-merge.js';

function deployment(podSpec: Record<string, unknown>, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', finalizers: ['a/one'] },
    spec: { replicas: 2, template: { metadata: { labels: { app: 'web' } }, spec: podSpec } },
    ...extra,
  };
}

const podSpec = () => ({
  containers: [
    {
      name: 'app',
      image: 'app:1',
      env: [
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ],
      ports: [{ containerPort: 8080, name: 'http' }],
      volumeMounts: [{ name: 'data', mountPath: '/data' }],
      args: ['--one', '--two'],
    },
    { name: 'sidecar', image: 'side:1' },
  ],
  volumes: [{ name: 'data', emptyDir: {} }],
  tolerations: [{ key: 'a', operator: 'Exists' }],
  imagePullSecrets: [{ name: 'reg' }],
});

interface Container {
  name: string;
  image?: string;
  env?: unknown[];
  ports?: unknown[];
  volumeMounts?: unknown[];
  args?: string[];
  resources?: unknown;
}
interface PodSpec {
  containers: Container[];
  volumes?: { name: string }[];
  tolerations?: unknown[];
  imagePullSecrets?: unknown[];
}

const patchPod = (spec: Record<string, unknown>) => ({ spec: { template: { spec } } });
const podOf = (obj: KubeObject) => (obj.spec as { template: { spec: PodSpec } }).template.spec;

describe('strategicMergePatch: keyed lists (k8s patchMergeKey)', () => {
  it.each([
    [
      'merges containers by name: image of one container, others kept',
      patchPod({ containers: [{ name: 'app', image: 'app:2' }] }),
      (s: PodSpec) => {
        expect(s.containers.map((c) => `${c.name}=${c.image}`)).toEqual(['app=app:2', 'sidecar=side:1']);
        expect(s.containers[0]?.env).toHaveLength(2);
      },
    ],
    [
      'adds a container with a new name',
      patchPod({ containers: [{ name: 'extra', image: 'x:1' }] }),
      (s: PodSpec) => expect(s.containers.map((c) => c.name)).toEqual(['app', 'sidecar', 'extra']),
    ],
    [
      'merges env by name',
      patchPod({
        containers: [
          {
            name: 'app',
            env: [
              { name: 'B', value: '20' },
              { name: 'C', value: '3' },
            ],
          },
        ],
      }),
      (s: PodSpec) =>
        expect(s.containers[0]?.env).toEqual([
          { name: 'A', value: '1' },
          { name: 'B', value: '20' },
          { name: 'C', value: '3' },
        ]),
    ],
    [
      'merges ports by containerPort',
      patchPod({
        containers: [
          { name: 'app', ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 9090 }] },
        ],
      }),
      (s: PodSpec) =>
        expect(s.containers[0]?.ports).toEqual([
          { containerPort: 8080, name: 'http', protocol: 'TCP' },
          { containerPort: 9090 },
        ]),
    ],
    [
      'merges volumeMounts by mountPath',
      patchPod({ containers: [{ name: 'app', volumeMounts: [{ mountPath: '/data', readOnly: true }] }] }),
      (s: PodSpec) =>
        expect(s.containers[0]?.volumeMounts).toEqual([{ name: 'data', mountPath: '/data', readOnly: true }]),
    ],
    [
      'merges volumes and imagePullSecrets by name',
      patchPod({ volumes: [{ name: 'cache', emptyDir: {} }], imagePullSecrets: [{ name: 'reg2' }] }),
      (s: PodSpec) => {
        expect(s.volumes?.map((v) => v.name)).toEqual(['data', 'cache']);
        expect(s.imagePullSecrets).toEqual([{ name: 'reg' }, { name: 'reg2' }]);
      },
    ],
    [
      'replaces tolerations (no patch strategy)',
      patchPod({ tolerations: [{ key: 'b', operator: 'Exists' }] }),
      (s: PodSpec) => expect(s.tolerations).toEqual([{ key: 'b', operator: 'Exists' }]),
    ],
    [
      'replaces args (no patch strategy)',
      patchPod({ containers: [{ name: 'app', args: ['--three'] }] }),
      (s: PodSpec) => expect(s.containers[0]?.args).toEqual(['--three']),
    ],
  ])('%s', (_label, patch, check) => {
    check(podOf(strategicMergePatch(deployment(podSpec()), patch)));
  });
});

describe('strategicMergePatch: directives and maps', () => {
  it.each([
    [
      '$patch: delete removes a keyed element',
      patchPod({ containers: [{ name: 'sidecar', $patch: 'delete' }] }),
      (s: PodSpec) => expect(s.containers.map((c) => c.name)).toEqual(['app']),
    ],
    [
      '$patch: replace as a list element replaces the whole list',
      patchPod({ containers: [{ $patch: 'replace' }, { name: 'only', image: 'o:1' }] }),
      (s: PodSpec) => expect(s.containers).toEqual([{ name: 'only', image: 'o:1' }]),
    ],
    [
      '$patch: replace on a map replaces the map',
      patchPod({ containers: [{ name: 'app', resources: { $patch: 'replace', limits: { cpu: '1' } } }] }),
      (s: PodSpec) => expect(s.containers[0]?.resources).toEqual({ limits: { cpu: '1' } }),
    ],
    [
      '$patch: delete on a map removes it',
      patchPod({ volumes: [{ name: 'data', emptyDir: { $patch: 'delete' } }] }),
      (s: PodSpec) => expect(s.volumes).toEqual([{ name: 'data' }]),
    ],
    [
      'null deletes a key',
      patchPod({ imagePullSecrets: null }),
      (s: PodSpec) => expect(s).not.toHaveProperty('imagePullSecrets'),
    ],
    [
      '$retainKeys drops original keys not listed',
      patchPod({ volumes: [{ name: 'data', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/x' } }] }),
      (s: PodSpec) => expect(s.volumes).toEqual([{ name: 'data', hostPath: { path: '/x' } }]),
    ],
    [
      '$setElementOrder is accepted and ignored',
      patchPod({ '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'app' }] }),
      (s: PodSpec) => expect(s.containers.map((c) => c.name)).toEqual(['app', 'sidecar']),
    ],
  ])('%s', (_label, patch, check) => {
    check(podOf(strategicMergePatch(deployment(podSpec()), patch)));
  });

  it('merges finalizers as a set and removes with $deleteFromPrimitiveList', () => {
    const added = strategicMergePatch(deployment(podSpec()), {
      metadata: { finalizers: ['a/one', 'b/two'] },
    });
    expect(added.metadata.finalizers).toEqual(['a/one', 'b/two']);
    const removed = strategicMergePatch(added, {
      metadata: { '$deleteFromPrimitiveList/finalizers': ['a/one'] },
    });
    expect(removed.metadata.finalizers).toEqual(['b/two']);
  });

  it('merges maps key by key and replaces scalars', () => {
    const out = strategicMergePatch(deployment(podSpec()), {
      metadata: { labels: { tier: 'web' } },
      spec: { replicas: 5 },
    });
    expect(out.metadata.labels).toEqual({ tier: 'web' });
    expect((out.spec as { replicas: number }).replicas).toBe(5);
    expect(podOf(out).containers).toHaveLength(2);
  });

  it('strips directives and nulls from values that are new', () => {
    const out = strategicMergePatch(deployment(podSpec()), {
      spec: { strategy: { type: 'Recreate', rollingUpdate: null } },
    });
    expect((out.spec as Record<string, unknown>).strategy).toEqual({ type: 'Recreate' });
  });

  it('merges Service ports by port and ServiceAccount secrets by name', () => {
    const svc: KubeObject = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's' },
      spec: { ports: [{ port: 80, targetPort: 8080 }] },
    };
    const out = strategicMergePatch(svc, {
      spec: { ports: [{ port: 80, targetPort: 9090 }, { port: 443 }] },
    });
    expect((out.spec as { ports: unknown[] }).ports).toEqual([{ port: 80, targetPort: 9090 }, { port: 443 }]);
    const sa: KubeObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'a' },
      secrets: [{ name: 'x' }],
    };
    expect(strategicMergePatch(sa, { secrets: [{ name: 'y' }] }).secrets).toEqual([
      { name: 'x' },
      { name: 'y' },
    ]);
  });

  it('finds the pod template of CronJobs and Pods', () => {
    const cron: KubeObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: {
        jobTemplate: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'a', image: '1' },
                  { name: 'b', image: '1' },
                ],
              },
            },
          },
        },
      },
    };
    const out = strategicMergePatch(cron, {
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'b', image: '2' }] } } } } },
    });
    expect(JSON.stringify(out)).toContain('{"name":"a","image":"1"},{"name":"b","image":"2"}');
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { containers: [{ name: 'a' }] },
    };
    expect(
      (strategicMergePatch(pod, { spec: { containers: [{ name: 'b' }] } }).spec as PodSpec).containers,
    ).toHaveLength(2);
  });

  it('does not mutate the original', () => {
    const original = deployment(podSpec());
    const copy = structuredClone(original);
    strategicMergePatch(original, patchPod({ containers: [{ name: 'app', image: 'z' }] }));
    expect(original).toEqual(copy);
  });
});

describe('strategicMergePatch: errors', () => {
  it.each([
    [
      'a custom resource',
      { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } },
      {},
      /not a built-in kind/,
    ],
    ['a patch that is not a map', deployment(podSpec()), ['x'], /must be a map/],
    [
      'a keyed element without its key',
      deployment(podSpec()),
      patchPod({ containers: [{ image: 'x' }] }),
      /merge key 'name'/,
    ],
    [
      'an unknown directive',
      deployment(podSpec()),
      { spec: { $patch: 'explode' } },
      /unknown \$patch directive/,
    ],
    ['a top-level directive', deployment(podSpec()), { $patch: 'replace' }, /top level/],
  ])('rejects %s', (_label, obj, patch, message) => {
    expect(() => strategicMergePatch(obj, patch)).toThrow(StrategicMergeError);
    expect(() => strategicMergePatch(obj, patch)).toThrow(message);
  });
});

describe('schemaForKind and jsonEqual', () => {
  it('knows built-in kinds and refuses custom ones', () => {
    expect(schemaForKind('v1', 'ConfigMap')).toBeDefined();
    expect(schemaForKind('networking.k8s.io/v1', 'Ingress')).toBeDefined();
    expect(schemaForKind('example.com/v1', 'Widget')).toBeUndefined();
  });

  it.each([
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1, 2], [2, 1], false],
    [null, null, true],
    ['1', 1, false],
  ])('jsonEqual(%j, %j) is %s', (a, b, expected) => {
    expect(jsonEqual(a, b)).toBe(expected);
  });
});
