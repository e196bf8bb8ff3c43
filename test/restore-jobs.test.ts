// Jobs restore: the apiserver generates a Job's selector from its UID and refuses one it did not
// generate, so a restore drops the generated selector and labels (Velero's job action) and keeps
// a selector the user chose. Without a node the Jobs never finish, so they are restored.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore } from '../src/restore/engine.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  backupOf,
  createAll,
  deleteNamespaces,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

function job(ns: string, name: string, extra: Record<string, unknown> = {}, labels = {}): Seeded {
  return {
    gr: 'jobs.batch',
    obj: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name, namespace: ns },
      spec: {
        ...extra,
        template: {
          metadata: { labels },
          spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'registry.example/job:1' }] },
        },
      },
    },
  };
}

type JobSpec = { selector?: { matchLabels?: Record<string, string> }; manualSelector?: boolean };

describe('a restore of Jobs', () => {
  it('recreates a Job with a generated selector, and keeps a manual selector as it was', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('jobs');
    const generated = job(ns, 'migrate');
    const manual = job(
      ns,
      'manual',
      { manualSelector: true, selector: { matchLabels: { run: 'manual-1' } } },
      { run: 'manual-1' },
    );
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      generated,
      manual,
    ]);
    const oldUid = (await read(w.kube, generated))?.metadata.uid;
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);

    const result = await applyRestore(
      { name: uniqueName('jobs'), spec: { backupName: backup.name } },
      w.deps(),
    );
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    const restored = (await read(w.kube, generated)) as KubeObject;
    const spec = restored.spec as JobSpec;
    expect(restored.metadata.uid).not.toBe(oldUid);
    // The apiserver generated the selector again, from the new UID.
    expect(spec.selector?.matchLabels?.['batch.kubernetes.io/controller-uid']).toBe(restored.metadata.uid);
    const manualSpec = (await read(w.kube, manual))?.spec as JobSpec;
    expect(manualSpec.manualSelector).toBe(true);
    expect(manualSpec.selector).toEqual({ matchLabels: { run: 'manual-1' } });
  });
});
