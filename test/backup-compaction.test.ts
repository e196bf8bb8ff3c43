// The 410 Gone path on a real apiserver: the revision a backup lists at is compacted away
// under it. The engine must start again at a fresh revision and still produce one consistent
// backup; and when it runs out of retries it must fail clearly and leave nothing that looks
// complete.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { getBackup, listBackups, readBackupLog } from '../src/backup/catalog.js';
import { ANNOTATION_REVISION } from '../src/backup/velero-backup.js';
import type { KubeClient } from '../src/kube/client.js';
import { backupLayout } from '../src/storage/layout.js';
import { newBucket, newNamespace, uniqueName } from './ground/world.js';
import {
  archiveEntries,
  compactEtcd,
  groundKube,
  itemKey,
  localStore,
  s3Store,
  unversioned,
  waitUntilGone,
} from './fixtures/backups.js';
import { configMap, createObjects } from './fixtures/seed.js';

const OBJECTS = 40;

let kube: KubeClient;

beforeAll(async () => {
  kube = await groundKube();
});
afterAll(() => kube?.close());

/** A namespace of OBJECTS ConfigMaps; listing it with page size 5 takes several requests. */
async function namespaceWithObjects(): Promise<string> {
  const namespace = await newNamespace('compact');
  await createObjects(
    kube,
    Array.from({ length: OBJECTS }, (_, i) => configMap({ namespace, name: `cm-${i}` })),
  );
  return namespace;
}

/** Compact etcd past `revision` and wait until the apiserver answers 410 for it. */
async function compactAway(revision: string): Promise<void> {
  await compactEtcd();
  await waitUntilGone(kube, revision);
}

describe('a backup whose revision is compacted away', () => {
  it('starts again at a fresh revision and completes', async () => {
    const namespace = await namespaceWithObjects();
    const store = await localStore();
    const name = uniqueName('compacted');
    const revisions: string[] = [];
    const result = await runBackup(
      { name, spec: { includedNamespaces: [namespace], includedResources: ['configmaps'] } },
      {
        kube,
        store,
        pageSize: 5,
        onRevision: async (revision, attempt) => {
          revisions.push(revision);
          if (attempt === 1) await compactAway(revision);
        },
      },
    );

    expect(result.failureReason).toBeUndefined();
    expect(result.phase).toBe('Completed');
    // The first revision was abandoned; the backup is of a later one, and says so.
    expect(revisions.length).toBeGreaterThanOrEqual(2);
    expect(result.revision).toBe(revisions[revisions.length - 1]);
    expect(Number(result.revision)).toBeGreaterThan(Number(revisions[0]));
    const stored = await getBackup(store, name);
    expect(stored.status.phase).toBe('Completed');
    expect(stored.metadata.annotations?.[ANNOTATION_REVISION]).toBe(result.revision);

    // The log tells the story.
    const log = await readBackupLog(store, name);
    expect(log).toMatch(/compacted while listing \(410 Gone\); starting again at a fresh revision/);
    expect(log).toMatch(/attempt=1/);

    // And the archive is whole: every ConfigMap, once, from the retry alone.
    const keys = unversioned((await archiveEntries(store, name)).items).map(itemKey);
    const expected = [
      ...Array.from({ length: OBJECTS }, (_, i) => `configmaps|${namespace}/cm-${i}`),
      `configmaps|${namespace}/kube-root-ca.crt`,
    ];
    expect(keys.sort()).toEqual(expected.sort());
    expect(result.totalItems).toBe(expected.length);
  });

  it('fails with a clear reason when out of retries, and nothing looks complete', async () => {
    const namespace = await namespaceWithObjects();
    const bucket = await newBucket('compact');
    const store = s3Store(bucket);
    const name = uniqueName('gone');
    let attempts = 0;
    const result = await runBackup(
      { name, spec: { includedNamespaces: [namespace] } },
      {
        kube,
        store,
        pageSize: 5,
        maxRevisionRetries: 0,
        onRevision: async (revision) => {
          attempts++;
          await compactAway(revision);
        },
      },
    );

    expect(attempts).toBe(1);
    expect(result.phase).toBe('Failed');
    expect(result.failureReason).toMatch(/compacted/);
    expect(result.failureReason).toMatch(/410/);
    expect(result.sha256).toBeUndefined();

    // What the location holds: a Failed record and its log, no archive, no resource list.
    const stored = await getBackup(store, name);
    expect(stored.status.phase).toBe('Failed');
    expect(stored.status.failureReason).toBe(result.failureReason);
    expect(await store.exists(backupLayout.archive(name))).toBe(false);
    expect(await store.exists(backupLayout.resourceList(name))).toBe(false);
    const listed = (await listBackups(store)).find((e) => e.name === name);
    expect(listed?.backup?.status.phase).toBe('Failed');
    expect(await readBackupLog(store, name)).toMatch(/backup failed/);
  });
});
