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

const NAMESPACES = 20;
const PER_NAMESPACE = 500;
/** A generous bound: the archive alone is tens of MB; the heap must not grow with it. */
const MAX_HEAP_GROWTH = 150 * 1024 * 1024;
const MB = 1024 * 1024;

let kube: KubeClient;
let seeded: Seeded;

beforeAll(async () => {
  kube = await groundKube();
  seeded = await seedNamespaces({
    kube,
    prefix: uniqueName('scale'),
    namespaces: NAMESPACES,
    perNamespace: { configMaps: PER_NAMESPACE },
    // 2 KiB of hex each, so the archive (~20 MB) spans several multipart parts.
    configMapBytes: 2048,
  });
}, 300_000);
afterAll(() => kube?.close());

interface Measured {
  result: BackupResult;
  heapGrowth: number;
  peakRss: number;
}

/** Run a backup while sampling memory every few milliseconds. */
async function measuredBackup(store: BackupStore, name: string): Promise<Measured> {
  const before = process.memoryUsage();
  let peakHeap = before.heapUsed;
  let peakRss = before.rss;
  const sample = (): void => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed);
    peakRss = Math.max(peakRss, m.rss);
  };
  const sampler = setInterval(sample, 10);
  try {
    const result = await runBackup(
      // One resource type, so the entry order is fixed and two runs give the same bytes
      // (types listed concurrently interleave their pages in the order they arrive).
      { name, spec: { includedNamespaces: seeded.namespaces, includedResources: ['configmaps'] } },
      { kube, store },
    );
    sample();
    return { result, heapGrowth: peakHeap - before.heapUsed, peakRss };
  } finally {
    clearInterval(sampler);
  }
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
    console.log(JSON.stringify([inS3, inDir].map((r) => ({ heap: r.heapGrowth / MB, rss: r.peakRss / MB, bytes: r.result.bytes, t: Date.parse(r.result.completionTimestamp) - Date.parse(r.result.startTimestamp) }))));

    for (const run of [inS3, inDir]) {
      expect(run.result.phase).toBe('Completed');
      expect(run.result.totalItems).toBe(expectedItems);
      expect(run.result.counts).toEqual({ configmaps: expectedItems });
      expect(run.heapGrowth, `heap grew by ${Math.round(run.heapGrowth / MB)} MB`).toBeLessThan(
        MAX_HEAP_GROWTH,
      );
    }
    // Several multipart parts (8 MiB each) went to S3.
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
    const resourceList = await readResourceList(s3, name);
    expect(resourceList['v1/ConfigMap']).toHaveLength(expectedItems);
  }, 300_000);
});
