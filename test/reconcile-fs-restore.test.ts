// File-system volume copies through the Git flow (issue 13): the policy repo's S3 location names
// its restic password Secret (spec.restic) and its keys' Secret; a scheduled pass backs up a
// running pod whose emptyDir Velero's annotation selects, and the node agent copies it with
// restic; the namespace is lost; a Restore on a restore/* branch is planned by a pass (the pod's
// item lists the volume with its restic snapshot), merged, and applied by the next pass, which
// fills the volume before the pod's containers start; the pod prints the same sha256 of every file.
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
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { resticBinary } from './ground/restic.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir } from './ground/world.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';
import { dataPod, RESTORED_CHECKSUMS } from './fixtures/claim-pods.js';

const TIMEOUT = 900_000;
const PASSWORD = 'pw-git-flow-fs';
const SUMS = RESTORED_CHECKSUMS;
const WRITE =
  'head -c 3145728 /dev/urandom > /data/blob; mkdir -p /data/small; ' +
  'for i in $(seq 1 80); do echo "file $i $RANDOM" > /data/small/f$i; done';

describe('a file-system volume copy restored through the Git flow', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const kube = new KubeHandle();
  let agent: RunningAgent;

  beforeAll(async () => {
    if (!ground().node) throw new Error('the test ground has no node: global-setup must start it');
    // The reconciler makes its PodVolumeBackups in lifeboat's own namespace; no other test's
    // agent takes work there.
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-git-')), {
      namespace: 'lifeboat',
      name: 'lifeboat-agent-git',
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
    'backs the volume up in a pass, plans it with its restic snapshot, and fills it before the pod starts after the merge',
    async () => {
      const { s3 } = ground();
      const ns = await newNamespace('fs-git');
      const secrets = await newNamespace('fs-git-sys');
      const bucket = await newBucket('fs-git');
      await createResticSecrets(core, secrets, { password: PASSWORD });
      await core.createNamespacedPod({
        namespace: ns,
        body: dataPod({
          name: 'app',
          write: WRITE,
          sums: SUMS,
          annotations: { 'backup.velero.io/backup-volumes': 'data' },
          volumes: [{ volume: { name: 'data', emptyDir: {} }, mountPath: '/data' }],
        }),
      });
      await readyPod(ns, 'app', 300_000);
      const written = await core.readNamespacedPodLog({ name: 'app', namespace: ns, container: 'main' });
      expect(written.split('\n').filter(Boolean)).toHaveLength(81);

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
      const repo = await createPolicyRepo({
        'storage-locations/primary.yaml': location,
        'schedules/app.yaml': scheduleDoc('app-nightly', { cron: '0 2 * * *', namespaces: [ns] }),
      });
      const clock = new FakeClock('2025-03-01T09:00:00Z');
      const r = await reconcilerFor(repo, {
        dataDir: await tempDir('fs-git-data-'),
        kube,
        clock,
        deps: { restic: { binary: resticBinary() }, restoreWaitImage: busyboxImage() },
      });
      const backup = 'app-nightly-20250301090000';
      expect((await r.pass()).events).toEqual([{ action: 'backup', subject: backup, outcome: 'Completed' }]);
      const [record] = decodePodVolumeBackups(
        await readSmallObject(s3Store(bucket), backupLayout.podVolumeBackups(backup)),
        `${backup}-podvolumebackups.json.gz`,
      );
      expect(record).toEqual(
        expect.objectContaining({ volume: 'data', snapshotId: expect.any(String) as unknown }),
      );
      await deleteNamespaces(await kube.get(), [ns]);

      const bob = await repo.as(BOB);
      await bob.push(
        { 'restores/app.yaml': restoreDoc('app', { scheduleName: 'app-nightly' }) },
        { message: 'restore app', branch: 'restore/app' },
      );
      expect((await r.pass()).events).toEqual([
        { action: 'plan-restore', subject: 'app', outcome: 'planned' },
      ]);
      const plan = JSON.parse((await repo.file('plans/app.json', 'restore/app')) ?? '{}') as RestorePlan;
      const pod = plan.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
      expect(pod?.podVolumes).toEqual([
        expect.objectContaining({
          volume: 'data',
          snapshotId: record?.snapshotId,
          files: 81,
          action: 'restore',
        }),
      ]);
      // The Markdown plan names the snapshot by restic's short id, as `restic snapshots` prints it.
      expect((await repo.file('plans/app.md', 'restore/app')) ?? '').toContain(
        `${ns}/${(record?.snapshotId ?? '?').slice(0, 12)}`,
      );

      await (await repo.as(CAROL)).mergeNoFf('restore/app');
      expect((await r.pass()).events).toEqual([
        { action: 'apply-restore', subject: 'app', outcome: 'Completed' },
      ]);
      expect((await repo.yaml<{ phase: string }>('status/restores/app.yaml'))?.phase).toBe('Completed');
      await readyPod(ns, 'app', 300_000);
      const restored = await core.readNamespacedPodLog({ name: 'app', namespace: ns, container: 'main' });
      expect(restored.split('\n').filter(Boolean).sort()).toEqual(written.split('\n').filter(Boolean).sort());
      // The restic password stays in its Secret: not in the plan, the status or the result.
      for (const path of ['plans/app.md', 'plans/app.json']) {
        expect((await repo.file(path, 'restore/app')) ?? '').not.toContain(PASSWORD);
      }
      expect(JSON.stringify(await repo.yaml('status/restores/app.yaml'))).not.toContain(PASSWORD);
      await deleteNamespaces(await kube.get(), [ns]);
    },
    TIMEOUT,
  );
});
