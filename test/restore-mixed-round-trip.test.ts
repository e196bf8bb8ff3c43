// The round trip of a realistic mixed namespace: a custom resource with its CRD, a StatefulSet
// with a claim template, a Retain volume bound to its claim, a Job, a CronJob, and Services of
// every type. Everything is deleted (namespace, CRD, volume) and restored; every object comes
// back equal up to the fields the cluster allocates (docs/restore-fidelity.md). No node runs
// here: workloads exist as objects, which is what a restore writes.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore } from '../src/restore/engine.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  backupOf,
  comparable,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  localWorld,
  randomNodePort,
  read,
  ref,
  uniqueName,
  waitClaimBound,
  widget,
  widgetCrd,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

const container = { name: 'c', image: 'registry.example/app:1' };

/** comparable() plus what a Job's apiserver generates from its UID (docs/restore-fidelity.md). */
function same(obj: KubeObject, gr: string): KubeObject {
  const out = comparable(obj, gr);
  if (gr === 'jobs.batch') {
    const spec = out.spec as {
      selector?: unknown;
      template?: { metadata?: { labels?: Record<string, string> } };
    };
    delete spec.selector;
    for (const l of ['controller-uid', 'batch.kubernetes.io/controller-uid'])
      delete spec.template?.metadata?.labels?.[l];
  }
  return out;
}

describe('a mixed namespace deleted and restored', () => {
  it('comes back whole: custom resources, StatefulSet, volume and claim, Job, CronJob, every Service type', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('mixed');
    const group = `${uniqueName('g')}.mixed.test`;
    const pvName = `${ns}-data`;
    const svc = (name: string, spec: object): Seeded => ({
      gr: 'services',
      obj: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec },
    });
    const ports = [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }];
    const crd = widgetCrd(group);
    const pv: Seeded = {
      gr: 'persistentvolumes',
      obj: {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: pvName },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: `manual-${ns}`,
          hostPath: { path: `/tmp/${pvName}` },
        },
      },
    };
    const objects: Seeded[] = [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      crd,
      pv,
      {
        gr: 'persistentvolumeclaims',
        obj: {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', namespace: ns },
          spec: {
            accessModes: ['ReadWriteOnce'],
            storageClassName: `manual-${ns}`,
            volumeName: pvName,
            resources: { requests: { storage: '1Gi' } },
          },
        },
      },
      widget({ group, ns, name: 'w1', spec: { size: 2 } }),
      {
        gr: 'statefulsets.apps',
        obj: {
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db', namespace: ns },
          spec: {
            serviceName: 'db',
            replicas: 1,
            selector: { matchLabels: { app: 'db' } },
            template: { metadata: { labels: { app: 'db' } }, spec: { containers: [container] } },
            volumeClaimTemplates: [
              {
                metadata: { name: 'state' },
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
              },
            ],
          },
        },
      },
      {
        gr: 'jobs.batch',
        obj: {
          apiVersion: 'batch/v1',
          kind: 'Job',
          metadata: { name: 'migrate', namespace: ns },
          spec: { template: { spec: { restartPolicy: 'Never', containers: [container] } } },
        },
      },
      {
        gr: 'cronjobs.batch',
        obj: {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'report', namespace: ns },
          spec: {
            schedule: '0 3 1 1 *',
            jobTemplate: {
              spec: { template: { spec: { restartPolicy: 'Never', containers: [container] } } },
            },
          },
        },
      },
      svc('web', { type: 'ClusterIP', selector: { app: 'web' }, ports }),
      svc('db', { clusterIP: 'None', selector: { app: 'db' }, ports }),
      svc('web-nodeport', {
        type: 'NodePort',
        selector: { app: 'web' },
        ports: [{ ...ports[0], nodePort: randomNodePort() }],
      }),
      svc('web-lb', {
        type: 'LoadBalancer',
        selector: { app: 'web' },
        ports: [{ ...ports[0], nodePort: randomNodePort() }],
      }),
      svc('upstream', { type: 'ExternalName', externalName: 'api.example.com' }),
    ];
    await createAll(w.kube, objects);
    await waitClaimBound(w.kube, ns, 'data');
    const before = new Map<string, KubeObject>();
    for (const s of objects) before.set(ref(s), same((await read(w.kube, s)) as KubeObject, s.gr));

    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);
    await deleteAndWait(w.kube, crd);
    await deleteAndWait(w.kube, pv);

    const result = await applyRestore(
      { name: uniqueName('mixed'), spec: { backupName: backup.name } },
      w.deps(),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');
    const claim = await waitClaimBound(w.kube, ns, 'data');
    expect((claim.spec as { volumeName?: string }).volumeName).toBe(pvName);
    for (const s of objects) {
      const now = await read(w.kube, s);
      expect(now, ref(s)).not.toBeNull();
      expect(same(now as KubeObject, s.gr), ref(s)).toEqual(before.get(ref(s)));
    }
    await deleteNamespaces(w.kube, [ns]);
    await deleteAndWait(w.kube, crd);
    await deleteAndWait(w.kube, pv);
  });
});
