// One consistent point in time: while a writer keeps creating, updating and deleting
// ConfigMaps, a backup of their namespace must hold exactly the ConfigMaps that existed at the
// revision it recorded — same names, same resourceVersions, same content — nothing from
// before or after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { newNamespace, uniqueName } from './ground/world.js';
import {
  archiveEntries,
  groundKube,
  listAtRevision,
  localStore,
  resourceInfo,
  retryIfCompacted,
  unversioned,
} from './fixtures/backups.js';
import { configMap, createObjects } from './fixtures/seed.js';

const SEEDED = 300;

let kube: KubeClient;
let configMaps: ResourceInfo;

beforeAll(async () => {
  kube = await groundKube();
  configMaps = await resourceInfo(kube, 'configmaps');
});
afterAll(() => kube?.close());

interface Writer {
  /** Create, update and delete operations done so far. */
  readonly ops: () => number;
  /** Stop and wait for the last operation to finish. */
  stop(): Promise<void>;
}

/**
 * Four loops that each create a ConfigMap, update one and delete one, over and over, until
 * stopped — or on their own after `maxOps` operations, so a failing test cannot leave them
 * running.
 */
function startWriter(namespace: string, maxOps = 6000): Writer {
  let ops = 0;
  let stopped = false;
  let serial = 0;
  const live: string[] = Array.from({ length: SEEDED }, (_, i) => `cm-${i}`);
  const loop = async (): Promise<void> => {
    while (!stopped && ops < maxOps) {
      const created = `w-${serial++}`;
      await kube.create(configMaps, configMap({ namespace, name: created }));
      live.push(created);
      ops++;
      const updated = live[Math.floor(Math.random() * live.length)];
      if (updated) {
        await kube.apply(configMaps, configMap({ namespace, name: updated, data: { value: `v${serial}` } }), {
          fieldManager: 'consistency-test',
          force: true,
        });
        ops++;
      }
      const victim = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      if (victim) {
        await kube.delete(configMaps, namespace, victim);
        ops++;
      }
    }
  };
  const loops = Promise.all(Array.from({ length: 4 }, loop));
  return {
    ops: () => ops,
    async stop() {
      stopped = true;
      await loops;
    },
  };
}

const byName = (objects: KubeObject[]) => new Map(objects.map((o) => [o.metadata.name ?? '', o] as const));

describe('a backup taken while objects change', () => {
  it('holds exactly the objects of its recorded revision', async () => {
    const namespace = await newNamespace('consistent');
    await createObjects(
      kube,
      Array.from({ length: SEEDED }, (_, i) => configMap({ namespace, name: `cm-${i}` })),
    );
    const writer = startWriter(namespace);
    try {
      // Let the writer get going, so the backup starts in the middle of the churn.
      while (writer.ops() < 50) await new Promise((r) => setTimeout(r, 20));

      await retryIfCompacted(async () => {
        const store = await localStore();
        const name = uniqueName('consistent');
        const opsBefore = writer.ops();
        const result = await runBackup(
          { name, spec: { includedNamespaces: [namespace], includedResources: ['configmaps'] } },
          // Small pages: listing takes many round trips, and the writer works between them.
          { kube, store, pageSize: 7 },
        );
        const opsDuring = writer.ops() - opsBefore;
        expect(result.phase).toBe('Completed');
        const revision = result.revision ?? '';
        expect(revision).not.toBe('');

        const archived = unversioned((await archiveEntries(store, name)).items).map((i) => i.object);
        const atRevision = await listAtRevision(kube, configMaps, { namespace, revision });

        // The writer really changed things while the backup listed (otherwise this proves nothing).
        expect(opsDuring).toBeGreaterThan(0);
        const live = await listAtRevision(kube, configMaps, {
          namespace,
          revision: await kube.currentRevision(),
        });
        expect(new Set(live.map((o) => o.metadata.resourceVersion))).not.toEqual(
          new Set(atRevision.map((o) => o.metadata.resourceVersion)),
        );

        // Names and resourceVersions: exactly the set at the revision.
        const pairs = (objects: KubeObject[]) =>
          objects.map((o) => `${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
        expect(pairs(archived)).toEqual(pairs(atRevision));
        // No object newer than the revision.
        for (const o of archived)
          expect(Number(o.metadata.resourceVersion)).toBeLessThanOrEqual(Number(revision));
        // And each object is the object as it was, field for field.
        const expected = byName(atRevision);
        for (const o of archived) expect(o).toEqual(expected.get(o.metadata.name ?? ''));
        expect(result.totalItems).toBe(atRevision.length);
      });
    } finally {
      await writer.stop();
    }
  });
});
