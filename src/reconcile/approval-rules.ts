// Approval rules (RestoreApproval documents, CODEOWNERS-like): which rules a restore plan falls
// under, and whether the approvals on the pull request that merged it satisfy them. Pure but for
// the team lookup it is given; the reconcile pass asks the forge and records the verdict.
import type { RestorePlan } from '../restore/plan.js';
import type { PolicyDocument, RestoreApprovalDocument } from '../policy/types.js';

export interface ApprovalRule {
  name: string;
  namespaces: string[];
  users: string[];
  teams: string[];
}

/** A rule a plan falls under, with the namespaces of the plan it covers. */
export interface MatchedRule {
  rule: ApprovalRule;
  namespaces: string[];
}

export function approvalRules(documents: readonly PolicyDocument[]): ApprovalRule[] {
  return documents
    .filter((d): d is RestoreApprovalDocument => d.kind === 'RestoreApproval')
    .map((d) => ({
      name: d.metadata.name,
      namespaces: d.spec.namespaces,
      users: d.spec.approvers.users ?? [],
      teams: d.spec.approvers.teams ?? [],
    }));
}

/**
 * The namespaces a plan changes: those of the objects it creates or updates, and the
 * Namespaces it creates or updates themselves. Skipped, conflicting and invalid items change
 * nothing, so they need nobody's approval.
 */
export function namespacesChanged(plan: Pick<RestorePlan, 'items'>): string[] {
  const out = new Set<string>();
  for (const item of plan.items) {
    if (item.action !== 'create' && item.action !== 'update') continue;
    if (item.namespace) out.add(item.namespace);
    else if (item.kind === 'Namespace' && item.groupResource === 'namespaces') out.add(item.name);
  }
  return [...out].sort();
}

/** `*` matches any run of characters; everything else matches itself. */
export function namespaceMatches(pattern: string, namespace: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
  return re.test(namespace);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function matchingRules(rules: readonly ApprovalRule[], namespaces: readonly string[]): MatchedRule[] {
  const out: MatchedRule[] = [];
  for (const rule of rules) {
    const covered = namespaces.filter((ns) => rule.namespaces.some((p) => namespaceMatches(p, ns)));
    if (covered.length > 0) out.push({ rule, namespaces: covered });
  }
  return out;
}

/** "alice, bob or a member of team acme/sre" */
export function describeApprovers(rule: ApprovalRule): string {
  const names = [...rule.users, ...rule.teams.map((t) => `a member of team ${t}`)];
  return names.length <= 1
    ? (names[0] ?? 'nobody')
    : `${names.slice(0, -1).join(', ')} or ${names.at(-1) ?? ''}`;
}

/** What a reviewer is told before merging: who must approve, per rule. */
export function approvalNeeded(matched: readonly MatchedRule[]): string | undefined {
  if (matched.length === 0) return undefined;
  return matched
    .map(
      (m) =>
        `namespace ${m.namespaces.join(', ')} needs approval by ${describeApprovers(m.rule)} (RestoreApproval ${m.rule.name})`,
    )
    .join('; ');
}

export interface ApprovalVerdict {
  ok: boolean;
  /** The rules no approval satisfied, with what they need. */
  unmet: MatchedRule[];
  /** The sentence for status, the log and the pull request; empty when ok. */
  message: string;
}

/**
 * Whether every matched rule has an approval by one of its users or a member of one of its
 * teams. Team members are asked for only when no listed user approved.
 */
export async function judgeApprovals(opts: {
  matched: readonly MatchedRule[];
  approvers: readonly string[];
  teamMembers: (team: string) => Promise<readonly string[]>;
}): Promise<ApprovalVerdict> {
  const approved = new Set(opts.approvers.map((a) => a.toLowerCase()));
  const teams = new Map<string, Set<string>>();
  const unmet: MatchedRule[] = [];
  for (const m of opts.matched) {
    if (m.rule.users.some((u) => approved.has(u.toLowerCase()))) continue;
    let met = false;
    for (const team of m.rule.teams) {
      let members = teams.get(team);
      if (!members) {
        members = new Set((await opts.teamMembers(team)).map((u) => u.toLowerCase()));
        teams.set(team, members);
      }
      if ([...approved].some((a) => members.has(a))) {
        met = true;
        break;
      }
    }
    if (!met) unmet.push(m);
  }
  const by = opts.approvers.length > 0 ? `approved by ${opts.approvers.join(', ')}` : 'nobody approved';
  return {
    ok: unmet.length === 0,
    unmet,
    message: unmet.length === 0 ? '' : `not applied: ${approvalNeeded(unmet) ?? ''}; ${by}`,
  };
}
