// A Deployment's rollout history is its ReplicaSets, numbered by `deployment.kubernetes.io/revision`.
// The restore used to skip every ReplicaSet a Deployment controls and drop the Deployment's
// revision, so `kubectl rollout history` and `rollout undo` found nothing after a restore. Velero
// restores the ReplicaSets with their owner references removed and the Deployment adopts them.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore } from '../src/restore/engine.js';
import {
  backupOf,
  createAll,
  deleteNamespaces,
  eventually,
  infoFor,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

const REVISION = 'deployment.kubernetes.io/revision';

// No replicas: the rollouts are what matters, not pods.
function web(ns: string): Seeded {
  return {
    gr: 'deployments.apps',
    obj: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ns },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            containers: [{ name: 'web', image: 'ground.local/busybox:1', command: ['sleep', '3600'] }],
          },
        },
      },
    },
  };
}

interface History {
  revision: string | undefined;
  /** ReplicaSet revision → the uid of the Deployment that controls it ('' when none). */
  sets: Map<string, string>;
}

async function historyOf(w: RestoreWorld, ns: string): Promise<History> {
  const deployment = await read(w.kube, web(ns));
  const page = await w.kube.list(await infoFor(w.kube, 'replicasets.apps'), { namespace: ns });
  const sets = new Map<string, string>();
  for (const rs of page.items) {
    const owner = (rs.metadata.ownerReferences ?? []).find((o) => o.controller === true);
    sets.set(rs.metadata.annotations?.[REVISION] ?? '?', owner?.uid ?? '');
  }
  return { revision: deployment?.metadata.annotations?.[REVISION], sets };
}

describe('a restore of a Deployment with rollout history', () => {
  it('brings back its ReplicaSets and revision, adopted by the restored Deployment', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('rollout');
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      web(ns),
    ]);
    const deployments = await infoFor(w.kube, 'deployments.apps');
    await eventually(
      async () => ((await historyOf(w, ns)).revision === '1' ? true : undefined),
      'revision 1',
    );
    // A second rollout: a new pod template makes ReplicaSet revision 2.
    await w.kube.mergePatch(
      deployments,
      { namespace: ns, name: 'web' },
      { spec: { template: { metadata: { annotations: { rollout: 'second' } } } } },
      { fieldManager: 'test' },
    );
    const before = await eventually(async () => {
      const h = await historyOf(w, ns);
      return h.revision === '2' && h.sets.size === 2 ? h : undefined;
    }, 'revision 2 with two ReplicaSets');
    expect([...before.sets.keys()].sort()).toEqual(['1', '2']);

    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);
    const result = await applyRestore(
      { name: uniqueName('rollout'), spec: { backupName: backup.name } },
      w.deps(),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(
      result.items.filter((i) => i.groupResource === 'replicasets.apps' && i.result === 'created'),
    ).toHaveLength(2);

    const restoredUid = (await read(w.kube, web(ns)))?.metadata.uid;
    const after = await eventually(async () => {
      const h = await historyOf(w, ns);
      const adopted = [...h.sets.values()].every((uid) => uid === restoredUid);
      return adopted && h.sets.size >= 2 ? h : undefined;
    }, 'the restored ReplicaSets adopted by the restored Deployment');
    // The same two revisions, and no third ReplicaSet: the Deployment found its current one.
    expect([...after.sets.keys()].sort()).toEqual(['1', '2']);
    expect(after.revision).toBe('2');
  });
});
