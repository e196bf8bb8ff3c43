// The whole pull-request flow against the real cluster: a schedule backs up a namespace, the
// namespace is lost, a person asks for a restore on a review branch, the reconciler commits
// the plan to that branch and applies nothing, a reviewer merges, the reconciler applies and
// records the result, and `lifeboat audit` tells who asked, who approved and what was done.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestoreResult } from '../src/restore/engine.js';
import type { RestorePlan } from '../src/restore/plan.js';
import type { AuditEvent } from '../src/gitops/audit-log.js';
import {
  b64,
  configMap,
  createAll,
  deleteNamespaces,
  read,
  runCli,
  secret,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  restoreDoc,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

describe('a restore approved by merging its review branch', () => {
  it('is planned on the branch, applied after the merge, and audited', async () => {
    const ns = await newNamespace('shop');
    const objects: Seeded[] = [
      configMap(ns, 'settings', { color: 'blue', size: 'L' }),
      secret(ns, 'db', { password: 'approval-flow-password' }),
      {
        gr: 'serviceaccounts',
        obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: ns } },
      },
    ];
    const k = await kube.get();
    await createAll(k, objects);
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/shop.yaml': scheduleDoc('shop-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const dataDir = await tempDir('approval-data-');
    const clock = new FakeClock('2025-02-01T09:00:00Z');
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    expect((await r.pass()).events).toEqual([
      { action: 'backup', subject: 'shop-nightly-20250201090000', outcome: 'Completed' },
    ]);

    // The namespace is lost.
    await deleteNamespaces(k, [ns]);

    // Bob asks for the newest backup of the schedule, on a review branch.
    const bob = await repo.as(BOB);
    const request = restoreDoc('shop', { scheduleName: 'shop-nightly', includedNamespaces: [ns] });
    const requestCommit = await bob.push(
      { 'restores/shop.yaml': request },
      { message: 'restore the shop namespace', branch: 'restore/shop' },
    );
    const mainBeforePlan = await repo.sha();

    const planning = await r.pass();
    expect(planning.events).toEqual([{ action: 'plan-restore', subject: 'shop', outcome: 'planned' }]);
    // The plan is on the branch, in a commit of its own on top of Bob's.
    const [planCommit] = await repo.commits('restore/shop');
    expect(planCommit).toMatchObject({
      parents: [requestCommit],
      author: 'lifeboat',
      trailers: { 'Lifeboat-Action': ['plan-restore'], 'Lifeboat-Restore': ['shop'] },
    });
    expect(await repo.files('plans/', 'restore/shop')).toEqual(['plans/shop.json', 'plans/shop.md']);
    const plan = JSON.parse((await repo.file('plans/shop.json', 'restore/shop')) ?? '{}') as RestorePlan;
    expect(plan).toMatchObject({
      kind: 'RestorePlan',
      restoreName: 'shop',
      backupName: 'shop-nightly-20250201090000',
    });
    const planned = new Map(plan.items.map((i) => [`${i.groupResource} ${i.namespace}/${i.name}`, i.action]));
    expect(planned.get(`namespaces /${ns}`)).toBe('create');
    expect(planned.get(`configmaps ${ns}/settings`)).toBe('create');
    expect(planned.get(`secrets ${ns}/db`)).toBe('create');
    expect(planned.get(`serviceaccounts ${ns}/api`)).toBe('create');
    const markdown = (await repo.file('plans/shop.md', 'restore/shop')) ?? '';
    expect(markdown).toContain('shop-nightly-20250201090000');
    expect(markdown).toContain('settings');
    // Nothing was applied, and main carries only the status saying the plan awaits review.
    expect(await read(k, objects[0] as Seeded)).toBeNull();
    expect(await repo.files('plans/')).toEqual([]);
    expect(await repo.yaml('status/restores/shop.yaml')).toMatchObject({
      phase: 'PendingApproval',
      branch: 'restore/shop',
      backup: 'shop-nightly-20250201090000',
      planHash: plan.hash,
    });
    const statusAfterPlan = await repo.commits(`${mainBeforePlan ?? ''}..main`);
    expect(statusAfterPlan).toHaveLength(1);

    // Waiting for review: nothing new anywhere.
    const branchTip = await repo.sha('restore/shop');
    const mainTip = await repo.sha();
    expect((await r.pass()).events).toEqual([]);
    expect(await repo.sha('restore/shop')).toBe(branchTip);
    expect(await repo.sha()).toBe(mainTip);

    // Carol approves by merging the branch.
    const carol = await repo.as(CAROL);
    const merge = await carol.mergeNoFf('restore/shop');

    const applying = await r.pass();
    expect(applying.events).toEqual([{ action: 'apply-restore', subject: 'shop', outcome: 'Completed' }]);
    expect((await read(k, objects[0] as Seeded))?.data).toEqual({ color: 'blue', size: 'L' });
    expect((await read(k, objects[1] as Seeded))?.data).toEqual({ password: b64('approval-flow-password') });
    expect(await read(k, objects[2] as Seeded)).not.toBeNull();
    const status = await repo.yaml<{
      phase: string;
      counts: Record<string, number>;
      planHash: string;
      appliedAt: string;
      observedRevision: string;
    }>('status/restores/shop.yaml');
    expect(status).toMatchObject({ phase: 'Completed', planHash: plan.hash, observedRevision: merge });
    // The status repeats the record the restore left in the location. Everything of ours was
    // created; the namespace's default ServiceAccount, which the controller makes as soon as
    // the namespace exists, may have been updated instead.
    const record = JSON.parse(
      await readFile(join(dataDir, 'backups', 'restores', 'shop', 'lifeboat-restore.json'), 'utf8'),
    ) as RestoreResult;
    expect(status?.counts).toEqual(record.counts);
    expect(status?.appliedAt).toBe(record.completionTimestamp);
    expect(record.counts.failed).toBe(0);
    expect(record.items).toHaveLength(plan.items.length);
    const result = (gr: string, namespace: string, name: string) =>
      record.items.find((i) => i.groupResource === gr && i.namespace === namespace && i.name === name)
        ?.result;
    expect(result('namespaces', '', ns)).toBe('created');
    expect(result('configmaps', ns, 'settings')).toBe('created');
    expect(result('secrets', ns, 'db')).toBe('created');
    expect(result('serviceaccounts', ns, 'api')).toBe('created');
    // Before applying, the reconciler claimed the restore on main (so that no other reconciler
    // applies it too); the claim stays as a record.
    const [applyCommit, claimCommit] = await repo.commits();
    expect(claimCommit).toMatchObject({
      parents: [merge],
      author: 'lifeboat',
      subject: 'lifeboat: claim restore shop',
      trailers: {},
    });
    expect(await repo.yaml('status/claims/shop.yaml')).toEqual({
      apiVersion: 'lifeboat.dev/v1',
      kind: 'RestoreClaim',
      name: 'shop',
      planHash: plan.hash,
    });
    expect(applyCommit).toMatchObject({
      parents: [claimCommit?.sha],
      author: 'lifeboat',
      subject: 'lifeboat: apply-restore shop (Completed)',
      trailers: { 'Lifeboat-Action': ['apply-restore'], 'Lifeboat-Restore': ['shop'] },
    });

    // Applied once: later passes leave the cluster and Git alone.
    const applied = await repo.sha();
    expect((await r.pass()).events).toEqual([]);
    expect(await repo.sha()).toBe(applied);

    // The audit log, from the CLI as a user runs it.
    const audit = await runCli([
      'audit',
      '--repo',
      repo.remote,
      '--workdir',
      await newWorkdir(),
      '--restore',
      'shop',
      '-o',
      'json',
    ]);
    expect(audit.stderr).toBe('');
    expect(audit.code).toBe(0);
    const events = JSON.parse(audit.stdout) as (AuditEvent & { at: string })[];
    // Git dates have one-second resolution, so events of the same second are ordered by kind.
    const who = events
      .map((e) => [e.type, e.actor.name, e.commit])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    expect(who).toEqual([
      ['restore-applied', 'lifeboat', applyCommit?.sha],
      ['restore-approved', CAROL.name, merge],
      ['restore-planned', 'lifeboat', planCommit?.sha],
      ['restore-requested', BOB.name, requestCommit],
    ]);
    expect(events.find((e) => e.type === 'restore-approved')).toMatchObject({
      via: 'merge',
      restore: 'shop',
    });
    // The table names the same people.
    const table = await runCli(['audit', '--repo', repo.remote, '--workdir', await newWorkdir()]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/restore-requested\s+restore\/shop\s+Bob Builder <bob@example.com>/);
    expect(table.stdout).toMatch(/restore-approved\s+restore\/shop\s+Carol Reviewer <carol@example.com>/);
    expect(table.stdout).toMatch(/restore-applied\s+restore\/shop\s+lifeboat/);
    expect(table.stdout).toMatch(/backup-taken\s+backup\/shop-nightly-20250201090000\s+lifeboat/);
  });
});
