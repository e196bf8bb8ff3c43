// Snapshot data movement (snapshotMoveData, ADR 0034) on the real ground with the node agent
// running: a claim of the ground's CSI storage holding random bytes and many small files is
// backed up with snapshotMoveData: its CSI snapshot is taken, a temporary claim made from it is
// mounted by a short-lived pod and copied by the agent with restic, and then the temporary pod,
// claim, VolumeSnapshot and content are gone — the copy lives only in the bucket. The records
// (volumeinfo's snapshotDataMovementInfo, the podvolumebackups side file) name the restic
// snapshot. Without a restic repository the claim fails by name and nothing is left behind.
// Then the namespace is deleted and restored: the plan lists the claim with its restic snapshot,
// the claim is provisioned anew and filled before the pod that mounts it is created, and the
// pod reads identical sha256 sums.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { runBackup } from '../src/backup/engine.js';
import { readBackupLog } from '../src/backup/catalog.js';
import type { KubeClient } from '../src/kube/client.js';
import { backupLayout } from '../src/storage/layout.js';
import { readSmallObject } from '../src/storage/store.js';
import { decodePodVolumeBackups } from '../src/volumes/podvolumebackups-file.js';
import type { FsBackupConfig } from '../src/volumes/phase.js';
import type { BackupVolumeInfo } from '../src/volumes/volume-info.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { archiveEntries, groundKube, s3Store, unversioned } from './fixtures/backups.js';
import { createClaim, runClaimPod, RESTORED_CHECKSUMS } from './fixtures/claim-pods.js';
import { busyboxImage, eventually, readyPod } from './fixtures/pods.js';
import { ground, kubeConfig, newBucket, newNamespace } from './ground/world.js';
import { createResticSecrets, groundRepository } from './fixtures/restic-secrets.js';

const TIMEOUT = 900_000;
const SUMS = RESTORED_CHECKSUMS;
/** 4 MB of random bytes and 300 small files in nested directories, then their sums. */
const WRITE =
  'head -c 4194304 /dev/urandom > /data/blob; mkdir -p /data/small/a /data/small/b; ' +
  'for i in $(seq 1 150); do echo "a $i $RANDOM" > /data/small/a/f$i; echo "b $i $RANDOM" > /data/small/b/f$i; done; ' +
  SUMS;

describe('snapshot data movement (snapshotMoveData) with the node agent and restic', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const custom = kubeConfig().makeApiClient(CustomObjectsApi);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  let system: string;
  let bucket: string;
  let fsBackup: FsBackupConfig;
  let written: string[];
  /** The restic snapshot and volume of the claim in backup mv1. */
  let moved: { snapshotId: string; bytes: number; pv: string } | undefined;

  const snapshotsIn = async (ns: string): Promise<string[]> => {
    const list = (await custom.listNamespacedCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      namespace: ns,
      plural: 'volumesnapshots',
    })) as { items: { metadata: { name: string } }[] };
    return list.items.map((i) => i.metadata.name);
  };
  const contentsOf = async (backup: string): Promise<string[]> => {
    const list = (await custom.listClusterCustomObject({
      group: 'snapshot.storage.k8s.io',
      version: 'v1',
      plural: 'volumesnapshotcontents',
      labelSelector: `velero.io/backup-name=${backup}`,
    })) as { items: { metadata: { name: string } }[] };
    return list.items.map((i) => i.metadata.name);
  };
  const claimsIn = async (ns: string): Promise<string[]> =>
    (await core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.map(
      (c) => c.metadata?.name ?? '',
    );
  const podsIn = async (ns: string): Promise<string[]> =>
    (await core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata?.name ?? '');

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    kube = await groundKube();
    namespace = await newNamespace('mv');
    system = await newNamespace('mv-sys');
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-')), { namespace: system });
    bucket = await newBucket('mv');
    await createResticSecrets(core, system, { password: 'pw-move-data' });
    fsBackup = {
      namespace: system,
      pollMs: 300,
      moverImage: busyboxImage(),
      repository: groundRepository(bucket, system),
    };
    await createClaim(core, namespace, 'data');
    written = (await runClaimPod(core, { namespace, name: 'writer', claim: 'data', script: WRITE }))
      .split('\n')
      .filter(Boolean)
      .sort();
    expect(written).toHaveLength(301);
    // The workload: a pod that mounts the claim and prints the sums of what it finds.
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'app' },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'main',
              image: busyboxImage(),
              imagePullPolicy: 'Never',
              command: ['sh', '-euc', `${SUMS}; touch /tmp/ready; exec sleep 100000`],
              readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        },
      },
    });
    await readyPod(namespace, 'app', 300_000);
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    kube?.close();
  });

  it(
    'copies the snapshot through a temporary claim and pod into restic, records it, and leaves no snapshot, claim or pod',
    async () => {
      const store = s3Store(bucket);
      const result = await runBackup(
        { name: 'mv1', spec: { includedNamespaces: [namespace], snapshotMoveData: true } },
        { kube, store, fsBackup },
      );
      expect(result.errors, JSON.stringify(result.errors)).toEqual([]);
      expect(result.warnings, JSON.stringify(result.warnings)).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.volumes).toHaveLength(1);
      const [volume] = result.volumes;
      expect(volume).toMatchObject({ namespace, claim: 'data', method: 'CSISnapshot', result: 'succeeded' });
      expect(volume?.moved?.snapshotId).toMatch(/^[0-9a-f]{64}$/);
      expect(volume?.moved).toMatchObject({ repositoryNamespace: namespace, files: 301, dirs: 3 });
      expect(volume?.moved?.bytes).toBeGreaterThan(4194304);

      // Only the bucket holds the copy: no VolumeSnapshot, content, temporary claim or pod.
      expect(await snapshotsIn(namespace)).toEqual([]);
      // The snapshot controller deletes the content (and the storage's snapshot) after the
      // VolumeSnapshot is gone, in its own time: under load it lags behind the backup's end.
      await eventually(
        async () => ((await contentsOf('mv1')).length === 0 ? true : undefined),
        'the snapshot contents of backup mv1 to be deleted',
      );
      expect(await claimsIn(namespace)).toEqual(['data']);
      expect(await podsIn(namespace)).toEqual(['app']);

      // The records: volumeinfo (Velero's fields), the podvolumebackups side file, the archive.
      const info = JSON.parse(
        gunzipSync(await readSmallObject(store, backupLayout.volumeInfo('mv1'))).toString('utf8'),
      ) as BackupVolumeInfo[];
      expect(info).toEqual([
        expect.objectContaining({
          pvcName: 'data',
          pvcNamespace: namespace,
          backupMethod: 'CSISnapshot',
          snapshotDataMoved: true,
          preserveLocalSnapshot: false,
          result: 'succeeded',
          snapshotDataMovementInfo: expect.objectContaining({
            dataMover: 'lifeboat',
            uploaderType: 'restic',
            snapshotHandle: volume?.moved?.snapshotId,
            phase: 'Completed',
          }) as unknown,
        }),
      ]);
      const records = decodePodVolumeBackups(
        await readSmallObject(store, backupLayout.podVolumeBackups('mv1')),
        'mv1-podvolumebackups.json.gz',
      );
      expect(records.map((r) => [r.namespace, r.sourceClaim, r.snapshotId, r.files])).toEqual([
        [namespace, 'data', volume?.moved?.snapshotId, 301],
      ]);
      const entries = unversioned((await archiveEntries(store, 'mv1')).items);
      expect(entries.filter((e) => e.groupResource.startsWith('volumesnapshot'))).toEqual([]);
      expect(entries.some((e) => e.groupResource === 'podvolumebackups.lifeboat.dev')).toBe(true);
      const log = await readBackupLog(store, 'mv1');
      expect(log).toContain('snapshot data moved');
      moved = {
        snapshotId: volume?.moved?.snapshotId ?? '',
        bytes: volume?.moved?.bytes ?? 0,
        pv: volume?.pvName ?? '',
      };
    },
    TIMEOUT,
  );

  it(
    'without a restic repository the claim fails by name, the backup is PartiallyFailed and nothing is left',
    async () => {
      const store = s3Store(bucket);
      const result = await runBackup(
        { name: 'mv2', spec: { includedNamespaces: [namespace], snapshotMoveData: true } },
        { kube, store },
      );
      expect(result.phase).toBe('PartiallyFailed');
      expect(result.errors.map((e) => [e.namespace, e.resource, e.name])).toEqual([
        [namespace, 'persistentvolumeclaims', 'data'],
      ]);
      expect(result.errors[0]?.message).toContain(`snapshot data movement of claim ${namespace}/data failed`);
      expect(result.errors[0]?.message).toContain('no restic repository is configured');
      expect(await snapshotsIn(namespace)).toEqual([]);
      await eventually(
        async () => ((await contentsOf('mv2')).length === 0 ? true : undefined),
        'the snapshot contents of backup mv2 to be deleted',
      );
      expect(await claimsIn(namespace)).toEqual(['data']);
    },
    TIMEOUT,
  );

  it(
    'restores the claim as a new one filled from restic before its pod starts, with the namespace and every snapshot gone',
    async () => {
      if (!moved) throw new Error('the first test did not back up mv1');
      await deleteNamespaces(kube, [namespace]);
      // The disaster: nothing of the storage system's snapshot is left (the backup deleted it).
      expect(await contentsOf('mv1')).toEqual([]);
      const deps = {
        kube,
        store: s3Store(bucket),
        volumeBindTimeoutMs: 300_000,
        restoreWaitImage: busyboxImage(),
        fsRestore: { ...fsBackup },
      };
      const request = { name: 'mvr1', spec: { backupName: 'mv1' } };
      const { plan } = await planRestore(request, deps);
      expect(plan.volumes).toEqual([
        expect.objectContaining({
          namespace,
          claim: 'data',
          size: '64Mi',
          action: 'create-from-copy',
          copy: {
            sourceNamespace: namespace,
            snapshotId: moved.snapshotId,
            files: 301,
            dirs: 3,
            bytes: moved.bytes,
          },
        }),
      ]);
      const app = plan.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
      expect(app?.action).toBe('create');

      const result = await applyRestore(request, deps, { approvedHash: plan.hash });
      expect(
        result.items.filter((i) => i.result === 'failed'),
        JSON.stringify(result.items),
      ).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.movedClaims).toEqual([
        expect.objectContaining({
          namespace,
          claim: 'data',
          result: 'succeeded',
          snapshotId: moved.snapshotId,
          files: 301,
        }),
      ]);
      const pod = await readyPod(namespace, 'app', 300_000);
      // It would have waited had the fill failed: never started on an empty volume.
      expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['lifeboat-restore-wait']);
      const printed = await core.readNamespacedPodLog({ name: 'app', namespace, container: 'main' });
      expect(printed.split('\n').filter(Boolean).sort()).toEqual(written);
      // A new volume from the storage class, not the old one nor a snapshot.
      const claim = await core.readNamespacedPersistentVolumeClaim({ name: 'data', namespace });
      expect(claim.spec?.volumeName).toBeTruthy();
      expect(claim.spec?.volumeName).not.toBe(moved.pv);
      expect(claim.spec?.dataSource).toBeUndefined();
      expect(await podsIn(namespace)).toEqual(['app']);
    },
    TIMEOUT,
  );
});
