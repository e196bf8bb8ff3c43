// Approval rules (RestoreApproval) against the real Gitea of the ground: a restore into a
// guarded namespace, merged with the approval of someone the rule does not name, is not applied;
// status, the log and the pull request say who must approve. Once the rule (changed on main by
// itself) names a team the approver belongs to, the next pass applies it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { resultMarker, planMarker } from '../src/gitops/forge/plan-comment.js';
import { configMap, createAll, deleteNamespaces, read } from './fixtures/restore-fixtures.js';
import { KubeHandle, localLocation, restoreDoc, scheduleDoc } from './fixtures/policy-repo.js';
import { cloneAs, forgeReconciler, mergeWhenReady, repoApi, type ApiPull } from './fixtures/forge-people.js';
import type { ForgeUser } from './ground/context.js';
import { createForgeRepo, forgeApi, startForge, type Forge } from './ground/forge.js';
import { newNamespace, tempDir, uniqueName } from './ground/world.js';
import { join } from 'node:path';

const kube = new KubeHandle();
afterEach(() => kube.close());

let forge: Forge;
beforeAll(async () => {
  forge = await startForge({ dir: join(await tempDir('gitea-'), 'gitea') });
}, 300_000);
afterAll(() => forge?.stop());

function approvalDoc(name: string, namespaces: string[], approvers: { users?: string[]; teams?: string[] }) {
  return stringify({
    apiVersion: 'lifeboat.dev/v1',
    kind: 'RestoreApproval',
    metadata: { name },
    spec: { namespaces, approvers },
  });
}

describe('approval rules on Gitea', () => {
  it('refuses a restore approved by someone the rule does not name, and applies it once the rule names their team', async () => {
    const info = forge.info;
    const [alice, bob] = info.users as [ForgeUser, ForgeUser];
    const repo = await createForgeRepo(info, uniqueName('approvals'));
    const api = repoApi(info, repo);
    const ns = await newNamespace('vault');
    const k = await kube.get();
    const settings = configMap(ns, 'settings', { color: 'green' });
    await createAll(k, [settings]);
    const aliceClone = await cloneAs(info, alice, repo.cloneUrl);
    const bobClone = await cloneAs(info, bob, repo.cloneUrl);
    await aliceClone.push(
      {
        'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
        'schedules/vault.yaml': scheduleDoc('vault-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
        'approvals/vault.yaml': approvalDoc('vault-owners', [ns], { users: [alice.username] }),
      },
      'main',
      'policies, and only alice approves restores into the vault',
    );
    const r = await forgeReconciler(info, repo, { kube: kube.get, dataDir: await tempDir('approvals-') });
    expect((await r.pass()).events.map((e) => e.outcome)).toEqual(['Completed']);
    await deleteNamespaces(k, [ns]);

    await bobClone.push(
      {
        'restores/vault.yaml': restoreDoc('vault', {
          scheduleName: 'vault-nightly',
          includedNamespaces: [ns],
        }),
      },
      'restore/vault',
      'restore the vault',
    );
    expect((await r.pass()).events).toEqual([
      { action: 'plan-restore', subject: 'vault', outcome: 'planned' },
    ]);
    const [pr] = (await api<ApiPull[]>('GET', '/pulls?state=open', alice)).body;
    if (!pr) throw new Error('no pull request was opened');
    const comments = async (marker: string) =>
      (await api<{ body: string }[]>('GET', `/issues/${pr.number}/comments`, alice)).body.filter((c) =>
        c.body.includes(marker),
      );
    // The reviewer is told before merging whose approval counts.
    expect((await comments(planMarker('vault')))[0]?.body).toContain(
      `Approval: namespace ${ns} needs approval by alice (RestoreApproval vault-owners)`,
    );

    // Bob approves (Gitea lets him: he is not the pull request's author) and merges.
    expect(
      (await api('POST', `/pulls/${pr.number}/reviews`, bob, { event: 'APPROVED', body: 'ok' })).status,
    ).toBe(200);
    expect(
      (await mergeWhenReady(() => api('POST', `/pulls/${pr.number}/merge`, bob, { Do: 'squash' }))).status,
    ).toBe(200);
    const refused = await r.pass();
    const expected = `not applied: namespace ${ns} needs approval by alice (RestoreApproval vault-owners); approved by bob`;
    expect(refused.events).toContainEqual({
      action: 'apply-restore',
      subject: 'vault',
      outcome: 'ApprovalRequired',
      error: expected,
    });
    expect(await read(k, settings)).toBeNull();
    await r.wc.sync();
    const status = parseYaml((await r.wc.readFile('status/restores/vault.yaml')) ?? '') as {
      phase: string;
      conditions: { reason: string; message: string }[];
    };
    expect(status.phase).toBe('Stalled');
    expect(status.conditions).toContainEqual(
      expect.objectContaining({ reason: 'ApprovalRequired', message: expected }),
    );
    const [result] = await comments(resultMarker('vault'));
    expect(result?.body).toContain('did not apply restore `vault`: ApprovalRequired');
    expect(result?.body).toContain(expected);
    const mergeCommit = (await api<ApiPull>('GET', `/pulls/${pr.number}`, alice)).body.merge_commit_sha ?? '';
    const applyStatus = (
      await api<{ context: string; status: string; description: string }[]>(
        'GET',
        `/commits/${mergeCommit}/statuses`,
        alice,
      )
    ).body.find((s) => s.context === 'lifeboat/apply');
    expect(applyStatus).toMatchObject({ status: 'failure', description: expected });

    // Bob is in team sre of an organization; the rule, changed on main by itself, names the team.
    const org = uniqueName('acme');
    const admin = info.admin;
    expect(
      (await forgeApi(info, { as: admin, method: 'POST', path: '/orgs', body: { username: org } })).status,
    ).toBe(201);
    const team = await forgeApi<{ id: number }>(info, {
      as: admin,
      method: 'POST',
      path: `/orgs/${org}/teams`,
      body: { name: 'sre', permission: 'read', units: ['repo.code'] },
    });
    expect(team.status).toBe(201);
    expect(
      (
        await forgeApi(info, {
          as: admin,
          method: 'PUT',
          path: `/teams/${team.body.id}/members/${bob.username}`,
        })
      ).status,
    ).toBe(204);
    await aliceClone.push(
      {
        'approvals/vault.yaml': approvalDoc('vault-owners', [ns], {
          users: [alice.username],
          teams: [`${org}/sre`],
        }),
      },
      'main',
      'the SRE team may approve vault restores too',
    );
    const applied = await r.pass();
    expect(applied.events).toContainEqual({
      action: 'apply-restore',
      subject: 'vault',
      outcome: 'Completed',
    });
    expect((await read(k, settings))?.data).toEqual({ color: 'green' });
  }, 900_000);
});
