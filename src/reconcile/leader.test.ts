// The bucket lock shares its location with Velero: Velero marks a BackupStorageLocation
// Unavailable when the prefix holds a top-level directory it does not know
// (velero pkg/persistence/object_store.go IsValid), so the lock must live in one it does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalDirStore } from '../storage/local-store.js';
import { LEGACY_LOCK_KEY, LOCK_KEY } from '../storage/layout.js';
import { BucketLock } from './leader.js';

/** Velero's top-level directories (pkg/persistence/object_store_layout.go NewObjectStoreLayout). */
const VELERO_DIRS = ['backups/', 'restores/', 'restic/', 'metadata/', 'plugins/', 'kopia/'];

let root: string;
let store: LocalDirStore;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'lifeboat-lock-'));
  store = new LocalDirStore({ root });
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const now = new Date('2026-03-01T10:00:00Z');
const record = (holder: string, renewedAt: Date) =>
  JSON.stringify({ holder, renewedAt: renewedAt.toISOString(), durationSeconds: 120 });

describe('BucketLock beside Velero', () => {
  it('keeps its lock object inside a top-level directory Velero accepts', async () => {
    const lock = new BucketLock(store, 'me', 120, 0);
    expect(await lock.tryAcquire(now)).toBe(true);
    const dirs = await store.listPrefixes('');
    expect(dirs.length).toBeGreaterThan(0);
    for (const dir of dirs) expect(VELERO_DIRS).toContain(dir);
  });

  it('waits while a reconciler of an older version holds a fresh lock at the old key', async () => {
    await store.put(LEGACY_LOCK_KEY, record('old-pod', new Date(now.getTime() - 10_000)));
    const lock = new BucketLock(store, 'me', 120, 0);
    expect(await lock.tryAcquire(now)).toBe(false);
    expect(await store.exists(LOCK_KEY)).toBe(false);
  });

  it('takes over a stale lock at the old key and removes it, leaving Velero nothing to reject', async () => {
    await store.put(LEGACY_LOCK_KEY, record('old-pod', new Date(now.getTime() - 600_000)));
    const lock = new BucketLock(store, 'me', 120, 0);
    expect(await lock.tryAcquire(now)).toBe(true);
    expect(await store.exists(LEGACY_LOCK_KEY)).toBe(false);
    for (const dir of await store.listPrefixes('')) expect(VELERO_DIRS).toContain(dir);
  });

  it('still keeps a second reconciler out while the first renews', async () => {
    const first = new BucketLock(store, 'first', 120, 0);
    const second = new BucketLock(store, 'second', 120, 0);
    expect(await first.tryAcquire(now)).toBe(true);
    expect(await second.tryAcquire(new Date(now.getTime() + 60_000))).toBe(false);
    expect(await second.tryAcquire(new Date(now.getTime() + 200_000))).toBe(true);
  });
});
