// Restore hooks through the Git flow (issue 14): a scheduled backup holds a pod with an init
// and an exec restore hook; the namespace is lost; a restore asked on a review branch is planned
// with both hooks in plans/<name>.md, merged, and applied by the reconciler; the exec hook ran in
// the restored pod, and status/restores/<name>.yaml records it (exit code, never output).
import { afterEach, describe, expect, it } from 'vitest';
import type { RestorePlan } from '../src/restore/plan.js';
import { readyPod, startRestoreHookedPod } from './fixtures/pods.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  localLocation,
  reconcilerFor,
  restoreDoc,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

describe('a restore with hooks approved by merging its review branch', () => {
  it('plans the hooks on the branch, runs them after the merge, and records them in status', async () => {
    const ns = await newNamespace('rhook');
    await startRestoreHookedPod(ns);
    const k = await kube.get();
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/app.yaml': scheduleDoc('app-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const clock = new FakeClock('2025-02-01T09:00:00Z');
    const r = await reconcilerFor(repo, { dataDir: await tempDir('rhook-data-'), kube, clock });
    expect((await r.pass()).events).toEqual([
      { action: 'backup', subject: 'app-nightly-20250201090000', outcome: 'Completed' },
    ]);
    await deleteNamespaces(k, [ns]);

    const bob = await repo.as(BOB);
    await bob.push(
      { 'restores/app.yaml': restoreDoc('app', { scheduleName: 'app-nightly', includedNamespaces: [ns] }) },
      { message: 'restore the app namespace', branch: 'restore/app' },
    );
    expect((await r.pass()).events).toEqual([{ action: 'plan-restore', subject: 'app', outcome: 'planned' }]);
    const plan = JSON.parse((await repo.file('plans/app.json', 'restore/app')) ?? '{}') as RestorePlan;
    const pod = plan.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
    expect(pod?.hooks?.map((h) => [h.type, h.container])).toEqual([
      ['init', 'prepare'],
      ['exec', 'main'],
    ]);
    const markdown = (await repo.file('plans/app.md', 'restore/app')) ?? '';
    expect(markdown).toContain('echo exec-ran > /data/exec-saw');

    const carol = await repo.as(CAROL);
    await carol.mergeNoFf('restore/app');
    expect((await r.pass()).events).toEqual([
      { action: 'apply-restore', subject: 'app', outcome: 'Completed' },
    ]);
    await readyPod(ns, 'app');
    const saw = await k.exec({
      namespace: ns,
      pod: 'app',
      container: 'main',
      command: ['cat', '/data/exec-saw'],
      timeoutMs: 60_000,
    });
    expect(saw.stdout).toBe('exec-ran\n');
    const status = await repo.yaml<{ phase: string; hooks?: unknown[] }>('status/restores/app.yaml');
    expect(status).toMatchObject({
      phase: 'Completed',
      hooks: [
        {
          pod: `${ns}/app`,
          container: 'main',
          command: ['/bin/sh', '-c', 'echo exec-ran > /data/exec-saw'],
          exitCode: 0,
          failed: false,
        },
      ],
    });
  });
});
