// While a restore applies, its InProgress record says how far it got (reconcile reads it to tell
// an interrupted restore from a running one). Each rewrite is two PUTs (log and record), so
// after the first one, which lands as soon as something is applied, they are spaced in time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRestore, RestoreNameInUseError, type RestoreResult } from '../src/restore/engine.js';
import { restoreLayout } from '../src/storage/layout.js';
import type { BackupStore } from '../src/storage/store.js';
import {
  backupOf,
  deleteNamespaces,
  localWorld,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';

const CONFIG_MAPS = 200;

let world: RestoreWorld;
let seeded: Seeded;

beforeAll(async () => {
  world = await localWorld();
  seeded = await seedNamespaces({
    kube: world.kube,
    prefix: uniqueName('rprog'),
    namespaces: 1,
    perNamespace: { configMaps: CONFIG_MAPS },
  });
}, 300_000);
afterAll(() => world?.close());

/** The store, recording every restore record written to it as it was written. */
function recording(store: BackupStore, name: string): { store: BackupStore; records: RestoreResult[] } {
  const records: RestoreResult[] = [];
  const key = restoreLayout.record(name);
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop !== 'put') return Reflect.get(target, prop, receiver) as unknown;
      return async (
        k: string,
        body: Parameters<BackupStore['put']>[1],
        opts?: Parameters<BackupStore['put']>[2],
      ) => {
        if (k === key && typeof body === 'string') records.push(JSON.parse(body) as RestoreResult);
        await target.put(k, body, opts);
      };
    },
  });
  return { store: wrapped, records };
}

describe('the progress of a restore', () => {
  it('is written after the first 50 objects at once, then no more often than the interval', async () => {
    const backup = await backupOf(world, { includedNamespaces: seeded.namespaces });
    await deleteNamespaces(world.kube, seeded.namespaces);

    // An interval longer than any test: one progress write with objects done, at the first 50.
    const name = uniqueName('rprog');
    const slow = recording(world.store, name);
    const result = await applyRestore(
      { name, spec: { backupName: backup.name } },
      world.deps({ store: slow.store }),
      { progressIntervalMs: 3_600_000 },
    );
    expect(result.phase).toBe('Completed');
    expect(result.counts.created).toBeGreaterThan(CONFIG_MAPS);
    const progress = slow.records.filter((r) => r.phase === 'InProgress').map((r) => r.progress?.done);
    expect(progress).toEqual([0, 50]);
    expect(slow.records.at(-1)?.phase).toBe('Completed');

    // The name is taken now: refused (planning runs meanwhile, and changes nothing), no record written.
    const reuse = recording(world.store, name);
    await expect(
      applyRestore({ name, spec: { backupName: backup.name } }, world.deps({ store: reuse.store })),
    ).rejects.toBeInstanceOf(RestoreNameInUseError);
    expect(reuse.records).toEqual([]);

    // With no interval, every 50 objects may write (writes still never overlap, so some merge).
    await deleteNamespaces(world.kube, seeded.namespaces);
    const again = uniqueName('rprog');
    const fast = recording(world.store, again);
    await applyRestore(
      { name: again, spec: { backupName: backup.name } },
      world.deps({ store: fast.store }),
      { progressIntervalMs: 0 },
    );
    const done = fast.records.filter((r) => r.phase === 'InProgress').map((r) => r.progress?.done ?? 0);
    expect(done.length).toBeGreaterThan(2);
    expect(done.every((d) => d % 50 === 0)).toBe(true);
    expect([...done].sort((a, b) => a - b)).toEqual(done);
  });
});
