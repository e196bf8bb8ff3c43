// A restore whose reconciler is killed with SIGKILL part-way through applying. The record it
// leaves says how far it got, and its log exists. The next pass past the interruption window
// marks it Interrupted and re-plans it against the cluster: the objects already restored make
// a different plan, so nothing more is applied until that plan is reviewed and merged; then
// the rest is applied. A restore name already used in the bucket is refused.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { RestoreResult } from '../src/restore/engine.js';
import type { RestorePlan } from '../src/restore/plan.js';
import { KindIndex, configMap, createObjects } from './fixtures/seed.js';
import { deleteNamespaces, runCli } from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
  createPolicyRepo,
  FakeClock,
  HOUR,
  KubeHandle,
  localLocation,
  newWorkdir,
  reconcilerFor,
  restoreDoc,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { ground, newNamespace, tempDir } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const kube = new KubeHandle();
afterEach(() => kube.close());

// Enough that applying them takes seconds even on a quiet machine (about 1,000 objects a second):
// the kill lands part-way, however late the poll notices the first progress record.
const OBJECTS = 2_000;

async function readRecord(dataDir: string): Promise<RestoreResult | undefined> {
  try {
    return JSON.parse(
      await readFile(join(dataDir, 'backups', 'restores', 'shop', 'lifeboat-restore.json'), 'utf8'),
    ) as RestoreResult;
  } catch {
    return undefined;
  }
}

async function configMapsIn(ns: string): Promise<number> {
  const k = await kube.get();
  const info = await new KindIndex(k).infoFor('v1', 'ConfigMap');
  const page = await k.list(info, { namespace: ns });
  return page.items.filter((i) => (i.metadata.name ?? '').startsWith('cm-')).length;
}

/** `lifeboat reconcile --once` in its own process, killed with SIGKILL once the restore has applied some objects. */
async function killReconcilerMidRestore(opts: { remote: string; dataDir: string }): Promise<string | null> {
  const args = [join(root, 'bin/lifeboat.js'), 'reconcile', '--once'];
  args.push('--repo', opts.remote, '--workdir', await newWorkdir(), '--data-dir', opts.dataDir);
  args.push('--kubeconfig', ground().kubeconfigPath);
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<string | null>((resolve) =>
    child.once('exit', (_code, signal) => resolve(signal)),
  );
  let running = true;
  void exited.then(() => (running = false));
  for (;;) {
    if (!running) throw new Error(`the pass ended before it could be killed mid-restore: ${stderr}`);
    const record = await readRecord(opts.dataDir);
    if (record?.phase === 'InProgress' && (record.progress?.done ?? 0) > 0) {
      child.kill('SIGKILL');
      return exited;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('an interrupted restore', () => {
  it('is recorded as Interrupted with what was applied, re-planned for review, then finished', async () => {
    const ns = await newNamespace('shop');
    const k = await kube.get();
    const index = new KindIndex(k);
    await createObjects(
      k,
      Array.from({ length: OBJECTS }, (_, i) => configMap({ namespace: ns, name: `cm-${i}` })),
      { index, concurrency: 16 },
    );
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/shop.yaml': scheduleDoc('shop-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const dataDir = await tempDir('interrupted-data-');
    const clock = new FakeClock(new Date().toISOString());
    const r = await reconcilerFor(repo, { dataDir, kube, clock });
    const [backup] = (await r.pass()).events;
    expect(backup).toMatchObject({ action: 'backup', outcome: 'Completed' });
    await deleteNamespaces(k, [ns]);

    const bob = await repo.as(BOB);
    await bob.push(
      {
        'restores/shop.yaml': restoreDoc('shop', {
          backupName: backup?.subject ?? '',
          includedNamespaces: [ns],
        }),
      },
      { message: 'restore the shop', branch: 'restore/shop' },
    );
    await r.pass();
    const carol = await repo.as(CAROL);
    await carol.mergeNoFf('restore/shop');

    // A reconciler process takes the approved restore and is killed part-way.
    expect(await killReconcilerMidRestore({ remote: repo.remote, dataDir })).toBe('SIGKILL');
    const left = await readRecord(dataDir);
    expect(left?.phase).toBe('InProgress');
    // The namespace, the ConfigMaps, and what the namespace's controllers add.
    expect(left?.progress?.total).toBeGreaterThan(OBJECTS);
    expect(left?.progress?.done).toBeGreaterThan(0);
    // The log it points to exists.
    const log = gunzipSync(
      await readFile(join(dataDir, 'backups', 'restores', 'shop', 'restore-shop-logs.gz')),
    );
    expect(log.toString()).toContain('restore started');
    const applied = await configMapsIn(ns);
    expect(applied).toBeLessThan(OBJECTS);

    // Within the interruption window the next pass leaves it alone: it may still be running.
    const early = await r.pass();
    expect(early.actions.filter((a) => a.type === 'apply-restore')).toEqual([]);

    // Past the window: Interrupted, how far it got, and a fresh plan for the rest up for review.
    clock.set(new Date(Date.now() + HOUR).toISOString());
    const replanned = await r.pass();
    expect(replanned.events).toContainEqual({ action: 'plan-restore', subject: 'shop', outcome: 'planned' });
    expect(await configMapsIn(ns)).toBe(applied);
    const status = await repo.yaml<{
      phase: string;
      counts: Record<string, number>;
      conditions: { reason: string; message: string }[];
    }>('status/restores/shop.yaml');
    expect(status?.phase).toBe('Interrupted');
    expect(status?.counts).toEqual(left?.counts);
    expect(status?.conditions[0]?.reason).toBe('Interrupted');
    expect(status?.conditions[0]?.message).toMatch(
      /^interrupted: \d+ of \d+ objects done .*restores\/shop\/restore-shop-logs\.gz.*awaits review on branch restore\/shop-replan/,
    );
    const plan = JSON.parse(
      (await repo.file('plans/shop.json', 'restore/shop-replan')) ?? '{}',
    ) as RestorePlan;
    const creates = plan.items.filter((i) => i.action === 'create').length;
    expect(creates).toBe(OBJECTS - applied);

    // Carol approves the rest; the next pass applies it.
    await carol.mergeNoFf('restore/shop-replan');
    clock.advance(HOUR);
    const finished = await r.pass();
    expect(finished.events).toContainEqual({
      action: 'apply-restore',
      subject: 'shop',
      outcome: 'Completed',
    });
    expect(await configMapsIn(ns)).toBe(OBJECTS);
    expect(await repo.yaml('status/restores/shop.yaml')).toMatchObject({ phase: 'Completed' });
    expect(await readRecord(dataDir)).toMatchObject({
      phase: 'Completed',
      counts: { created: creates, failed: 0 },
    });

    // The name is taken now: applying another restore under it is refused, and nothing changes.
    const again = await runCli([
      'restore',
      'apply',
      'shop',
      '--from-backup',
      backup?.subject ?? '',
      '--storage',
      join(dataDir, 'backups'),
      '--kubeconfig',
      ground().kubeconfigPath,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /restore shop already exists in .* \(Completed, completed .*\): use another name, or --replace/,
    );
    expect(await readRecord(dataDir)).toMatchObject({ phase: 'Completed', counts: { created: creates } });
  }, 600_000);
});
