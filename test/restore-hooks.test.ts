// Restore hooks on the ground's node: a pod backed up with init and exec restore hook
// annotations is restored into another namespace; it starts with the init container first,
// the exec hook runs once its container is running, and both are in the plan and the result.
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { BackupStore } from '../src/storage/store.js';
import { groundKube, localStore } from './fixtures/backups.js';
import { readyPod, startRestoreHookedPod } from './fixtures/pods.js';
import { kubeConfig, newNamespace, uniqueName } from './ground/world.js';

let kube: KubeClient;
let store: BackupStore;
beforeAll(async () => {
  kube = await groundKube();
  store = await localStore('restore-hooks-');
});
afterAll(() => kube?.close());

describe('restore hooks', () => {
  it('an init hook runs before the pod, an exec hook once it runs; both in plan and result', async () => {
    const source = await newNamespace('rhooks');
    const target = await newNamespace('rhooks-to');
    await startRestoreHookedPod(source);
    const backupName = uniqueName('rh');
    expect(
      (await runBackup({ name: backupName, spec: { includedNamespaces: [source] } }, { kube, store })).phase,
    ).toBe('Completed');
    const spec = { backupName, includedNamespaces: [source], namespaceMapping: { [source]: target } };
    const deps = { kube, store };
    const name = uniqueName('rr');

    const { plan } = await planRestore({ name, spec }, deps);
    const podItem = plan.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
    expect(podItem?.hooks?.map((h) => [h.type, h.container, h.command[2]])).toEqual([
      ['init', 'prepare', 'echo init-ran'],
      ['exec', 'main', 'echo exec-ran > /data/exec-saw'],
    ]);

    const result = await applyRestore({ name, spec }, deps, { approvedHash: plan.hash });
    expect(result.phase).toBe('Completed');
    expect(result.hooks?.map((h) => [h.pod, h.container, h.exitCode, h.failed])).toEqual([
      [`${target}/app`, 'main', 0, false],
    ]);

    const pod = await readyPod(target, 'app');
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['prepare']);
    expect(pod.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    const core = kubeConfig().makeApiClient(CoreV1Api);
    expect(await core.readNamespacedPodLog({ namespace: target, name: 'app', container: 'prepare' })).toBe(
      'init-ran\n',
    );
    const saw = await kube.exec({
      namespace: target,
      pod: 'app',
      container: 'main',
      command: ['cat', '/data/exec-saw'],
      timeoutMs: 60_000,
    });
    expect(saw.stdout).toBe('exec-ran\n');
    // The restored pod is the one the restore created, in the target namespace.
    expect((await core.readNamespacedPod({ namespace: target, name: 'app' })).metadata?.namespace).toBe(
      target,
    );
  });
});
