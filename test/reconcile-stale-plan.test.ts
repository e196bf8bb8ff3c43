// A merged plan that no longer says what a restore would do is not applied: the cluster changed
// between review and merge, so the reconciler applies nothing, marks the restore Stalled with
// reason PlanOutdated and pushes a fresh plan on restore/<name>-replan. Merging that one applies.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestorePlan } from '../src/restore/plan.js';
import { configMap, createAll, read, uniqueName, type Seeded } from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
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

const planOn = async (
  repo: { file(path: string, branch?: string): Promise<string | undefined> },
  branch: string,
): Promise<RestorePlan> => JSON.parse((await repo.file('plans/copy.json', branch)) ?? 'null') as RestorePlan;

describe('a stale approved plan', () => {
  it('applies nothing, stalls with PlanOutdated and puts a fresh plan up for review', async () => {
    const ns = await newNamespace('stale');
    const target = uniqueName('stale-copy');
    const k = await kube.get();
    await createAll(k, [configMap(ns, 'settings', { color: 'blue' }), configMap(ns, 'extra', { n: '1' })]);
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/shop.yaml': scheduleDoc('shop', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const dataDir = await tempDir('stale-data-');
    const r = await reconcilerFor(repo, { dataDir, kube, clock: new FakeClock('2025-07-01T06:00:00Z') });
    await r.pass();

    // Bob asks for a copy of the namespace under a new name; the plan creates everything.
    const bob = await repo.as(BOB);
    await bob.push(
      {
        'restores/copy.yaml': restoreDoc('copy', {
          backupName: 'shop-20250701060000',
          includedNamespaces: [ns],
          namespaceMapping: { [ns]: target },
        }),
      },
      { message: 'copy the shop namespace', branch: 'restore/copy' },
    );
    await r.pass();
    const approved = await planOn(repo, 'restore/copy');
    const action = (plan: RestorePlan, gr: string, name: string) =>
      plan.items.find((i) => i.groupResource === gr && i.name === name)?.action;
    expect(action(approved, 'configmaps', 'settings')).toBe('create');
    expect(action(approved, 'configmaps', 'extra')).toBe('create');

    // Before the merge, someone creates the target with a different ConfigMap of the same name.
    const theirs: Seeded = configMap(target, 'settings', { color: 'red' });
    await createAll(k, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: target } } },
      theirs,
    ]);
    const extra = configMap(target, 'extra', {});

    await (await repo.as(CAROL)).mergeNoFf('restore/copy');
    const mainBefore = await repo.sha();
    const refused = await r.pass();
    expect(refused.events).toEqual([
      { action: 'plan-restore', subject: 'copy', outcome: 'planned' },
      { action: 'apply-restore', subject: 'copy', outcome: 'PlanOutdated' },
    ]);

    // Nothing applied: theirs is untouched, the rest was not created, no restore is recorded.
    expect((await read(k, theirs))?.data).toEqual({ color: 'red' });
    expect(await read(k, extra)).toBeNull();
    expect(existsSync(join(dataDir, 'backups', 'restores', 'copy'))).toBe(false);

    // A fresh plan on a new review branch made from main, which differs from the approved one.
    const fresh = await planOn(repo, 'restore/copy-replan');
    expect(fresh.hash).not.toBe(approved.hash);
    expect(action(fresh, 'configmaps', 'settings')).toBe('skip');
    expect(action(fresh, 'configmaps', 'extra')).toBe('create');
    expect(await repo.file('restores/copy.yaml', 'restore/copy-replan')).toBeDefined();
    const [replanCommit] = await repo.commits('restore/copy-replan');
    expect(replanCommit).toMatchObject({
      author: 'lifeboat',
      trailers: { 'Lifeboat-Action': ['plan-restore'], 'Lifeboat-Restore': ['copy'] },
    });
    // Made from main as the merge left it: a stale plan is found before any claim is taken.
    expect(replanCommit?.parents).toEqual([mainBefore]);
    expect(await repo.file('status/claims/copy.yaml')).toBeUndefined();

    // Status on main says why, and the audit trailers claim no apply.
    const status = await repo.yaml<{
      phase: string;
      branch: string;
      planHash: string;
      conditions: unknown[];
    }>('status/restores/copy.yaml');
    expect(status).toMatchObject({ phase: 'Stalled', branch: 'restore/copy-replan', planHash: fresh.hash });
    expect(status?.conditions).toEqual([
      {
        type: 'Stalled',
        status: 'True',
        reason: 'PlanOutdated',
        message: expect.stringContaining('stale') as string,
      },
    ]);
    const [statusCommit] = await repo.commits();
    expect(statusCommit?.sha).toBe(refused.statusCommit);
    expect(statusCommit?.parents).toEqual([mainBefore]);
    expect(statusCommit?.subject).toContain('apply-restore copy (PlanOutdated)');
    expect(statusCommit?.trailers).toEqual({});

    // Still stale on the next pass: nothing applied, nothing new to commit anywhere.
    const replanTip = await repo.sha('restore/copy-replan');
    const mainTip = await repo.sha();
    const again = await r.pass();
    expect(again.events.map((e) => e.outcome)).toEqual(['plan unchanged', 'PlanOutdated']);
    expect(await repo.sha('restore/copy-replan')).toBe(replanTip);
    expect(await repo.sha()).toBe(mainTip);
    expect(await read(k, extra)).toBeNull();

    // Carol approves the fresh plan: now it applies, skipping their ConfigMap.
    await (await repo.as(CAROL)).mergeNoFf('restore/copy-replan');
    const applied = await r.pass();
    expect(applied.events).toEqual([{ action: 'apply-restore', subject: 'copy', outcome: 'Completed' }]);
    expect((await read(k, theirs))?.data).toEqual({ color: 'red' });
    expect((await read(k, extra))?.data).toEqual({ n: '1' });
    expect(await repo.yaml('status/restores/copy.yaml')).toMatchObject({
      phase: 'Completed',
      planHash: fresh.hash,
      counts: { updated: 0, failed: 0 },
    });
    const applies = (await repo.commits('main', { firstParent: true })).filter((c) =>
      c.trailers['Lifeboat-Action']?.includes('apply-restore'),
    );
    expect(applies).toHaveLength(1);
  });
});
