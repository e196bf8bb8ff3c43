// Errors keep the names a person needs: a service-account token Secret holds its namespace's
// name as a value, and scrubbing Secret values from messages used to blank that name out of
// every error about the namespace (`namespaces "sha256:…" not found`). Here a
// ValidatingAdmissionPolicy (evaluated inside the apiserver) refuses the restored namespace, so
// every object in it fails with an error that names the namespace.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore } from '../src/restore/engine.js';
import { KubeApiError } from '../src/kube/client.js';
import {
  b64,
  backupOf,
  configMap,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  eventually,
  infoFor,
  localWorld,
  refuseNamespaceCreate,
  secretValue,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
const cleanup: Seeded[] = [];
afterEach(async () => {
  for (const s of cleanup.splice(0)) if (world) await deleteAndWait(world.kube, s);
  world?.close();
});

describe('restore errors', () => {
  it('name the namespace even when a token Secret holds its name as a value', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('names');
    const token = secretValue('tok');
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      {
        gr: 'serviceaccounts',
        obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: ns } },
      },
      {
        gr: 'secrets',
        obj: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: 'api-long-lived',
            namespace: ns,
            annotations: { 'kubernetes.io/service-account.name': 'api' },
          },
          type: 'kubernetes.io/service-account-token',
          // What the token controller writes; set here so the test does not wait for it.
          data: { namespace: b64(ns), token: b64(token) },
        },
      },
      configMap(ns, 'settings', { color: 'blue' }),
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);

    const policy = refuseNamespaceCreate(ns);
    await createAll(w.kube, policy);
    cleanup.push(...policy.reverse());
    const namespaces = await infoFor(w.kube, 'namespaces');
    await eventually(async () => {
      try {
        await w.kube.create(
          namespaces,
          { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
          { dryRun: true },
        );
        return undefined;
      } catch (err) {
        return err instanceof KubeApiError ? true : undefined;
      }
    }, 'the admission policy to refuse the namespace');

    const result = await applyRestore(
      { name: uniqueName('names'), spec: { backupName: backup.name } },
      w.deps(),
    );
    const failed = result.items.filter((i) => i.result === 'failed');
    const cm = failed.find((i) => i.groupResource === 'configmaps');
    expect(cm?.message).toContain(`namespaces "${ns}" not found`);
    const namespace = failed.find((i) => i.groupResource === 'namespaces');
    expect(namespace?.message).toContain(ns);
    for (const f of failed) expect(f.message, f.name).not.toContain('sha256:');
    expect(JSON.stringify(result)).not.toContain(token);
  });
});
