// File-system volume backups in a backup, on the real ground with the node agent running: a
// running pod's emptyDir and ground-csi claim chosen by Velero's annotation are copied by restic
// (one PodVolumeBackup each, around the pod's hooks), its other claim is CSI-snapshotted, its
// hostPath volume is left out with a warning; the PodVolumeBackups are in the archive and in
// <name>-podvolumebackups.json.gz, volumeinfo has their pvbInfo, the log their progress. A
// repository the agent cannot open makes the backup PartiallyFailed naming each volume. Then the
// namespace is deleted and restored (as it was, and into a mapped namespace): the plan lists each
// volume with its restic snapshot under the plan hash, the pod waits in its restore-wait init
// container until the agent filled and verified its volumes, and every file comes back (sha256).
// A missing restic snapshot fails that volume and its pod, which never starts.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import { runBackup } from '../src/backup/engine.js';
import { readBackupLog } from '../src/backup/catalog.js';
import type { KubeClient } from '../src/kube/client.js';
import { backupLayout } from '../src/storage/layout.js';
import { readSmallObject } from '../src/storage/store.js';
import { decodePodVolumeBackups } from '../src/volumes/podvolumebackups-file.js';
import type { FsBackupConfig } from '../src/volumes/phase.js';
import type { BackupVolumeInfo } from '../src/volumes/volume-info.js';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { archiveEntries, groundKube, s3Store, unversioned } from './fixtures/backups.js';
import { createClaim } from './fixtures/claim-pods.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { ground, kubeConfig, newBucket, newNamespace, testS3Client } from './ground/world.js';
import { createResticSecrets, groundRepository } from './fixtures/restic-secrets.js';

const TIMEOUT = 600_000;
/** Every file of the three volumes with its sha256, the restore marker left out. */
const SUMS = 'cd / && find data claim snap -type f ! -path "*/.lifeboat-restore/*" | sort | xargs sha256sum';
/** Random bytes and many small files in the emptyDir and the fs-copied claim; a file in the snapshotted one. */
const WRITE =
  'head -c 2097152 /dev/urandom > /data/blob; mkdir -p /data/small /claim/deep/er; ' +
  'for i in $(seq 1 60); do echo "file $i $RANDOM" > /data/small/f$i; done; ' +
  'head -c 500000 /dev/urandom > /claim/deep/er/c; echo two > /claim/d; echo snap > /snap/s; ';

describe('file-system volume backups in a backup (node agent, restic)', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  /** lifeboat's namespace: the Secrets and the PodVolumeBackups. */
  let system: string;
  let bucket: string;
  let fsBackup: FsBackupConfig;
  let written: string;

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    kube = await groundKube();
    namespace = await newNamespace('fsb');
    system = await newNamespace('fsb-sys');
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-')), { namespace: system });
    bucket = await newBucket('fsb');
    await createResticSecrets(core, system, { password: 'pw-fs-backup', wrong: 'nope' });
    fsBackup = {
      namespace: system,
      pollMs: 300,
      repository: groundRepository(bucket, system),
    };
    await createClaim(core, namespace, 'claim');
    await createClaim(core, namespace, 'snap');
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: {
          name: 'app',
          annotations: {
            'backup.velero.io/backup-volumes': 'data,claim,host',
            // The pre hook leaves a file the copy must contain (hooks wrap the copy).
            'pre.hook.backup.velero.io/command': '["/bin/sh","-c","echo frozen > /data/hook-was-here"]',
          },
        },
        spec: {
          terminationGracePeriodSeconds: 0,
          containers: [
            {
              name: 'main',
              image: busyboxImage(),
              imagePullPolicy: 'Never',
              // Restored, the pod finds its data and only prints the sums.
              command: [
                'sh',
                '-euc',
                `[ -f /data/blob ] || { ${WRITE} }; ${SUMS}; touch /tmp/ready; exec sleep 100000`,
              ],
              readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
              volumeMounts: [
                { name: 'data', mountPath: '/data' },
                { name: 'claim', mountPath: '/claim' },
                { name: 'snap', mountPath: '/snap' },
                { name: 'host', mountPath: '/host' },
              ],
            },
          ],
          volumes: [
            { name: 'data', emptyDir: {} },
            { name: 'claim', persistentVolumeClaim: { claimName: 'claim' } },
            { name: 'snap', persistentVolumeClaim: { claimName: 'snap' } },
            { name: 'host', hostPath: { path: '/tmp' } },
          ],
        },
      },
    });
    await readyPod(namespace, 'app', 300_000);
    written = await core.readNamespacedPodLog({ name: 'app', namespace });
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    kube?.close();
  });

  it(
    'copies the chosen volumes with restic inside the hooks, snapshots the other claim, and records it all in Velero layout',
    async () => {
      const store = s3Store(bucket);
      const progress: { volume: string; bytesDone: number; totalBytes: number }[] = [];
      const result = await runBackup(
        { name: 'fs1', spec: { includedNamespaces: [namespace] } },
        { kube, store, fsBackup, onFsProgress: (p) => progress.push(p) },
      );
      expect(result.errors, JSON.stringify(result.errors)).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.warnings.join('\n')).toContain(
        `pod ${namespace}/app: volume host is not copied: a hostPath`,
      );

      // fs wins over CSI for `claim`; `snap` is snapshotted.
      expect(result.volumes.map((v) => [v.claim, v.method, v.result])).toEqual([
        ['snap', 'CSISnapshot', 'succeeded'],
      ]);
      const copies = result.podVolumes.map((x) => [x.pod, x.volume, x.claim, x.result]);
      expect(copies).toEqual([
        ['app', 'claim', 'claim', 'succeeded'],
        ['app', 'data', undefined, 'succeeded'],
      ]);
      const data = result.podVolumes.find((x) => x.volume === 'data');
      // 60 small files, the blob and the hook's file: the pre hook ran before the copy.
      expect(data).toMatchObject({ files: 62, dirs: 1 });
      expect(data?.bytes).toBeGreaterThan(2097152);
      expect(data?.snapshotId).toMatch(/^[0-9a-f]{64}$/);
      expect(result.podVolumes.find((x) => x.volume === 'claim')).toMatchObject({ files: 2, dirs: 2 });
      expect(progress.some((p) => p.volume === 'data' && p.totalBytes > 0)).toBe(true);

      // <name>-podvolumebackups.json.gz, the archive's PodVolumeBackups, volumeinfo's pvbInfo.
      const records = decodePodVolumeBackups(
        await readSmallObject(store, backupLayout.podVolumeBackups('fs1')),
        'fs1-podvolumebackups.json.gz',
      );
      expect(records.map((r) => [r.pod, r.volume, r.snapshotId, r.files])).toEqual(
        result.podVolumes.map((x) => [x.pod, x.volume, x.snapshotId, x.files]),
      );
      const entries = unversioned((await archiveEntries(store, 'fs1')).items);
      expect(
        entries.filter((e) => e.groupResource === 'podvolumebackups.lifeboat.dev').map((e) => e.namespace),
      ).toEqual([system, system]);
      const info = JSON.parse(
        gunzipSync(await readSmallObject(store, backupLayout.volumeInfo('fs1'))).toString('utf8'),
      ) as BackupVolumeInfo[];
      expect(
        info
          .filter((v) => v.backupMethod === 'PodVolumeBackup')
          .map((v) => [v.pvcName, v.pvbInfo?.volumeName, v.pvbInfo?.snapshotHandle, v.result]),
      ).toEqual([
        ['claim', 'claim', records.find((r) => r.volume === 'claim')?.snapshotId, 'succeeded'],
        ['', 'data', data?.snapshotId, 'succeeded'],
      ]);
      const log = await readBackupLog(store, 'fs1');
      expect(log).toContain('pod volume backup completed');
      expect(log).toContain('volume ' + 'host is not copied');
      expect(written).toContain('data/blob');
    },
    TIMEOUT,
  );

  it(
    'a repository the agent cannot open makes the backup PartiallyFailed, naming each volume',
    async () => {
      const store = s3Store(bucket);
      const wrong: FsBackupConfig = {
        ...fsBackup,
        repository: {
          ...fsBackup.repository,
          passwordSecret: { namespace: system, name: 'restic', key: 'wrong' },
        },
      };
      const result = await runBackup(
        { name: 'fs2', spec: { includedNamespaces: [namespace] } },
        { kube, store, fsBackup: wrong },
      );
      expect(result.phase).toBe('PartiallyFailed');
      expect(result.errors.map((e) => [e.resource, e.name])).toEqual([
        ['pods', 'app'],
        ['pods', 'app'],
      ]);
      const messages = result.errors.map((e) => e.message).join('\n');
      expect(messages).toContain(`volume data of pod ${namespace}/app`);
      expect(messages).toContain(`volume claim of pod ${namespace}/app`);
      expect(messages).toContain('wrong repository password');
      expect(messages).not.toContain('nope');
      // No repository configured at all: the volumes fail, saying why.
      const none = await runBackup(
        { name: 'fs3', spec: { includedNamespaces: [namespace] } },
        { kube, store },
      );
      expect(none.phase).toBe('PartiallyFailed');
      expect(none.errors.map((e) => e.message).join('\n')).toContain('no restic repository is configured');
    },
    TIMEOUT,
  );

  /** What the restored pod must print: the sums at backup time, and the pre hook's file. */
  const expectedSums = (): string[] =>
    [
      ...written.split('\n').filter(Boolean),
      `${createHash('sha256').update('frozen\n').digest('hex')}  data/hook-was-here`,
    ].sort();
  const printed = async (ns: string): Promise<string[]> => {
    await readyPod(ns, 'app', 300_000);
    const log = await core.readNamespacedPodLog({ name: 'app', namespace: ns, container: 'main' });
    return log.split('\n').filter(Boolean).sort();
  };
  const restoreDeps = () => ({
    kube,
    store: s3Store(bucket),
    volumeBindTimeoutMs: 300_000,
    restoreWaitImage: busyboxImage(),
    fsRestore: { ...fsBackup },
  });

  it(
    'restores the namespace after it is deleted: the plan lists each volume under its hash, the pod starts on the restored data',
    async () => {
      await deleteNamespaces(kube, [namespace]);
      const req = { name: 'fsr1', spec: { backupName: 'fs1' } };
      const { plan } = await planRestore(req, restoreDeps());
      const app = plan.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
      const records = decodePodVolumeBackups(
        await readSmallObject(s3Store(bucket), backupLayout.podVolumeBackups('fs1')),
        'fs1-podvolumebackups.json.gz',
      );
      const snapshotOf = (v: string) => records.find((r) => r.volume === v)?.snapshotId;
      expect(app?.action).toBe('create');
      expect(app?.podVolumes).toEqual([
        expect.objectContaining({
          volume: 'claim',
          claim: 'claim',
          sourceNamespace: namespace,
          snapshotId: snapshotOf('claim'),
          files: 2,
          dirs: 2,
          action: 'restore',
        }),
        expect.objectContaining({
          volume: 'data',
          sourceNamespace: namespace,
          snapshotId: snapshotOf('data'),
          files: 62,
          dirs: 1,
          action: 'restore',
        }),
      ]);
      // The restore-wait container is part of the pod the plan hash covers: another image, another hash.
      const other = await planRestore(req, { ...restoreDeps(), restoreWaitImage: 'example.invalid/other:1' });
      expect(other.plan.hash).not.toBe(plan.hash);

      const result = await applyRestore(req, restoreDeps(), { approvedHash: plan.hash });
      expect(
        result.items.filter((i) => i.result === 'failed'),
        JSON.stringify(result.items, null, 1),
      ).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.podVolumes?.map((v) => [v.pod, v.volume, v.result])).toEqual([
        ['app', 'claim', 'succeeded'],
        ['app', 'data', 'succeeded'],
      ]);
      const pod = await core.readNamespacedPod({ name: 'app', namespace });
      expect(pod.spec?.initContainers?.[0]?.name).toBe('lifeboat-restore-wait');
      // emptyDir, fs-copied claim and CSI-snapshotted claim: every file as it was (sha256).
      expect(await printed(namespace)).toEqual(expectedSums());
    },
    TIMEOUT,
  );

  it(
    'restores into a mapped namespace from the source namespace repository',
    async () => {
      const mapped = `${namespace}-m`;
      const req = { name: 'fsr2', spec: { backupName: 'fs1', namespaceMapping: { [namespace]: mapped } } };
      const result = await applyRestore(req, restoreDeps());
      expect(
        result.items.filter((i) => i.result === 'failed'),
        JSON.stringify(result.items, null, 1),
      ).toEqual([]);
      expect(result.podVolumes?.map((v) => [v.namespace, v.volume, v.result])).toEqual([
        [mapped, 'claim', 'succeeded'],
        [mapped, 'data', 'succeeded'],
      ]);
      expect(await printed(mapped)).toEqual(expectedSums());
    },
    TIMEOUT,
  );

  it(
    'a missing restic snapshot fails that volume and its pod, which never starts on partial data',
    async () => {
      const records = decodePodVolumeBackups(
        await readSmallObject(s3Store(bucket), backupLayout.podVolumeBackups('fs1')),
        'fs1-podvolumebackups.json.gz',
      );
      const data = records.find((r) => r.volume === 'data');
      await testS3Client().send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: `backups/restic/${namespace}/snapshots/${data?.snapshotId ?? '?'}`,
        }),
      );
      const broken = `${namespace}-x`;
      const req = { name: 'fsr3', spec: { backupName: 'fs1', namespaceMapping: { [namespace]: broken } } };
      const result = await applyRestore(req, restoreDeps());
      expect(result.phase).toBe('PartiallyFailed');
      expect(result.podVolumes?.map((v) => [v.volume, v.result])).toEqual([
        ['claim', 'succeeded'],
        ['data', 'failed'],
      ]);
      const podItem = result.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
      expect(podItem?.result).toBe('failed');
      expect(podItem?.message).toContain(`volume data of pod ${broken}/app`);
      const pod = await core.readNamespacedPod({ name: 'app', namespace: broken });
      // Its restore-wait container holds it (whether it is already running or still being started).
      expect(pod.status?.phase).toBe('Pending');
    },
    TIMEOUT,
  );
});
