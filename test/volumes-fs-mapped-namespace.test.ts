// A claim copied with restic (file-system backup) restored into a mapped namespace while the
// original namespace, its pod and its claim still run (issue 13, ADR 0038). The backed-up claim
// names the original volume, which stays bound to the original claim: kept, the restored claim
// waited Pending for good. Now the plan says the claim gets a new volume from its storage class,
// the old volume is skipped (never taken from the original claim), the agent fills the new
// volume, the restored pod prints the same sha256 of every file, and the original claim, volume
// and data are untouched.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { FsBackupConfig } from '../src/volumes/phase.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { createClaim, dataPod, runClaimPod, RESTORED_CHECKSUMS } from './fixtures/claim-pods.js';
import { eventually, readyPod } from './fixtures/pods.js';
import { ground, kubeConfig, newBucket, newNamespace } from './ground/world.js';
import { createResticSecrets, groundRepository } from './fixtures/restic-secrets.js';

const TIMEOUT = 1_200_000;
const SUMS = RESTORED_CHECKSUMS;
const WRITE =
  'head -c 3145728 /dev/urandom > /data/blob; mkdir -p /data/small/deep; ' +
  'for i in $(seq 1 30); do echo "file $i $RANDOM" > /data/small/f$i; done; echo x > /data/small/deep/x';

const sorted = (s: string): string[] => s.split('\n').filter(Boolean).sort();

describe('a restic-copied claim restored into a mapped namespace beside the original', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  let system: string;
  let bucket: string;
  let fsBackup: FsBackupConfig;
  let written: string;

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    kube = await groundKube();
    namespace = await newNamespace('fsmap');
    system = await newNamespace('fsmap-sys');
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-')), { namespace: system });
    bucket = await newBucket('fsmap');
    await createResticSecrets(core, system, { password: 'pw-fs-mapped' });
    fsBackup = { namespace: system, pollMs: 300, repository: groundRepository(bucket, system) };
    await createClaim(core, namespace, 'data');
    await core.createNamespacedPod({
      namespace,
      body: dataPod({
        name: 'app',
        write: WRITE,
        sums: SUMS,
        annotations: { 'backup.velero.io/backup-volumes': 'data' },
        volumes: [
          { volume: { name: 'data', persistentVolumeClaim: { claimName: 'data' } }, mountPath: '/data' },
        ],
      }),
    });
    await readyPod(namespace, 'app', 300_000);
    written = await core.readNamespacedPodLog({ name: 'app', namespace });
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    kube?.close();
  });

  it(
    'binds the restored claim to a new volume filled from the copy and leaves the original alone',
    async () => {
      expect(sorted(written)).toHaveLength(32);
      const original = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace });
      const originalVolume = original.spec?.volumeName ?? '';
      expect(originalVolume).not.toBe('');

      const backup = await runBackup(
        { name: 'map1', spec: { includedNamespaces: [namespace] } },
        { kube, store: s3Store(bucket), fsBackup },
      );
      expect(backup.errors, JSON.stringify(backup.errors)).toEqual([]);
      expect(backup.podVolumes.map((v) => [v.volume, v.result])).toEqual([['data', 'succeeded']]);

      const target = `${namespace}-copy`;
      const deps = {
        kube,
        store: s3Store(bucket),
        volumeBindTimeoutMs: 600_000,
        restoreWaitImage: ground().node?.images.busybox ?? '',
        fsRestore: fsBackup,
      };
      const req = {
        name: 'map1-copy',
        spec: { backupName: 'map1', namespaceMapping: { [namespace]: target } },
      };
      const { plan } = await planRestore(req, deps);
      const item = (gr: string, name: string) =>
        plan.items.find((i) => i.groupResource === gr && i.name === name);
      const claimItem = item('persistentvolumeclaims', 'data');
      expect(claimItem?.action).toBe('create');
      expect(claimItem?.warnings ?? []).toEqual([]);
      expect(claimItem?.notes?.join('\n')).toMatch(
        new RegExp(
          `file-system copy \\(restic\\): storage class ${ground().csi?.storageClass ?? ''} provisions a new volume, which the restore fills from the copy; its volume ${originalVolume} is not restored, and stays with claim ${namespace}/data`,
        ),
      );
      const volumeItem = item('persistentvolumes', originalVolume);
      expect(volumeItem?.action).toBe('skip');
      expect(volumeItem?.reason).toMatch(/file-system copy \(restic\)/);
      expect(item('pods', 'app')?.podVolumes?.map((v) => [v.volume, v.claim])).toEqual([['data', 'data']]);

      const result = await applyRestore(req, deps, { approvedHash: plan.hash });
      expect(
        result.items.filter((i) => i.result === 'failed'),
        JSON.stringify(result.items, null, 1),
      ).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.podVolumes?.map((v) => [v.volume, v.result])).toEqual([['data', 'succeeded']]);

      // The restored pod starts on its data: the same files, the same sums.
      await readyPod(target, 'app', 600_000);
      const restoredLog = await core.readNamespacedPodLog({
        name: 'app',
        namespace: target,
        container: 'main',
      });
      expect(sorted(restoredLog)).toEqual(sorted(written));

      // The restored claim has a volume of its own, provisioned from the class.
      const restored = await eventually(
        async () => {
          const c = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace: target });
          return c.status?.phase === 'Bound' ? c : undefined;
        },
        `claim ${target}/data to be Bound`,
        300_000,
      );
      const newVolume = restored.spec?.volumeName ?? '';
      expect(newVolume).not.toBe('');
      expect(newVolume).not.toBe(originalVolume);
      const pv = await core.readPersistentVolume({ name: newVolume });
      expect(pv.spec?.claimRef?.namespace).toBe(target);
      expect(pv.spec?.storageClassName).toBe(ground().csi?.storageClass);

      // The original is untouched: its claim keeps its volume, the volume its claim, the pod runs.
      const after = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace });
      expect(after.status?.phase).toBe('Bound');
      expect(after.spec?.volumeName).toBe(originalVolume);
      const originalPv = await core.readPersistentVolume({ name: originalVolume });
      expect(originalPv.spec?.claimRef).toMatchObject({
        namespace,
        name: 'data',
        uid: original.metadata?.uid,
      });
      expect(originalPv.status?.phase).toBe('Bound');
      const pod = await core.readNamespacedPod({ name: 'app', namespace });
      expect(pod.status?.containerStatuses?.every((c) => c.ready)).toBe(true);
      // …and so is its data (same node, so a second pod may mount the ReadWriteOnce claim).
      const sums = await runClaimPod(core, { namespace, name: 'check', claim: 'data', script: SUMS });
      expect(sorted(sums)).toEqual(sorted(written));
    },
    TIMEOUT,
  );
});
