// Expiry end to end on a fake clock: backups past their TTL and backups retention no longer
// keeps are deleted from the location and from status, in a commit that says so; a backup a
// pending Restore reads is kept until the Restore is gone; a read-only location is never
// deleted from, however old its backups are.
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { configMap, createAll } from './fixtures/restore-fixtures.js';
import {
  ALICE,
  BOB,
  backupDir,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  reconcilerFor,
  restoreDoc,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

describe('expiry', () => {
  it('deletes expired backups, keeps what a pending Restore needs, never touches a read-only location', async () => {
    const ns = await newNamespace('expiry');
    await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'green' })]);
    const schedules = {
      // Hourly, each backup kept 90 minutes.
      'schedules/ttl.yaml': scheduleDoc('ttl', { cron: '0 * * * *', namespaces: [ns], ttl: '90m' }),
      // Hourly, kept 30 days by TTL but only the newest two by retention.
      'schedules/keep2.yaml': scheduleDoc('keep2', {
        cron: '0 * * * *',
        namespaces: [ns],
        ttl: '720h',
        retention: { keepLast: 2 },
      }),
    };
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'primary', isDefault: true }),
      ...schedules,
    });
    const dataDir = await tempDir('expiry-data-');
    const clock = new FakeClock('2025-05-01T00:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    const stored = (name: string) => existsSync(backupDir(dataDir, 'primary', name));

    await r.pass(); // 00:00: ttl-…000000 and keep2-…000000
    // Bob asks to restore from the first ttl backup; the request waits for review.
    const bob = await repo.as(BOB);
    await bob.push(
      {
        'restores/hold.yaml': restoreDoc('hold', {
          backupName: 'ttl-20250501000000',
          includedNamespaces: [ns],
        }),
      },
      { message: 'restore from the first backup', branch: 'restore/hold' },
    );
    clock.set('2025-05-01T01:00:00Z');
    const planned = await r.pass();
    // Restores come first, then schedules in file order.
    expect(planned.events.map((e) => `${e.action} ${e.subject}`)).toEqual([
      'plan-restore hold',
      'backup keep2-20250501010000',
      'backup ttl-20250501010000',
    ]);
    clock.set('2025-05-01T02:00:00Z');
    const third = await r.pass();
    // ttl-…000000 expired at 01:30, but the pending Restore needs it; keep2 has only two yet.
    expect(third.events.map((e) => `${e.action} ${e.subject}`)).toEqual([
      'backup keep2-20250501020000',
      'backup ttl-20250501020000',
    ]);

    // 02:45: no slot is due; ttl-…010000 expired at 02:30 and keep2 has three of two allowed.
    clock.set('2025-05-01T02:45:00Z');
    const expiring = await r.pass();
    expect(expiring.events.map((e) => `${e.action} ${e.subject}`)).toEqual([
      'expire keep2-20250501000000',
      'expire ttl-20250501010000',
    ]);
    expect(expiring.events[1]?.outcome).toBe('TTL expired at 2025-05-01T02:30:00Z');
    expect(expiring.events[0]?.outcome).toMatch(/retention|keepLast|keep last/i);
    expect(stored('keep2-20250501000000')).toBe(false);
    expect(stored('ttl-20250501010000')).toBe(false);
    expect(stored('ttl-20250501000000')).toBe(true); // expired, but Bob's Restore reads it
    expect(stored('keep2-20250501010000')).toBe(true);
    expect(stored('keep2-20250501020000')).toBe(true);
    expect(stored('ttl-20250501020000')).toBe(true);
    const [expireCommit] = await repo.commits();
    expect(expireCommit?.sha).toBe(expiring.statusCommit);
    expect(expireCommit?.subject).toMatch(
      /^lifeboat: expire keep2-20250501000000 \(.+\), expire ttl-20250501010000 \(TTL expired at 2025-05-01T02:30:00Z\)$/,
    );
    expect(expireCommit?.trailers).toEqual({
      'Lifeboat-Action': ['expire'],
      'Lifeboat-Backup': ['keep2-20250501000000', 'ttl-20250501010000'],
    });
    expect(await repo.files('status/backups/')).toEqual([
      'status/backups/keep2-20250501010000.yaml',
      'status/backups/keep2-20250501020000.yaml',
      'status/backups/ttl-20250501000000.yaml',
      'status/backups/ttl-20250501020000.yaml',
    ]);
    expect(await repo.yaml('status/restores/hold.yaml')).toMatchObject({
      phase: 'PendingApproval',
      branch: 'restore/hold',
      backup: 'ttl-20250501000000',
    });

    // Nothing more to do at the same time: no commit.
    const tip = await repo.sha();
    expect((await r.pass()).statusCommit).toBeUndefined();
    expect(await repo.sha()).toBe(tip);

    // Bob withdraws the request (deletes the branch): the backup it protected goes.
    await bob.deleteBranch('restore/hold');
    const released = await r.pass();
    expect(released.events).toEqual([
      { action: 'expire', subject: 'ttl-20250501000000', outcome: 'TTL expired at 2025-05-01T01:30:00Z' },
    ]);
    expect(stored('ttl-20250501000000')).toBe(false);
    expect(await repo.file('status/backups/ttl-20250501000000.yaml')).toBeUndefined();
    expect(await repo.file('status/restores/hold.yaml')).toBeUndefined();
    const [releaseCommit] = await repo.commits();
    expect(releaseCommit?.trailers).toEqual({
      'Lifeboat-Action': ['expire'],
      'Lifeboat-Backup': ['ttl-20250501000000'],
    });

    // Alice moves the schedules to a new location and keeps the old directory as a read-only
    // location. Six weeks later every backup there is past its TTL (and keep2's past its
    // retention), yet nothing is deleted from it.
    const alice = await repo.as(ALICE);
    await alice.push(
      {
        'storage-locations/primary.yaml': null,
        'storage-locations/archive.yaml': localLocation('archive', { path: 'primary', readOnly: true }),
        'storage-locations/fresh.yaml': localLocation('fresh', { path: 'fresh', isDefault: true }),
      },
      { message: 'move backups to fresh; keep the old ones read-only' },
    );
    const old = ['keep2-20250501010000', 'keep2-20250501020000', 'ttl-20250501020000'];
    clock.set('2025-06-15T00:00:00Z');
    const later = await r.pass();
    expect(later.events.map((e) => `${e.action} ${e.subject}`)).toEqual([
      'backup keep2-20250615000000',
      'backup ttl-20250615000000',
    ]);
    for (const name of old) {
      expect(stored(name)).toBe(true);
      expect(await repo.yaml(`status/backups/${name}.yaml`)).toMatchObject({
        location: 'archive',
        phase: 'Completed',
      });
    }
    expect(existsSync(backupDir(dataDir, 'fresh', 'ttl-20250615000000'))).toBe(true);

    // Days later still: the fresh location expires its own, the archive keeps everything.
    clock.set('2025-06-15T01:45:00Z');
    const again = await r.pass();
    expect(again.events.map((e) => `${e.action} ${e.subject}`)).toEqual([
      'backup keep2-20250615010000',
      'backup ttl-20250615010000',
      'expire ttl-20250615000000',
    ]);
    for (const name of old) expect(stored(name)).toBe(true);
    expect(existsSync(backupDir(dataDir, 'fresh', 'ttl-20250615000000'))).toBe(false);
    // No expire commit ever named a backup of the read-only location after it became one.
    const moved = await repo.commits(`${tip}..main`);
    const expiredLater = moved
      .flatMap((c) => c.trailers['Lifeboat-Backup'] ?? [])
      .filter((b) => old.includes(b));
    expect(expiredLater).toEqual([]);
  });
});
