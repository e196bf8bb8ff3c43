// The node agent against the real ground: PodVolumeBackups of a running busybox pod's emptyDir
// and ground-csi volume go through restic into <prefix>/restic/<namespace> of the bucket;
// PodVolumeRestores fill the volumes of a new pod before its workload starts (a restore-wait
// init container), and the data comes back byte for byte (sha256). A wrong password and a
// missing repository fail with errors naming the volume.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CoreV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.js';
import { captureFsVolumes, fsVolumeErrors } from '../src/volumes/restic-capturer.js';
import { selectFsBackupVolumes } from '../src/volumes/fs-backup-select.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import type { NodeInfo } from './ground/context.js';
import { tail } from './ground/process.js';
import { ground, kubeConfig, newBucket, newNamespace, testS3Client } from './ground/world.js';
import { until } from './fixtures/pods.js';

const GROUP = { group: 'lifeboat.dev', version: 'v1alpha1' };
const TIMEOUT = 600_000;

interface Status {
  phase?: string;
  message?: string;
  snapshotID?: string;
  files?: number;
  dirs?: number;
  bytes?: number;
  progress?: { bytesDone: number; totalBytes: number };
}

function nodeOf(): NodeInfo {
  const { node, csi } = ground();
  if (!node || !csi)
    throw new Error('the test ground has no node or CSI storage: global-setup must start them');
  return node;
}

describe('the node agent (restic file-system backups)', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  let agent: RunningAgent;
  let namespace: string;
  let bucket: string;

  beforeAll(async () => {
    const logDir = await mkdtemp(join(ground().workDir, 'agent-'));
    namespace = await newNamespace('fs');
    agent = startNodeAgent(ground(), logDir, { namespace });
    bucket = await newBucket('fs');
    const { s3 } = ground();
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 'restic' },
        stringData: { password: 'correct horse battery staple\n', wrong: 'not the password' },
      },
    });
    await core.createNamespacedSecret({
      namespace,
      body: {
        metadata: { name: 's3' },
        stringData: {
          cloud: `[default]\naws_access_key_id=${s3.accessKeyId}\naws_secret_access_key=${s3.secretAccessKey}\n`,
        },
      },
    });
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
  });

  const repository = (o: { passwordKey?: string; passwordSecret?: string; prefix?: string } = {}) => ({
    volumeNamespace: namespace,
    bucket,
    prefix: o.prefix ?? 'backups',
    s3Url: ground().s3.endpoint,
    region: ground().s3.region,
    s3ForcePathStyle: true,
    credentialsSecret: { namespace, name: 's3', key: 'cloud' },
    passwordSecret: { namespace, name: o.passwordSecret ?? 'restic', key: o.passwordKey ?? 'password' },
  });

  const createPvc = async (name: string): Promise<string> => {
    await core.createNamespacedPersistentVolumeClaim({
      namespace,
      body: {
        metadata: { name },
        spec: {
          storageClassName: ground().csi?.storageClass ?? '',
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      },
    });
    return until(async () => {
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name, namespace });
      return pvc.status?.phase === 'Bound' ? pvc.spec?.volumeName : undefined;
    }, `PVC ${name} to be bound`);
  };

  const podWith = (o: { name: string; claim: string; script: string; waitFor?: string }): V1Pod => {
    const node = nodeOf();
    const mounts = [
      { name: 'data', mountPath: '/data' },
      { name: 'claim', mountPath: '/claim' },
    ];
    return {
      metadata: { name: o.name },
      spec: {
        restartPolicy: 'Never',
        terminationGracePeriodSeconds: 0,
        ...(o.waitFor
          ? {
              // The restore-helper pattern: the workload starts once the agent has filled and
              // verified both volumes and left its marker in each.
              initContainers: [
                {
                  name: 'restore-wait',
                  image: node.images.busybox,
                  imagePullPolicy: 'Never',
                  command: [
                    'sh',
                    '-c',
                    `until [ -f /data/.lifeboat-restore/${o.waitFor} ] && [ -f /claim/.lifeboat-restore/${o.waitFor} ]; do sleep 1; done`,
                  ],
                  volumeMounts: mounts,
                },
              ],
            }
          : {}),
        containers: [
          {
            name: 'main',
            image: node.images.busybox,
            imagePullPolicy: 'Never',
            command: ['sh', '-euc', o.script],
            volumeMounts: mounts,
          },
        ],
        volumes: [
          { name: 'data', emptyDir: {} },
          { name: 'claim', persistentVolumeClaim: { claimName: o.claim } },
        ],
      },
    };
  };

  const sums = 'cd / && find data claim -type f ! -path "*/.lifeboat-restore/*" | sort | xargs sha256sum';

  const waitPhase = async (plural: string, name: string): Promise<Status> => {
    try {
      return await until(async () => {
        const o = (await custom.getNamespacedCustomObject({ ...GROUP, namespace, plural, name })) as {
          status?: Status;
        };
        const phase = o.status?.phase;
        return phase === 'Completed' || phase === 'Failed' ? o.status : undefined;
      }, `${plural} ${name} to finish`);
    } catch (err) {
      throw new Error(`${(err as Error).message}; agent log:\n${await tail(agent.proc.logPath)}`);
    }
  };

  const createCr = async (plural: string, kind: string, name: string, spec: Record<string, unknown>) => {
    await custom.createNamespacedCustomObject({
      ...GROUP,
      namespace,
      plural,
      body: {
        apiVersion: 'lifeboat.dev/v1alpha1',
        kind,
        metadata: { name, labels: { 'lifeboat.dev/node': nodeOf().name } },
        spec,
      },
    });
  };

  it(
    'backs up an emptyDir and a ground-csi volume of a running pod and restores them before the workload starts',
    async () => {
      const node = nodeOf();
      const sourcePv = await createPvc('source');
      // Data in nested directories, a 3 MB file, an empty file: then the pod keeps running.
      await core.createNamespacedPod({
        namespace,
        body: podWith({
          name: 'writer',
          claim: 'source',
          script:
            'mkdir -p /data/a/b /claim/x; head -c 3145728 /dev/urandom > /data/a/b/blob; echo one > /data/top; ' +
            ': > /data/a/empty; head -c 70000 /dev/urandom > /claim/x/c; echo two > /claim/d; ' +
            `${sums} > /tmp/sums.txt; cat /tmp/sums.txt; sleep 100000`,
        }),
      });
      const writer = await until(async () => {
        const p = await core.readNamespacedPod({ name: 'writer', namespace });
        return p.status?.phase === 'Running' ? p : undefined;
      }, 'pod writer to run');
      const written = await until(async () => {
        const log = await core.readNamespacedPodLog({ name: 'writer', namespace });
        return log.split('\n').length > 5 ? log : undefined;
      }, 'the writer to print its checksums');
      const pod = { namespace, name: 'writer', uid: writer.metadata?.uid ?? '' };

      await createCr('podvolumebackups', 'PodVolumeBackup', 'b1-data', {
        node: node.name,
        pod,
        volume: 'data',
        backupName: 'b1',
        repository: repository(),
      });
      await createCr('podvolumebackups', 'PodVolumeBackup', 'b1-claim', {
        node: node.name,
        pod,
        volume: 'claim',
        persistentVolume: sourcePv,
        backupName: 'b1',
        repository: repository(),
      });
      const data = await waitPhase('podvolumebackups', 'b1-data');
      const claim = await waitPhase('podvolumebackups', 'b1-claim');
      expect(data, JSON.stringify(data)).toMatchObject({ phase: 'Completed', files: 3, dirs: 2 });
      expect(claim, JSON.stringify(claim)).toMatchObject({ phase: 'Completed', files: 2, dirs: 1 });
      expect(data.snapshotID).toMatch(/^[0-9a-f]{64}$/);
      expect(data.bytes).toBeGreaterThan(3145728);
      expect(data.progress).toEqual({ bytesDone: data.bytes, totalBytes: data.bytes });

      // The repository is at <prefix>/restic/<namespace> of the location's bucket.
      const listed = await testS3Client().send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `backups/restic/${namespace}/` }),
      );
      expect(listed.Contents?.map((o) => o.Key)).toContain(`backups/restic/${namespace}/config`);

      // Restore into a new pod's emptyDir and a new claim, before its workload starts.
      await createPvc('target');
      const reader = await core.createNamespacedPod({
        namespace,
        body: podWith({ name: 'reader', claim: 'target', script: `${sums}`, waitFor: 'r1' }),
      });
      await until(async () => {
        const p = await core.readNamespacedPod({ name: 'reader', namespace });
        return p.status?.initContainerStatuses?.[0]?.state?.running ? p : undefined;
      }, 'the reader pod to wait in its init container');
      const readerRef = { namespace, name: 'reader', uid: reader.metadata?.uid ?? '' };
      const targetPv = (await core.readNamespacedPersistentVolumeClaim({ name: 'target', namespace })).spec
        ?.volumeName;
      for (const [volume, status, pv] of [
        ['data', data, undefined],
        ['claim', claim, targetPv],
      ] as const) {
        await createCr('podvolumerestores', 'PodVolumeRestore', `r1-${volume}`, {
          node: node.name,
          pod: readerRef,
          volume,
          ...(pv ? { persistentVolume: pv } : {}),
          restoreName: 'r1',
          repository: repository(),
          snapshotID: status.snapshotID,
          expected: { files: status.files, dirs: status.dirs, bytes: status.bytes },
        });
      }
      expect(await waitPhase('podvolumerestores', 'r1-data')).toMatchObject({ phase: 'Completed' });
      expect(await waitPhase('podvolumerestores', 'r1-claim')).toMatchObject({ phase: 'Completed' });
      await until(async () => {
        const p = await core.readNamespacedPod({ name: 'reader', namespace });
        return p.status?.phase === 'Succeeded' ? p : undefined;
      }, 'the reader to finish');
      const restored = await core.readNamespacedPodLog({ name: 'reader', namespace, container: 'main' });
      expect(restored).toBe(written);
    },
    TIMEOUT,
  );

  it(
    'the capturer of the volume phase: one PodVolumeBackup per selected volume, outcomes with snapshot ids, a failure naming the volume',
    async () => {
      const kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
      try {
        const writer = await core.readNamespacedPod({ name: 'writer', namespace });
        const pod = {
          namespace,
          name: 'writer',
          uid: writer.metadata?.uid ?? '',
          node: writer.spec?.nodeName ?? '',
          volumes: [
            { name: 'data', type: 'emptyDir' },
            { name: 'claim', type: 'persistentVolumeClaim', claimName: 'source' },
          ],
          annotations: { 'backup.velero.io/backup-volumes': 'data,claim' },
        };
        const chosen = selectFsBackupVolumes(pod, false).volumes;
        expect(chosen).toEqual(['data', 'claim']);
        const sourcePv = (await core.readNamespacedPersistentVolumeClaim({ name: 'source', namespace })).spec
          ?.volumeName;
        const { volumeNamespace: _, ...repo } = repository();
        const options = {
          kube,
          backupName: 'b9',
          repository: repo,
          namespace,
          volumeOfClaim: (_ns: string, claim: string) => (claim === 'source' ? sourcePv : undefined),
          pollMs: 300,
        };
        const outcomes = await captureFsVolumes(pod, chosen, options);
        expect(outcomes.map((x) => [x.volume, x.result, x.claim])).toEqual([
          ['data', 'succeeded', undefined],
          ['claim', 'succeeded', 'source'],
        ]);
        for (const x of outcomes) {
          expect(x.snapshotId).toMatch(/^[0-9a-f]{64}$/);
          expect(x.object?.status?.snapshotID).toBe(x.snapshotId);
          expect(x.object?.metadata.labels?.['lifeboat.dev/backup-name']).toBe('b9');
        }
        expect(fsVolumeErrors(outcomes)).toEqual([]);

        const wrong = await captureFsVolumes(pod, ['data'], {
          ...options,
          backupName: 'b10',
          repository: { ...repo, passwordSecret: { namespace, name: 'restic', key: 'wrong' } },
        });
        expect(fsVolumeErrors(wrong)).toEqual([
          {
            namespace,
            resource: 'pods',
            name: 'writer',
            message: expect.stringContaining(`volume data of pod ${namespace}/writer: `),
          },
        ]);
        expect(wrong[0]?.error).toContain('wrong repository password');
      } finally {
        kube.close();
      }
    },
    TIMEOUT,
  );

  it(
    'ships restic in the lifeboat image, where the DaemonSet runs the agent',
    async () => {
      const node = nodeOf();
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'image-restic' },
          spec: {
            restartPolicy: 'Never',
            containers: [
              {
                name: 'main',
                image: node.images.lifeboat,
                imagePullPolicy: 'Never',
                command: ['/usr/local/bin/restic', 'version'],
              },
            ],
          },
        },
      });
      const phase = await until(async () => {
        const p = await core.readNamespacedPod({ name: 'image-restic', namespace });
        return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p.status.phase : undefined;
      }, 'the restic pod to finish');
      const out = await core.readNamespacedPodLog({ name: 'image-restic', namespace });
      expect(phase, out).toBe('Succeeded');
      expect(out).toMatch(/^restic 0\.18\.1 /);
    },
    TIMEOUT,
  );

  it(
    'fails with errors naming the volume: wrong password, missing password Secret, missing repository',
    async () => {
      const node = nodeOf();
      await core.createNamespacedPod({
        namespace,
        body: podWith({ name: 'victim', claim: 'source', script: 'echo x > /data/f; sleep 100000' }),
      });
      const victim = await until(async () => {
        const p = await core.readNamespacedPod({ name: 'victim', namespace });
        return p.status?.phase === 'Running' ? p : undefined;
      }, 'pod victim to run');
      const pod = { namespace, name: 'victim', uid: victim.metadata?.uid ?? '' };
      // The repository exists from the first test (or is created by this backup).
      await createCr('podvolumebackups', 'PodVolumeBackup', 'ok', {
        node: node.name,
        pod,
        volume: 'data',
        backupName: 'b2',
        repository: repository(),
      });
      expect(await waitPhase('podvolumebackups', 'ok')).toMatchObject({ phase: 'Completed' });

      await createCr('podvolumebackups', 'PodVolumeBackup', 'wrong-password', {
        node: node.name,
        pod,
        volume: 'data',
        backupName: 'b3',
        repository: repository({ passwordKey: 'wrong' }),
      });
      const wrong = await waitPhase('podvolumebackups', 'wrong-password');
      expect(wrong.phase).toBe('Failed');
      expect(wrong.message).toContain(`volume data of pod ${namespace}/victim`);
      expect(wrong.message).toContain('wrong repository password');
      expect(wrong.message).not.toContain('not the password');

      await createCr('podvolumebackups', 'PodVolumeBackup', 'no-secret', {
        node: node.name,
        pod,
        volume: 'data',
        backupName: 'b4',
        repository: repository({ passwordSecret: 'missing' }),
      });
      const missing = await waitPhase('podvolumebackups', 'no-secret');
      expect(missing.phase).toBe('Failed');
      expect(missing.message).toContain(`volume data of pod ${namespace}/victim`);
      expect(missing.message).toContain(`Secret ${namespace}/missing does not exist`);

      await createCr('podvolumerestores', 'PodVolumeRestore', 'no-repo', {
        node: node.name,
        pod,
        volume: 'data',
        restoreName: 'r2',
        repository: repository({ prefix: 'elsewhere' }),
        snapshotID: 'deadbeef',
      });
      const noRepo = await waitPhase('podvolumerestores', 'no-repo');
      expect(noRepo.phase).toBe('Failed');
      expect(noRepo.message).toContain(`volume data of pod ${namespace}/victim`);
      expect(noRepo.message).toContain('the restic repository does not exist');
    },
    TIMEOUT,
  );
});
