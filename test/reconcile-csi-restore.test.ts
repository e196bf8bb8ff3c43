// Volume data through the Git flow (issue 12): a pod writes 50 MB of random bytes and many small
// files to a ground-csi claim; a schedule in the policy repo is backed up by a reconcile pass (a
// CSI snapshot of the claim); the namespace is lost; a Restore on a restore/* branch is planned
// by a pass (the plan lists the volume with size, class, snapshot and action), merged, and
// applied by the next pass; a new pod reads the same sha256 of every file, and the temporary
// VolumeSnapshot the restore made is gone. Again into a mapped namespace. Last, the backup's
// snapshot is lost on the storage side, and the next plan marks the claim invalid with the reason.
import { CoreV1Api } from '@kubernetes/client-node';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotApi } from '../src/kube/snapshots.js';
import type { RestorePlan } from '../src/restore/plan.js';
import { CLAIM_CHECKSUMS, createClaim, runClaimPod } from './fixtures/claim-pods.js';
import { eventually } from './fixtures/pods.js';
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
  type PolicyRepo,
  type Reconciler,
} from './fixtures/policy-repo.js';
import { ground, kubeConfig, newNamespace, tempDir, uniqueName } from './ground/world.js';

const SMALL_FILES = 300;
/** 50 MB of random bytes and many small files in nested directories, then every file's sum. */
const WRITE_50MB = [
  'head -c 52428800 /dev/urandom > /data/blob',
  `for i in $(seq 1 ${SMALL_FILES}); do d=/data/small/d$((i % 10)); mkdir -p $d; echo "file $i $RANDOM $RANDOM" > $d/f$i; done`,
  CLAIM_CHECKSUMS,
].join('; ');

const kube = new KubeHandle();
afterEach(() => kube.close());

/** Bob asks for a restore on its review branch; a pass plans it; the plan's JSON and Markdown. */
async function planOnBranch(
  repo: PolicyRepo,
  r: Reconciler,
  name: string,
  doc: string,
): Promise<{ plan: RestorePlan; markdown: string }> {
  const bob = await repo.as(BOB);
  await bob.push(
    { [`restores/${name}.yaml`]: doc },
    { message: `restore ${name}`, branch: `restore/${name}` },
  );
  expect((await r.pass()).events).toEqual([{ action: 'plan-restore', subject: name, outcome: 'planned' }]);
  const plan = JSON.parse((await repo.file(`plans/${name}.json`, `restore/${name}`)) ?? '{}') as RestorePlan;
  const markdown = (await repo.file(`plans/${name}.md`, `restore/${name}`)) ?? '';
  return { plan, markdown };
}

describe('a CSI volume restored through the Git flow', () => {
  it('is planned with its snapshot, applied after the merge, and reads back the same data', async () => {
    const { csi } = ground();
    if (!csi) throw new Error('the test ground has no CSI storage (global-setup node: true)');
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const k = await kube.get();
    const api = new SnapshotApi(k);
    const ns = await newNamespace('csi-git');
    await createClaim(core, ns, 'data');
    const written = await runClaimPod(core, {
      namespace: ns,
      name: 'writer',
      claim: 'data',
      script: WRITE_50MB,
    });
    const sums = written.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l));
    expect(sums).toHaveLength(SMALL_FILES + 1);

    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': localLocation('primary', { path: 'backups', isDefault: true }),
      'schedules/app.yaml': scheduleDoc('app-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const clock = new FakeClock('2025-02-01T09:00:00Z');
    const r = await reconcilerFor(repo, { dataDir: await tempDir('csi-git-data-'), kube, clock });
    const backup = 'app-nightly-20250201090000';
    expect((await r.pass()).events).toEqual([{ action: 'backup', subject: backup, outcome: 'Completed' }]);
    const [content] = await api.contentsLabelled(`velero.io/backup-name=${backup}`);
    const handle = content?.status?.snapshotHandle;
    expect(handle, `content ${content?.metadata.name ?? '(none)'}`).toBeTruthy();
    await deleteNamespaces(k, [ns]);

    const restoreAndRead = async (name: string, target: string, mapping?: Record<string, string>) => {
      const { plan, markdown } = await planOnBranch(
        repo,
        r,
        name,
        restoreDoc(name, { scheduleName: 'app-nightly', ...(mapping ? { namespaceMapping: mapping } : {}) }),
      );
      expect(plan.volumes).toEqual([
        {
          namespace: target,
          claim: 'data',
          size: '64Mi',
          storageClass: csi.storageClass,
          snapshot: expect.objectContaining({
            volumeSnapshot: expect.stringMatching(new RegExp(`^${ns}/`)) as unknown,
            handle,
            driver: csi.driver,
            restoredAs: expect.any(String) as unknown,
          }) as unknown,
          action: 'create-from-snapshot',
        },
      ]);
      expect(markdown).toContain('## Volumes (1)');
      expect(markdown).toContain(`| \`${target}/data\` | 64Mi | \`${csi.storageClass}\` |`);
      expect(markdown).toContain(`(handle \`${handle ?? '?'}\``);

      const carol = await repo.as(CAROL);
      await carol.mergeNoFf(`restore/${name}`);
      expect((await r.pass()).events).toEqual([
        { action: 'apply-restore', subject: name, outcome: 'Completed' },
      ]);
      const status = await repo.yaml<{ phase: string }>(`status/restores/${name}.yaml`);
      expect(status?.phase).toBe('Completed');

      expect(
        await runClaimPod(core, {
          namespace: target,
          name: 'reader',
          claim: 'data',
          script: CLAIM_CHECKSUMS,
        }),
      ).toBe(written);
      // The claim is bound, so the VolumeSnapshot the restore made for it (and its static
      // content) are gone again; the backup's own content is kept.
      const restoredAs = plan.volumes?.[0]?.snapshot?.restoredAs ?? '?';
      expect(await api.snapshot(target, restoredAs)).toBeNull();
      expect(await api.content(restoredAs)).toBeNull();
      expect(await api.content(content?.metadata.name ?? '?')).not.toBeNull();
    };

    await restoreAndRead('app', ns);
    const mapped = uniqueName('csi-git-copy');
    await restoreAndRead('copy', mapped, { [ns]: mapped });
    await deleteNamespaces(k, [ns, mapped]);

    // The snapshot is lost outside lifeboat: its content deleted in the cluster (Retain, so the
    // driver is not asked) and the driver's copy removed. The next plan says the claim cannot
    // come back from it, and why.
    await api.deleteContent(content?.metadata.name ?? '?');
    await eventually(
      async () => ((await api.content(content?.metadata.name ?? '?')) === null ? true : undefined),
      'the backup content to go',
    );
    await rm(join(csi.stateDir, 'snapshots', handle ?? '?'), { recursive: true, force: true });
    const { plan: gone, markdown } = await planOnBranch(
      repo,
      r,
      'gone',
      restoreDoc('gone', { scheduleName: 'app-nightly' }),
    );
    expect(gone.volumes).toEqual([
      expect.objectContaining({ namespace: ns, claim: 'data', action: 'invalid' }),
    ]);
    expect(gone.volumes?.[0]?.reason).toMatch(
      new RegExp(`its CSI snapshot ${ns}/\\S+ \\(handle ${handle ?? '?'}\\) no longer exists: driver `),
    );
    expect(gone.items.find((i) => i.groupResource === 'persistentvolumeclaims')?.action).toBe('invalid');
    expect(markdown).toContain('no longer exists');
  }, 1_200_000);
});
