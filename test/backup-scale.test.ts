// Ten thousand objects: streamed to S3 (multipart) and to a directory, the two archives are the
// same bytes, every object is in them, and the process's heap stays bounded while they are
// written — objects flow through, they do not pile up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../src/backup/engine.js';
import { readResourceList } from '../src/backup/catalog.js';
import { ANNOTATION_SHA256 } from '../src/backup/velero-backup.js';
import type { KubeClient } from '../src/kube/client.js';
import type { BackupStore } from '../src/storage/store.js';
import { newBucket, uniqueName } from './ground/world.js';
import { archiveEntries, groundKube, localStore, s3Store, unversioned } from './fixtures/backups.js';
import { seedNamespaces, type Seeded } from './fixtures/seed.js';
import { describeGrowth, MB, measureMemory, type MemoryMeasured } from './fixtures/memory.js';

const NAMESPACES = 20;
const PER_NAMESPACE = 500;
const PAYLOAD_BYTES = 16 * 1024;
/** Generous, and still below the 160 MB of object data that passes through. */
const MAX_MEMORY_GROWTH = 150 * MB;

let kube: KubeClient;
let seeded: Seeded;

beforeAll(async () => {
  kube = await groundKube();
  seeded = await seedNamespaces({
    kube,
    prefix: uniqueName('scale'),
    namespaces: NAMESPACES,
    perNamespace: { configMaps: PER_NAMESPACE },
    // 16 KiB of hex each: 160 MB of object data, more than the memory bound below, so an
    // engine that held the objects or the archive in memory could not pass.
    configMapBytes: PAYLOAD_BYTES,
  });
}, 300_000);
afterAll(() => kube?.close());

/** Run a backup while sampling live memory. */
function measuredBackup(store: BackupStore, name: string): Promise<MemoryMeasured<BackupResult>> {
  return measureMemory(() =>
    runBackup(
      // One resource type, so the entry order is fixed and two runs give the same bytes
      // (types listed concurrently interleave their pages in the order they arrive).
      { name, spec: { includedNamespaces: seeded.namespaces, includedResources: ['configmaps'] } },
      { kube, store },
    ),
  );
}

describe('a backup of 10,000 objects', () => {
  it('is byte-identical in S3 and in a directory, complete, and written in bounded memory', async () => {
    const expectedItems = NAMESPACES * (PER_NAMESPACE + 1); // + kube-root-ca.crt in each namespace
    expect(seeded.objects).toBe(NAMESPACES * PER_NAMESPACE);

    const s3 = s3Store(await newBucket('scale'));
    const local = await localStore('scale-');
    const name = uniqueName('scale');
    const inS3 = await measuredBackup(s3, name);
    const inDir = await measuredBackup(local, name);

    for (const run of [inS3, inDir]) {
      expect(run.result.phase).toBe('Completed');
      expect(run.result.totalItems).toBe(expectedItems);
      expect(run.result.counts).toEqual({ configmaps: expectedItems });
      expect(run.memoryGrowth, describeGrowth(run)).toBeLessThan(MAX_MEMORY_GROWTH);
    }
    // Several multipart parts (5 MiB each) went to S3.
    expect(inS3.result.bytes).toBeGreaterThan(8 * MB);
    // The same bytes in both places, by the digest taken while writing and by the stored one.
    expect(inS3.result.sha256).toBe(inDir.result.sha256);
    expect(inS3.result.bytes).toBe(inDir.result.bytes);
    expect(inS3.result.metadata.metadata.annotations?.[ANNOTATION_SHA256]).toBe(inS3.result.sha256);

    // Read back from S3 (the reader verifies the sha256 at the end): every object, twice
    // (unversioned and preferred version), plus metadata/version.
    const { paths, items } = await archiveEntries(s3, name);
    expect(paths).toHaveLength(2 * expectedItems + 1);
    const names = new Set(unversioned(items).map((i) => `${i.namespace}/${i.name}`));
    expect(names.size).toBe(expectedItems);
    for (const ns of seeded.namespaces) {
      for (let i = 0; i < PER_NAMESPACE; i += 97) expect(names).toContain(`${ns}/cm-${i}`);
    }
    // The resource list names every object, sorted as Velero sorts it, though the engine
    // kept the names on disk rather than in memory (resource-list.ts).
    const resourceList = await readResourceList(s3, name);
    expect(resourceList['v1/ConfigMap']).toEqual([...names].sort());
  }, 300_000);
});
