// Restores reviewed in pull requests on the real Gitea of the ground (test/ground/forge.ts):
// the reconciler opens the pull request of a restore branch, posts the plan as one comment it
// edits on each re-plan, sets lifeboat/plan on the branch head, comments the result on the
// pull request after a squash merge; a forge that is down stops neither the plan nor the pass.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GiteaForge } from '../src/gitops/forge/gitea.js';
import { planMarker, resultMarker } from '../src/gitops/forge/plan-comment.js';
import { configMap, createAll, deleteNamespaces } from './fixtures/restore-fixtures.js';
import { KubeHandle, localLocation, restoreDoc, scheduleDoc } from './fixtures/policy-repo.js';
import { cloneAs, forgeReconciler, mergeWhenReady, type ApiPull } from './fixtures/forge-people.js';
import { startTcpProxy } from './fixtures/tcp-proxy.js';
import type { ForgeInfo, ForgeUser } from './ground/context.js';
import { createForgeRepo, forgeApi, startForge, type Forge } from './ground/forge.js';
import { newNamespace, tempDir, uniqueName } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

let forge: Forge;
beforeAll(async () => {
  forge = await startForge({ dir: join(await tempDir('gitea-'), 'gitea') });
}, 300_000);
afterAll(() => forge?.stop());

const reconciler = (
  info: ForgeInfo,
  repo: { owner: string; name: string; cloneUrl: string },
  opts: { dataDir: string; forgeUrl?: string; errors?: string[]; timeoutMs?: number },
) => forgeReconciler(info, repo, { kube: kube.get, ...opts });

describe('restore pull requests on Gitea', () => {
  it('opens the pull request, keeps one plan comment, sets lifeboat/plan, and comments the result after a squash merge', async () => {
    const info = forge.info;
    const [alice, bob] = info.users as [ForgeUser, ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('policies'));
    const ns = await newNamespace('shop');
    const k = await kube.get();
    await createAll(k, [configMap(ns, 'settings', { color: 'blue' })]);
    const people = await cloneAs(info, alice, repo.cloneUrl);
    await people.push(
      {
        'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
        'schedules/shop.yaml': scheduleDoc('shop-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
      },
      'main',
      'policies',
    );
    const r = await reconciler(info, repo, { dataDir: await tempDir('forge-data-') });
    expect((await r.pass()).events.map((e) => e.outcome)).toEqual(['Completed']);
    await deleteNamespaces(k, [ns]);

    await people.push(
      {
        'restores/shop.yaml': restoreDoc('shop', { scheduleName: 'shop-nightly', includedNamespaces: [ns] }),
      },
      'restore/shop',
      'restore the shop namespace',
    );
    expect((await r.pass()).events).toEqual([
      { action: 'plan-restore', subject: 'shop', outcome: 'planned' },
    ]);

    const api = <T>(method: string, path: string, body?: unknown, as: ForgeUser = alice) =>
      forgeApi<T>(info, { as, method, path: `/repos/${repo.owner}/${repo.name}${path}`, body });
    const pulls = (await api<ApiPull[]>('GET', '/pulls?state=open')).body;
    expect(pulls.map((p) => p.head.ref)).toEqual(['restore/shop']);
    const pr = pulls[0]!;
    const comments = async () =>
      (await api<{ body: string }[]>('GET', `/issues/${pr.number}/comments`)).body.filter((c) =>
        c.body.includes(planMarker('shop')),
      );
    const [first] = await comments();
    expect(first?.body).toContain('| create | update | unchanged | skip | conflict | invalid | total |');
    expect(first?.body).toContain('plans/shop.md');
    const statuses = async (sha: string) =>
      (
        await api<{ context: string; status: string; description: string }[]>(
          'GET',
          `/commits/${sha}/statuses`,
        )
      ).body;
    expect((await statuses(pr.head.sha)).find((s) => s.context === 'lifeboat/plan')?.status).toBe('success');

    // A changed Restore is planned again: the same comment is edited, no second one appears.
    await people.push(
      {
        'restores/shop.yaml': restoreDoc('shop', {
          scheduleName: 'shop-nightly',
          includedNamespaces: [ns],
          existingResourcePolicy: 'update',
        }),
      },
      'restore/shop',
      'update existing objects too',
    );
    expect((await r.pass()).events).toEqual([
      { action: 'plan-restore', subject: 'shop', outcome: 'planned' },
    ]);
    const again = await comments();
    expect(again).toHaveLength(1);
    expect(again[0]?.body).not.toBe(first?.body);
    const head = (await api<ApiPull>('GET', `/pulls/${pr.number}`)).body.head.sha;
    expect((await statuses(head)).find((s) => s.context === 'lifeboat/plan')?.status).toBe('success');

    // Bob approves and squash-merges; the reconciler applies and comments the result.
    expect(
      (await api('POST', `/pulls/${pr.number}/reviews`, { event: 'APPROVED', body: 'ok' }, bob)).status,
    ).toBe(200);
    // The whole answer, so that a refusal shows Gitea's reason.
    expect(
      await mergeWhenReady(() => api('POST', `/pulls/${pr.number}/merge`, { Do: 'squash' }, bob)),
    ).toMatchObject({
      status: 200,
    });
    const applied = await r.pass();
    expect(applied.events).toContainEqual({ action: 'apply-restore', subject: 'shop', outcome: 'Completed' });
    const results = (await api<{ body: string }[]>('GET', `/issues/${pr.number}/comments`)).body.filter((c) =>
      c.body.includes(resultMarker('shop')),
    );
    expect(results).toHaveLength(1);
    expect(results[0]?.body).toContain('Completed');
    const mergeCommit = (await api<{ merge_commit_sha: string }>('GET', `/pulls/${pr.number}`)).body
      .merge_commit_sha;
    expect((await statuses(mergeCommit)).find((s) => s.context === 'lifeboat/apply')?.status).toBe('success');
  }, 900_000);

  it('plans and writes status when the forge is down, counting the failed calls, and posts them on the next pass once it is back', async () => {
    const info = forge.info;
    const [alice] = info.users as [ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('policies'));
    const ns = await newNamespace('down');
    const k = await kube.get();
    await createAll(k, [configMap(ns, 'settings', { color: 'red' })]);
    const people = await cloneAs(info, alice, repo.cloneUrl);
    await people.push(
      {
        'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
        'schedules/down.yaml': scheduleDoc('down-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
      },
      'main',
      'policies',
    );
    await people.push(
      {
        'restores/again.yaml': restoreDoc('again', {
          scheduleName: 'down-nightly',
          includedNamespaces: [ns],
        }),
      },
      'restore/again',
      'a restore to plan',
    );
    const errors: string[] = [];
    // Git stays reachable; the forge API goes through a proxy that holds every connection.
    const url = new URL(info.url);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port) });
    try {
      proxy.freeze();
      const r = await reconciler(info, repo, {
        dataDir: await tempDir('forge-down-'),
        forgeUrl: proxy.url,
        errors,
        // Long enough for a loaded Gitea to answer once the proxy thaws (each frozen call waits it out).
        timeoutMs: 15_000,
      });
      const report = await r.pass();
      expect(report.events).toContainEqual({
        action: 'backup',
        subject: 'down-nightly-20250301090000',
        outcome: 'Completed',
      });
      expect(report.statusCommit).toBeDefined();
      // The restore's backup was made in the same pass; the next pass plans it, still without the forge.
      const planned = await r.pass();
      expect(planned.events).toContainEqual({ action: 'plan-restore', subject: 'again', outcome: 'planned' });
      expect(errors).toContain('plan');

      // Back: the next pass makes the plan's calls again, though the plan itself is unchanged.
      proxy.thaw();
      errors.length = 0;
      const next = await r.pass();
      expect(next.events.filter((e) => e.action === 'plan-restore')).toEqual([]);
      expect(errors).toEqual([]);
      const api = <T>(path: string) =>
        forgeApi<T>(info, { as: alice, method: 'GET', path: `/repos/${repo.owner}/${repo.name}${path}` });
      const [pr] = (await api<ApiPull[]>('/pulls?state=open')).body;
      expect(pr?.head.ref).toBe('restore/again');
      const comments = (await api<{ body: string }[]>(`/issues/${pr?.number ?? 0}/comments`)).body;
      expect(comments.filter((c) => c.body.includes(planMarker('again')))).toHaveLength(1);
      const statuses = (
        await api<{ context: string; status: string }[]>(`/commits/${pr?.head.sha ?? ''}/statuses`)
      ).body;
      expect(statuses.find((s) => s.context === 'lifeboat/plan')?.status).toBe('success');
    } finally {
      await proxy.close();
    }
  }, 900_000);

  it('names the call a token without the rights for it failed on, without the token', async () => {
    const info = forge.info;
    const [alice] = info.users as [ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('policies'));
    // A token that may only read: Gitea creates it for a user who signs in with their password.
    const res = await fetch(`${info.url}/api/v1/users/${alice.username}/tokens`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ name: uniqueName('read-only'), scopes: ['read:repository'] }),
    });
    expect(res.status).toBe(201);
    const token = ((await res.json()) as { sha1: string }).sha1;
    const gitea = new GiteaForge({
      url: info.url,
      owner: repo.owner,
      repo: repo.name,
      token,
      timeoutMs: 30_000,
    });
    const sha = 'a'.repeat(40);
    const err = await gitea
      .setStatus(sha, { context: 'lifeboat/plan', state: 'success', description: 'x' })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(err?.message).toMatch(
      new RegExp(
        `^POST /repos/${repo.owner}/${repo.name}/statuses/${sha}: HTTP 403: the forge token is missing, wrong or lacks the rights for this \\(it needs read and write on the repository\\) \\(.*scope.*\\)$`,
      ),
    );
    expect(err?.message).not.toContain(token);
  }, 120_000);
});
