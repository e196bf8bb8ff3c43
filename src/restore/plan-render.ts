// A restore plan as files for a pull request: Markdown for people reading the diff, and its
// machine-readable JSON twin. Both render a RestorePlan, whose changes buildPlan has already
// redacted; neither ever sees a Secret value. The Markdown carries the plan hash in a hidden
// comment too (renovate's pr-body.ts keeps machine state the same way), so a tool reading the
// pull request finds it without parsing tables.
import type { ActionCounts, PlanAction, PlanItem, RestorePlan } from './plan.js';
import { canonicalJson, PLAN_ACTIONS } from './plan.js';

/** Stable key order at every level, two-space indent, final newline: diffs stay small. */
export function renderPlanJson(plan: RestorePlan): string {
  return `${canonicalJson(plan, 2)}\n`;
}

const SECTIONS: { action: PlanAction; title: string }[] = [
  { action: 'conflict', title: 'Conflicts' },
  { action: 'invalid', title: 'Invalid' },
  { action: 'update', title: 'Updates' },
  { action: 'create', title: 'Creates' },
  { action: 'skip', title: 'Skipped' },
  { action: 'unchanged', title: 'Unchanged' },
];

export function renderPlanMarkdown(plan: RestorePlan): string {
  const lines: string[] = [
    `<!-- lifeboat-restore-plan hash=${plan.hash} -->`,
    `# Restore plan ${code(plan.restoreName)}`,
    '',
    ...header(plan),
    '',
    '> Merging this pull request approves the plan. lifeboat applies it only if the backup, the spec and',
    '> the cluster still give the same plan hash; otherwise it writes a new plan for review.',
    '',
    '## Summary',
    '',
    ...countsTable(['Objects'], [{ cells: ['all'], counts: plan.summary.total }]),
    '',
    '### By namespace',
    '',
    ...countsTable(
      ['Namespace'],
      plan.summary.byNamespace.map((row) => ({
        cells: [row.namespace ? code(row.namespace) : '(cluster-scoped)'],
        counts: row,
      })),
    ),
    '',
    '### By kind',
    '',
    ...countsTable(
      ['Kind', 'Resource'],
      plan.summary.byKind.map((row) => ({
        cells: [escapeMd(row.kind), code(row.groupResource)],
        counts: row,
      })),
    ),
    '',
    '## Restore order',
    '',
    ...plan.tiers.map((tier, i) => `${i + 1}. ${tier.map(code).join(', ')}`),
  ];
  for (const { action, title } of SECTIONS) {
    const items = plan.items.filter((item) => item.action === action);
    if (items.length === 0) continue;
    lines.push('', `## ${title} (${items.length})`, '');
    if (action === 'unchanged') lines.push(...unchangedList(items));
    else for (const item of items) lines.push(...itemDetails(item), '');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

function header(plan: RestorePlan): string[] {
  const rows: [string, string][] = [
    ['Backup', code(plan.backupName)],
    ['Backup checksum', checksumCell(plan)],
    ['Plan hash', code(plan.hash)],
    ['Existing resource policy', code(plan.spec.existingResourcePolicy ?? 'none')],
  ];
  const mapping = Object.entries(plan.spec.namespaceMapping ?? {});
  if (mapping.length > 0) {
    rows.push(['Namespace mapping', mapping.map(([from, to]) => `${code(from)} → ${code(to)}`).join(', ')]);
  }
  const table = ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)];
  const warnings = (plan.warnings ?? []).map((w) => `> Warning: ${escapeMd(w)}`);
  return warnings.length > 0 ? [...table, '', ...warnings.flatMap((w) => [w, ''])].slice(0, -1) : table;
}

/** Velero records no checksum; a lifeboat backup without one is restored only when allowed. */
function checksumCell(plan: RestorePlan): string {
  if (plan.backupSha256 !== '') return code(plan.backupSha256);
  return plan.backupMadeBy === 'lifeboat'
    ? 'none recorded (lifeboat backup whose checksum was removed; not verified)'
    : 'none recorded (Velero backup)';
}

function countsTable(labels: string[], rows: { cells: string[]; counts: ActionCounts }[]): string[] {
  const columns = [...PLAN_ACTIONS, 'total'] as const;
  return [
    `| ${[...labels, ...columns].join(' | ')} |`,
    `| ${[...labels.map(() => '---'), ...columns.map(() => '---:')].join(' | ')} |`,
    ...rows.map((row) => `| ${[...row.cells, ...columns.map((c) => String(row.counts[c]))].join(' | ')} |`),
  ];
}

function itemDetails(item: PlanItem): string[] {
  const lines = [`### ${escapeMd(item.kind)} ${code(itemName(item))}`, ''];
  if (item.reason !== undefined) lines.push(`Reason: ${escapeMd(item.reason)}`, '');
  for (const warning of item.warnings ?? []) lines.push(`> Warning: ${escapeMd(warning)}`, '');
  const diff = diffLines(item);
  if (diff.length === 0) return lines.slice(0, -1);
  const fence = fenceFor(diff.join('\n'));
  const block = [`${fence}diff`, ...diff, fence];
  // A new object is listed field by field; folded, so that updates and conflicts stand out.
  const whole = (item.changes ?? []).every((c) => c.op === 'add');
  if (item.action === 'create' || (item.action === 'invalid' && whole)) {
    lines.push(`<details><summary>${diff.length} fields</summary>`, '', ...block, '', '</details>');
  } else lines.push(...block);
  return lines;
}

function unchangedList(items: PlanItem[]): string[] {
  return [
    `<details><summary>${items.length} objects already as in the backup</summary>`,
    '',
    ...items.map((item) => `- ${escapeMd(item.kind)} ${code(itemName(item))}`),
    '',
    '</details>',
  ];
}

function diffLines(item: PlanItem): string[] {
  return (item.changes ?? []).flatMap((c) => {
    const before = `- ${c.path}: ${value(c.before)}`;
    const after = `+ ${c.path}: ${value(c.after)}`;
    return c.op === 'add' ? [after] : c.op === 'remove' ? [before] : [before, after];
  });
}

function value(v: unknown): string {
  return canonicalJson(v === undefined ? null : v);
}

function itemName(item: PlanItem): string {
  return item.namespace ? `${item.namespace}/${item.name}` : item.name;
}

/** A code span that survives any backticks inside it (CommonMark: a longer fence, padded). */
function code(text: string): string {
  const run = longestRun(text, '`');
  const fence = '`'.repeat(run + 1);
  return run === 0 ? `${fence}${text}${fence}` : `${fence} ${text} ${fence}`;
}

function fenceFor(content: string): string {
  return '`'.repeat(Math.max(3, longestRun(content, '`') + 1));
}

function longestRun(text: string, ch: string): number {
  let best = 0;
  let run = 0;
  for (const c of text) {
    run = c === ch ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** Free text (reasons, warnings, apiserver messages) as inert Markdown on one line. */
function escapeMd(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/[\\`*_[\]<>|#]/g, '\\$&');
}
