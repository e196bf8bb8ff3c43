// What a pull request shows of a restore plan: one comment (found again by a hidden marker and
// edited on every re-plan, never a new one) and the lifeboat/plan commit status. Pure: the
// reconciler posts what these return. Built from the plan, whose reasons buildPlan has already
// scrubbed of Secret values, so no Secret value reaches the forge either.
import type { PlanItem, RestorePlan, PLAN_ACTIONS as PLANNED_ACTIONS } from '../../restore/plan.js';
import type { CommitStatus } from './forge.js';

/**
 * The plan's actions in its column order. A copy, not an import: importing restore/plan.js
 * would load the restore planner (about twenty modules) into every reconcile pass and every
 * `lifeboat validate`, which use this file for their commit statuses only. The type below does
 * not compile when the copy differs from the plan's list, in content or order.
 */
const PLAN_ACTIONS = ['create', 'update', 'unchanged', 'skip', 'conflict', 'invalid'] as const;
const samePlanActions: [typeof PLAN_ACTIONS, typeof PLANNED_ACTIONS] extends [
  typeof PLANNED_ACTIONS,
  typeof PLAN_ACTIONS,
]
  ? true
  : never = true;
void samePlanActions;

export const PLAN_STATUS_CONTEXT = 'lifeboat/plan';
export const APPLY_STATUS_CONTEXT = 'lifeboat/apply';
export const VALIDATE_STATUS_CONTEXT = 'lifeboat/validate';

/** `lifeboat validate` on a commit: success, or failure naming the first error. */
export function validateStatus(result: {
  ok: boolean;
  documents: number;
  errors: readonly { file: string; line: number; message: string }[];
}): CommitStatus {
  const first = result.errors[0];
  return {
    context: VALIDATE_STATUS_CONTEXT,
    state: result.ok ? 'success' : 'failure',
    description: result.ok
      ? `${result.documents} valid documents, no errors`
      : `${result.errors.length} error(s); first: ${first ? `${first.file}:${first.line}: ${first.message}` : '?'}`,
  };
}

/** The hidden marker of a restore's plan comment; one per restore and pull request. */
export const planMarker = (restore: string): string => `<!-- lifeboat:plan-comment restore=${restore} -->`;
export const resultMarker = (restore: string): string =>
  `<!-- lifeboat:result-comment restore=${restore} -->`;

/** Items listed by name in the comment before the rest is only counted. */
const LISTED = 20;

/** Why a plan cannot be applied as it stands, or undefined when it can. */
export function planBlocker(plan: RestorePlan): string | undefined {
  const { conflict, invalid } = plan.summary.total;
  const parts: string[] = [];
  if (conflict > 0) parts.push(`${conflict} conflict${conflict === 1 ? '' : 's'}`);
  if (invalid > 0) parts.push(`${invalid} invalid object${invalid === 1 ? '' : 's'}`);
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

export function planStatus(
  plan: RestorePlan,
  opts: { targetUrl?: string; approvalNeeded?: string } = {},
): CommitStatus {
  const blocker = planBlocker(plan);
  const t = plan.summary.total;
  return {
    context: PLAN_STATUS_CONTEXT,
    state: blocker ? 'failure' : 'success',
    description: blocker
      ? `cannot apply: ${blocker}`
      : `plan ${plan.hash.slice(7, 19)}: ${t.create} create, ${t.update} update, ${t.total} objects${opts.approvalNeeded ? `; ${opts.approvalNeeded}` : ''}`,
    ...(opts.targetUrl ? { targetUrl: opts.targetUrl } : {}),
  };
}

/** A status for a plan that could not be made at all (policy errors, no backup). */
export function planErrorStatus(reason: string): CommitStatus {
  return { context: PLAN_STATUS_CONTEXT, state: 'failure', description: `no plan: ${reason}` };
}

export function renderPlanComment(
  plan: RestorePlan,
  opts: { planUrl: string; approvalNeeded?: string },
): string {
  const t = plan.summary.total;
  const blocker = planBlocker(plan);
  const lines = [
    planMarker(plan.restoreName),
    `### lifeboat plan for restore \`${plan.restoreName}\``,
    '',
    blocker
      ? `**Cannot be applied as it stands: ${blocker}.** Fix the Restore (or the cluster) and push; the plan is made again.`
      : 'Merging this pull request approves the plan below.',
    '',
  ];
  for (const { action, title } of [
    { action: 'conflict', title: 'Conflicts' },
    { action: 'invalid', title: 'Invalid' },
  ] as const) {
    const items = plan.items.filter((i) => i.action === action);
    if (items.length === 0) continue;
    lines.push(`**${title} (${items.length})**`, '');
    for (const i of items.slice(0, LISTED))
      lines.push(`- ${itemName(i)}${i.reason ? `: ${oneLine(i.reason)}` : ''}`);
    if (items.length > LISTED) lines.push(`- … and ${items.length - LISTED} more (see the plan file)`);
    lines.push('');
  }
  lines.push(
    `| ${PLAN_ACTIONS.join(' | ')} | total |`,
    `|${PLAN_ACTIONS.map(() => '---:').join('|')}|---:|`,
    `| ${PLAN_ACTIONS.map((a) => String(t[a])).join(' | ')} | ${t.total} |`,
    '',
    `Backup \`${plan.backupName}\` · plan hash \`${plan.hash}\``,
    '',
    `Full plan: [plans/${plan.restoreName}.md](${opts.planUrl})`,
  );
  if (opts.approvalNeeded) lines.push('', `Approval: ${opts.approvalNeeded}`);
  return `${lines.join('\n')}\n`;
}

export function renderResultComment(opts: {
  restore: string;
  phase: string;
  planHash: string;
  counts: Record<string, number>;
  failures?: readonly string[];
  replan?: { branch: string; url?: string };
  /** Why nothing was applied though the plan is current (approval rules). */
  refused?: string;
}): string {
  const lines = [
    resultMarker(opts.restore),
    opts.refused
      ? `### lifeboat did not apply restore \`${opts.restore}\`: ${opts.phase}`
      : `### lifeboat applied restore \`${opts.restore}\`: ${opts.phase}`,
    '',
  ];
  if (opts.refused) {
    lines.push(
      `Nothing was applied: ${opts.refused}. Each pass checks again; the restore is applied once the approvals hold.`,
    );
  } else if (opts.replan) {
    lines.push(
      `Nothing was applied: the approved plan is outdated (the backup, the spec or the cluster changed). A fresh plan awaits review on \`${opts.replan.branch}\`${opts.replan.url ? ` (${opts.replan.url})` : ''}.`,
    );
  } else {
    const keys = Object.keys(opts.counts).sort();
    lines.push(
      `| ${keys.join(' | ')} |`,
      `|${keys.map(() => '---:').join('|')}|`,
      `| ${keys.map((k) => String(opts.counts[k])).join(' | ')} |`,
    );
  }
  const failures = opts.failures ?? [];
  if (failures.length > 0) {
    lines.push('', `**Failed (${failures.length})**`, '');
    for (const f of failures.slice(0, LISTED)) lines.push(`- ${oneLine(f)}`);
    if (failures.length > LISTED) lines.push(`- … and ${failures.length - LISTED} more`);
  }
  lines.push('', `Plan hash \`${opts.planHash}\``);
  return `${lines.join('\n')}\n`;
}

const itemName = (i: PlanItem): string => `\`${i.kind} ${i.namespace ? `${i.namespace}/` : ''}${i.name}\``;
const oneLine = (s: string): string => s.replace(/\s+/g, ' ').slice(0, 300);
