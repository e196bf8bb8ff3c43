// A cluster IP set by hand (a DNS address other configuration points at, an IP in a firewall
// rule) used to be dropped silently on restore, like an allocated one. It is kept when the
// target cluster has it free, and the plan says so; when another Service holds it, the plan
// warns and the cluster allocates a new one.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject } from '../src/kube/types.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import {
  backupOf,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

const namespace = (name: string): Seeded => ({
  gr: 'namespaces',
  obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } },
});

function service(ns: string, name: string, clusterIP?: string): Seeded {
  return {
    gr: 'services',
    obj: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: ns },
      spec: {
        selector: { app: name },
        ports: [{ port: 53, protocol: 'UDP' }],
        ...(clusterIP ? { clusterIP } : {}),
      },
    },
  };
}

const clusterIpOf = (svc: KubeObject | null): string | undefined =>
  (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;

/** An address the cluster's own allocator hands out, so it lies in the range, then given back. */
async function freeAddress(w: RestoreWorld, ns: string): Promise<string> {
  const probe = service(ns, 'probe');
  await createAll(w.kube, [probe]);
  const ip = clusterIpOf(await read(w.kube, probe));
  await deleteAndWait(w.kube, probe);
  if (!ip) throw new Error('the apiserver allocated no cluster IP to the probe Service');
  return ip;
}

describe('a restore of a Service whose cluster IP the user set', () => {
  it('keeps the address when it is free, says so in the plan, and re-allocates one that was allocated', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('cip');
    await createAll(w.kube, [namespace(ns)]);
    const chosen = await freeAddress(w, ns);
    const dns = service(ns, 'dns', chosen);
    const web = service(ns, 'web');
    await createAll(w.kube, [dns, web]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);

    const { plan } = await planRestore(
      { name: uniqueName('cip'), spec: { backupName: backup.name } },
      w.deps(),
    );
    const dnsItem = plan.items.find((i) => i.groupResource === 'services' && i.name === 'dns');
    expect(dnsItem).toMatchObject({ action: 'create' });
    expect(dnsItem?.notes).toContain(
      `cluster IP ${chosen} was set by the user and is free here: the restore keeps it`,
    );
    const webItem = plan.items.find((i) => i.groupResource === 'services' && i.name === 'web');
    expect(webItem?.notes ?? []).toEqual([]);

    const result = await applyRestore(
      { name: uniqueName('cip'), spec: { backupName: backup.name } },
      w.deps(),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(clusterIpOf(await read(w.kube, dns))).toBe(chosen);
    expect(clusterIpOf(await read(w.kube, web))).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  it('warns and lets the cluster allocate a new address when another Service holds it', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('cip');
    const squatterNs = uniqueName('cip-other');
    await createAll(w.kube, [namespace(ns), namespace(squatterNs)]);
    const chosen = await freeAddress(w, ns);
    const dns = service(ns, 'dns', chosen);
    await createAll(w.kube, [dns]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);
    // The address is free again once the namespace is gone; another team takes it.
    await createAll(w.kube, [service(squatterNs, 'taken', chosen)]);

    const { plan } = await planRestore(
      { name: uniqueName('cip'), spec: { backupName: backup.name } },
      w.deps(),
    );
    const dnsItem = plan.items.find((i) => i.groupResource === 'services' && i.name === 'dns');
    expect(dnsItem).toMatchObject({ action: 'create' });
    expect(dnsItem?.warnings).toContain(
      `cluster IP ${chosen} was set by the user, but ${chosen} is already allocated to services ${squatterNs}/taken: the restore leaves it out and the cluster allocates a new one`,
    );

    const result = await applyRestore(
      { name: uniqueName('cip'), spec: { backupName: backup.name } },
      w.deps(),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    const restoredIp = clusterIpOf(await read(w.kube, dns));
    expect(restoredIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(restoredIp).not.toBe(chosen);
    await deleteNamespaces(w.kube, [squatterNs]);
  });

  it('leaves an existing Service its own address under the update policy, instead of a conflict', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('cip');
    await createAll(w.kube, [namespace(ns)]);
    const chosen = await freeAddress(w, ns);
    await createAll(w.kube, [service(ns, 'dns', chosen)]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);
    // Re-created by someone else's tooling before the restore, with an allocated address.
    await createAll(w.kube, [namespace(ns), service(ns, 'dns')]);
    const liveIp = clusterIpOf(await read(w.kube, service(ns, 'dns')));

    const { plan } = await planRestore(
      { name: uniqueName('cip'), spec: { backupName: backup.name, existingResourcePolicy: 'update' } },
      w.deps(),
    );
    const dnsItem = plan.items.find((i) => i.groupResource === 'services' && i.name === 'dns');
    expect(dnsItem?.action).not.toBe('conflict');
    expect(dnsItem?.notes).toContain(
      `cluster IP ${chosen} was set by the user, but the live Service has ${liveIp} and a cluster IP cannot change: the restore leaves the live address`,
    );
  });
});
