// Restores reviewed in pull requests on the real Gitea of the ground (test/ground/forge.ts):
// the reconciler opens the pull request of a restore branch, posts the plan as one comment it
// edits on each re-plan, sets lifeboat/plan on the branch head, comments the result on the
// pull request after a squash merge; a forge that is down stops neither the plan nor the pass.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { GiteaForge } from '../src/gitops/forge/gitea.js';
import { ForgeReporter } from '../src/gitops/forge/reporter.js';
import { planMarker, resultMarker } from '../src/gitops/forge/plan-comment.js';
import { createLogger, silentLogger } from '../src/observe/logger.js';
import { reconcileOnce, type ReconcilerDeps } from '../src/reconcile/pass.js';
import { configMap, createAll, deleteNamespaces } from './fixtures/restore-fixtures.js';
import { FakeClock, KubeHandle, localLocation, restoreDoc, scheduleDoc } from './fixtures/policy-repo.js';
import type { ForgeInfo, ForgeUser } from './ground/context.js';
import { createForgeRepo, forgeApi, forgeGitEnv, startForge, type Forge } from './ground/forge.js';
import { freePort } from './ground/process.js';
import { newNamespace, tempDir, uniqueName } from './ground/world.js';

const run = promisify(execFile);
const kube = new KubeHandle();
afterEach(() => kube.close());

let forge: Forge;
beforeAll(async () => {
  forge = await startForge({ dir: join(await tempDir('gitea-'), 'gitea') });
}, 300_000);
afterAll(() => forge?.stop());

/** A person's clone of a forge repository, pushing with their token. */
async function cloneAs(info: ForgeInfo, user: ForgeUser, cloneUrl: string) {
  const dir = join(await tempDir('clone-'), 'c');
  const env = {
    ...process.env,
    ...forgeGitEnv(info, user),
    GIT_AUTHOR_NAME: user.username,
    GIT_AUTHOR_EMAIL: user.email,
    GIT_COMMITTER_NAME: user.username,
    GIT_COMMITTER_EMAIL: user.email,
  };
  const git = async (...args: string[]) => (await run('git', args, { cwd: dir, env })).stdout;
  await run('git', ['init', '--quiet', '--initial-branch=main', dir]);
  await git('remote', 'add', 'origin', cloneUrl);
  return {
    push: async (files: Record<string, string>, branch: string, message: string): Promise<string> => {
      await git('fetch', '--quiet', 'origin');
      const remote = (await git('branch', '-r', '--list', `origin/${branch}`)).trim()
        ? `origin/${branch}`
        : (await git('branch', '-r', '--list', 'origin/main')).trim()
          ? 'origin/main'
          : '';
      if (remote) await git('checkout', '--quiet', '--force', '-B', branch, remote);
      else await git('checkout', '--quiet', '--orphan', branch);
      for (const [path, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
        await git('add', '--', path);
      }
      await git('commit', '--quiet', '-m', message);
      await git('push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`);
      return (await git('rev-parse', 'HEAD')).trim();
    },
  };
}

async function reconciler(
  info: ForgeInfo,
  cloneUrl: string,
  repo: { owner: string; name: string },
  opts: {
    dataDir: string;
    forgeUrl?: string;
    errors?: string[];
  },
) {
  const wc = new WorkingCopy({
    remoteUrl: cloneUrl,
    httpToken: info.admin.token,
    dir: join(await tempDir('reconciler-'), 'repo'),
    pushRetry: { baseDelayMs: 5, maxDelayMs: 50 },
  });
  const gitea = new GiteaForge({
    url: opts.forgeUrl ?? info.url,
    owner: repo.owner,
    repo: repo.name,
    token: info.admin.token,
    timeoutMs: 5_000,
  });
  const deps: ReconcilerDeps = {
    wc,
    kube: kube.get,
    log: silentLogger(),
    localRoot: opts.dataDir,
    clock: new FakeClock('2025-03-01T09:00:00Z').now,
    forge: new ForgeReporter({
      forge: gitea,
      base: 'main',
      // Forge failures are only logged; they go to stderr so a failing test shows them.
      log: createLogger({ level: 'warn' }),
      onError: (op) => opts.errors?.push(op),
    }),
  };
  return { pass: () => reconcileOnce(deps) };
}

interface ApiPull {
  number: number;
  head: { ref: string; sha: string };
}

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
    const r = await reconciler(info, repo.cloneUrl, repo, { dataDir: await tempDir('forge-data-') });
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
    // Gitea checks mergeability in the background and answers 405 until it has: ask again.
    let merged = await api('POST', `/pulls/${pr.number}/merge`, { Do: 'squash' }, bob);
    for (let i = 0; i < 120 && merged.status === 405; i++) {
      await new Promise((done) => setTimeout(done, 1000));
      merged = await api('POST', `/pulls/${pr.number}/merge`, { Do: 'squash' }, bob);
    }
    expect(merged.status).toBe(200);
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
  }, 300_000);

  it('plans and writes status when the forge is down, counting the failed calls', async () => {
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
    // Git stays reachable; the forge API is a port nothing listens on.
    const r = await reconciler(info, repo.cloneUrl, repo, {
      dataDir: await tempDir('forge-down-'),
      forgeUrl: `http://127.0.0.1:${await freePort()}`,
      errors,
    });
    const report = await r.pass();
    expect(report.events).toContainEqual({
      action: 'backup',
      subject: 'down-nightly-20250301090000',
      outcome: 'Completed',
    });
    expect(report.statusCommit).toBeDefined();
    expect(errors.length).toBeGreaterThan(0);
  }, 300_000);
});
