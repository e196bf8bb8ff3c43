// Snapshot data movement through the Git flow (issue 13, ADR 0034): the policy repo's S3 location
// names its restic password Secret and its keys' Secret, and a BackupSchedule's template says
// snapshotMoveData: true. A scheduled pass snapshots the claim of the ground's CSI storage and
// the node agent copies the snapshot into restic/<namespace>; the backup's status in Git says the
// volume's data was moved. The namespace is lost; a Restore on a restore/* branch is planned by a
// pass (the claim `create-from-copy`, with the restic snapshot, files and bytes), merged, and
// applied by the next pass, which provisions the claim anew and fills it before the pod that
// mounts it starts; the pod prints the same sha256 of every file.
import { CoreV1Api } from '@kubernetes/client-node';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RestorePlan } from '../src/restore/plan.js';
import { decodePodVolumeBackups } from '../src/volumes/podvolumebackups-file.js';
import { backupLayout } from '../src/storage/layout.js';
import { readSmallObject } from '../src/storage/store.js';
import { s3Store } from './fixtures/backups.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import {
  BOB,
  CAROL,
  createPolicyRepo,
  FakeClock,
  KubeHandle,
  reconcilerFor,
  restoreDoc,
} from './fixtures/policy-repo.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { resticBinary } from './ground/restic.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir } from './ground/world.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';
import { createClaim, dataPod, RESTORED_CHECKSUMS } from './fixtures/claim-pods.js';

const TIMEOUT = 900_000;
const PASSWORD = 'pw-git-flow-move';
const SUMS = RESTORED_CHECKSUMS;
const WRITE =
  'head -c 3145728 /dev/urandom > /data/blob; mkdir -p /data/small; ' +
  'for i in $(seq 1 60); do echo "file $i $RANDOM" > /data/small/f$i; done';

describe('snapshot data movement (snapshotMoveData) through the Git flow', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const kube = new KubeHandle();
  let agent: RunningAgent;

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    // The reconciler makes its PodVolumeBackups in lifeboat's own namespace; no other test's
    // agent takes work there.
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-git-mv-')), {
      namespace: 'lifeboat',
      name: 'lifeboat-agent-git-mv',
    });
    await core.createNamespace({ body: { metadata: { name: 'lifeboat' } } }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    await kube.close();
  });

  it(
    'moves the snapshot in a scheduled pass, says so in the status, plans the claim from its copy and fills it after the merge',
    async () => {
      const { s3 } = ground();
      const ns = await newNamespace('mv-git');
      const secrets = await newNamespace('mv-git-sys');
      const bucket = await newBucket('mv-git');
      await createResticSecrets(core, secrets, { password: PASSWORD });
      await createClaim(core, ns, 'data');
      await core.createNamespacedPod({
        namespace: ns,
        body: dataPod({
          name: 'app',
          write: WRITE,
          sums: SUMS,
          annotations: {},
          volumes: [
            { volume: { name: 'data', persistentVolumeClaim: { claimName: 'data' } }, mountPath: '/data' },
          ],
        }),
      });
      await readyPod(ns, 'app', 300_000);
      const written = (await core.readNamespacedPodLog({ name: 'app', namespace: ns, container: 'main' }))
        .split('\n')
        .filter(Boolean)
        .sort();
      expect(written).toHaveLength(61);

      const location = stringify({
        apiVersion: 'lifeboat.dev/v1',
        kind: 'StorageLocation',
        metadata: { name: 'primary' },
        spec: {
          provider: 'aws',
          default: true,
          objectStorage: { bucket },
          config: { region: s3.region, s3Url: s3.endpoint, s3ForcePathStyle: true },
          credential: { secretRef: { namespace: secrets, name: 's3', key: 'cloud' } },
          restic: { passwordSecretRef: { namespace: secrets, name: 'restic', key: 'password' } },
        },
      });
      const schedule = stringify({
        apiVersion: 'lifeboat.dev/v1',
        kind: 'BackupSchedule',
        metadata: { name: 'data-nightly' },
        spec: { schedule: '0 2 * * *', template: { includedNamespaces: [ns], snapshotMoveData: true } },
      });
      const repo = await createPolicyRepo({
        'storage-locations/primary.yaml': location,
        'schedules/data.yaml': schedule,
      });
      const clock = new FakeClock('2025-03-01T09:00:00Z');
      const r = await reconcilerFor(repo, {
        dataDir: await tempDir('mv-git-data-'),
        kube,
        clock,
        // The image of the short-lived pods (the mover's and the fill's) that only wait.
        deps: { restic: { binary: resticBinary() }, restoreWaitImage: busyboxImage() },
      });
      const backup = 'data-nightly-20250301090000';
      expect((await r.pass()).events).toEqual([{ action: 'backup', subject: backup, outcome: 'Completed' }]);
      const [record] = decodePodVolumeBackups(
        await readSmallObject(s3Store(bucket), backupLayout.podVolumeBackups(backup)),
        `${backup}-podvolumebackups.json.gz`,
      );
      expect(record).toEqual(
        expect.objectContaining({
          namespace: ns,
          sourceClaim: 'data',
          snapshotId: expect.any(String) as unknown,
        }),
      );
      // The status in Git says the claim's snapshot was taken and its data moved into restic.
      const status = await repo.yaml<Record<string, unknown>>(`status/backups/${backup}.yaml`);
      expect(status).toMatchObject({
        phase: 'Completed',
        errors: 0,
        volumes: {
          snapshotMoveData: true,
          csiSnapshots: { attempted: 1, completed: 1 },
          dataMoved: { attempted: 1, completed: 1, failed: 0 },
        },
      });
      await deleteNamespaces(await kube.get(), [ns]);

      const bob = await repo.as(BOB);
      await bob.push(
        { 'restores/data.yaml': restoreDoc('data', { scheduleName: 'data-nightly' }) },
        { message: 'restore data', branch: 'restore/data' },
      );
      expect((await r.pass()).events).toEqual([
        { action: 'plan-restore', subject: 'data', outcome: 'planned' },
      ]);
      const plan = JSON.parse((await repo.file('plans/data.json', 'restore/data')) ?? '{}') as RestorePlan;
      expect(plan.volumes).toEqual([
        expect.objectContaining({
          namespace: ns,
          claim: 'data',
          action: 'create-from-copy',
          copy: expect.objectContaining({
            sourceNamespace: ns,
            snapshotId: record?.snapshotId,
            files: 61,
            bytes: record?.bytes,
          }) as unknown,
        }),
      ]);
      const markdown = (await repo.file('plans/data.md', 'restore/data')) ?? '';
      expect(markdown).toContain(
        `restic \`${(record?.snapshotId ?? '?').slice(0, 12)}\` in \`restic/${ns}\` (61 files, ${record?.bytes} bytes)`,
      );
      expect(markdown).toContain('create, fill from restic');

      await (await repo.as(CAROL)).mergeNoFf('restore/data');
      expect((await r.pass()).events).toEqual([
        { action: 'apply-restore', subject: 'data', outcome: 'Completed' },
      ]);
      expect((await repo.yaml<{ phase: string }>('status/restores/data.yaml'))?.phase).toBe('Completed');
      const pod = await readyPod(ns, 'app', 300_000);
      // It waited for the fill in its restore-wait container: never started on an empty volume.
      expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['lifeboat-restore-wait']);
      const restored = await core.readNamespacedPodLog({ name: 'app', namespace: ns, container: 'main' });
      expect(restored.split('\n').filter(Boolean).sort()).toEqual(written);
      // The restic password stays in its Secret: not in the plan, the status or the result.
      for (const path of ['plans/data.md', 'plans/data.json']) {
        expect((await repo.file(path, 'restore/data')) ?? '').not.toContain(PASSWORD);
      }
      expect(JSON.stringify(await repo.yaml(`status/backups/${backup}.yaml`))).not.toContain(PASSWORD);
      expect(JSON.stringify(await repo.yaml('status/restores/data.yaml'))).not.toContain(PASSWORD);
      await deleteNamespaces(await kube.get(), [ns]);
    },
    TIMEOUT,
  );
});
