import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/types.js';
import type { PlanInput, PlanInputItem } from './plan.js';
import { buildPlan, canonicalJson, PlanInputError, prepareDesiredObject } from './plan.js';
import type { RestoreSpec } from './spec.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function cm(name: string, data: Record<string, string>, namespace = 'shop'): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data };
}

/** The same object as the cluster returns it: server-set fields and a restore label added. */
function asLive(obj: KubeObject, edit: (o: KubeObject) => void = () => undefined): KubeObject {
  const out = structuredClone(obj);
  Object.assign(out.metadata, {
    uid: 'uid-1',
    resourceVersion: '5',
    creationTimestamp: '2024-01-01T00:00:00Z',
  });
  out.metadata.labels = { ...out.metadata.labels, 'lifeboat.dev/restore-name': 'an-older-restore' };
  edit(out);
  return out;
}

function item(
  desired: KubeObject,
  live: KubeObject | null,
  extra: Partial<PlanInputItem> = {},
): PlanInputItem {
  const groupResource = extra.groupResource ?? `${desired.kind.toLowerCase()}s`;
  return {
    groupResource,
    apiVersion: desired.apiVersion,
    kind: desired.kind,
    namespace: desired.metadata.namespace ?? '',
    name: desired.metadata.name ?? '',
    desired,
    live,
    ...extra,
  };
}

function input(items: PlanInputItem[], spec: RestoreSpec = {}): PlanInput {
  return { restoreName: 'r-1', backupName: 'b-1', backupSha256: 'sha256:abc', spec, items };
}

function deployment(selector: string, owner?: string): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      ...(owner
        ? {
            ownerReferences: [
              { apiVersion: 'example.com/v1', kind: 'App', name: owner, uid: 'u', controller: true },
            ],
          }
        : {}),
    },
    spec: { replicas: 1, selector: { matchLabels: { app: selector } } },
  };
}

describe('buildPlan: actions', () => {
  const desired = cm('settings', { mode: 'fast' });
  const changedLive = asLive(desired, (o) => (o.data = { mode: 'slow' }));

  it.each<[string, PlanInputItem, RestoreSpec, { action: string; reason?: RegExp }]>([
    ['create when nothing is live', item(desired, null), {}, { action: 'create' }],
    [
      'unchanged when live differs only in server-set fields',
      item(desired, asLive(desired)),
      {},
      { action: 'unchanged' },
    ],
    [
      'skip when live differs and the policy is unset',
      item(desired, changedLive),
      {},
      { action: 'skip', reason: /existingResourcePolicy/ },
    ],
    [
      'skip when live differs and the policy is none',
      item(desired, changedLive),
      { existingResourcePolicy: 'none' },
      { action: 'skip', reason: /not update/ },
    ],
    [
      'update when live differs and the policy is update',
      item(desired, changedLive),
      { existingResourcePolicy: 'update' },
      { action: 'update' },
    ],
    [
      'skip when sanitize skipped it',
      item(desired, null, { desired: null, skipReason: 'job has completed' }),
      {},
      { action: 'skip', reason: /job has completed/ },
    ],
    [
      'invalid when the item is invalid',
      item(desired, null, { desired: null, invalidReason: 'rule 0 failed' }),
      {},
      { action: 'invalid', reason: /rule 0 failed/ },
    ],
    [
      'invalid when a dry-run create fails',
      item(desired, null, { dryRunError: 'admission webhook denied' }),
      {},
      { action: 'invalid', reason: /webhook/ },
    ],
    [
      'invalid when a dry-run update fails',
      item(desired, changedLive, { dryRunError: 'quota exceeded' }),
      { existingResourcePolicy: 'update' },
      { action: 'invalid', reason: /quota/ },
    ],
    [
      'unchanged even if a dry run failed (nothing to write)',
      item(desired, asLive(desired), { dryRunError: 'x' }),
      {},
      { action: 'unchanged' },
    ],
    [
      'conflict when an update would change a Deployment selector',
      item(deployment('a'), asLive(deployment('b')), { groupResource: 'deployments.apps' }),
      { existingResourcePolicy: 'update' },
      { action: 'conflict', reason: /immutable field spec\.selector\.matchLabels\.app/ },
    ],
    [
      'conflict when an update would change a PVC storage class',
      item(
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'd', namespace: 'shop' },
          spec: { storageClassName: 'fast' },
        },
        asLive({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'd', namespace: 'shop' },
          spec: { storageClassName: 'slow' },
        }),
        { groupResource: 'persistentvolumeclaims' },
      ),
      { existingResourcePolicy: 'update' },
      { action: 'conflict', reason: /spec\.storageClassName/ },
    ],
    [
      'update when a PVC only grows',
      item(
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'd', namespace: 'shop' },
          spec: { resources: { requests: { storage: '2Gi' } } },
        },
        asLive({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'd', namespace: 'shop' },
          spec: { resources: { requests: { storage: '1Gi' } } },
        }),
        { groupResource: 'persistentvolumeclaims' },
      ),
      { existingResourcePolicy: 'update' },
      { action: 'update' },
    ],
    [
      'conflict when an immutable ConfigMap would change',
      item(
        desired,
        asLive(desired, (o) => Object.assign(o, { immutable: true, data: { mode: 'slow' } })),
      ),
      { existingResourcePolicy: 'update' },
      { action: 'conflict', reason: /immutable field data\.mode/ },
    ],
    [
      'conflict when another controller owns the live object',
      item(
        deployment('a'),
        asLive(deployment('a', 'my-app'), (o) => ((o.spec as { replicas: number }).replicas = 3)),
        {
          groupResource: 'deployments.apps',
        },
      ),
      { existingResourcePolicy: 'update' },
      { action: 'conflict', reason: /controlled by App my-app \(example\.com\)/ },
    ],
    [
      'skip kube-root-ca.crt, whatever the policy',
      item(cm('kube-root-ca.crt', { 'ca.crt': 'old' }), null),
      { existingResourcePolicy: 'update' },
      { action: 'skip', reason: /root-ca-cert-publisher/ },
    ],
  ])('%s', (_label, planItem, spec, { action, reason }) => {
    const [result] = buildPlan(input([planItem], spec)).items;
    expect(result?.action).toBe(action);
    if (reason) expect(result?.reason).toMatch(reason);
    else expect(result?.reason).toBeUndefined();
  });

  it("gives Velero's warning for an existing, different object under policy none", () => {
    const [result] = buildPlan(input([item(desired, changedLive)])).items;
    expect(result?.warnings).toEqual([
      'could not restore, ConfigMap "settings" already exists. Warning: the in-cluster version is different than the backed-up version.',
    ]);
    expect(result?.changes).toEqual([{ path: 'data.mode', op: 'change', before: 'slow', after: 'fast' }]);
  });

  it('warns that the default ServiceAccount may appear before it is created', () => {
    const sa: KubeObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'shop' },
    };
    const [result] = buildPlan(input([item(sa, null)])).items;
    expect(result?.action).toBe('create');
    expect(result?.warnings?.[0]).toMatch(/already exists/);
  });

  it("leaves a new namespace's plain default ServiceAccount to the controller, and creates one that holds more", () => {
    const labels = { 'lifeboat.dev/restore-name': 'r-1', 'velero.io/backup-name': 'b-1' };
    const plain: KubeObject = {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'default', namespace: 'shop', labels },
    };
    const [left] = buildPlan(input([item(plain, null, { namespaceNew: true })])).items;
    expect(left?.action).toBe('skip');
    expect(left?.reason).toMatch(/service account controller/);
    // The namespace exists: the account may be missing for good, so it is created as before.
    const [existing] = buildPlan(input([item(plain, null)])).items;
    expect(existing?.action).toBe('create');
    const pulling: KubeObject = { ...plain, imagePullSecrets: [{ name: 'registry' }] };
    const labelled: KubeObject = {
      ...plain,
      metadata: { ...plain.metadata, labels: { ...labels, team: 'shop' } },
    };
    const annotated: KubeObject = { ...plain, metadata: { ...plain.metadata, annotations: { a: 'b' } } };
    const other: KubeObject = { ...plain, metadata: { ...plain.metadata, name: 'api' } };
    for (const desired of [pulling, labelled, annotated, other]) {
      const [created] = buildPlan(input([item(desired, null, { namespaceNew: true })])).items;
      expect(created?.action, JSON.stringify(desired)).toBe('create');
    }
  });

  it('warns about a create or update in a system namespace, and about no other action', () => {
    const inKubeSystem = cm('settings', { mode: 'fast' }, 'kube-system');
    const [created] = buildPlan(input([item(inKubeSystem, null)])).items;
    expect(created?.warnings).toEqual([
      'restores into the system namespace "kube-system": objects there can change how the whole cluster runs',
    ]);
    const changed = asLive(inKubeSystem, (o) => ((o.data as Record<string, string>).mode = 'slow'));
    const [updated] = buildPlan(
      input([item(inKubeSystem, changed)], { existingResourcePolicy: 'update' }),
    ).items;
    expect(updated?.action).toBe('update');
    expect(updated?.warnings?.[0]).toMatch(/system namespace "kube-system"/);
    const [unchanged] = buildPlan(input([item(inKubeSystem, asLive(inKubeSystem))])).items;
    expect(unchanged?.warnings).toBeUndefined();
    const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-public' } };
    const [namespace] = buildPlan(input([item(ns, null, { groupResource: 'namespaces' })])).items;
    expect(namespace?.warnings?.[0]).toMatch(/system namespace "kube-public"/);
    const [elsewhere] = buildPlan(input([item(cm('settings', { mode: 'fast' }), null)])).items;
    expect(elsewhere?.warnings).toBeUndefined();
  });

  it('lists every field of a create as an add', () => {
    const [result] = buildPlan(input([item(desired, null)])).items;
    expect(result?.changes).toContainEqual({ path: 'data.mode', op: 'add', after: 'fast' });
  });
});

describe('buildPlan: order, tiers and summary', () => {
  const ns: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } };
  const items = [
    item(cm('b', {}, 'shop'), null),
    item(deployment('a'), null, { groupResource: 'deployments.apps' }),
    item(cm('a', {}, 'zoo'), asLive(cm('a', {}, 'zoo'))),
    item(cm('a', {}, 'shop'), null),
    item(ns, null, { groupResource: 'namespaces' }),
  ];
  const plan = buildPlan(input(items));

  it('orders items by tier, then namespace, then name', () => {
    expect(plan.items.map((i) => `${i.groupResource}:${i.namespace}/${i.name}`)).toEqual([
      'namespaces:/shop',
      'configmaps:shop/a',
      'configmaps:shop/b',
      'configmaps:zoo/a',
      'deployments.apps:shop/web',
    ]);
    expect(plan.tiers).toEqual([['namespaces'], ['configmaps'], ['deployments.apps']]);
    expect(plan.items.map((i) => i.tier)).toEqual([0, 1, 1, 1, 2]);
  });

  it('counts actions in total, per namespace and per kind', () => {
    expect(plan.summary.total).toMatchObject({ create: 4, unchanged: 1, total: 5 });
    expect(plan.summary.byNamespace).toEqual([
      expect.objectContaining({ namespace: '', create: 1, total: 1 }),
      expect.objectContaining({ namespace: 'shop', create: 3, total: 3 }),
      expect.objectContaining({ namespace: 'zoo', unchanged: 1, total: 1 }),
    ]);
    expect(plan.summary.byKind.map((k) => `${k.kind}=${k.total}`)).toEqual([
      'ConfigMap=3',
      'Deployment=1',
      'Namespace=1',
    ]);
  });

  it('does not depend on the order of its input', () => {
    expect(buildPlan(input([...items].reverse()))).toEqual(plan);
  });
});

describe('buildPlan: hash', () => {
  const secret = (value: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'db', namespace: 'shop' },
    data: { password: b64(value) },
  });
  const baseItems = () => [item(cm('a', { k: 'v' }), null), item(secret('pass-one'), null)];
  const hash = (p: PlanInput) => buildPlan(p).hash;
  const baseline = hash(input(baseItems()));

  it('is a sha256', () => {
    expect(baseline).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each<[string, PlanInput]>([
    ['the spec changes', input(baseItems(), { existingResourcePolicy: 'update' })],
    ['the backup checksum changes', { ...input(baseItems()), backupSha256: 'sha256:def' }],
    ['an object changes', input([item(cm('a', { k: 'w' }), null), baseItems()[1] as PlanInputItem])],
    ['a Secret value changes', input([baseItems()[0] as PlanInputItem, item(secret('pass-two'), null)])],
    [
      'an action changes',
      input([item(cm('a', { k: 'v' }), asLive(cm('a', { k: 'v' }))), baseItems()[1] as PlanInputItem]),
    ],
    ['an object is added', input([...baseItems(), item(cm('b', {}), null)])],
  ])('changes when %s', (_label, changed) => {
    expect(hash(changed)).not.toBe(baseline);
  });

  it.each<[string, PlanInput]>([
    ['the input order changes', input([...baseItems()].reverse())],
    [
      'a dry-run message on an unchanged object changes',
      input([item(cm('a', { k: 'v' }), null), baseItems()[1] as PlanInputItem]),
    ],
  ])('stays when %s', (_label, same) => {
    expect(hash(same)).toBe(baseline);
  });

  it('stays when the message of a dry run that does not matter changes', () => {
    const desired = cm('a', { k: 'v' });
    const one = hash(input([item(desired, asLive(desired), { dryRunError: 'first message' })]));
    const two = hash(input([item(desired, asLive(desired), { dryRunError: 'second message' })]));
    expect(two).toBe(one);
  });

  it('stays when only live fields outside the desired object change', () => {
    const desired = cm('a', { k: 'v' });
    const one = hash(input([item(desired, asLive(desired))]));
    const two = hash(
      input([
        item(
          desired,
          asLive(desired, (o) => (o.metadata.annotations = { touched: 'yes' })),
        ),
      ]),
    );
    expect(two).toBe(one);
  });
});

describe('buildPlan: input errors', () => {
  it.each<[string, PlanInputItem[], RegExp]>([
    [
      'a duplicate object',
      [item(cm('a', {}), null), item(cm('a', {}), null)],
      /configmaps shop\/a appears twice/,
    ],
    [
      'a null desired object without a reason',
      [item(cm('a', {}), null, { desired: null })],
      /neither skipReason nor invalidReason/,
    ],
    [
      'an item without a name',
      [item(cm('a', {}), null, { name: '' })],
      /groupResource and name are required/,
    ],
  ])('rejects %s', (_label, items, message) => {
    expect(() => buildPlan(input(items))).toThrow(PlanInputError);
    expect(() => buildPlan(input(items))).toThrow(message);
  });
});

describe('prepareDesiredObject', () => {
  const spec: RestoreSpec = {
    namespaceMapping: { shop: 'shop-copy' },
    resourceModifiers: {
      version: 'v1',
      resourceModifierRules: [
        {
          conditions: { groupResource: 'configmaps', namespaces: ['shop-copy'] },
          patches: [{ operation: 'add', path: '/data/restored', value: 'yes' }],
        },
      ],
    },
  };
  const opts = {
    groupResource: 'configmaps',
    spec,
    backupName: 'b-1',
    restoreName: 'r-1',
    restoreStatus: false,
  };

  it('sanitizes, maps the namespace, labels, then applies modifiers that see the target namespace', () => {
    const archived = {
      ...cm('a', { k: 'v' }),
      metadata: { name: 'a', namespace: 'shop', uid: 'old', resourceVersion: '3' },
    };
    const prepared = prepareDesiredObject(archived, opts);
    expect(prepared.desired).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: 'a',
        namespace: 'shop-copy',
        labels: {
          'lifeboat.dev/backup-name': 'b-1',
          'lifeboat.dev/restore-name': 'r-1',
          'velero.io/backup-name': 'b-1',
          'velero.io/restore-name': 'r-1',
        },
      },
      data: { k: 'v', restored: 'yes' },
    });
    expect('applied' in prepared && prepared.applied).toEqual(['rule 0: JSON patch (1 operation)']);
  });

  it('leaves the archived object as it was: the mapping and modifiers change its copy', () => {
    const archived: KubeObject = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'b', namespace: 'shop', labels: { team: 'a' } },
      subjects: [{ kind: 'ServiceAccount', name: 'app', namespace: 'shop' }],
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
    };
    const before = structuredClone(archived);
    const prepared = prepareDesiredObject(archived, {
      ...opts,
      groupResource: 'rolebindings.rbac.authorization.k8s.io',
    });
    expect(prepared.desired?.metadata.namespace).toBe('shop-copy');
    expect((prepared.desired as { subjects?: unknown } | null)?.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'app', namespace: 'shop-copy' },
    ]);
    expect(archived).toEqual(before);
  });

  it('passes on a sanitize skip', () => {
    const pod: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'shop' },
      status: { phase: 'Succeeded' },
    };
    expect(prepareDesiredObject(pod, { ...opts, groupResource: 'pods' })).toEqual({
      desired: null,
      skipReason: 'pod has completed (phase Succeeded)',
    });
  });

  it('turns a modifier error into an invalid reason naming the rule', () => {
    const bad: RestoreSpec = {
      resourceModifiers: {
        version: 'v1',
        resourceModifierRules: [
          {
            conditions: { groupResource: 'configmaps' },
            patches: [{ operation: 'replace', path: '/nope/x', value: '1' }],
          },
        ],
      },
    };
    const prepared = prepareDesiredObject(cm('a', {}), { ...opts, spec: bad });
    expect('invalidReason' in prepared && prepared.invalidReason).toMatch(
      /resource modifier rule 0 on configmaps shop\/a/,
    );
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[{"y":2,"z":1}]},"b":1}',
    );
  });
});

describe('buildPlan: live labels and annotations the backup does not have', () => {
  it('notes them on an unchanged or updated object, leaving out those controllers set', () => {
    const desired = cm('settings', { a: 'b' });
    const live = asLive(desired, (o) => {
      o.metadata.labels = { ...o.metadata.labels, team: 'blue', 'velero.io/restore-name': 'x' };
      o.metadata.annotations = { 'deployment.kubernetes.io/revision': '3', owner: 'alice' };
    });
    for (const spec of [{}, { existingResourcePolicy: 'update' as const }]) {
      const [planned] = buildPlan(input([item(desired, live)], spec)).items;
      expect(planned).toMatchObject({
        action: 'unchanged',
        notes: [
          'the live object has labels the backup does not (team); the restore leaves them in place',
          'the live object has annotations the backup does not (owner); the restore leaves them in place',
        ],
      });
    }
  });

  it('says nothing when the live object has no extra keys', () => {
    const desired = cm('settings', { a: 'b' });
    expect(buildPlan(input([item(desired, asLive(desired))])).items[0]?.notes).toBeUndefined();
  });
});

describe('buildPlan: pod volumes from file-system copies', () => {
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db-0', namespace: 'shop' },
    spec: { containers: [{ name: 'db', image: 'postgres' }] },
  };
  const volume = (snapshotId: string) => ({
    volume: 'data',
    claim: 'data-db-0',
    sourceNamespace: 'shop',
    snapshotId,
    files: 3,
    dirs: 1,
    bytes: 100,
    action: 'restore' as const,
  });

  it('lists them on a created pod, and skips them when the pod exists', () => {
    const [created] = buildPlan(input([item(pod, null, { podVolumes: [volume('s1')] })])).items;
    expect(created?.podVolumes).toEqual([volume('s1')]);
    const [kept] = buildPlan(input([item(pod, asLive(pod), { podVolumes: [volume('s1')] })])).items;
    expect(kept?.podVolumes).toEqual([
      { ...volume('s1'), action: 'skip', reason: 'the pod is not created (unchanged)' },
    ]);
  });

  it('the hash covers which snapshot fills which volume', () => {
    const hash = (id: string) => buildPlan(input([item(pod, null, { podVolumes: [volume(id)] })])).hash;
    expect(hash('s1')).not.toBe(hash('s2'));
    expect(hash('s1')).toBe(hash('s1'));
  });
});
