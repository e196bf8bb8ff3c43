// An approved plan is applied only while it is still what a restore would do: when the
// cluster changes after planning, apply refuses with StalePlanError (CLI exit code 5) and
// changes nothing; --force applies the fresh plan anyway.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore, StalePlanError } from '../src/restore/engine.js';
import { EXIT } from '../src/cli/exit-codes.js';
import type { RestorePlan } from '../src/restore/plan.js';
import {
  backupOf,
  cliGlobals,
  configMap,
  createAll,
  eventually,
  localWorld,
  read,
  runCli,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import { tempDir } from './ground/world.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

const namespace = (name: string, labels: Record<string, string> = {}): Seeded => ({
  gr: 'namespaces',
  obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } },
});

async function serviceAccountCreated(w: RestoreWorld, ns: string): Promise<void> {
  const account: Seeded = {
    gr: 'serviceaccounts',
    obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: ns } },
  };
  await eventually(
    async () => ((await read(w.kube, account)) ? true : undefined),
    `${ns}/default ServiceAccount`,
  );
}

describe('a stale restore plan', () => {
  it('is refused after the cluster changed, and applied with force', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('stale');
    await createAll(w.kube, [namespace(ns, { team: 'shop' }), configMap(ns, 'settings', { color: 'blue' })]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });

    const target = `${ns}-copy`;
    const spec = { backupName: backup.name, namespaceMapping: { [ns]: target } };
    const name = uniqueName('stale');
    const approved = (await planRestore({ name, spec }, w.deps())).plan;
    // Planning again with nothing changed gives the same hash: the plan is deterministic.
    expect((await planRestore({ name, spec }, w.deps())).plan.hash).toBe(approved.hash);

    // Someone creates the target namespace, differently, after the plan was approved.
    await createAll(w.kube, [namespace(target, { team: 'other' })]);
    // The service account controller adds `default` to a new namespace a moment later; wait for
    // it, or the stale plan and the forced one would differ by that ServiceAccount's action.
    await serviceAccountCreated(w, target);
    const copied = configMap(target, 'settings', {});

    const error = await applyRestore({ name, spec }, w.deps(), { approvedHash: approved.hash }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StalePlanError);
    const stale = error as StalePlanError;
    expect(stale.approvedHash).toBe(approved.hash);
    expect(stale.freshPlan.hash).not.toBe(approved.hash);
    expect(stale.freshPlan.items.find((i) => i.groupResource === 'namespaces')?.action).toBe('skip');
    expect(stale.message).toContain('stale');
    // Nothing was applied, and nothing recorded as a restore.
    expect(await read(w.kube, copied)).toBeNull();
    expect(await w.store.exists(`restores/${name}/lifeboat-restore.json`)).toBe(false);

    const forced = await applyRestore({ name, spec }, w.deps(), { approvedHash: approved.hash, force: true });
    expect(forced.phase).toBe('Completed');
    expect(forced.planHash).toBe(stale.freshPlan.hash);
    expect((await read(w.kube, copied))?.data).toEqual({ color: 'blue' });
  });

  it('makes `restore apply --plan` exit with code 5, and --force applies', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('stalecli');
    await createAll(w.kube, [namespace(ns), configMap(ns, 'settings', { color: 'blue' })]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    const target = `${ns}-copy`;
    const name = uniqueName('stalecli');
    const planFile = join(await tempDir('plan-'), 'plan.json');

    const planned = await runCli([
      ...cliGlobals(w),
      'restore',
      'plan',
      name,
      '--from-backup',
      backup.name,
      '--namespace-mappings',
      `${ns}:${target}`,
      '-f',
      'json',
      '--out',
      planFile,
    ]);
    expect(planned.stderr).toBe('');
    expect(planned.code).toBe(EXIT.ok);
    const plan = JSON.parse(await readFile(planFile, 'utf8')) as RestorePlan;
    expect(planned.stdout).toContain(plan.hash);

    // The cluster changes: the config map the plan would create now exists, differently.
    await createAll(w.kube, [namespace(target), configMap(target, 'settings', { color: 'red' })]);

    const refused = await runCli([...cliGlobals(w), 'restore', 'apply', name, '--plan', planFile]);
    // The documented exit code for a stale plan (README "Exit codes"; EXIT.stale).
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('the approved plan is stale');
    expect(refused.stdout).toBe('');
    expect(await w.store.exists(`restores/${name}/lifeboat-restore.json`)).toBe(false);

    const forced = await runCli([
      ...cliGlobals(w),
      '-o',
      'json',
      'restore',
      'apply',
      name,
      '--plan',
      planFile,
      '--force',
    ]);
    expect(forced.code).toBe(EXIT.ok);
    const result = JSON.parse(forced.stdout) as { phase: string; items: { name: string; result: string }[] };
    expect(result.phase).toBe('Completed');
    // The fresh plan: the differing config map is skipped (policy none), as a new review would show.
    expect(result.items.find((i) => i.name === 'settings')?.result).toBe('skipped');
    expect((await read(w.kube, configMap(target, 'settings', {})))?.data).toEqual({ color: 'red' });
    expect(await w.store.exists(`restores/${name}/lifeboat-restore.json`)).toBe(true);
  });
});
