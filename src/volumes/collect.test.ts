import { describe, expect, it } from 'vitest';
import { VolumeCollector } from './collect.js';
import { groupByPod } from './phase.js';

const POD = { group: '', resource: 'pods' };
const PVC = { group: '', resource: 'persistentvolumeclaims' };

function pod(name: string, claims: string[]): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      annotations: { 'backup.velero.io/backup-volumes': 'data', 'kubectl.kubernetes.io/last-applied': 'big' },
    },
    spec: {
      nodeName: 'n1',
      containers: [{ name: 'c', image: 'i' }],
      volumes: [
        ...claims.map((c) => ({ name: `v-${c}`, persistentVolumeClaim: { claimName: c } })),
        { name: 'tmp', emptyDir: {} },
      ],
    },
    status: { phase: 'Running' },
  };
}

function claim(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name,
      namespace: 'shop',
      uid: `uid-${name}`,
      labels: { app: 'db' },
      annotations: { 'velero.io/csi-volumesnapshot-class': 'fast', 'pv.kubernetes.io/bind-completed': 'yes' },
    },
    spec: {
      volumeName: `pv-${name}`,
      storageClassName: 'ground-csi',
      resources: { requests: { storage: '1Gi' } },
    },
    status: { phase: 'Bound' },
  };
}

describe('VolumeCollector', () => {
  it('keeps small records of pods and claims, with only the annotations volume capture reads', () => {
    const c = new VolumeCollector();
    c.observe(POD, pod('db-0', ['data']) as never);
    c.observe(PVC, claim('data') as never);
    c.observe({ group: '', resource: 'configmaps' }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} });
    c.observe({ group: 'example.com', resource: 'pods' }, pod('not-core', []) as never);
    expect(c.pods).toEqual([
      {
        namespace: 'shop',
        name: 'db-0',
        uid: 'uid-db-0',
        node: 'n1',
        phase: 'Running',
        volumes: [
          { name: 'v-data', type: 'persistentVolumeClaim', claimName: 'data' },
          { name: 'tmp', type: 'emptyDir' },
        ],
        annotations: { 'backup.velero.io/backup-volumes': 'data' },
      },
    ]);
    expect(c.claims).toEqual([
      {
        namespace: 'shop',
        name: 'data',
        uid: 'uid-data',
        volumeName: 'pv-data',
        storageClass: 'ground-csi',
        size: '1Gi',
        phase: 'Bound',
        labels: { app: 'db' },
        annotations: { 'velero.io/csi-volumesnapshot-class': 'fast' },
      },
    ]);
  });
});

describe('groupByPod', () => {
  it('captures each claim once, through the first pod that mounts it; unmounted claims alone', () => {
    const c = new VolumeCollector();
    for (const p of [pod('a', ['x', 'y']), pod('b', ['y', 'missing']), pod('c', [])])
      c.observe(POD, p as never);
    for (const n of ['x', 'y', 'z']) c.observe(PVC, claim(n) as never);
    const groups = groupByPod(c.pods, c.claims).map((g) => [g.pod?.name, g.claims.map((x) => x.name)]);
    expect(groups).toEqual([
      ['a', ['x', 'y']],
      [undefined, ['z']],
    ]);
  });
});
