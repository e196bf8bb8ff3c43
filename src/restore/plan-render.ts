// A restore plan as files for a pull request: Markdown for people reading the diff, and its
// machine-readable JSON twin. Both render a RestorePlan, whose changes buildPlan has already
// redacted; neither ever sees a Secret value. The Markdown carries the plan hash in a hidden
// comment too (renovate's pr-body.ts keeps machine state the same way), so a tool reading the
// pull request finds it without parsing tables.
import type { ActionCounts, PlanAction, PlanItem, RestorePlan, VolumeAction } from './plan.js';
import { canonicalJson, PLAN_ACTIONS } from './plan.js';

/** Stable key order at every level, two-space indent, final newline: diffs stay small. */
export function renderPlanJson(plan: RestorePlan): string {
  return `${canonicalJson(plan, 2)}\n`;
}

/**
 * What a person must read, in this order, each object in full: what cannot be applied as it
 * stands, then what changes a live object. A plan for a thousand objects is otherwise a
 * megabyte of creates nobody reviews (issue 18); those are counted by namespace and kind below.
 */
const ATTENTION: { action: PlanAction; title: string }[] = [
  { action: 'conflict', title: 'Conflicts' },
  { action: 'invalid', title: 'Invalid' },
  { action: 'update', title: 'Updates' },
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
    ...countsTable(['Objects'], [{ cells: ['all'], counts: plan.summary.total }]),
    '',
    attentionLine(plan),
    ...volumesSection(plan),
    ...podVolumesSection(plan),
  ];
  for (const { action, title } of ATTENTION) {
    const items = plan.items.filter((item) => item.action === action);
    if (items.length === 0) continue;
    lines.push('', `## ${title} (${items.length})`, '');
    for (const item of items) lines.push(...itemDetails(item), '');
  }
  const flagged = plan.items.filter(
    (i) =>
      !ATTENTION.some((a) => a.action === i.action) &&
      (i.warnings?.length || i.notes?.length || i.hooks?.length),
  );
  if (flagged.length > 0) {
    lines.push('', `## Warnings and notes (${flagged.length})`, '');
    lines.push('Objects created, skipped or left as they are, with something to know about them.', '');
    for (const item of flagged) lines.push(...itemDetails(item, { diff: false }), '');
  }
  lines.push('', '## Everything else, by namespace', '', ...rest(plan));
  lines.push(
    '',
    '## Summary',
    '',
    ...folded(
      `By namespace (${plan.summary.byNamespace.length})`,
      countsTable(
        ['Namespace'],
        plan.summary.byNamespace.map((row) => ({
          cells: [row.namespace ? code(row.namespace) : '(cluster-scoped)'],
          counts: row,
        })),
      ),
    ),
    '',
    ...folded(
      `By kind (${plan.summary.byKind.length})`,
      countsTable(
        ['Kind', 'Resource'],
        plan.summary.byKind.map((row) => ({
          cells: [escapeMd(row.kind), code(row.groupResource)],
          counts: row,
        })),
      ),
    ),
    '',
    '## Restore order',
    '',
    ...plan.tiers.map((tier, i) => `${i + 1}. ${tier.map(code).join(', ')}`),
    '',
    'Every object with its fields is in the JSON twin of this plan.',
  );
  return `${lines.join('\n').trimEnd()}\n`;
}

const VOLUME_ACTION_WORDS: Record<VolumeAction, string> = {
  'create-from-snapshot': 'create from snapshot',
  'create-from-copy': 'create, fill from restic',
  create: 'create (no snapshot)',
  skip: 'skip',
  conflict: '**conflict**',
  invalid: '**invalid**',
};

/**
 * Near the top: the data a restore brings back is what a reviewer most wants to see — which
 * claim, how large, from which snapshot, and what happens to it.
 */
function volumesSection(plan: RestorePlan): string[] {
  const volumes = plan.volumes ?? [];
  if (volumes.length === 0) return [];
  const lines = [
    '',
    `## Volumes (${volumes.length})`,
    '',
    '| Claim | Size | Storage class | Snapshot | Action | Why |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const v of volumes) {
    const snapshot = v.copy
      ? `restic ${code(v.copy.snapshotId.slice(0, 12))} in ${code(`restic/${v.copy.sourceNamespace}`)} (${v.copy.files} files, ${v.copy.bytes} bytes)`
      : v.snapshot
        ? `${code(v.snapshot.volumeSnapshot)}${v.snapshot.handle ? ` (handle ${code(v.snapshot.handle)}${v.snapshot.restoreSize ? `, ${escapeMd(v.snapshot.restoreSize)}` : ''})` : ''}`
        : 'none';
    lines.push(
      `| ${code(`${v.namespace}/${v.claim}`)} | ${v.size ? escapeMd(v.size) : ''} | ${v.storageClass ? code(v.storageClass) : '(default)'} | ${snapshot} | ${VOLUME_ACTION_WORDS[v.action]} | ${v.reason ? escapeMd(v.reason) : ''} |`,
    );
  }
  return lines;
}

/** Pod volumes filled from file-system copies (restic) before their pod starts. */
function podVolumesSection(plan: RestorePlan): string[] {
  const rows = plan.items.flatMap((i) =>
    i.groupResource === 'pods' ? (i.podVolumes ?? []).map((v) => ({ pod: i, v })) : [],
  );
  if (rows.length === 0) return [];
  const lines = [
    '',
    `## Pod volumes from file-system backups (${rows.length})`,
    '',
    '| Pod | Volume | Claim | Size | Files | restic snapshot | Action | Why |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const { pod, v } of rows) {
    lines.push(
      `| ${code(`${pod.namespace}/${pod.name}`)} | ${code(v.volume)} | ${v.claim ? code(v.claim) : ''} | ${v.bytes} bytes | ${v.files} | ${code(`${v.sourceNamespace}/${v.snapshotId.slice(0, 12)}`)} | ${v.action} | ${v.reason ? escapeMd(v.reason) : ''} |`,
    );
  }
  return lines;
}

function attentionLine(plan: RestorePlan): string {
  const t = plan.summary.total;
  const flagged = plan.items.filter((i) => i.warnings?.length).length;
  const parts = [
    `${t.conflict} conflicts`,
    `${t.invalid} invalid`,
    `${t.update} updates`,
    `${flagged} objects with warnings`,
  ];
  return t.conflict + t.invalid + t.update + flagged === 0
    ? '**Nothing needs attention:** no conflicts, invalid objects, updates or warnings.'
    : `**Needs attention:** ${parts.join(', ')} (below, in that order).`;
}

/**
 * Objects with nothing to review, folded per namespace and counted per kind. Skips keep their
 * reasons (why something is not restored is worth a glance); creates and unchanged objects are
 * listed by name only.
 */
function rest(plan: RestorePlan): string[] {
  const quiet = plan.items.filter(
    (i) =>
      !ATTENTION.some((a) => a.action === i.action) &&
      !i.warnings?.length &&
      !i.notes?.length &&
      !i.hooks?.length,
  );
  if (quiet.length === 0) return ['Nothing else.'];
  const byNamespace = new Map<string, PlanItem[]>();
  for (const item of quiet)
    byNamespace.set(item.namespace, [...(byNamespace.get(item.namespace) ?? []), item]);
  const lines: string[] = [];
  for (const ns of [...byNamespace.keys()].sort()) {
    const items = byNamespace.get(ns) ?? [];
    const title = `${ns ? code(ns) : '(cluster-scoped)'}: ${countWords(items)}`;
    const body: string[] = [];
    const byKind = new Map<string, PlanItem[]>();
    for (const item of items) {
      const key = `${item.kind}\u0000${item.groupResource}`;
      byKind.set(key, [...(byKind.get(key) ?? []), item]);
    }
    for (const key of [...byKind.keys()].sort()) {
      const list = byKind.get(key) ?? [];
      const [kind = '', gr = ''] = key.split('\u0000');
      body.push(`- ${escapeMd(kind)} (${code(gr)}): ${countWords(list)}`);
      for (const item of list) {
        const why = item.action === 'skip' && item.reason ? ` — ${escapeMd(item.reason)}` : '';
        body.push(`  - ${item.action} ${code(item.name)}${why}`);
      }
    }
    lines.push(...folded(title, body), '');
  }
  return lines;
}

function countWords(items: PlanItem[]): string {
  const counts = new Map<PlanAction, number>();
  for (const i of items) counts.set(i.action, (counts.get(i.action) ?? 0) + 1);
  return PLAN_ACTIONS.filter((a) => counts.has(a))
    .map((a) => `${counts.get(a) ?? 0} ${a}`)
    .join(', ');
}

/** GitHub and Gitea render `<details>` folded; the summary line carries the counts. */
function folded(summary: string, body: string[]): string[] {
  return [`<details><summary>${summary}</summary>`, '', ...body, '', '</details>'];
}

function header(plan: RestorePlan): string[] {
  const rows: [string, string][] = [
    ['Backup', code(plan.backupName)],
    ['Backup checksum', checksumCell(plan)],
    ['Plan hash', code(plan.hash)],
    ['Existing resource policy', code(plan.spec.existingResourcePolicy ?? 'none')],
  ];
  if (plan.spec.gitopsTracking === 'Strip')
    rows.push(['GitOps tracking', 'stripped (Argo CD and Flux marks removed)']);
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

function itemDetails(item: PlanItem, opts: { diff: boolean } = { diff: true }): string[] {
  const lines = [`### ${escapeMd(item.kind)} ${code(itemName(item))} (${item.action})`, ''];
  if (item.reason !== undefined) lines.push(`Reason: ${escapeMd(item.reason)}`, '');
  for (const warning of item.warnings ?? []) lines.push(`> Warning: ${escapeMd(warning)}`, '');
  for (const note of item.notes ?? []) lines.push(`Note: ${escapeMd(note)}`, '');
  // Every hook that will run, with its command as written (hooks.ts never expands Secrets).
  for (const hook of item.hooks ?? []) lines.push(`Hook: ${hookLine(hook)}`, '');
  const diff = opts.diff ? diffLines(item) : [];
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

function hookLine(hook: NonNullable<PlanItem['hooks']>[number]): string {
  const where =
    hook.type === 'init'
      ? `init container ${code(hook.container)} (image ${code(hook.image ?? '')})`
      : `exec in container ${code(hook.container)} once ${hook.waitForReady ? 'ready' : 'running'}, onError ${hook.onError ?? 'Continue'}`;
  return `${where}, from ${escapeMd(hook.hook)}: ${code(JSON.stringify(hook.command))}`;
}
