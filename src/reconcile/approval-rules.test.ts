import { describe, expect, it } from 'vitest';
import type { PlanItem } from '../restore/plan.js';
import {
  approvalNeeded,
  judgeApprovals,
  matchingRules,
  namespaceMatches,
  namespacesChanged,
  type ApprovalRule,
} from './approval-rules.js';

const item = (p: Partial<PlanItem> & Pick<PlanItem, 'action' | 'namespace' | 'name'>): PlanItem => ({
  groupResource: 'configmaps',
  apiVersion: 'v1',
  kind: 'ConfigMap',
  tier: 0,
  ...p,
});

const shopRule: ApprovalRule = {
  name: 'shop-owners',
  namespaces: ['shop', 'shop-*'],
  users: ['alice'],
  teams: [],
};
const sreRule: ApprovalRule = { name: 'sre', namespaces: ['*'], users: [], teams: ['acme/sre'] };

describe('approval rules', () => {
  it('counts the namespaces a plan creates or updates objects in, and Namespaces it creates', () => {
    expect(
      namespacesChanged({
        items: [
          item({ action: 'create', namespace: 'shop', name: 'a' }),
          item({ action: 'update', namespace: 'shop-eu', name: 'b' }),
          item({ action: 'skip', namespace: 'billing', name: 'c' }),
          item({ action: 'conflict', namespace: 'ops', name: 'd' }),
          item({
            action: 'create',
            namespace: '',
            name: 'web',
            kind: 'Namespace',
            groupResource: 'namespaces',
          }),
          item({
            action: 'create',
            namespace: '',
            name: 'reader',
            kind: 'ClusterRole',
            groupResource: 'clusterroles.rbac.authorization.k8s.io',
          }),
        ],
      }),
    ).toEqual(['shop', 'shop-eu', 'web']);
  });

  it('matches names and * patterns whole', () => {
    expect(namespaceMatches('shop', 'shop')).toBe(true);
    expect(namespaceMatches('shop', 'shop-eu')).toBe(false);
    expect(namespaceMatches('shop-*', 'shop-eu')).toBe(true);
    expect(namespaceMatches('*-prod', 'web-prod')).toBe(true);
    expect(namespaceMatches('*', 'anything')).toBe(true);
    expect(namespaceMatches('a.b', 'axb')).toBe(false);
  });

  it('names who must approve for each rule a plan falls under', () => {
    const matched = matchingRules([shopRule, sreRule], ['shop-eu', 'web']);
    expect(matched.map((m) => [m.rule.name, m.namespaces])).toEqual([
      ['shop-owners', ['shop-eu']],
      ['sre', ['shop-eu', 'web']],
    ]);
    expect(approvalNeeded(matched)).toBe(
      'namespace shop-eu needs approval by alice (RestoreApproval shop-owners); namespace shop-eu, web needs approval by a member of team acme/sre (RestoreApproval sre)',
    );
    expect(approvalNeeded(matchingRules([shopRule], ['billing']))).toBeUndefined();
    expect(
      approvalNeeded(
        matchingRules(
          [{ name: 'two', namespaces: ['x'], users: ['alice', 'bob'], teams: ['acme/sre'] }],
          ['x'],
        ),
      ),
    ).toBe('namespace x needs approval by alice, bob or a member of team acme/sre (RestoreApproval two)');
  });

  it('is satisfied by a listed user, or by a member of a listed team', async () => {
    const teams: string[] = [];
    const teamMembers = (team: string) => {
      teams.push(team);
      return Promise.resolve(team === 'acme/sre' ? ['Carol'] : []);
    };
    const matched = matchingRules([shopRule, sreRule], ['shop']);
    expect(await judgeApprovals({ matched, approvers: ['alice', 'carol'], teamMembers })).toEqual({
      ok: true,
      unmet: [],
      message: '',
    });
    expect(teams).toEqual(['acme/sre']);
  });

  it('refuses naming who must approve and who did', async () => {
    const matched = matchingRules([shopRule, sreRule], ['shop']);
    const verdict = await judgeApprovals({
      matched,
      approvers: ['bob'],
      teamMembers: () => Promise.resolve(['carol']),
    });
    expect(verdict.ok).toBe(false);
    expect(verdict.unmet.map((m) => m.rule.name)).toEqual(['shop-owners', 'sre']);
    expect(verdict.message).toBe(
      'not applied: namespace shop needs approval by alice (RestoreApproval shop-owners); namespace shop needs approval by a member of team acme/sre (RestoreApproval sre); approved by bob',
    );
    const none = await judgeApprovals({
      matched: [matched[0]!],
      approvers: [],
      teamMembers: () => Promise.resolve([]),
    });
    expect(none.message).toMatch(/; nobody approved$/);
  });
});
