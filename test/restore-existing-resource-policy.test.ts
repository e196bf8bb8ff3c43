// Objects that exist and differ from the backup (Velero's existingResourcePolicy): `none`
// leaves them alone and reports a skip; `update` writes the backed-up version with server-side
// apply as field manager `lifeboat`. Objects equal to the backup are left alone either way.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import {
  backupOf,
  configMap,
  createAll,
  infoFor,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
}

describe('existingResourcePolicy', () => {
  it('none skips a differing object and leaves it; update applies the backup over it', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('policy');
    const settings = configMap(ns, 'settings', { color: 'blue', size: 'L' });
    const same = configMap(ns, 'same', { k: 'v' });
    // Enough config maps that planning reads them with one LIST (live-objects.ts), not a GET each.
    const bulk = Array.from({ length: 20 }, (_, i) => configMap(ns, `bulk-${i}`, { i: String(i) }));
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      settings,
      same,
      ...bulk,
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });

    // Someone changes the live object after the backup.
    const cms = await infoFor(w.kube, 'configmaps');
    const changed = await w.kube.apply(
      cms,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'settings', namespace: ns },
        data: { color: 'red', size: 'L' },
      },
      { fieldManager: 'someone', force: true },
    );
    await w.kube.apply(
      cms,
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'bulk-7', namespace: ns },
        data: { i: 'seven' },
      },
      { fieldManager: 'someone', force: true },
    );

    // --- none --------------------------------------------------------------------------
    const noneSpec = { backupName: backup.name, existingResourcePolicy: 'none' as const };
    const nonePlan = (await planRestore({ name: uniqueName('none'), spec: noneSpec }, w.deps())).plan;
    const planned = (n: string) =>
      nonePlan.items.find((i) => i.groupResource === 'configmaps' && i.name === n);
    expect(planned('settings')).toMatchObject({
      action: 'skip',
      reason: 'exists and differs; existingResourcePolicy is not update',
      changes: [{ path: 'data.color', op: 'change', before: 'red', after: 'blue' }],
    });
    expect(planned('settings')?.warnings?.[0]).toContain('already exists');
    expect(planned('same')?.action).toBe('unchanged');
    for (let i = 0; i < 20; i++)
      expect(planned(`bulk-${i}`)?.action, `bulk-${i}`).toBe(i === 7 ? 'skip' : 'unchanged');

    const none = await applyRestore({ name: uniqueName('none'), spec: noneSpec }, w.deps());
    expect(none.phase).toBe('Completed');
    const outcome = (r: typeof none, n: string) =>
      r.items.find((i) => i.groupResource === 'configmaps' && i.name === n);
    expect(outcome(none, 'settings')).toMatchObject({ result: 'skipped' });
    expect(outcome(none, 'same')).toMatchObject({ result: 'skipped', message: 'unchanged' });
    const afterNone = await read(w.kube, settings);
    expect(afterNone?.data).toEqual({ color: 'red', size: 'L' });
    expect(afterNone?.metadata.resourceVersion).toBe(changed.metadata.resourceVersion);
    expect((await read(w.kube, bulk[7] as (typeof bulk)[number]))?.data).toEqual({ i: 'seven' });

    // --- update ------------------------------------------------------------------------
    const updateSpec = { backupName: backup.name, existingResourcePolicy: 'update' as const };
    const updatePlan = (await planRestore({ name: uniqueName('upd'), spec: updateSpec }, w.deps())).plan;
    expect(updatePlan.items.find((i) => i.name === 'settings')).toMatchObject({
      action: 'update',
      changes: [{ path: 'data.color', op: 'change', before: 'red', after: 'blue' }],
    });
    const sameBefore = await read(w.kube, same);

    const update = await applyRestore({ name: uniqueName('upd'), spec: updateSpec }, w.deps());
    expect(update.phase).toBe('Completed');
    expect(outcome(update, 'settings')).toMatchObject({ result: 'updated' });
    expect(outcome(update, 'same')).toMatchObject({ result: 'skipped', message: 'unchanged' });
    expect(outcome(update, 'bulk-7')).toMatchObject({ result: 'updated' });
    expect(update.counts.updated).toBe(2);
    expect((await read(w.kube, bulk[7] as (typeof bulk)[number]))?.data).toEqual({ i: '7' });
    const afterUpdate = await read(w.kube, settings);
    expect(afterUpdate?.data).toEqual({ color: 'blue', size: 'L' });
    const managers = (afterUpdate?.metadata.managedFields ?? []) as ManagedFieldsEntry[];
    // Server-side apply as lifeboat, which now owns the field someone else had set.
    expect(managers).toContainEqual(expect.objectContaining({ manager: 'lifeboat', operation: 'Apply' }));
    // The unchanged object was not written.
    expect((await read(w.kube, same))?.metadata.resourceVersion).toBe(sameBefore?.metadata.resourceVersion);
  });
});
