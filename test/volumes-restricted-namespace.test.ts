// The pods lifeboat adds pass the restricted Pod Security level (issue 13). In a namespace
// labelled pod-security.kubernetes.io/enforce: restricted (the ground's apiserver runs the
// PodSecurity admission plugin, on by default), a workload that runs as uid 1000 has one claim
// copied by file-system backup and one whose CSI snapshot is moved into restic: the backup's data
// mover pod must be admitted there. The namespace is deleted and restored (with its label): the
// moved claim's fill pod and the restore-wait init container in the restored pod must be
// admitted too, and the pod must start on its data — same sha256 of every file, and every file
// still owned by the workload's uid (the agent writes as root through the kubelet's pod
// directory; restic restores the owners; no fsGroup rewrites them).
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { runBackup } from '../src/backup/engine.js';
import type { KubeClient } from '../src/kube/client.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { FsBackupConfig } from '../src/volumes/phase.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { createClaim } from './fixtures/claim-pods.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { ground, kubeConfig, newBucket, uniqueName } from './ground/world.js';
import { createResticSecrets, groundRepository } from './fixtures/restic-secrets.js';

const TIMEOUT = 1_500_000;
const ENFORCE = 'pod-security.kubernetes.io/enforce';
/** Sums of every file, then owner, mode and path of everything below both mounts. */
const REPORT =
  'cd / && find data moved -type f ! -path "*/.lifeboat-restore/*" | sort | xargs sha256sum; ' +
  'find data moved -mindepth 1 ! -path "*/.lifeboat-restore*" -exec stat -c "%u:%g %a %n" {} + | sort';
const WRITE =
  'head -c 2097152 /dev/urandom > /data/blob; mkdir -p /data/small; ' +
  'for i in $(seq 1 20); do echo "file $i $RANDOM" > /data/small/f$i; done; ' +
  'head -c 1048576 /dev/urandom > /moved/blob; mkdir /moved/d; chmod 750 /moved/d; echo m > /moved/d/m';

/** A workload that the restricted level admits: uid 1000, no escalation, no capabilities. */
function restrictedApp(): V1Pod {
  return {
    metadata: { name: 'app', annotations: { 'backup.velero.io/backup-volumes': 'data' } },
    spec: {
      terminationGracePeriodSeconds: 0,
      securityContext: {
        runAsNonRoot: true,
        runAsUser: 1000,
        runAsGroup: 1000,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'main',
          image: busyboxImage(),
          imagePullPolicy: 'Never',
          command: [
            'sh',
            '-euc',
            `[ -f /data/blob ] || { ${WRITE}; }; ${REPORT}; touch /tmp/ready; exec sleep 100000`,
          ],
          readinessProbe: { exec: { command: ['test', '-f', '/tmp/ready'] }, periodSeconds: 1 },
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          volumeMounts: [
            { name: 'data', mountPath: '/data' },
            { name: 'moved', mountPath: '/moved' },
          ],
        },
      ],
      volumes: [
        { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
        { name: 'moved', persistentVolumeClaim: { claimName: 'moved' } },
      ],
    },
  };
}

const lines = (s: string): string[] => s.split('\n').filter(Boolean).sort();

describe('lifeboat pods in a namespace that enforces the restricted Pod Security level', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  let agent: RunningAgent;
  let kube: KubeClient;
  let namespace: string;
  let system: string;
  let bucket: string;
  let fsBackup: FsBackupConfig;
  let written: string[];

  beforeAll(async () => {
    if (!ground().node || !ground().csi)
      throw new Error('the test ground has no node or CSI storage: global-setup must start them');
    kube = await groundKube();
    namespace = uniqueName('psa');
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { [ENFORCE]: 'restricted' } } },
    });
    system = uniqueName('psa-sys');
    await core.createNamespace({ body: { metadata: { name: system } } });
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-')), { namespace: system });
    bucket = await newBucket('psa');
    await createResticSecrets(core, system, { password: 'pw-restricted' });
    fsBackup = {
      namespace: system,
      pollMs: 300,
      moverImage: busyboxImage(),
      repository: groundRepository(bucket, system),
    };
    await createClaim(core, namespace, 'data');
    await createClaim(core, namespace, 'moved');
    await core.createNamespacedPod({ namespace, body: restrictedApp() });
    await readyPod(namespace, 'app', 300_000);
    written = lines(await core.readNamespacedPodLog({ name: 'app', namespace }));
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    kube?.close();
  });

  it(
    'admits the data mover, fill and restore-wait containers, and the pod starts on its data with its owners',
    async () => {
      // The level is enforced on this ground: a plain root pod is refused.
      const root: V1Pod = {
        metadata: { name: 'root' },
        spec: { containers: [{ name: 'main', image: busyboxImage(), command: ['true'] }] },
      };
      await expect(core.createNamespacedPod({ namespace, body: root })).rejects.toThrow(
        /violates PodSecurity \\*"restricted:latest/,
      );
      // 21 files and their sums, and 25 owner lines, all of uid 1000.
      expect(written.filter((l) => / (data|moved)\//.test(l) && /^[0-9a-f]{64} /.test(l))).toHaveLength(23);
      expect(written.filter((l) => /^\d+:\d+ /.test(l)).every((l) => l.startsWith('1000:1000 '))).toBe(true);

      const backup = await runBackup(
        { name: 'psa1', spec: { includedNamespaces: [namespace], snapshotMoveData: true } },
        { kube, store: s3Store(bucket), fsBackup },
      );
      expect(backup.errors, JSON.stringify(backup.errors)).toEqual([]);
      expect(backup.phase).toBe('Completed');
      expect(backup.podVolumes.map((v) => [v.volume, v.result])).toEqual([['data', 'succeeded']]);
      expect(backup.volumes.map((v) => [v.claim, v.result, v.moved !== undefined])).toEqual([
        ['moved', 'succeeded', true],
      ]);

      await deleteNamespaces(kube, [namespace]);
      const deps = {
        kube,
        store: s3Store(bucket),
        volumeBindTimeoutMs: 600_000,
        restoreWaitImage: busyboxImage(),
        fsRestore: { ...fsBackup },
      };
      const request = { name: 'psa1-r', spec: { backupName: 'psa1' } };
      const { plan } = await planRestore(request, deps);
      const result = await applyRestore(request, deps, { approvedHash: plan.hash });
      expect(
        result.items.filter((i) => i.result === 'failed'),
        JSON.stringify(result.items, null, 1),
      ).toEqual([]);
      expect(result.phase).toBe('Completed');
      expect(result.movedClaims?.map((c) => [c.claim, c.result])).toEqual([['moved', 'succeeded']]);
      expect(result.podVolumes?.map((v) => [v.volume, v.result])).toEqual([['data', 'succeeded']]);

      const ns = await core.readNamespace({ name: namespace });
      expect(ns.metadata?.labels?.[ENFORCE]).toBe('restricted');
      const pod = await readyPod(namespace, 'app', 600_000);
      expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['lifeboat-restore-wait']);
      const printed = await core.readNamespacedPodLog({ name: 'app', namespace, container: 'main' });
      expect(lines(printed)).toEqual(written);
    },
    TIMEOUT,
  );
});
