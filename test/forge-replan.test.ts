// A stale approved plan on the real Gitea of the ground (test/ground/forge.ts): the cluster
// changes between review and merge, so after the merge the reconciler applies nothing, opens the
// restore/<name>-replan pull request with the fresh plan as its comment and a lifeboat/plan
// status, tells the original pull request that its plan is outdated and sets a failing
// lifeboat/apply on the merge commit. Merging the replan pull request then applies.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planMarker, resultMarker } from '../src/gitops/forge/plan-comment.js';
import type { RestorePlan } from '../src/restore/plan.js';
import { configMap, createAll, deleteAndWait, read, type Seeded } from './fixtures/restore-fixtures.js';
import { KubeHandle, localLocation, restoreDoc, scheduleDoc } from './fixtures/policy-repo.js';
import { cloneAs, forgeReconciler, mergeWhenReady, repoApi, type ApiPull } from './fixtures/forge-people.js';
import type { ForgeUser } from './ground/context.js';
import { createForgeRepo, startForge, type Forge } from './ground/forge.js';
import { newNamespace, tempDir, uniqueName } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

let forge: Forge;
beforeAll(async () => {
  forge = await startForge({ dir: join(await tempDir('gitea-'), 'gitea') });
}, 300_000);
afterAll(() => forge?.stop());

interface ApiComment {
  body: string;
}
interface ApiStatus {
  context: string;
  status: string;
  description: string;
}

describe('a stale approved plan on Gitea', () => {
  it('applies nothing, opens the replan pull request, marks the original outdated and fails lifeboat/apply on the merge commit', async () => {
    const info = forge.info;
    const [alice, bob] = info.users as [ForgeUser, ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('policies'));
    const api = repoApi(info, repo);
    const ns = await newNamespace('stale');
    const target = uniqueName('stale-copy');
    const k = await kube.get();
    await createAll(k, [configMap(ns, 'settings', { color: 'blue' }), configMap(ns, 'extra', { n: '1' })]);
    const people = await cloneAs(info, alice, repo.cloneUrl);
    await people.push(
      {
        'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
        'schedules/shop.yaml': scheduleDoc('shop-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
      },
      'main',
      'policies',
    );
    const errors: string[] = [];
    const r = await forgeReconciler(info, repo, {
      kube: kube.get,
      dataDir: await tempDir('replan-data-'),
      errors,
    });
    expect((await r.pass()).events.map((e) => e.outcome)).toEqual(['Completed']);

    // Alice asks for a copy of the namespace under a new name; the plan creates everything.
    await people.push(
      {
        'restores/copy.yaml': restoreDoc('copy', {
          scheduleName: 'shop-nightly',
          includedNamespaces: [ns],
          namespaceMapping: { [ns]: target },
        }),
      },
      'restore/copy',
      'copy the shop namespace',
    );
    expect((await r.pass()).events).toEqual([
      { action: 'plan-restore', subject: 'copy', outcome: 'planned' },
    ]);
    const [original] = (await api<ApiPull[]>('GET', '/pulls?state=open', alice)).body;
    expect(original?.head.ref).toBe('restore/copy');
    const pr = original!;
    const approved = JSON.parse(
      (await r.wc.readFile('plans/copy.json', { branch: 'restore/copy' })) ?? 'null',
    ) as RestorePlan;
    const statuses = async (sha: string) =>
      (await api<ApiStatus[]>('GET', `/commits/${sha}/statuses`, alice)).body;
    const status = async (sha: string, context: string) =>
      (await statuses(sha)).find((s) => s.context === context);
    expect((await status(pr.head.sha, 'lifeboat/plan'))?.status).toBe('success');

    // Before the merge, someone creates the target with a different ConfigMap of the same name.
    const theirs: Seeded = configMap(target, 'settings', { color: 'red' });
    await createAll(k, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: target } } },
      theirs,
    ]);
    const extra = configMap(target, 'extra', {});

    // Bob approves and squash-merges the plan that no longer says what a restore would do.
    expect(
      (await api('POST', `/pulls/${pr.number}/reviews`, bob, { event: 'APPROVED', body: 'ok' })).status,
    ).toBe(200);
    const merged = await mergeWhenReady(() =>
      api('POST', `/pulls/${pr.number}/merge`, bob, { Do: 'squash' }),
    );
    expect(merged.status).toBe(200);
    const mergeCommit = (await api<ApiPull>('GET', `/pulls/${pr.number}`, alice)).body.merge_commit_sha;
    expect(mergeCommit).toMatch(/^[0-9a-f]{40}$/);

    const refused = await r.pass();
    expect(refused.events).toEqual([
      { action: 'plan-restore', subject: 'copy', outcome: 'planned' },
      { action: 'apply-restore', subject: 'copy', outcome: 'PlanOutdated' },
    ]);
    expect(errors).toEqual([]);
    // Nothing applied: theirs is untouched, the rest was not created.
    expect((await read(k, theirs))?.data).toEqual({ color: 'red' });
    expect(await read(k, extra)).toBeNull();

    // The replan pull request: the fresh plan as its comment, lifeboat/plan on its head.
    const open = (await api<(ApiPull & { base: { ref: string } })[]>('GET', '/pulls?state=open', alice)).body;
    expect(open.map((p) => [p.head.ref, p.base.ref])).toEqual([['restore/copy-replan', 'main']]);
    const replan = open[0]!;
    const fresh = JSON.parse(
      (await r.wc.readFile('plans/copy.json', { branch: 'restore/copy-replan' })) ?? 'null',
    ) as RestorePlan;
    expect(fresh.hash).not.toBe(approved.hash);
    expect(replan.head.sha).toBe(
      await r.wc.log(['-1', '--format=%H', r.wc.remoteRef('restore/copy-replan')]).then((s) => s.trim()),
    );
    const comments = async (number: number, marker: string) =>
      (await api<ApiComment[]>('GET', `/issues/${number}/comments`, alice)).body.filter((c) =>
        c.body.includes(marker),
      );
    const planComments = await comments(replan.number, planMarker('copy'));
    expect(planComments).toHaveLength(1);
    expect(planComments[0]?.body).toContain(fresh.hash);
    expect(planComments[0]?.body).toContain('plans/copy.md');
    expect(await status(replan.head.sha, 'lifeboat/plan')).toMatchObject({
      status: 'success',
      description: expect.stringContaining(fresh.hash.slice(7, 19)) as string,
    });

    // The original pull request is told its plan is outdated, with a link to the replan one.
    const outdated = await comments(pr.number, resultMarker('copy'));
    expect(outdated).toHaveLength(1);
    expect(outdated[0]?.body).toContain('Nothing was applied: the approved plan is outdated');
    expect(outdated[0]?.body).toContain('restore/copy-replan');
    expect(outdated[0]?.body).toContain(replan.html_url);
    // And the merge commit carries a failing lifeboat/apply naming the replan branch.
    expect(await status(mergeCommit!, 'lifeboat/apply')).toMatchObject({
      status: 'failure',
      description: 'not applied: the plan went stale; review restore/copy-replan',
    });

    // Still stale on the next pass: no second pull request, no second comment anywhere.
    const again = await r.pass();
    expect(again.events.map((e) => e.outcome)).toEqual(['plan unchanged', 'PlanOutdated']);
    expect((await api<ApiPull[]>('GET', '/pulls?state=open', alice)).body.map((p) => p.number)).toEqual([
      replan.number,
    ]);
    expect(await comments(replan.number, planMarker('copy'))).toHaveLength(1);
    expect(await comments(pr.number, resultMarker('copy'))).toHaveLength(1);
    expect(await read(k, extra)).toBeNull();

    // Bob approves the fresh plan and squash-merges it: now it applies, skipping their ConfigMap,
    // and the result goes to the replan pull request and its merge commit.
    expect(
      (await api('POST', `/pulls/${replan.number}/reviews`, bob, { event: 'APPROVED', body: 'ok' })).status,
    ).toBe(200);
    const mergedReplan = await mergeWhenReady(() =>
      api('POST', `/pulls/${replan.number}/merge`, bob, { Do: 'squash' }),
    );
    expect(mergedReplan.status).toBe(200);
    const applied = await r.pass();
    expect(applied.events).toEqual([{ action: 'apply-restore', subject: 'copy', outcome: 'Completed' }]);
    expect((await read(k, theirs))?.data).toEqual({ color: 'red' });
    expect((await read(k, extra))?.data).toEqual({ n: '1' });
    const results = await comments(replan.number, resultMarker('copy'));
    expect(results).toHaveLength(1);
    expect(results[0]?.body).toContain('applied restore `copy`: Completed');
    const replanMerge = (await api<ApiPull>('GET', `/pulls/${replan.number}`, alice)).body.merge_commit_sha;
    expect((await status(replanMerge!, 'lifeboat/apply'))?.status).toBe('success');
    // The original keeps its one "outdated" comment.
    expect(await comments(pr.number, resultMarker('copy'))).toHaveLength(1);
    expect(errors).toEqual([]);
  }, 900_000);

  it('puts a plan that went stale again after a squash-merged replan up on the same branch, mergeable', async () => {
    const info = forge.info;
    const [alice, bob] = info.users as [ForgeUser, ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('policies'));
    const api = repoApi(info, repo);
    const ns = await newNamespace('twice');
    const target = uniqueName('twice-copy');
    const k = await kube.get();
    await createAll(k, [configMap(ns, 'settings', { color: 'blue' }), configMap(ns, 'extra', { n: '1' })]);
    const people = await cloneAs(info, alice, repo.cloneUrl);
    await people.push(
      {
        'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
        'schedules/shop.yaml': scheduleDoc('shop-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
      },
      'main',
      'policies',
    );
    const errors: string[] = [];
    const r = await forgeReconciler(info, repo, {
      kube: kube.get,
      dataDir: await tempDir('twice-data-'),
      errors,
    });
    await r.pass();
    await people.push(
      {
        'restores/copy.yaml': restoreDoc('copy', {
          scheduleName: 'shop-nightly',
          includedNamespaces: [ns],
          namespaceMapping: { [ns]: target },
        }),
      },
      'restore/copy',
      'copy the shop namespace',
    );
    await r.pass();
    const openPulls = async () => (await api<ApiPull[]>('GET', '/pulls?state=open', alice)).body;
    const approveAndSquash = async (number: number) => {
      expect(
        (await api('POST', `/pulls/${number}/reviews`, bob, { event: 'APPROVED', body: 'ok' })).status,
      ).toBe(200);
      return mergeWhenReady(() => api('POST', `/pulls/${number}/merge`, bob, { Do: 'squash' }));
    };
    const [first] = await openPulls();
    expect(first?.head.ref).toBe('restore/copy');

    // Stale once: their ConfigMap appears in the target before the merge.
    const theirs: Seeded = configMap(target, 'settings', { color: 'red' });
    await createAll(k, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: target } } },
      theirs,
    ]);
    expect((await approveAndSquash(first!.number)).status).toBe(200);
    expect((await r.pass()).events.map((e) => e.outcome)).toEqual(['planned', 'PlanOutdated']);
    const [replan] = await openPulls();
    expect(replan?.head.ref).toBe('restore/copy-replan');

    // Stale again: it is gone before the replan is merged. Gitea keeps the merged branch.
    await deleteAndWait(k, theirs);
    expect((await approveAndSquash(replan!.number)).status).toBe(200);
    expect((await r.pass()).events.map((e) => e.outcome)).toEqual(['planned', 'PlanOutdated']);
    const [second] = await openPulls();
    expect(second?.head.ref).toBe('restore/copy-replan');
    expect(second?.number).not.toBe(replan?.number);
    const outdated = (
      await api<ApiComment[]>('GET', `/issues/${replan!.number}/comments`, alice)
    ).body.filter((c) => c.body.includes(resultMarker('copy')));
    expect(outdated[0]?.body).toContain('the approved plan is outdated');

    // The second replan pull request merges cleanly onto main, and then it applies.
    expect((await approveAndSquash(second!.number)).status).toBe(200);
    expect((await r.pass()).events).toEqual([
      { action: 'apply-restore', subject: 'copy', outcome: 'Completed' },
    ]);
    expect((await read(k, configMap(target, 'settings', {})))?.data).toEqual({ color: 'blue' });
    expect((await read(k, configMap(target, 'extra', {})))?.data).toEqual({ n: '1' });
    expect(errors).toEqual([]);
  }, 900_000);
});
