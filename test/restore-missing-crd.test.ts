// Custom resources whose definition is neither in the cluster nor in the backup cannot be
// restored: the plan shows them invalid, apply records a per-item error for each and restores
// everything else, and the restore ends PartiallyFailed (Velero's partial failure is data).
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { readRestoreLog } from '../src/restore/catalog.js';
import { restoreLayout } from '../src/storage/layout.js';
import {
  backupOf,
  configMap,
  createAll,
  CRD_RESOURCE,
  deleteAndWait,
  deleteNamespaces,
  localWorld,
  read,
  secret,
  secretValue,
  uniqueName,
  widget,
  widgetCrd,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('a backup whose custom resources have no definition anywhere', () => {
  it('plans them invalid, restores the rest and ends PartiallyFailed with an error per item', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('nocrd');
    const group = `${uniqueName('g')}.restore.test`;
    const crd = widgetCrd(group);
    const widgets = ['alpha', 'beta'].map((n) => widget({ group, ns, name: n, spec: { n } }));
    const settings = configMap(ns, 'settings', { color: 'blue' });
    const creds = secret(ns, 'creds', { password: secretValue('pw') });
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      crd,
      settings,
      creds,
      ...widgets,
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns], excludedResources: [CRD_RESOURCE] });
    expect(backup.counts[CRD_RESOURCE]).toBeUndefined();
    expect(backup.counts[`widgets.${group}`]).toBe(2);
    await deleteNamespaces(w.kube, [ns]);
    await deleteAndWait(w.kube, crd);

    const name = uniqueName('nocrd');
    const { plan } = await planRestore({ name, spec: { backupName: backup.name } }, w.deps());
    const widgetItems = plan.items.filter((i) => i.groupResource === `widgets.${group}`);
    expect(widgetItems.map((i) => [i.name, i.action])).toEqual([
      ['alpha', 'invalid'],
      ['beta', 'invalid'],
    ]);
    expect(widgetItems[0]?.reason).toBe(
      `the cluster does not serve widgets.${group} and the backup has no CustomResourceDefinition for it`,
    );
    expect(plan.summary.total.invalid).toBe(2);
    expect(plan.items.find((i) => i.name === 'settings')?.action).toBe('create');

    const result = await applyRestore({ name, spec: { backupName: backup.name } }, w.deps());
    expect(result.phase).toBe('PartiallyFailed');
    const failed = result.items.filter((i) => i.result === 'failed');
    expect(failed.map((i) => `${i.groupResource} ${i.namespace}/${i.name}`)).toEqual([
      `widgets.${group} ${ns}/alpha`,
      `widgets.${group} ${ns}/beta`,
    ]);
    expect(failed[0]?.message).toContain(`does not serve widgets.${group}`);
    expect(result.counts.failed).toBe(2);

    // Everything else is there.
    expect((await read(w.kube, settings))?.data).toEqual({ color: 'blue' });
    expect(await read(w.kube, creds)).not.toBeNull();

    // Velero's results file names each failed item under its namespace; the log has a line each.
    const results = JSON.parse(
      gunzipSync(await readAll(await w.store.get(restoreLayout.results(name)))).toString('utf8'),
    ) as { errors: { namespaces: Record<string, string[]> } };
    expect(results.errors.namespaces[ns]).toHaveLength(2);
    expect(results.errors.namespaces[ns]?.[0]).toContain(`widgets.${group}/${ns}/alpha`);
    const log = await readRestoreLog(w.store, name);
    expect(log).toContain(`could not restore" item="widgets.${group}/${ns}/alpha"`);
    expect(log).toContain('restore PartiallyFailed');
  });
});
