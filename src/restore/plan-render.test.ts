import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import type { PlanInputItem, RestorePlan } from './plan.js';
import { assemblePlan, buildPlan } from './plan.js';
import { renderPlanJson, renderPlanMarkdown } from './plan-render.js';
import { containsSecretValue } from './redact.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function planItem(
  desired: KubeObject | null,
  live: KubeObject | null,
  extra: Partial<PlanInputItem> & { groupResource: string },
): PlanInputItem {
  const ref = desired ?? live;
  return {
    apiVersion: ref?.apiVersion ?? 'v1',
    kind: ref?.kind ?? 'ConfigMap',
    namespace: ref?.metadata.namespace ?? '',
    name: ref?.metadata.name ?? 'x',
    desired,
    live,
    ...extra,
  };
}

const cm = (name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'shop' },
  data,
});

function samplePlan(): RestorePlan {
  return buildPlan({
    restoreName: 'restore-shop',
    backupName: 'nightly-shop-20240101',
    backupSha256: 'sha256:0123456789abcdef',
    spec: { existingResourcePolicy: 'update', namespaceMapping: { shop: 'shop' } },
    items: [
      planItem({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } }, null, {
        groupResource: 'namespaces',
      }),
      planItem(
        cm('settings', { mode: 'fast' }),
        { ...cm('settings', { mode: 'slow' }), metadata: { name: 'settings', namespace: 'shop', uid: 'u' } },
        { groupResource: 'configmaps' },
      ),
      planItem(cm('same', { a: 'b' }), cm('same', { a: 'b' }), { groupResource: 'configmaps' }),
      planItem(null, null, {
        groupResource: 'pods',
        kind: 'Pod',
        name: 'old-pod',
        namespace: 'shop',
        skipReason: 'pod has completed (phase Succeeded)',
      }),
      planItem(cm('odd|name', { x: '```' }), null, {
        groupResource: 'configmaps',
        dryRunError: 'bad `value` | <script>\nsecond line',
      }),
    ],
  });
}

describe('renderPlanMarkdown', () => {
  const md = renderPlanMarkdown(samplePlan());
  const plan = samplePlan();

  it('carries the plan hash in a hidden comment and in the header, with the backup and its checksum', () => {
    expect(md.split('\n')[0]).toBe(`<!-- lifeboat-restore-plan hash=${plan.hash} -->`);
    expect(md).toContain(`| Plan hash | \`${plan.hash}\` |`);
    expect(md).toContain('| Backup | `nightly-shop-20240101` |');
    expect(md).toContain('| Backup checksum | `sha256:0123456789abcdef` |');
    expect(md).toContain('| Existing resource policy | `update` |');
  });

  it('has summary tables per namespace and per kind', () => {
    expect(md).toContain('| Namespace | create | update | unchanged | skip | conflict | invalid | total |');
    expect(md).toContain('| (cluster-scoped) | 1 | 0 | 0 | 0 | 0 | 0 | 1 |');
    expect(md).toContain('| `shop` | 0 | 1 | 1 | 1 | 0 | 1 | 4 |');
    expect(md).toContain('| ConfigMap | `configmaps` | 0 | 1 | 1 | 0 | 0 | 1 | 3 |');
  });

  it('puts what needs a person first: invalid, then updates with their diff', () => {
    expect(md).toContain('**Needs attention:** 0 conflicts, 1 invalid, 1 updates, 0 objects with warnings');
    expect(md).toMatch(
      /## Updates \(1\)\n\n### ConfigMap `shop\/settings` \(update\)\n\n```diff\n- data.mode: "slow"\n\+ data.mode: "fast"\n```/,
    );
    expect(md.indexOf('## Invalid')).toBeLessThan(md.indexOf('## Updates'));
    expect(md.indexOf('## Updates')).toBeLessThan(md.indexOf('## Everything else'));
    expect(md.indexOf('## Everything else')).toBeLessThan(md.indexOf('## Summary'));
    expect(md).toContain('1. `namespaces`');
  });

  it('folds the rest by namespace and kind, with counts, skip reasons and names only', () => {
    expect(md).toContain('<details><summary>(cluster-scoped): 1 create</summary>');
    expect(md).toContain('<details><summary>`shop`: 1 unchanged, 1 skip</summary>');
    expect(md).toContain('- ConfigMap (`configmaps`): 1 unchanged\n  - unchanged `same`');
    expect(md).toContain('  - skip `old-pod` — pod has completed (phase Succeeded)');
    // A create is listed by name; its fields are in the JSON only.
    expect(md).toContain('  - create `shop`');
    expect(md).not.toContain('+ metadata.name: "shop"');
  });

  it('keeps free text and odd values inert: one line, escaped, fences longer than any backtick run', () => {
    expect(md).toContain('Reason: bad \\`value\\` \\| \\<script\\> second line');
    expect(md).not.toContain('<script>');
    expect(md).toContain('+ data.x: "```"\n````');
    expect(md).toContain('````diff\n');
  });

  it('is deterministic', () => {
    expect(renderPlanMarkdown(samplePlan())).toBe(md);
  });
});

describe('renderPlanJson', () => {
  it('is the plan itself, with keys sorted at every level and a final newline', () => {
    const plan = samplePlan();
    const json = renderPlanJson(plan);
    expect(JSON.parse(json)).toEqual(JSON.parse(JSON.stringify(plan)));
    expect(json.endsWith('}\n')).toBe(true);
    const keys = Object.keys(JSON.parse(json) as object);
    expect(keys).toEqual([...keys].sort());
    expect(json.indexOf('"apiVersion"')).toBeLessThan(json.indexOf('"backupName"'));
  });
});

describe('no Secret value in a rendered plan', () => {
  const values = {
    password: 'Sup3r-Secret-Passw0rd!',
    apiKey: 'ak_live_51HxYzAbCdEfGh',
    cert: '-----BEGIN PRIVATE KEY-----MIIEvQIBADANBg',
    changedOld: 'previous-value-7788',
    stringDataToken: 'string-data-token-9911',
  };
  const secret = (
    name: string,
    data: Record<string, string>,
    extra: Partial<KubeObject> = {},
  ): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'shop', ...extra.metadata },
    type: 'Opaque',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
    ...(extra.stringData ? { stringData: extra.stringData } : {}),
  });
  const lastApplied = JSON.stringify({ data: { password: b64(values.password) } });
  const desiredNew = secret(
    'api',
    { key: values.apiKey, 'tls.key': values.cert },
    {
      stringData: { token: values.stringDataToken },
    },
  );
  const desiredChanged = secret(
    'db',
    { password: values.password },
    {
      metadata: {
        name: 'db',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied },
      },
    },
  );
  const liveChanged = secret('db', { password: values.changedOld });
  const desiredSkipped = secret('other', { password: values.password });
  const liveSkipped = secret('other', { password: values.changedOld });

  const plans = [
    buildPlan({
      restoreName: 'r',
      backupName: 'b',
      backupSha256: 'sha256:1',
      spec: { existingResourcePolicy: 'update' },
      items: [
        planItem(desiredNew, null, { groupResource: 'secrets' }),
        planItem(desiredChanged, liveChanged, { groupResource: 'secrets' }),
        planItem(secret('rejected', { k: values.password }), null, {
          groupResource: 'secrets',
          dryRunError: `Secret "rejected" is invalid: data[k]: Invalid value: "${values.password}" (${b64(values.password)})`,
        }),
      ],
    }),
    buildPlan({
      restoreName: 'r',
      backupName: 'b',
      backupSha256: 'sha256:1',
      spec: {},
      items: [planItem(desiredSkipped, liveSkipped, { groupResource: 'secrets' })],
    }),
  ];
  const everySecret = [desiredNew, desiredChanged, liveChanged, desiredSkipped, liveSkipped];

  it.each(plans.map((plan, i) => [i, plan] as const))(
    'plan %i: neither the Markdown nor the JSON contains a value, encoded or decoded',
    (_i, plan) => {
      for (const text of [renderPlanMarkdown(plan), renderPlanJson(plan)]) {
        expect(containsSecretValue(text, everySecret)).toBe(false);
        for (const value of Object.values(values)) {
          expect(text).not.toContain(value);
          expect(text).not.toContain(b64(value));
        }
      }
    },
  );

  it('still shows which keys change, by fingerprint', () => {
    const md = renderPlanMarkdown(plans[0] as RestorePlan);
    expect(md).toMatch(/- data\.password: "sha256:[0-9a-f]{12}"\n\+ data\.password: "sha256:[0-9a-f]{12}"/);
    expect(renderPlanJson(plans[0] as RestorePlan)).toMatch(/"path": "stringData\.token"/);
    expect(md).toContain('Reason: Secret "rejected" is invalid: data\\[k\\]: Invalid value: "sha256:');
  });
});

describe('the backup checksum in a plan', () => {
  const row = (md: string) => md.split('\n').find((l) => l.startsWith('| Backup checksum |'));

  it('shows the checksum recorded', () => {
    expect(row(renderPlanMarkdown(samplePlan()))).toBe('| Backup checksum | `sha256:0123456789abcdef` |');
  });

  it('says none was recorded for a Velero backup, and shows the warning', () => {
    const plan: RestorePlan = {
      ...samplePlan(),
      backupSha256: '',
      backupMadeBy: 'velero',
      warnings: ['backup b was made by Velero, which records no checksum: the archive is not verified'],
    };
    const md = renderPlanMarkdown(plan);
    expect(row(md)).toBe('| Backup checksum | none recorded (Velero backup) |');
    expect(md).toContain(
      '> Warning: backup b was made by Velero, which records no checksum: the archive is not verified',
    );
  });

  it('says a lifeboat backup lost its checksum', () => {
    const plan: RestorePlan = { ...samplePlan(), backupSha256: '', backupMadeBy: 'lifeboat' };
    expect(row(renderPlanMarkdown(plan))).toBe(
      '| Backup checksum | none recorded (lifeboat backup whose checksum was removed; not verified) |',
    );
  });
});

describe('renderPlanMarkdown for a large restore', () => {
  const cms = Array.from({ length: 400 }, (_, i) =>
    planItem(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `cm-${i}`, namespace: `ns-${i % 4}` },
        data: Object.fromEntries(Array.from({ length: 20 }, (_, k) => [`key-${k}`, `value-${i}-${k}`])),
      },
      null,
      { groupResource: 'configmaps' },
    ),
  );
  const webhook = planItem(
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name: 'guard' },
      webhooks: [],
    },
    null,
    {
      groupResource: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
      warnings: ['calls a missing Service'],
    },
  );
  const claim = planItem(
    {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data', namespace: 'ns-0' },
      spec: {},
    },
    null,
    { groupResource: 'persistentvolumeclaims', notes: ['binds again to its surviving volume pv-1'] },
  );
  const plan = buildPlan({
    restoreName: 'big',
    backupName: 'b',
    backupSha256: 'sha256:1',
    spec: {},
    items: [...cms, webhook, claim],
  });
  const md = renderPlanMarkdown(plan);

  it('lists objects with warnings or notes before the rest, with their text', () => {
    expect(md).toContain('**Needs attention:** 0 conflicts, 0 invalid, 0 updates, 1 objects with warnings');
    expect(md).toMatch(
      /## Warnings and notes \(2\)[\s\S]*### ValidatingWebhookConfiguration `guard` \(create\)\n\n> Warning: calls a missing Service/,
    );
    expect(md).toContain(
      '### PersistentVolumeClaim `ns-0/data` (create)\n\nNote: binds again to its surviving volume pv-1',
    );
    expect(md.indexOf('## Warnings and notes')).toBeLessThan(md.indexOf('## Everything else'));
  });

  it('counts the creates per namespace and kind instead of listing their fields', () => {
    expect(md).toContain('<details><summary>`ns-1`: 100 create</summary>');
    expect(md).toContain('- ConfigMap (`configmaps`): 100 create');
    expect(md).not.toContain('value-1-1');
    // One line per object at most, plus the fixed parts: no field lists.
    expect(md.split('\n').length).toBeLessThan(plan.items.length + 120);
    expect(renderPlanJson(plan)).toContain('value-1-1');
  });

  it('says when nothing needs attention', () => {
    const quiet = buildPlan({
      restoreName: 'q',
      backupName: 'b',
      backupSha256: 's',
      spec: {},
      items: cms.slice(0, 2),
    });
    expect(renderPlanMarkdown(quiet)).toContain('**Nothing needs attention:**');
  });
});

describe('the volumes section', () => {
  it('lists each claim with size, class, snapshot and action, near the top, and the hash covers it', () => {
    const header = {
      restoreName: 'r',
      backupName: 'b',
      backupSha256: 'sha256:00',
      spec: {},
    };
    const volume = {
      namespace: 'shop',
      claim: 'data',
      size: '64Mi',
      storageClass: 'ground-csi',
      snapshot: { volumeSnapshot: 'shop/velero-data-x', handle: 'snap-1', driver: 'd', restoreSize: '64Mi' },
      action: 'create-from-snapshot' as const,
    };
    const gone = {
      namespace: 'shop',
      claim: 'logs',
      action: 'invalid' as const,
      reason: 'its CSI snapshot shop/velero-logs-y (handle snap-2) no longer exists: driver d: not found',
    };
    const plan = assemblePlan(header, [], [], [gone, volume]);
    expect(plan.volumes?.map((v) => v.claim)).toEqual(['data', 'logs']);
    const md = renderPlanMarkdown(plan);
    expect(md).toContain(
      '| `shop/data` | 64Mi | `ground-csi` | `shop/velero-data-x` (handle `snap-1`, 64Mi) | create from snapshot |  |',
    );
    expect(md).toContain(
      '| `shop/logs` |  | (default) | none | **invalid** | its CSI snapshot shop/velero-logs-y',
    );
    expect(md.indexOf('## Volumes (2)')).toBeLessThan(md.indexOf('## Everything else'));
    // What a volume comes back from is part of what is approved; free text is not.
    expect(assemblePlan(header, [], [], [volume]).hash).not.toBe(
      assemblePlan(header, [], [], [{ ...volume, snapshot: { ...volume.snapshot, handle: 'snap-9' } }]).hash,
    );
    expect(assemblePlan(header, [], [], [gone]).hash).toBe(
      assemblePlan(header, [], [], [{ ...gone, reason: 'other words' }]).hash,
    );
    expect(assemblePlan(header, [], []).volumes).toBeUndefined();
  });

  it("shows a moved claim's restic snapshot, and the hash covers which one", () => {
    const header = { restoreName: 'r', backupName: 'b', backupSha256: 'sha256:00', spec: {} };
    const copy = {
      sourceNamespace: 'shop',
      snapshotId: 'ab'.repeat(32),
      files: 301,
      dirs: 3,
      bytes: 4200000,
    };
    const moved = {
      namespace: 'shop',
      claim: 'data',
      size: '64Mi',
      copy,
      action: 'create-from-copy' as const,
    };
    const plan = assemblePlan(header, [], [], [moved]);
    expect(renderPlanMarkdown(plan)).toContain(
      '| `shop/data` | 64Mi | (default) | restic `abababababab` in `restic/shop` (301 files, 4200000 bytes) | create, fill from restic |  |',
    );
    expect(plan.hash).not.toBe(
      assemblePlan(header, [], [], [{ ...moved, copy: { ...copy, snapshotId: 'cd'.repeat(32) } }]).hash,
    );
  });
});

describe('renderPlanMarkdown: pod volumes from file-system backups', () => {
  it('lists each volume with its pod, claim, size, files and restic snapshot', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'db-0', namespace: 'shop' },
      spec: { containers: [{ name: 'db', image: 'postgres' }] },
    };
    const item: PlanInputItem = {
      groupResource: 'pods',
      apiVersion: 'v1',
      kind: 'Pod',
      namespace: 'shop',
      name: 'db-0',
      desired: pod,
      live: null,
      podVolumes: [
        {
          volume: 'data',
          claim: 'data-db-0',
          sourceNamespace: 'shop',
          snapshotId: '0123456789abcdef',
          files: 41,
          dirs: 1,
          bytes: 3145800,
          action: 'restore',
        },
      ],
    };
    const md = renderPlanMarkdown(
      buildPlan({ restoreName: 'r', backupName: 'b', backupSha256: '', spec: {}, items: [item] }),
    );
    expect(md).toContain('## Pod volumes from file-system backups (1)');
    expect(md).toContain(
      '| `shop/db-0` | `data` | `data-db-0` | 3145800 bytes | 41 | `shop/0123456789ab` | restore |  |',
    );
  });
});
