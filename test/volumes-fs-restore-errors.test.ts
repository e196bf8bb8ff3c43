// File-system volume restores into a volume that cannot take the data, on the real ground with
// the node agent: a memory-backed emptyDir that a resource modifier shrinks to 1 MiB at restore
// (the kubelet mounts a tmpfs of that size, so restic meets "no space left on device"), and a
// claim the pod mounts readOnly (the CSI driver publishes it read-only, so restic meets
// "read-only file system"). Each gives an error naming the pod, the volume and the claim; the
// pod's item fails, the restore is PartiallyFailed, no restore marker is written, and each pod
// stays in its restore-wait init container: never started on partial data.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, type V1Pod, type V1Volume } from '@kubernetes/client-node';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { restorePodVolumes } from '../src/restore/pod-volume-restores.js';
import { RunLog } from '../src/observe/run-log.js';
import type { RestoreSpec } from '../src/restore/spec.js';
import {
  POD_VOLUME_RESTORE,
  RESTORE_NAME_LABEL,
  type PodVolumeRestore,
} from '../src/volumes/pod-volume-types.js';
import type { FsBackupConfig } from '../src/volumes/phase.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { createClaim, runClaimPod } from './fixtures/claim-pods.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { ground, kubeConfig, newBucket, newNamespace } from './ground/world.js';
import { createResticSecrets, groundRepository } from './fixtures/restic-secrets.js';

const TIMEOUT = 900_000;

describe('file-system volume restores into a full or read-only volume', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  let system: string;
  let bucket: string;
  let fsBackup: FsBackupConfig;

  /** A pod that keeps running after `script` wrote its data, with its volume `data` at /data. */
  const pod = (name: string, script: string, data: V1Volume): V1Pod => ({
    metadata: { name, annotations: { 'backup.velero.io/backup-volumes': 'data' } },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'main',
          image: busyboxImage(),
          imagePullPolicy: 'Never',
          command: ['sh', '-euc', `${script}; touch /tmp/ready; exec sleep 100000`],
          readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
      ],
      volumes: [{ ...data, name: 'data' }],
    },
  });

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    kube = await groundKube();
    namespace = await newNamespace('fse');
    system = await newNamespace('fse-sys');
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-')), { namespace: system });
    bucket = await newBucket('fse');
    await createResticSecrets(core, system, { password: 'pw-fs-errors' });
    fsBackup = {
      namespace: system,
      pollMs: 300,
      repository: groundRepository(bucket, system),
    };
    // A memory-backed emptyDir of 8 MiB holding 3 MiB.
    await core.createNamespacedPod({
      namespace,
      body: pod('memory', 'head -c 3145728 /dev/urandom > /data/blob; echo small > /data/small', {
        name: 'data',
        emptyDir: { medium: 'Memory', sizeLimit: '8Mi' },
      }),
    });
    // 600 small files: 60 kB of data, but a page each on a tmpfs (2.4 MiB).
    await core.createNamespacedPod({
      namespace,
      body: pod(
        'tiny',
        'mkdir /data/small; for i in $(seq 1 600); do head -c 100 /dev/urandom > /data/small/f$i; done',
        { name: 'data', emptyDir: { medium: 'Memory', sizeLimit: '8Mi' } },
      ),
    });
    // A claim written once, then mounted readOnly by the pod that is backed up.
    await createClaim(core, namespace, 'shared');
    await runClaimPod(core, {
      namespace,
      name: 'writer',
      claim: 'shared',
      script: 'head -c 1048576 /dev/urandom > /data/blob; mkdir /data/d; echo x > /data/d/x',
    });
    await core.createNamespacedPod({
      namespace,
      body: pod('reader', 'ls /data/blob', {
        name: 'data',
        persistentVolumeClaim: { claimName: 'shared', readOnly: true },
      }),
    });
    await readyPod(namespace, 'memory', 300_000);
    await readyPod(namespace, 'tiny', 300_000);
    await readyPod(namespace, 'reader', 300_000);
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    kube?.close();
  });

  it(
    'fails each volume with a clear error naming pod, volume and claim, and no pod starts on partial data',
    async () => {
      const store = s3Store(bucket);
      const backup = await runBackup(
        { name: 'fse1', spec: { includedNamespaces: [namespace] } },
        { kube, store, fsBackup },
      );
      expect(backup.errors, JSON.stringify(backup.errors)).toEqual([]);
      expect(backup.podVolumes.map((v) => [v.pod, v.volume, v.result])).toEqual([
        ['memory', 'data', 'succeeded'],
        ['reader', 'data', 'succeeded'],
        ['tiny', 'data', 'succeeded'],
      ]);
      expect(backup.podVolumes.find((v) => v.pod === 'memory')?.bytes).toBeGreaterThan(3145728);

      // Restored where it was, after it is gone: the claim gets a new volume (a mapped copy beside
      // the original would wait for the original's volume instead, volume-binding.ts).
      await deleteNamespaces(kube, [namespace]);
      const target = namespace;
      const spec: RestoreSpec = {
        backupName: 'fse1',
        // The restored emptyDirs are 1 MiB tmpfs: 3 MiB do not fit, nor 600 pages.
        resourceModifiers: {
          version: 'v1',
          resourceModifierRules: [
            {
              conditions: { groupResource: 'pods', resourceNameRegex: '^(memory|tiny)$' },
              patches: [{ operation: 'replace', path: '/spec/volumes/0/emptyDir/sizeLimit', value: '1Mi' }],
            },
          ],
        },
      };
      const deps = {
        kube,
        store,
        volumeBindTimeoutMs: 300_000,
        restoreWaitImage: busyboxImage(),
        fsRestore: { ...fsBackup },
      };
      const { plan } = await planRestore({ name: 'fser1', spec }, deps);
      expect(
        plan.items
          .filter((i) => i.groupResource === 'pods')
          .map((i) => [i.name, i.action, i.podVolumes?.length]),
      ).toEqual([
        ['memory', 'create', 1],
        ['reader', 'create', 1],
        ['tiny', 'create', 1],
      ]);
      const result = await applyRestore({ name: 'fser1', spec }, deps, { approvedHash: plan.hash });
      expect(result.phase).toBe('PartiallyFailed');
      expect(result.podVolumes?.map((v) => [v.pod, v.volume, v.claim, v.result])).toEqual([
        ['memory', 'data', undefined, 'failed'],
        ['reader', 'data', 'shared', 'failed'],
        ['tiny', 'data', undefined, 'failed'],
      ]);
      const item = (name: string) => result.items.find((i) => i.groupResource === 'pods' && i.name === name);
      for (const name of ['memory', 'reader', 'tiny']) expect(item(name)?.result, name).toBe('failed');
      // Too big for the volume: refused before restic wrote anything.
      const full = item('memory')?.message ?? '';
      expect(full).toContain(`volume data of pod ${target}/memory: the volume is full: it has`);
      expect(full).toContain('the backup holds 314');
      expect(full).toContain('nothing was restored');
      // Fits by bytes, not by blocks: restic filled it, then failed.
      const filled = item('tiny')?.message ?? '';
      expect(filled).toContain(
        `volume data of pod ${target}/tiny: the volume is full: it filled up during the restore`,
      );
      expect(filled).toContain('no space left on device');
      expect(filled).not.toContain('{"message_type"');
      const readOnly = item('reader')?.message ?? '';
      expect(readOnly).toContain(
        `volume data (claim shared) of pod ${target}/reader: the volume is mounted read-only on its node`,
      );
      // The restore's other items are not failed by them.
      expect(
        result.items.filter((i) => i.result === 'failed').map((i) => `${i.groupResource}/${i.name}`),
      ).toEqual(['pods/memory', 'pods/reader', 'pods/tiny']);

      // The agent's records say Failed, with no files or bytes shown as restored.
      const restores = (
        await kube.list(POD_VOLUME_RESTORE, {
          namespace: system,
          labelSelector: `${RESTORE_NAME_LABEL}=fser1`,
        })
      ).items as PodVolumeRestore[];
      expect(restores.map((r) => [r.spec.pod.name, r.status?.phase, r.status?.files])).toEqual(
        expect.arrayContaining([
          ['memory', 'Failed', undefined],
          ['reader', 'Failed', undefined],
          ['tiny', 'Failed', undefined],
        ]),
      );
      // Neither pod started its workload: each waits in its restore-wait container, no marker.
      for (const name of ['memory', 'reader', 'tiny']) {
        const live = await core.readNamespacedPod({ name, namespace: target });
        expect(live.status?.phase, name).toBe('Pending');
        expect(live.spec?.initContainers?.[0]?.name).toBe('lifeboat-restore-wait');
        expect(live.status?.containerStatuses?.some((c) => c.state?.running) ?? false, name).toBe(false);
      }
    },
    TIMEOUT,
  );

  it(
    "asks the agent only once the pod's restore-wait container runs, when its volumes are mounted",
    async () => {
      // A pod bound to a node whose kubelet never runs it: its volumes are never mounted. Before,
      // its PodVolumeRestore was made at once, and an agent could fill the bare directory that
      // the mount then hides (or find none).
      const ns = await newNamespace('fse-early');
      const name = 'unmounted';
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name },
          spec: {
            nodeName: 'no-such-node',
            initContainers: [{ name: 'lifeboat-restore-wait', image: busyboxImage(), command: ['true'] }],
            containers: [{ name: 'main', image: busyboxImage(), command: ['true'] }],
            volumes: [{ name: 'data', emptyDir: {} }],
          },
        },
      });
      const outcomes = await restorePodVolumes({
        kube,
        restoreName: 'early',
        pods: [
          {
            namespace: ns,
            name,
            volumes: [
              {
                volume: 'data',
                sourceNamespace: ns,
                snapshotId: '0'.repeat(64),
                files: 1,
                dirs: 0,
                bytes: 1,
                action: 'restore',
              },
            ],
          },
        ],
        config: { ...fsBackup, timeoutMs: 5_000, pollMs: 250 },
        runLog: new RunLog(),
      });
      expect(outcomes.map((x) => [x.pod, x.result])).toEqual([[name, 'failed']]);
      expect(outcomes[0]?.error).toBe(
        `volume data of pod ${ns}/${name}: its restore-wait init container did not start on node no-such-node in time, so its volumes were not mounted (see the pod's events)`,
      );
      const made = await kube.list(POD_VOLUME_RESTORE, {
        namespace: system,
        labelSelector: `${RESTORE_NAME_LABEL}=early`,
      });
      expect(made.items).toEqual([]);
    },
    TIMEOUT,
  );
});
