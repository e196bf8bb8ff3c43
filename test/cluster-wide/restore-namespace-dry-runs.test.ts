// A restore into namespaces that do not exist dry-runs each Namespace create only when something
// beyond the archive can refuse it: a webhook or admission policy that sees Namespace creates
// (ADR 0048). Without one the plan sends no dry run for them; with one it still shows the
// refused namespace as invalid before anything is applied. A new namespace's plain `default`
// ServiceAccount is left to the service account controller. In test/cluster-wide/: the
// admission policy here sees every Namespace create in the cluster, and the count of dry runs
// needs a cluster without other tests' policies.
import { afterEach, describe, expect, it } from 'vitest';
import type { KubeObject, ResourceInfo } from '../../src/kube/types.js';
import { applyRestore, planRestore } from '../../src/restore/engine.js';
import {
  backupOf,
  configMap,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  eventually,
  infoFor,
  localWorld,
  refuseNamespaceCreate,
  read,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from '../fixtures/restore-fixtures.js';
import { KubeApiError } from '../../src/kube/client.js';

let world: RestoreWorld | undefined;
const cleanup: Seeded[] = [];
afterEach(async () => {
  for (const s of cleanup.splice(0))
    if (world && (await read(world.kube, s))) await deleteAndWait(world.kube, s);
  world?.close();
});

/** Whether the API server would now accept the create of Namespace `ns` (a dry run of it). */
async function namespaceDryRun(w: RestoreWorld, ns: string): Promise<'accepted' | 'refused' | 'failed'> {
  const namespaces = await infoFor(w.kube, 'namespaces');
  try {
    await w.kube.create(
      namespaces,
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
      { dryRun: true },
    );
    return 'accepted';
  } catch (err) {
    return err instanceof KubeApiError ? 'refused' : 'failed';
  }
}

/** Counts the Namespace dry runs sent through this client from now on. */
function countNamespaceDryRuns(w: RestoreWorld): { count: number } {
  const counter = { count: 0 };
  const create = w.kube.create.bind(w.kube);
  w.kube.create = (info: ResourceInfo, obj: KubeObject, opts: { dryRun?: boolean } = {}) => {
    if (opts.dryRun && info.resource === 'namespaces') counter.count++;
    return create(info, obj, opts);
  };
  return counter;
}

describe('Namespace creates in a restore plan', () => {
  it('are not dry-run when nothing can refuse them, and are when a policy can', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('nsdry');
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      configMap(ns, 'settings', { color: 'blue' }),
    ]);
    // The backup holds the namespace's default ServiceAccount as the controller made it.
    const account: Seeded = {
      gr: 'serviceaccounts',
      obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
    };
    await eventually(async () => ((await read(w.kube, account)) ? true : undefined), 'the default account');
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);

    const dryRuns = countNamespaceDryRuns(w);
    const spec = { backupName: backup.name };
    const { plan } = await planRestore({ name: uniqueName('nsdry'), spec }, w.deps());
    expect(dryRuns.count).toBe(0);
    const action = (gr: string, name: string) =>
      plan.items.find((i) => i.groupResource === gr && i.name === name)?.action;
    expect(action('namespaces', ns)).toBe('create');
    expect(action('configmaps', 'settings')).toBe('create');
    const sa = plan.items.find((i) => i.groupResource === 'serviceaccounts' && i.name === 'default');
    expect(sa?.action).toBe('skip');
    expect(sa?.reason).toMatch(/service account controller/);

    const policy = refuseNamespaceCreate(ns);
    await createAll(w.kube, policy);
    cleanup.push(...policy.reverse());
    await eventually(
      async () => ((await namespaceDryRun(w, ns)) === 'refused' ? true : undefined),
      'the admission policy to refuse the namespace',
    );
    dryRuns.count = 0;
    const refused = await planRestore({ name: uniqueName('nsdry'), spec }, w.deps());
    expect(dryRuns.count).toBe(1);
    const item = refused.plan.items.find((i) => i.groupResource === 'namespaces' && i.name === ns);
    expect(item?.action).toBe('invalid');
    expect(item?.reason).toContain('reserved name');

    // Without the policy the restore creates the namespace; the controller makes its account.
    for (const s of cleanup.splice(0)) await deleteAndWait(w.kube, s);
    await eventually(
      async () => ((await namespaceDryRun(w, ns)) === 'accepted' ? true : undefined),
      'the API server to let the admission policy go',
    );
    const result = await applyRestore({ name: uniqueName('nsdry'), spec }, w.deps());
    expect(result.phase).toBe('Completed');
    expect((await read(w.kube, configMap(ns, 'settings', {})))?.data).toEqual({ color: 'blue' });
    await eventually(async () => ((await read(w.kube, account)) ? true : undefined), 'the default account');
    await deleteNamespaces(w.kube, [ns]);
  });
});
