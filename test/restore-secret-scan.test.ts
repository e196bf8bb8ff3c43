// Secret values never leave the restore: not in plans (Markdown and JSON), not in the stored
// results and log, not in anything the CLI prints — for Secrets that are created, unchanged,
// updated, and that fail. An admission policy that quotes the Secret's values in its denial
// (the worst an admission webhook can do) makes the failures carry the values in the
// apiserver's own error messages, at plan time (dry run) and at apply time.
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { planRestore } from '../src/restore/engine.js';
import { renderPlanJson, renderPlanMarkdown } from '../src/restore/plan-render.js';
import { restoreLayout } from '../src/storage/layout.js';
import type { RestorePlan } from '../src/restore/plan.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  b64,
  backupOf,
  cliGlobals,
  createAll,
  eventually,
  infoFor,
  localWorld,
  read,
  runCli,
  secret,
  secretValue,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import { KubeApiError } from '../src/kube/client.js';

let world: RestoreWorld | undefined;
let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
  world?.close();
});

const VAP = 'validatingadmissionpolicies.admissionregistration.k8s.io';
const VAPB = 'validatingadmissionpolicybindings.admissionregistration.k8s.io';

/**
 * Denies Secrets named rejected-* in `ns` with a message that quotes their password, decoded,
 * and the old one on updates. `rejected-always` is denied on dry runs too (so planning sees
 * it); the others only on real writes (so they fail during apply).
 */
async function installEchoingPolicy(w: RestoreWorld, ns: string): Promise<() => Promise<void>> {
  const name = uniqueName('echo-secrets');
  const policy: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] },
        ],
      },
      matchConditions: [
        { name: 'rejected-only', expression: "object.metadata.name.startsWith('rejected-')" },
      ],
      validations: [
        {
          expression: "object.metadata.name != 'rejected-always' && request.dryRun == true",
          messageExpression:
            "'refusing ' + object.metadata.name + ' with password ' + string(object.data.password) + " +
            "(oldObject != null ? ' (was ' + string(oldObject.data.password) + ')' : '')",
        },
      ],
    },
  };
  const binding: KubeObject = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ['Deny'],
      matchResources: { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': ns } } },
    },
  };
  await createAll(w.kube, [
    { gr: VAP, obj: policy },
    { gr: VAPB, obj: binding },
  ]);
  // The apiserver picks policies up asynchronously: wait until a probe is denied.
  const secrets = await infoFor(w.kube, 'secrets');
  const probe = secret(ns, 'rejected-probe', { password: 'probe' }).obj;
  await eventually(async () => {
    try {
      await w.kube.create(secrets, probe);
      await w.kube.delete(secrets, ns, 'rejected-probe');
      return undefined;
    } catch (err) {
      if (err instanceof KubeApiError && err.message.includes('refusing rejected-probe')) return true;
      throw err;
    }
  }, 'the admission policy to be active');
  return async () => {
    await w.kube.delete(await infoFor(w.kube, VAPB), '', name);
    await w.kube.delete(await infoFor(w.kube, VAP), '', name);
  };
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Seven Secrets backed up, then made to diverge: deleted (so created again), left alone,
 * changed (so updated), made immutable with another value (a conflict), and three that the
 * echoing policy refuses. Returns every value that ever was in them, by label.
 */
async function secretsThatDiverge(
  w: RestoreWorld,
  ns: string,
): Promise<{ backupName: string; values: Map<string, string>; updated: Seeded }> {
  const values = new Map<string, string>();
  const make = (name: string, extra: Partial<KubeObject> = {}): Seeded => {
    const password = secretValue(name);
    const user = secretValue(`user-of-${name}`);
    values.set(`backup ${name} password`, password);
    values.set(`backup ${name} user`, user);
    const s = secret(ns, name, { password, user });
    Object.assign(s.obj, extra);
    return s;
  };
  const updated = make('updated');
  // kubectl apply keeps the whole Secret, values included, in this annotation.
  updated.obj.metadata.annotations = {
    'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
      ...updated.obj,
      metadata: { name: 'updated', namespace: ns },
    }),
  };
  const names = [
    'created',
    'unchanged',
    'immutable',
    'rejected-always',
    'rejected-on-apply',
    'rejected-update',
  ];
  const all = [updated, ...names.map((n) => make(n, n === 'immutable' ? { immutable: true } : {}))];
  await createAll(w.kube, [
    { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
    ...all,
  ]);
  const backup = await backupOf(w, { includedNamespaces: [ns] });

  const secrets = await infoFor(w.kube, 'secrets');
  const liveSecret = (name: string): KubeObject => {
    const password = secretValue(`live-${name}`);
    values.set(`live ${name} password`, password);
    return secret(ns, name, { password }).obj;
  };
  for (const name of ['created', 'rejected-always', 'rejected-on-apply'])
    await w.kube.delete(secrets, ns, name);
  for (const name of ['updated', 'rejected-update']) {
    await w.kube.apply(secrets, liveSecret(name), { fieldManager: 'someone', force: true });
  }
  await w.kube.delete(secrets, ns, 'immutable');
  await eventually(
    async () => ((await w.kube.get(secrets, ns, 'immutable')) === null ? true : undefined),
    'immutable to be gone',
  );
  await w.kube.create(secrets, { ...liveSecret('immutable'), immutable: true });
  return { backupName: backup.name, values, updated };
}

function expectPlanActions(plan: RestorePlan): void {
  const item = (n: string) => plan.items.find((i) => i.groupResource === 'secrets' && i.name === n);
  expect(
    Object.fromEntries(
      [
        'created',
        'unchanged',
        'updated',
        'immutable',
        'rejected-always',
        'rejected-on-apply',
        'rejected-update',
      ].map((n) => [n, item(n)?.action]),
    ),
  ).toEqual({
    created: 'create',
    unchanged: 'unchanged',
    updated: 'update',
    immutable: 'conflict',
    'rejected-always': 'invalid',
    'rejected-on-apply': 'create',
    'rejected-update': 'update',
  });
  expect(item('immutable')?.reason).toBe('update would change immutable field data.password');
  // The dry run was refused with the value in the message; the plan shows its fingerprint.
  expect(item('rejected-always')?.reason).toMatch(
    /refusing rejected-always with password sha256:[0-9a-f]{12}/,
  );
  // The update shows that the password changes, by fingerprint, and names the key.
  expect(item('updated')?.changes).toContainEqual(
    expect.objectContaining({
      path: 'data.password',
      op: 'change',
      before: expect.stringMatching(/^sha256:/),
    }),
  );
}

function expectOutcomes(result: {
  phase: string;
  items: { name: string; result: string; message?: string }[];
}): void {
  const outcome = (n: string) => result.items.find((i) => i.name === n);
  expect(result.phase).toBe('PartiallyFailed');
  expect(
    Object.fromEntries(
      [
        'created',
        'unchanged',
        'updated',
        'immutable',
        'rejected-always',
        'rejected-on-apply',
        'rejected-update',
      ].map((n) => [n, outcome(n)?.result]),
    ),
  ).toEqual({
    created: 'created',
    unchanged: 'skipped',
    updated: 'updated',
    immutable: 'failed',
    'rejected-always': 'failed',
    'rejected-on-apply': 'failed',
    'rejected-update': 'failed',
  });
  // Apply-time refusals quote the new value and the old one: both fingerprinted.
  expect(outcome('rejected-on-apply')?.message).toMatch(
    /refusing rejected-on-apply with password sha256:[0-9a-f]{12}/,
  );
  expect(outcome('rejected-update')?.message).toMatch(
    /with password sha256:[0-9a-f]{12} \(was sha256:[0-9a-f]{12}\)/,
  );
}

describe('Secret values in restore outputs', () => {
  it('appear nowhere: plans, stored results and log, CLI output', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('secrets');
    const { backupName, values, updated } = await secretsThatDiverge(w, ns);
    cleanup = await installEchoingPolicy(w, ns);
    const forms = [...values.entries()].flatMap(([label, v]) => [
      { label: `${label} (plain)`, form: v },
      { label: `${label} (base64)`, form: b64(v) },
    ]);
    const leaks = (text: string): string[] => forms.filter((f) => text.includes(f.form)).map((f) => f.label);

    // --- the plan ----------------------------------------------------------------------
    const name = uniqueName('scan');
    const spec = { backupName, existingResourcePolicy: 'update' as const };
    const { plan } = await planRestore({ name, spec }, w.deps());
    expectPlanActions(plan);
    expect(leaks(renderPlanMarkdown(plan))).toEqual([]);
    expect(leaks(renderPlanJson(plan))).toEqual([]);

    // --- the CLI: plan, apply, describe, logs, list ------------------------------------
    const flags = ['--from-backup', backupName, '--existing-resource-policy', 'update'];
    const outputs: { what: string; text: string }[] = [];
    const cli = async (what: string, args: string[], code: number) => {
      const run = await runCli([...cliGlobals(w), ...args]);
      outputs.push({ what, text: run.stdout + run.stderr });
      expect(run.code, `${what}: ${run.stderr}`).toBe(code);
      return run;
    };
    await cli('plan (md)', ['restore', 'plan', name, ...flags], 0);
    await cli('plan (json)', ['restore', 'plan', name, ...flags, '-f', 'json'], 0);
    const applied = await cli('apply', ['-o', 'json', 'restore', 'apply', name, ...flags], 3);
    expectOutcomes(JSON.parse(applied.stdout) as Parameters<typeof expectOutcomes>[0]);
    // The update did happen.
    expect((await read(w.kube, updated))?.data).toMatchObject({
      password: b64(values.get('backup updated password') ?? ''),
    });

    // Again, in the table format: only the failures are left to attempt, so the phase is Failed.
    const again = await cli('apply (table)', ['restore', 'apply', `${name}-again`, ...flags], 1);
    expect(again.stdout).toContain('Failed');
    expect(again.stdout).toContain('failed: secrets');
    await cli('describe', ['restore', 'describe', name], 0);
    await cli('describe (json)', ['-o', 'json', 'restore', 'describe', name], 0);
    await cli('logs', ['restore', 'logs', name], 0);
    await cli('list', ['-o', 'json', 'restore', 'list'], 0);
    for (const o of outputs) expect(leaks(o.text), o.what).toEqual([]);
    expect(outputs.find((o) => o.what === 'logs')?.text).toContain('could not restore');

    // --- what is stored ----------------------------------------------------------------
    const stored: string[] = [];
    for await (const o of w.store.list(restoreLayout.dir(name))) stored.push(o.key);
    expect(stored.sort()).toEqual(
      [
        restoreLayout.log(name),
        restoreLayout.results(name),
        restoreLayout.resourceList(name),
        restoreLayout.record(name),
      ].sort(),
    );
    for (const key of stored) {
      const bytes = await readAll(await w.store.get(key));
      const text = (key.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
      expect(text.length, key).toBeGreaterThan(0);
      expect(leaks(text), key).toEqual([]);
    }
  });
});
