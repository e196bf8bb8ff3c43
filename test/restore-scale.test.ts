// A restore of 128 MB of objects holds none of them: the planner keeps a small record per
// object and the objects wait in the spool (src/restore/spool.ts) until apply writes them. If
// the engine held the archive's objects, or their live twins, or a plan with every value in
// full, memory would grow past the object data itself; here it must stay well below it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRestore, type RestoreResult } from '../src/restore/engine.js';
import { localWorld, read, uniqueName, backupOf, type RestoreWorld } from './fixtures/restore-fixtures.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';
import { describeGrowth, MB, measureMemory } from './fixtures/memory.js';

const NAMESPACES = 8;
const PER_NAMESPACE = 250;
const PAYLOAD_BYTES = 64 * 1024;
/**
 * 2,000 objects of 64 KiB: 128 MB of data, and more than that again as parsed objects. The
 * bound is under the data itself. Measured: ~20 MB creating them (nothing to read), 50–70 MB
 * comparing them with the cluster (up to four LIST pages of 100 objects, 6.4 MB each as JSON,
 * are parsed and held at once, plus the spool's 32 MB budget).
 */
const MAX_MEMORY_GROWTH = 96 * MB;

let world: RestoreWorld;
let seeded: Seeded;

beforeAll(async () => {
  world = await localWorld();
  seeded = await seedNamespaces({
    kube: world.kube,
    prefix: uniqueName('rscale'),
    namespaces: NAMESPACES,
    perNamespace: { configMaps: PER_NAMESPACE },
    configMapBytes: PAYLOAD_BYTES,
  });
}, 300_000);
afterAll(() => world?.close());

describe('a restore of 128 MB of objects', () => {
  it('creates them all, then finds them unchanged, holding none of them in memory', async () => {
    const backup = await backupOf(world, {
      includedNamespaces: seeded.namespaces,
      includedResources: ['configmaps', 'namespaces'],
    });
    const mapping = Object.fromEntries(seeded.namespaces.map((ns) => [ns, `${ns}-copy`]));
    const spec = { backupName: backup.name, namespaceMapping: mapping };
    const objects = NAMESPACES * PER_NAMESPACE;

    // Into new namespaces: nothing to read from the cluster, every object created.
    const first = await measureMemory(() => applyRestore({ name: uniqueName('rscale'), spec }, world.deps()));
    expectCounts(first.result, { created: objects + NAMESPACES });
    expect(first.memoryGrowth, describeGrowth(first)).toBeLessThan(MAX_MEMORY_GROWTH);

    // Again: now every object is read back from the cluster (a LIST per namespace) and compared.
    const second = await measureMemory(() =>
      applyRestore({ name: uniqueName('rscale'), spec }, world.deps()),
    );
    expectCounts(second.result, { created: 0 });
    expect(second.result.items.filter((i) => i.message === 'unchanged')).toHaveLength(objects + NAMESPACES);
    expect(second.memoryGrowth, describeGrowth(second)).toBeLessThan(MAX_MEMORY_GROWTH);

    // The data made it across intact.
    for (const ns of seeded.namespaces.slice(0, 2)) {
      for (const name of ['cm-0', `cm-${PER_NAMESPACE - 1}`]) {
        const at = (namespace: string) => ({
          gr: 'configmaps',
          obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } },
        });
        const original = await read(world.kube, at(ns));
        const copy = await read(world.kube, at(`${ns}-copy`));
        expect(copy?.data).toEqual(original?.data);
        expect((copy?.data as Record<string, string> | undefined)?.payload).toHaveLength(PAYLOAD_BYTES);
      }
    }
  }, 600_000);
});

function expectCounts(result: RestoreResult, expected: { created: number }): void {
  expect(result.phase, JSON.stringify(result.items.filter((i) => i.result === 'failed').slice(0, 3))).toBe(
    'Completed',
  );
  expect(result.counts.failed).toBe(0);
  expect(result.counts.created).toBe(expected.created);
}
