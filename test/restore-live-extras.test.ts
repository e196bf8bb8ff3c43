// A label or annotation added to a live object after the backup is no difference for the
// restore (it writes what the backup holds and leaves other fields alone), even under the
// `update` policy. The plan says so, naming the keys, instead of calling the object unchanged
// without a word.
import { afterEach, describe, expect, it } from 'vitest';
import { planRestore } from '../src/restore/engine.js';
import {
  backupOf,
  configMap,
  createAll,
  infoFor,
  localWorld,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

describe('a live object with labels and annotations added after the backup', () => {
  it('is planned with a note naming them', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('extras');
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      configMap(ns, 'settings', { color: 'blue' }, { app: 'web' }),
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await w.kube.apply(
      await infoFor(w.kube, 'configmaps'),
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: 'settings',
          namespace: ns,
          labels: { tier: 'gold' },
          annotations: { owner: 'alice' },
        },
      },
      { fieldManager: 'someone' },
    );

    const { plan } = await planRestore(
      { name: uniqueName('extras'), spec: { backupName: backup.name, existingResourcePolicy: 'update' } },
      w.deps(),
    );
    expect(plan.items.find((i) => i.groupResource === 'configmaps' && i.name === 'settings')).toMatchObject({
      action: 'unchanged',
      notes: [
        expect.stringContaining('labels the backup does not (tier)'),
        expect.stringContaining('annotations the backup does not (owner)'),
      ],
    });
  });
});
