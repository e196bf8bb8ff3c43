// Schedules on a fake clock, end to end: the first pass of a schedule backs up at once, a quiet
// pass commits nothing, several missed slots make one catch-up backup, a paused schedule never
// runs and skipImmediately waits for the first slot. Everything is read back from the remote.
import { readdirSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAll, configMap } from './fixtures/restore-fixtures.js';
import {
  ALICE,
  backupDir,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  reconcilerFor,
  scheduleDoc,
  type PolicyRepo,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';
import type { VeleroBackup } from '../src/backup/velero-backup.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

async function storedBackups(dataDir: string): Promise<string[]> {
  return (await readdir(join(dataDir, 'backups', 'backups')).catch(() => [])).sort();
}

async function storedMetadata(dataDir: string, name: string): Promise<VeleroBackup> {
  return JSON.parse(
    await readFile(join(backupDir(dataDir, 'backups', name), 'velero-backup.json'), 'utf8'),
  ) as VeleroBackup;
}

async function world(): Promise<{ repo: PolicyRepo; dataDir: string; ns: string }> {
  const ns = await newNamespace('sched');
  await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'blue' })]);
  const repo = await createPolicyRepo({
    'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
    'schedules/nightly.yaml': scheduleDoc('nightly', { cron: '0 2 * * *', namespaces: [ns], ttl: '720h' }),
    'schedules/paused.yaml': scheduleDoc('paused', { cron: '0 * * * *', namespaces: [ns], paused: true }),
    'schedules/six-hourly.yaml': scheduleDoc('six-hourly', {
      cron: '0 */6 * * *',
      namespaces: [ns],
      skipImmediately: true,
    }),
  });
  return { repo, dataDir: await tempDir('sched-data-'), ns };
}

describe('schedules on a fake clock', () => {
  it('back up once per slot, commit status only when it changes, and catch up once', async () => {
    const { repo, dataDir } = await world();
    const clock = new FakeClock('2025-03-10T10:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    const policyCommit = await repo.sha();

    // First pass: a new schedule without skipImmediately runs at once, named for the slot.
    const first = await r.pass();
    expect(first.events).toEqual([
      { action: 'backup', subject: 'nightly-20250310100000', outcome: 'Completed' },
    ]);
    expect(await storedBackups(dataDir)).toEqual(['nightly-20250310100000']);
    const tip = await repo.sha();
    expect(first.statusCommit).toBe(tip);
    const [statusCommit] = await repo.commits();
    expect(statusCommit).toMatchObject({
      sha: tip,
      parents: [policyCommit],
      author: 'lifeboat',
      subject: 'lifeboat: backup nightly-20250310100000 (Completed)',
      trailers: { 'Lifeboat-Action': ['backup'], 'Lifeboat-Backup': ['nightly-20250310100000'] },
    });

    expect(await repo.yaml('status/schedules/nightly.yaml')).toEqual({
      apiVersion: 'lifeboat.dev/v1',
      kind: 'BackupScheduleStatus',
      name: 'nightly',
      observedRevision: policyCommit,
      firstSeen: '2025-03-10T10:00:00.000Z',
      paused: false,
      lastBackup: { name: 'nightly-20250310100000', phase: 'Completed', slot: '2025-03-10T10:00:00.000Z' },
      nextRun: '2025-03-11T02:00:00.000Z',
      conditions: [
        { type: 'Ready', status: 'True', reason: 'Scheduled', message: 'next run 2025-03-11T02:00:00.000Z' },
      ],
    });
    const stored = await storedMetadata(dataDir, 'nightly-20250310100000');
    expect(stored.status.progress?.totalItems).toBeGreaterThanOrEqual(2); // the namespace and its ConfigMap
    expect(await repo.yaml('status/backups/nightly-20250310100000.yaml')).toEqual({
      apiVersion: 'lifeboat.dev/v1',
      kind: 'BackupStatus',
      name: 'nightly-20250310100000',
      observedRevision: policyCommit,
      location: 'primary',
      phase: 'Completed',
      schedule: 'nightly',
      // The backup is stamped by the pass's clock, so its TTL runs on the same clock as expiry.
      startTimestamp: '2025-03-10T10:00:00.000Z',
      completionTimestamp: '2025-03-10T10:00:00.000Z',
      expiration: '2025-04-09T10:00:00.000Z',
      items: stored.status.progress?.totalItems,
      errors: 0,
      warnings: 0,
      checksum: `sha256:${stored.metadata.annotations?.['lifeboat.dev/archive-sha256'] ?? 'missing'}`,
      resourceVersion: stored.metadata.annotations?.['lifeboat.dev/resource-version'],
    });
    expect(stored.metadata.annotations?.['lifeboat.dev/archive-sha256']).toMatch(/^[0-9a-f]{64}$/);

    // The paused schedule and the skipImmediately one have status but made nothing.
    expect(await repo.yaml('status/schedules/paused.yaml')).toMatchObject({
      paused: true,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Paused', message: 'paused' }],
    });
    const paused = await repo.yaml('status/schedules/paused.yaml');
    expect(paused).not.toHaveProperty('lastBackup');
    expect(paused).not.toHaveProperty('nextRun');
    const skipping = await repo.yaml('status/schedules/six-hourly.yaml');
    expect(skipping).toMatchObject({
      firstSeen: '2025-03-10T10:00:00.000Z',
      nextRun: '2025-03-10T12:00:00.000Z',
    });
    expect(skipping).not.toHaveProperty('lastBackup');

    // A second pass at the same time: nothing due, nothing changed, no commit.
    const second = await r.pass();
    expect(second.events).toEqual([]);
    expect(second.statusCommit).toBeUndefined();
    expect(await repo.sha()).toBe(tip);

    // skipImmediately: nothing before the first slot after the schedule was first seen...
    clock.set('2025-03-10T11:59:59Z');
    expect((await r.pass()).events).toEqual([]);
    expect(await repo.sha()).toBe(tip);
    // ...and one backup at it.
    clock.set('2025-03-10T12:00:00Z');
    const atSlot = await r.pass();
    expect(atSlot.events).toEqual([
      { action: 'backup', subject: 'six-hourly-20250310120000', outcome: 'Completed' },
    ]);
    expect(await storedBackups(dataDir)).toEqual(['nightly-20250310100000', 'six-hourly-20250310120000']);

    // Three days later: several slots of each schedule were missed; each makes one catch-up
    // backup, for its latest missed slot.
    clock.set('2025-03-13T10:30:00Z');
    const catchUp = await r.pass();
    expect(catchUp.events.map((e) => e.subject)).toEqual([
      'nightly-20250313020000',
      'six-hourly-20250313060000',
    ]);
    expect(await storedBackups(dataDir)).toEqual([
      'nightly-20250310100000',
      'nightly-20250313020000',
      'six-hourly-20250310120000',
      'six-hourly-20250313060000',
    ]);
    const [catchUpCommit] = await repo.commits();
    expect(catchUpCommit).toMatchObject({
      sha: catchUp.statusCommit,
      subject:
        'lifeboat: backup nightly-20250313020000 (Completed), backup six-hourly-20250313060000 (Completed)',
      trailers: {
        'Lifeboat-Action': ['backup'],
        'Lifeboat-Backup': ['nightly-20250313020000', 'six-hourly-20250313060000'],
      },
    });
    expect(await repo.yaml('status/schedules/nightly.yaml')).toMatchObject({
      firstSeen: '2025-03-10T10:00:00.000Z',
      lastBackup: { name: 'nightly-20250313020000', phase: 'Completed', slot: '2025-03-13T02:00:00.000Z' },
      nextRun: '2025-03-14T02:00:00.000Z',
    });
    expect(await repo.files('status/backups/')).toEqual([
      'status/backups/nightly-20250310100000.yaml',
      'status/backups/nightly-20250313020000.yaml',
      'status/backups/six-hourly-20250310120000.yaml',
      'status/backups/six-hourly-20250313060000.yaml',
    ]);

    // Once caught up, a pass at the same time is quiet again; the paused schedule never ran.
    const afterCatchUp = await repo.sha();
    expect((await r.pass()).statusCommit).toBeUndefined();
    expect(await repo.sha()).toBe(afterCatchUp);
    expect((await storedBackups(dataDir)).filter((b) => b.startsWith('paused-'))).toEqual([]);
    // Status commits name only backups in their trailers; every commit after the policy is ours.
    const ours = await repo.commits(`${policyCommit}..main`);
    expect(ours).toHaveLength(3);
    expect(
      ours.every((c) => c.author === 'lifeboat' && c.trailers['Lifeboat-Action']?.[0] === 'backup'),
    ).toBe(true);
  });

  it('a schedule unpaused by a person runs at once; pausing it again stops it', async () => {
    const { repo, dataDir, ns } = await world();
    const clock = new FakeClock('2025-06-01T08:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    await r.pass();
    const before = await storedBackups(dataDir);
    expect(before).toEqual(['nightly-20250601080000']);

    const alice = await repo.as(ALICE);
    const unpause = await alice.push(
      {
        'schedules/paused.yaml': scheduleDoc('paused', {
          cron: '0 * * * *',
          namespaces: [ns],
          paused: false,
        }),
      },
      { message: 'unpause' },
    );
    const run = await r.pass();
    expect(run.events).toEqual([
      { action: 'backup', subject: 'paused-20250601080000', outcome: 'Completed' },
    ]);
    expect(await repo.yaml('status/schedules/paused.yaml')).toMatchObject({
      observedRevision: unpause,
      paused: false,
      nextRun: '2025-06-01T09:00:00.000Z',
    });

    await alice.push(
      {
        'schedules/paused.yaml': scheduleDoc('paused', { cron: '0 * * * *', namespaces: [ns], paused: true }),
      },
      { message: 'pause again' },
    );
    // Slots 09:00, 10:00 and 11:00 of the hourly schedule pass while it is paused.
    clock.set('2025-06-01T11:30:00Z');
    const paused = await r.pass();
    expect(paused.events).toEqual([]);
    expect((await storedBackups(dataDir)).filter((b) => b.startsWith('paused-'))).toEqual([
      'paused-20250601080000',
    ]);
  });

  it('a pass says it will work before it backs up, and a quiet pass never says so', async () => {
    const { repo, dataDir } = await world();
    const clock = new FakeClock('2025-03-10T10:00:00Z');
    // What the location held each time the pass said it would work (reconcile --once turns
    // V8's optimizing compiler back on there, ADR 0045).
    const saidBefore: string[][] = [];
    const beforeWork = () => {
      try {
        saidBefore.push(readdirSync(join(dataDir, 'backups', 'backups')).sort());
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        saidBefore.push([]);
      }
    };
    const r = await reconcilerFor(repo, { dataDir, kube, clock, deps: { beforeWork } });

    const first = await r.pass();
    expect(first.events.map((e) => e.subject)).toEqual(['nightly-20250310100000']);
    expect(saidBefore).toEqual([[]]); // once, before the backup was written

    const quiet = await r.pass();
    expect(quiet.events).toEqual([]);
    expect(saidBefore).toHaveLength(1);
  });
});
