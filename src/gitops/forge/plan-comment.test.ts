import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../kube/types.js';
import { buildPlan, type PlanInputItem } from '../../restore/plan.js';
import {
  planBlocker,
  planMarker,
  planStatus,
  renderPlanComment,
  renderResultComment,
  validateStatus,
} from './plan-comment.js';

const cm = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop' },
  data,
});
const item = (desired: KubeObject, extra: Partial<PlanInputItem> = {}): PlanInputItem => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  namespace: 'shop',
  name: desired.metadata.name ?? '',
  groupResource: 'configmaps',
  desired,
  live: null,
  ...extra,
});

const plan = (items: PlanInputItem[]) =>
  buildPlan({
    restoreName: 'shop-restore',
    backupName: 'nightly-1',
    backupSha256: 'sha256:00',
    spec: {},
    items,
  });

describe('plan comment and status', () => {
  const clean = plan([item(cm('a', { k: 'v' })), item(cm('b', { k: 'v' }))]);
  const broken = plan([
    item(cm('a', { k: 'v' })),
    item(cm('bad', { k: 'v' }), { dryRunError: 'field is immutable' }),
  ]);

  it('starts with the restore hidden marker, so a re-plan edits the same comment', () => {
    const body = renderPlanComment(clean, { planUrl: 'http://forge/p.md' });
    expect(body.split('\n')[0]).toBe(planMarker('shop-restore'));
    expect(planMarker('shop-restore')).not.toBe(planMarker('other'));
  });

  it('has counts by action, the plan hash and a link to the plan file', () => {
    const body = renderPlanComment(clean, {
      planUrl: 'http://forge/src/branch/restore/x/plans/shop-restore.md',
    });
    expect(body).toContain('| create | update | unchanged | skip | conflict | invalid | total |');
    expect(body).toContain('| 2 | 0 | 0 | 0 | 0 | 0 | 2 |');
    expect(body).toContain(`plan hash \`${clean.hash}\``);
    expect(body).toContain(
      '[plans/shop-restore.md](http://forge/src/branch/restore/x/plans/shop-restore.md)',
    );
  });

  it('lists invalid and conflicting objects first, with their reasons', () => {
    const body = renderPlanComment(broken, { planUrl: 'u' });
    const invalidAt = body.indexOf('**Invalid (1)**');
    expect(invalidAt).toBeGreaterThan(0);
    expect(invalidAt).toBeLessThan(body.indexOf('| create |'));
    expect(body).toContain('`ConfigMap shop/bad`: ');
    expect(body).toContain('field is immutable');
  });

  it('sets lifeboat/plan success for an applicable plan and failure with the reason otherwise', () => {
    expect(planBlocker(clean)).toBeUndefined();
    expect(planStatus(clean)).toMatchObject({ context: 'lifeboat/plan', state: 'success' });
    expect(planStatus(clean).description).toContain('2 objects');
    expect(planBlocker(broken)).toBe('1 invalid object');
    expect(planStatus(broken)).toMatchObject({
      state: 'failure',
      description: 'cannot apply: 1 invalid object',
    });
  });

  it('says in the result comment when nothing was applied because the plan went stale', () => {
    const body = renderResultComment({
      restore: 'shop-restore',
      phase: 'PlanOutdated',
      planHash: 'sha256:1',
      counts: {},
      replan: { branch: 'restore/shop-restore-replan', url: 'http://forge/pulls/2' },
    });
    expect(body).toContain('Nothing was applied');
    expect(body).toContain('`restore/shop-restore-replan` (http://forge/pulls/2)');
    const done = renderResultComment({
      restore: 'shop-restore',
      phase: 'Completed',
      planHash: 'sha256:1',
      counts: { created: 2, failed: 0 },
    });
    expect(done).toContain('| created | failed |');
    expect(done).toContain('| 2 | 0 |');
  });
});

describe('validateStatus', () => {
  it('is success with the count, or failure naming the first error', () => {
    expect(validateStatus({ ok: true, documents: 3, errors: [] })).toEqual({
      context: 'lifeboat/validate',
      state: 'success',
      description: '3 valid documents, no errors',
    });
    expect(
      validateStatus({
        ok: false,
        documents: 1,
        errors: [
          { file: 'schedules/a.yaml', line: 7, message: 'unknown field "scheduel"' },
          { file: 'b.yaml', line: 1, message: 'x' },
        ],
      }),
    ).toEqual({
      context: 'lifeboat/validate',
      state: 'failure',
      description: '2 error(s); first: schedules/a.yaml:7: unknown field "scheduel"',
    });
  });
});
