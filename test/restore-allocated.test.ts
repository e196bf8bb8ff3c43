// What the cluster allocates or renews itself is not restored: the IPAddress records of Service
// cluster IPs, the default ServiceCIDR, and the control plane's own leases. A restore with the
// update policy used to rewrite the live kube-apiserver's identity lease and plan to create
// IPAddress records with the old cluster's addresses.
import { afterEach, describe, expect, it } from 'vitest';
import { planRestore } from '../src/restore/engine.js';
import {
  backupOf,
  createAll,
  deleteNamespaces,
  localWorld,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

describe('a restore of a backup with allocation records and control-plane leases', () => {
  it('plans none of them, even with the update policy', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('alloc');
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      {
        gr: 'services',
        obj: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'web', namespace: ns },
          spec: { selector: { app: 'web' }, ports: [{ port: 80 }] },
        },
      },
    ]);
    const backup = await backupOf(w, {
      includedNamespaces: [ns, 'kube-system'],
      includedResources: [
        'namespaces',
        'services',
        'leases.coordination.k8s.io',
        'ipaddresses.networking.k8s.io',
        'servicecidrs.networking.k8s.io',
      ],
      includeClusterResources: true,
    });
    // The backup holds them: the restore is what must leave them out.
    expect(backup.counts['ipaddresses.networking.k8s.io']).toBeGreaterThan(0);
    expect(backup.counts['leases.coordination.k8s.io']).toBeGreaterThan(0);
    expect(backup.counts['servicecidrs.networking.k8s.io']).toBe(1);
    await deleteNamespaces(w.kube, [ns]);

    const { plan } = await planRestore(
      { name: uniqueName('alloc'), spec: { backupName: backup.name, existingResourcePolicy: 'update' } },
      w.deps(),
    );
    expect(plan.items.filter((i) => i.groupResource === 'ipaddresses.networking.k8s.io')).toEqual([]);
    const leases = plan.items.filter((i) => i.groupResource === 'leases.coordination.k8s.io');
    const identity = leases.filter((i) => i.name.startsWith('apiserver-'));
    expect(identity.length).toBeGreaterThan(0);
    for (const lease of identity) {
      expect(lease).toMatchObject({ action: 'skip', reason: expect.stringMatching(/identity lease/) });
    }
    expect(plan.items.find((i) => i.groupResource === 'servicecidrs.networking.k8s.io')).toMatchObject({
      name: 'kubernetes',
      action: 'skip',
    });
    expect(plan.items.find((i) => i.groupResource === 'services' && i.name === 'web')?.action).toBe('create');
    expect(plan.items.filter((i) => i.action === 'update')).toEqual([]);
  });
});
