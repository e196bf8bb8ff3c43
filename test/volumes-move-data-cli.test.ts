// Snapshot data movement through the CLI alone (issue 13, ADR 0039): `lifeboat backup create
// --snapshot-move-data`, pointed at a StorageLocation file with spec.restic, snapshots the claim of
// the ground's CSI storage and has the node agent copy the snapshot into restic/<namespace>; the
// namespace is deleted; `restore plan` lists the claim `create-from-copy` with the restic snapshot,
// and `restore apply` by that plan provisions the claim anew and fills it before its pod starts:
// every file's sha256 as before. Pointed at an s3:// URL, which carries no restic settings, the
// backup is refused before anything is written, naming the flag and the way out, and so is the
// apply of the restore (its plan shown with a warning).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api } from '@kubernetes/client-node';
import type { KubeClient } from '../src/kube/client.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { deleteNamespaces, runCli } from './fixtures/restore-fixtures.js';
import { ground, kubeConfig, newBucket, newNamespace } from './ground/world.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';
import { createClaim, dataPod, RESTORED_CHECKSUMS } from './fixtures/claim-pods.js';

const TIMEOUT = 900_000;
const PASSWORD = 'pw-move-data-cli';
const SUMS = RESTORED_CHECKSUMS;
const WRITE =
  'head -c 2097152 /dev/urandom > /data/blob; mkdir -p /data/small; ' +
  'for i in $(seq 1 40); do echo "file $i $RANDOM" > /data/small/f$i; done';

describe('snapshot data movement through the CLI (no reconciler)', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  let system: string;
  let bucket: string;
  let work: string;
  let locationFile: string;
  let written: string[];

  const cli = (...args: string[]) =>
    runCli(['--kubeconfig', ground().kubeconfigPath, '--agent-namespace', system, ...args]);
  const sorted = (s: string) => s.split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    kube = await groundKube();
    namespace = await newNamespace('mvcli');
    system = await newNamespace('mvcli-sys');
    work = await mkdtemp(join(ground().workDir, 'mvcli-'));
    agent = startNodeAgent(ground(), work, { namespace: system });
    bucket = await newBucket('mvcli');
    const { s3 } = ground();
    await createResticSecrets(core, system, { password: PASSWORD });
    // Secrets named without a namespace are in --agent-namespace.
    locationFile = join(work, 'offsite.yaml');
    await writeFile(
      locationFile,
      `apiVersion: lifeboat.dev/v1
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
`,
    );
    await createClaim(core, namespace, 'data');
    await core.createNamespacedPod({
      namespace,
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
    await readyPod(namespace, 'app', 300_000);
    written = sorted(await core.readNamespacedPodLog({ name: 'app', namespace, container: 'main' }));
    expect(written).toHaveLength(41);
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    kube?.close();
  });

  it(
    'refuses --snapshot-move-data with an s3:// URL before anything is written, naming the flag and the way out',
    async () => {
      const { s3 } = ground();
      const url = `s3://${bucket}/url-form?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}`;
      const run = await runCli(
        [
          ...['--kubeconfig', ground().kubeconfigPath, '--storage', url],
          ...['backup', 'create', 'url1', '--include-namespaces', namespace, '--snapshot-move-data'],
        ],
        { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
      );
      expect(run.code, run.stderr + run.stdout).toBe(2);
      expect(run.stderr).toContain('--snapshot-move-data copies volume data with restic');
      expect(run.stderr).toContain('--storage s3://… carries no restic settings');
      expect(run.stderr).toContain('--storage FILE.yaml, or --location NAME --policies DIR');
      // Nothing written: the bucket is still empty (this runs before the other test's backup).
      const keys: string[] = [];
      for await (const o of s3Store(bucket).list('')) keys.push(o.key);
      expect(keys).toEqual([]);
    },
    TIMEOUT,
  );

  it(
    'moves the claim with --snapshot-move-data, plans it from its restic copy and fills it after the namespace is deleted',
    async () => {
      const backup = await cli(
        '--storage',
        locationFile,
        'backup',
        'create',
        'mvcli1',
        '--include-namespaces',
        namespace,
        '--snapshot-move-data',
        '--data-mover-image',
        busyboxImage(),
        '-o',
        'json',
      );
      expect(backup.code, backup.stderr + backup.stdout).toBe(0);
      const result = JSON.parse(backup.stdout) as {
        phase: string;
        metadata: { spec: { snapshotMoveData: boolean }; status: Record<string, unknown> };
        volumes: {
          claim: string;
          result: string;
          moved?: { snapshotId: string; files: number; bytes: number };
        }[];
      };
      expect(result.phase).toBe('Completed');
      expect(result.metadata.spec.snapshotMoveData).toBe(true);
      expect(result.metadata.status).toMatchObject({
        backupItemOperationsAttempted: 1,
        backupItemOperationsCompleted: 1,
        backupItemOperationsFailed: 0,
      });
      expect(result.volumes.map((v) => [v.claim, v.result, v.moved?.files])).toEqual([
        ['data', 'succeeded', 41],
      ]);
      const moved = result.volumes[0]?.moved;
      expect(moved?.snapshotId).toMatch(/^[0-9a-f]{64}$/);
      expect(backup.stdout + backup.stderr).not.toContain(PASSWORD);

      await deleteNamespaces(kube, [namespace]);
      // Through the s3:// URL of the same backups there is no repository to fill the claim from:
      // the plan is shown with a warning, and the apply is refused before anything is restored.
      const { s3 } = ground();
      const url = `s3://${bucket}/backups?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}`;
      const keys = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
      const viaUrl = (...args: string[]) =>
        runCli(['--kubeconfig', ground().kubeconfigPath, '--storage', url, ...args], keys);
      const urlPlan = await viaUrl('restore', 'plan', 'rurl', '--from-backup', 'mvcli1', '-f', 'json');
      expect(urlPlan.code, urlPlan.stderr).toBe(0);
      expect(urlPlan.stderr).toContain(
        `warning: the restore fills claim ${namespace}/data from the backup's restic repository`,
      );
      const urlApply = await viaUrl('restore', 'apply', 'rurl', '--from-backup', 'mvcli1');
      expect(urlApply.code, urlApply.stderr + urlApply.stdout).toBe(2);
      expect(urlApply.stderr).toContain(`claim ${namespace}/data`);
      expect(urlApply.stderr).toContain('--storage s3://… carries no restic settings');
      const restored = await core.listNamespace({ fieldSelector: `metadata.name=${namespace}` });
      expect(restored.items).toEqual([]);
      const records: string[] = [];
      for await (const o of s3Store(bucket).list('backups/restores/')) records.push(o.key);
      expect(records).toEqual([]);

      const plan = await cli(
        '--storage',
        locationFile,
        'restore',
        'plan',
        'rmvcli1',
        '--from-backup',
        'mvcli1',
        '--restore-wait-image',
        busyboxImage(),
        '-f',
        'json',
      );
      expect(plan.code, plan.stderr).toBe(0);
      const planned = JSON.parse(plan.stdout) as {
        hash: string;
        volumes: {
          claim: string;
          action: string;
          copy?: { snapshotId: string; files: number; bytes: number };
        }[];
      };
      expect(planned.volumes).toEqual([
        expect.objectContaining({
          claim: 'data',
          action: 'create-from-copy',
          copy: expect.objectContaining({
            snapshotId: moved?.snapshotId,
            files: 41,
            bytes: moved?.bytes,
          }) as unknown,
        }),
      ]);

      const planFile = join(work, 'plan.json');
      await writeFile(planFile, plan.stdout);
      const apply = await cli(
        '--storage',
        locationFile,
        'restore',
        'apply',
        'rmvcli1',
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
        movedClaims: { claim: string; result: string; snapshotId: string; files: number }[];
      };
      expect(applied.planHash).toBe(planned.hash);
      expect(applied.movedClaims.map((c) => [c.claim, c.result, c.snapshotId, c.files])).toEqual([
        ['data', 'succeeded', moved?.snapshotId, 41],
      ]);
      const pod = await readyPod(namespace, 'app', 300_000);
      expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['lifeboat-restore-wait']);
      const log = await core.readNamespacedPodLog({ name: 'app', namespace, container: 'main' });
      expect(sorted(log)).toEqual(written);
    },
    TIMEOUT,
  );
});
