// File-system volume copies through the CLI alone, without the reconciler: `lifeboat backup
// create` and `lifeboat restore plan/apply` take the restic repository from the StorageLocation
// they are pointed at (`--storage FILE.yaml`, or `--location NAME --policies DIR`), as the
// reconciler does from spec.restic, and make their PodVolumeBackups and PodVolumeRestores in
// `--agent-namespace`. An annotated emptyDir is backed up, the namespace deleted, restored (every
// file's sha256 as before), and `backup delete` forgets the backup's restic snapshot.
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeClient } from '../src/kube/client.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { groundKube } from './fixtures/backups.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { deleteNamespaces, runCli } from './fixtures/restore-fixtures.js';
import { resticBinary } from './ground/restic.js';
import { ground, kubeConfig, newBucket, newNamespace } from './ground/world.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';
import { dataPod, RESTORED_CHECKSUMS } from './fixtures/claim-pods.js';

const TIMEOUT = 900_000;
const SUMS = RESTORED_CHECKSUMS;
const WRITE =
  'head -c 1048576 /dev/urandom > /data/blob; mkdir -p /data/small; ' +
  'for i in $(seq 1 30); do echo "file $i $RANDOM" > /data/small/f$i; done';

describe('file-system volume copies through the CLI (no reconciler)', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  let system: string;
  let locationFile: string;
  let policies: string;
  let written: string;

  const cli = (...args: string[]) =>
    runCli(['--kubeconfig', ground().kubeconfigPath, '--agent-namespace', system, ...args]);

  beforeAll(async () => {
    if (!ground().node) throw new Error('the test ground has no node: global-setup must start it');
    kube = await groundKube();
    namespace = await newNamespace('fscli');
    system = await newNamespace('fscli-sys');
    const work = await mkdtemp(join(ground().workDir, 'fscli-'));
    agent = startNodeAgent(ground(), work, { namespace: system });
    const bucket = await newBucket('fscli');
    const { s3 } = ground();
    await createResticSecrets(core, system, { password: 'pw-fs-cli-only' });
    // Secrets named without a namespace are in --agent-namespace, as the reconciler's are in its own.
    const location = `apiVersion: lifeboat.dev/v1
kind: StorageLocation
metadata:
  name: offsite
spec:
  provider: aws
  objectStorage:
    bucket: ${bucket}
    prefix: backups
  config:
    s3Url: ${s3.endpoint}
    region: ${s3.region}
    s3ForcePathStyle: true
  credential:
    secretRef: { name: s3, key: cloud }
  restic:
    passwordSecretRef: { name: restic, key: password }
`;
    locationFile = join(work, 'offsite.yaml');
    await writeFile(locationFile, location);
    policies = join(work, 'policies');
    await mkdir(policies);
    await writeFile(join(policies, 'offsite.yaml'), location);

    await core.createNamespacedPod({
      namespace,
      body: dataPod({
        name: 'app',
        write: WRITE,
        sums: SUMS,
        annotations: { 'backup.velero.io/backup-volumes': 'data' },
        volumes: [{ volume: { name: 'data', emptyDir: {} }, mountPath: '/data' }],
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
    'backs up the annotated volume, restores it after the namespace is deleted, and forgets it with the backup',
    async () => {
      const backup = await cli(
        '--storage',
        locationFile,
        'backup',
        'create',
        'cli1',
        '--include-namespaces',
        namespace,
        '-o',
        'json',
      );
      expect(backup.code, backup.stderr + backup.stdout).toBe(0);
      const result = JSON.parse(backup.stdout) as {
        phase: string;
        podVolumes: { pod: string; volume: string; result: string; files: number; snapshotId: string }[];
      };
      expect(result.phase).toBe('Completed');
      expect(result.podVolumes.map((v) => [v.pod, v.volume, v.result, v.files])).toEqual([
        ['app', 'data', 'succeeded', 31],
      ]);
      expect(backup.stdout + backup.stderr).not.toContain('pw-fs-cli-only');

      await deleteNamespaces(kube, [namespace]);
      // The plan through --location (the policy repository), with the volume and its snapshot.
      const plan = await cli(
        '--location',
        'offsite',
        '--policies',
        policies,
        'restore',
        'plan',
        'rcli1',
        '--from-backup',
        'cli1',
        '--restore-wait-image',
        busyboxImage(),
        '-f',
        'json',
      );
      expect(plan.code, plan.stderr).toBe(0);
      const planned = JSON.parse(plan.stdout) as {
        hash: string;
        items: {
          groupResource: string;
          name: string;
          podVolumes?: { volume: string; snapshotId: string }[];
        }[];
      };
      const pod = planned.items.find((i) => i.groupResource === 'pods' && i.name === 'app');
      expect(pod?.podVolumes?.map((v) => [v.volume, v.snapshotId])).toEqual([
        ['data', result.podVolumes[0]?.snapshotId],
      ]);

      // Applied through the file: the same plan (hash), the volume filled before the pod starts.
      const planFile = join(policies, '..', 'plan.json');
      await writeFile(planFile, plan.stdout);
      const apply = await cli(
        '--storage',
        locationFile,
        'restore',
        'apply',
        'rcli1',
        '--plan',
        planFile,
        '--restore-wait-image',
        busyboxImage(),
        '-o',
        'json',
      );
      expect(apply.code, apply.stderr + apply.stdout).toBe(0);
      const applied = JSON.parse(apply.stdout) as {
        phase: string;
        planHash: string;
        podVolumes: { volume: string; result: string }[];
      };
      expect(applied.planHash).toBe(planned.hash);
      expect(applied.podVolumes.map((v) => [v.volume, v.result])).toEqual([['data', 'succeeded']]);
      await readyPod(namespace, 'app', 300_000);
      const log = await core.readNamespacedPodLog({ name: 'app', namespace, container: 'main' });
      const sorted = (s: string) => s.split('\n').filter(Boolean).sort();
      expect(sorted(log)).toEqual(sorted(written));
      expect(sorted(log)).toHaveLength(31);

      // backup delete forgets the backup's restic snapshot through the same location.
      const del = await runCli([
        '--kubeconfig',
        ground().kubeconfigPath,
        '--storage',
        locationFile,
        '--agent-namespace',
        system,
        'backup',
        'delete',
        'cli1',
        '--restic',
        resticBinary(),
      ]);
      expect(del.code, del.stderr).toBe(0);
      expect(del.stdout).toContain(`restic snapshots of namespace ${namespace} forgotten: 1`);
    },
    TIMEOUT,
  );
});
