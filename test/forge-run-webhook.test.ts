// The demo path against the real Gitea, with `lifeboat run` as the Deployment runs it: a restore
// branch pushed → Gitea's signed webhook starts a pass at once (the interval is an hour) → the
// pull request gets the plan comment and lifeboat/plan → the protected main refuses the merge
// until someone approves → approved and squash-merged → the merge's webhook starts the pass that
// applies it, comments the result and sets lifeboat/apply on the merge commit → `lifeboat audit`
// names the approver and the merger. Then forged, unsigned and replayed webhooks against the same
// server: refused and counted.
import { spawn, execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { planMarker, resultMarker } from '../src/gitops/forge/plan-comment.js';
import { signBody } from '../src/gitops/forge/webhook.js';
import { configMap, createAll, deleteNamespaces, read } from './fixtures/restore-fixtures.js';
import { KubeHandle, localLocation, restoreDoc, scheduleDoc } from './fixtures/policy-repo.js';
import { cloneAs, mergeWhenReady, repoApi, type ApiPull } from './fixtures/forge-people.js';
import type { ForgeUser } from './ground/context.js';
import { createForgeRepo, startForge, type Forge } from './ground/forge.js';
import { freePort } from './ground/process.js';
import { ground, newNamespace, tempDir, uniqueName } from './ground/world.js';

const runFile = promisify(execFile);
const kube = new KubeHandle();
afterEach(() => kube.close());

let forge: Forge;
beforeAll(async () => {
  forge = await startForge({ dir: join(await tempDir('gitea-'), 'gitea') });
}, 300_000);
afterAll(() => forge?.stop());

const cli = join(process.cwd(), 'bin/lifeboat.js');

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 180_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** One counter of lifeboat_webhook_requests_total, 0 when absent. */
function webhookCount(metrics: string, outcome: string): number {
  const m = new RegExp(`lifeboat_webhook_requests_total\\{outcome="${outcome}"\\} (\\d+)`).exec(metrics);
  return m ? Number(m[1]) : 0;
}

describe('lifeboat run with a Gitea webhook', () => {
  it('plans on a push, waits for approval on a protected main, applies on the merge, and audits the approver', async () => {
    const info = forge.info;
    const [alice, bob] = info.users as [ForgeUser, ForgeUser];
    const admin = info.admin;
    const repo = await createForgeRepo(info, uniqueName('run'));
    const api = repoApi(info, repo);
    const ns = await newNamespace('hooked');
    const k = await kube.get();
    const settings = configMap(ns, 'settings', { color: 'amber' });
    await createAll(k, [settings]);
    const aliceClone = await cloneAs(info, alice, repo.cloneUrl);
    const bobClone = await cloneAs(info, bob, repo.cloneUrl);
    await aliceClone.push(
      {
        'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
        'schedules/hooked.yaml': scheduleDoc('hooked-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
      },
      'main',
      'policies',
    );
    // main: merges need lifeboat/plan and one approval; only the reconciler pushes to it.
    const protection = await api('POST', '/branch_protections', admin, {
      rule_name: 'main',
      enable_push: true,
      enable_push_whitelist: true,
      push_whitelist_usernames: [admin.username],
      required_approvals: 1,
      enable_status_check: true,
      status_check_contexts: ['lifeboat/plan'],
    });
    expect(protection.status).toBe(201);

    const dir = await tempDir('run-forge-');
    const secret = 'a-webhook-secret-of-some-length';
    await writeFile(join(dir, 'webhook-secret'), `${secret}\n`, { mode: 0o600 });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const repoArgs = [
      '--kubeconfig',
      ground().kubeconfigPath,
      '--repo',
      repo.cloneUrl,
      '--data-dir',
      dir,
      '--forge',
      'gitea',
      '--forge-url',
      info.url,
    ];
    const env = { ...process.env, LIFEBOAT_GIT_TOKEN: admin.token, LIFEBOAT_FORGE_TOKEN: admin.token };
    const child = spawn(
      process.execPath,
      [
        cli,
        'run',
        ...repoArgs,
        '--workdir',
        join(dir, 'checkout'),
        // An hour: every pass after the first is started by a webhook.
        '--interval',
        '1h',
        '--metrics-port',
        String(port),
        '--leader-election',
        'none',
        '--webhook-secret-file',
        join(dir, 'webhook-secret'),
        '--log-level',
        'info',
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const metrics = async () => (await fetch(`${base}/metrics`)).text();
    try {
      // The first pass backs up the new schedule.
      await until(
        async () =>
          /lifeboat_backups_total\{phase="Completed",schedule="hooked-nightly"\} 1/.test(await metrics())
            ? true
            : undefined,
        'the first backup',
      );
      const hook = await api('POST', '/hooks', admin, {
        type: 'gitea',
        active: true,
        events: ['push', 'pull_request'],
        config: { url: `${base}/webhook`, content_type: 'json', secret },
      });
      expect(hook.status).toBe(201);
      await deleteNamespaces(k, [ns]);

      // Bob proposes the restore; only the webhook can start the pass that plans it.
      await bobClone.push(
        {
          'restores/hooked.yaml': restoreDoc('hooked', {
            scheduleName: 'hooked-nightly',
            includedNamespaces: [ns],
          }),
        },
        'restore/hooked',
        'restore the hooked namespace',
      );
      const pr = await until(async () => {
        const pulls = (await api<ApiPull[]>('GET', '/pulls?state=open', alice)).body;
        return pulls.find((p) => p.head.ref === 'restore/hooked');
      }, 'the pull request opened by the pass the webhook started');
      const comments = async () =>
        (await api<{ body: string }[]>('GET', `/issues/${pr.number}/comments`, alice)).body;
      await until(
        async () =>
          (await comments()).some((c) => c.body.includes(planMarker('hooked'))) ? true : undefined,
        'the plan comment',
      );
      const statuses = async (sha: string) =>
        (await api<{ context: string; status: string }[]>('GET', `/commits/${sha}/statuses`, alice)).body;
      const head = (await api<ApiPull>('GET', `/pulls/${pr.number}`, alice)).body.head.sha;
      await until(
        async () =>
          (await statuses(head)).find((s) => s.context === 'lifeboat/plan')?.status === 'success'
            ? true
            : undefined,
        'lifeboat/plan on the branch head',
      );
      expect(webhookCount(await metrics(), 'accepted')).toBeGreaterThanOrEqual(1);

      // Not approved yet: the protected main refuses the merge (once Gitea has checked mergeability).
      const early = await until(async () => {
        const res = await api<{ message?: string }>('POST', `/pulls/${pr.number}/merge`, alice, {
          Do: 'squash',
        });
        return res.status === 405 && /try again later/i.test(res.body?.message ?? '') ? undefined : res;
      }, 'a merge answer other than "try again later"');
      expect(early.status).toBe(405);
      expect(early.body?.message ?? '').toMatch(/approv/i);

      expect(
        (await api('POST', `/pulls/${pr.number}/reviews`, alice, { event: 'APPROVED', body: 'ok' })).status,
      ).toBe(200);
      expect(
        (await mergeWhenReady(() => api('POST', `/pulls/${pr.number}/merge`, alice, { Do: 'squash' })))
          .status,
      ).toBe(200);
      // The merge's push webhook starts the pass that applies it.
      const result = await until(
        async () => (await comments()).find((c) => c.body.includes(resultMarker('hooked'))),
        'the result comment',
      );
      expect(result.body).toContain('lifeboat applied restore `hooked`: Completed');
      expect((await read(k, settings))?.data).toEqual({ color: 'amber' });
      const mergeCommit =
        (await api<ApiPull>('GET', `/pulls/${pr.number}`, alice)).body.merge_commit_sha ?? '';
      expect((await statuses(mergeCommit)).find((s) => s.context === 'lifeboat/apply')?.status).toBe(
        'success',
      );

      // The audit names who approved and who merged, though a squash merge leaves Git only the committer.
      const audit = await runFile(
        process.execPath,
        [cli, 'audit', ...repoArgs, '--workdir', join(dir, 'audit'), '--restore', 'hooked', '-o', 'json'],
        { env },
      );
      const events = JSON.parse(audit.stdout) as {
        type: string;
        forge?: { approvers: string[]; mergedBy?: string };
      }[];
      expect(events.find((e) => e.type === 'restore-approved')?.forge).toMatchObject({
        approvers: ['alice'],
        mergedBy: 'alice',
      });

      // Forged, unsigned and replayed deliveries are refused and counted; none starts a pass.
      const before = await metrics();
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const post = (headers: Record<string, string>) =>
        fetch(`${base}/webhook`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      const delivery = `replay-${uniqueName('d')}`;
      const signed = {
        'x-gitea-event': 'push',
        'x-gitea-delivery': delivery,
        'x-gitea-signature': signBody(secret, body),
      };
      expect((await post({ 'x-gitea-event': 'push', 'x-gitea-delivery': 'unsigned-1' })).status).toBe(401);
      expect(
        (
          await post({
            'x-gitea-event': 'push',
            'x-gitea-delivery': 'forged-1',
            'x-gitea-signature': signBody('not-the-secret-at-all', body),
          })
        ).status,
      ).toBe(401);
      expect((await post(signed)).status).toBe(202);
      expect((await post(signed)).status).toBe(409);
      const after = await metrics();
      expect(webhookCount(after, 'unsigned') - webhookCount(before, 'unsigned')).toBe(1);
      expect(webhookCount(after, 'bad-signature') - webhookCount(before, 'bad-signature')).toBe(1);
      expect(webhookCount(after, 'replayed') - webhookCount(before, 'replayed')).toBe(1);
      // Accepted: this signed delivery (the 202 above), and any of Gitea's own still on their way,
      // such as the push of the apply pass's status commit, which a loaded machine delivers late.
      expect(webhookCount(after, 'accepted') - webhookCount(before, 'accepted')).toBeGreaterThanOrEqual(1);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(logs).not.toContain(admin.token);
    expect(logs).not.toContain(secret);
  }, 600_000);
});
