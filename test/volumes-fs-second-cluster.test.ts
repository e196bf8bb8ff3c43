// Disaster recovery into another cluster: a namespace whose emptyDir and claim were copied with
// restic in the suite's ground (cluster A) is restored into a second ground started here
// (cluster B: its own etcd, apiserver, controller-manager, kubelet, containerd, CSI storage and
// node agent) that shares only A's S3 server and bucket, as a recovery cluster shares the
// backup location. B never saw the pods or their volumes; every file comes back with the same
// sha256, read from the restic repository alone.
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { runBackup } from '../src/backup/engine.js';
import { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { FsBackupConfig } from '../src/volumes/phase.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { startGround, type Ground } from './ground/ground.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { createClaim, dataPod } from './fixtures/claim-pods.js';
import { eventually, readyPod } from './fixtures/pods.js';
import { ground, kubeConfig, newBucket, newNamespace } from './ground/world.js';
import { createResticSecrets, groundRepository } from './fixtures/restic-secrets.js';

const TIMEOUT = 1_800_000;
const SUMS = 'cd / && find data claim -type f ! -path "*/.lifeboat-restore/*" | sort | xargs sha256sum';
const WRITE =
  'head -c 2097152 /dev/urandom > /data/blob; mkdir -p /data/small /claim/deep; ' +
  'for i in $(seq 1 40); do echo "file $i $RANDOM" > /data/small/f$i; done; ' +
  'head -c 700000 /dev/urandom > /claim/deep/c; echo two > /claim/d';

describe('a namespace restored into a second cluster that shares the bucket', () => {
  const coreA = kubeConfig().makeApiClient(CoreV1Api);
  let kubeA: KubeClient;
  let agentA: RunningAgent;
  let b: Ground | undefined;
  let kubeB: KubeClient | undefined;
  let agentB: RunningAgent | undefined;
  let namespace: string;
  let system: string;
  let bucket: string;
  let fs: FsBackupConfig;
  let written: string;

  /** lifeboat's namespace in a cluster: the agent's work, the restic password and the S3 keys. */
  const prepareSystem = async (core: CoreV1Api): Promise<void> => {
    await core.createNamespace({ body: { metadata: { name: system } } }).catch((err: unknown) => {
      if ((err as { code?: number }).code !== 409) throw err;
    });
    await createResticSecrets(core, system, { password: 'pw-second-cluster' });
  };

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    // Cluster B starts while A's pod is written and backed up.
    const started = startGround({
      node: true,
      s3: ground().s3,
      log: (line) => process.stderr.write(`[ground B] ${line}\n`),
    });
    started.catch(() => undefined);
    kubeA = await groundKube();
    namespace = await newNamespace('fs2c');
    system = await newNamespace('fs2c-sys');
    await prepareSystem(coreA);
    agentA = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-a-')), {
      namespace: system,
    });
    bucket = await newBucket('fs2c');
    fs = {
      namespace: system,
      pollMs: 300,
      repository: groundRepository(bucket, system),
    };
    await createClaim(coreA, namespace, 'claim');
    await coreA.createNamespacedPod({
      namespace,
      body: dataPod({
        name: 'app',
        write: WRITE,
        sums: SUMS,
        annotations: { 'backup.velero.io/backup-volumes': 'data,claim' },
        volumes: [
          { volume: { name: 'data', emptyDir: {} }, mountPath: '/data' },
          { volume: { name: 'claim', persistentVolumeClaim: { claimName: 'claim' } }, mountPath: '/claim' },
        ],
      }),
    });
    await readyPod(namespace, 'app', 300_000);
    written = await coreA.readNamespacedPodLog({ name: 'app', namespace });

    b = await started;
    const kcB = new KubeConfig();
    kcB.loadFromFile(b.info.kubeconfigPath);
    kubeB = await KubeClient.create({ kubeconfig: b.info.kubeconfigPath });
    await prepareSystem(kcB.makeApiClient(CoreV1Api));
    agentB = startNodeAgent(b.info, await mkdtemp(join(ground().workDir, 'agent-b-')), { namespace: system });
  }, TIMEOUT);

  afterAll(async () => {
    await agentB?.stop();
    await agentA?.stop();
    kubeB?.close();
    kubeA?.close();
    await b?.stop();
  }, TIMEOUT);

  it(
    'restores the emptyDir and the claim in cluster B from the restic repository in the shared bucket',
    async () => {
      if (!b || !kubeB) throw new Error('cluster B did not start');
      const backup = await runBackup(
        { name: 'dr1', spec: { includedNamespaces: [namespace] } },
        { kube: kubeA, store: s3Store(bucket), fsBackup: fs },
      );
      expect(backup.errors, JSON.stringify(backup.errors)).toEqual([]);
      expect(backup.podVolumes.map((v) => [v.volume, v.result])).toEqual([
        ['claim', 'succeeded'],
        ['data', 'succeeded'],
      ]);

      const deps = {
        kube: kubeB,
        store: s3Store(bucket),
        volumeBindTimeoutMs: 600_000,
        restoreWaitImage: b.info.node?.images.busybox ?? '',
        fsRestore: fs,
      };
      const req = { name: 'dr1-b', spec: { backupName: 'dr1' } };
      const { plan } = await planRestore(req, deps);
      expect(
        plan.items
          .find((i) => i.groupResource === 'pods' && i.name === 'app')
          ?.podVolumes?.map((v) => v.volume),
      ).toEqual(['claim', 'data']);
      const result = await applyRestore(req, deps, { approvedHash: plan.hash });
      expect(
        result.items.filter((i) => i.result === 'failed'),
        JSON.stringify(result.items, null, 1),
      ).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.podVolumes?.map((v) => [v.volume, v.result])).toEqual([
        ['claim', 'succeeded'],
        ['data', 'succeeded'],
      ]);

      // The pod runs on B's node and prints the sums it printed in A.
      const kcB = new KubeConfig();
      kcB.loadFromFile(b.info.kubeconfigPath);
      const coreB = kcB.makeApiClient(CoreV1Api);
      const pod = await eventually(
        async () => {
          const p = await coreB.readNamespacedPod({ name: 'app', namespace });
          return p.status?.containerStatuses?.every((c) => c.ready) ? p : undefined;
        },
        `pod ${namespace}/app in cluster B to be ready`,
        600_000,
      );
      expect(pod.spec?.nodeName).toBe(b.info.node?.name);
      expect(pod.spec?.nodeName).not.toBe(ground().node?.name);
      const log = await coreB.readNamespacedPodLog({ name: 'app', namespace, container: 'main' });
      const sorted = (s: string) => s.split('\n').filter(Boolean).sort();
      expect(sorted(log)).toEqual(sorted(written));
      expect(sorted(log)).toHaveLength(43);
    },
    TIMEOUT,
  );
});
