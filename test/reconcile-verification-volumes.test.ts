// Verification restores that check volume data (issue 17), on the real ground: a schedule backs
// up a running pod whose emptyDir Velero's annotation selects (the node agent copies it into
// restic/<namespace> of the bucket) and a claim of the ground's CSI storage (a CSI snapshot,
// no copy in the bucket: its line says the claim bound from the snapshot); its verify section restores that backup into a scratch
// namespace, where the node agent fills the pod's volume from the SOURCE namespace's repository
// and reads every file back (restic restore --verify); the status file has one line for the
// volume (files and bytes against the backup's record), the metrics count it, and nothing of the
// run is left (scratch namespace, PodVolumeRestores). Then every pack of that repository is
// altered in the bucket, and the next verification fails, naming the volume and pod, alert-able.
import { CoreV1Api } from '@kubernetes/client-node';
import { mkdtemp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { parse, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../src/observe/metrics.js';
import { POD_VOLUME_RESTORE } from '../src/volumes/pod-volume-types.js';
import { s3Store } from './fixtures/backups.js';
import {
  CLAIM_CHECKSUMS,
  createClaim,
  dataPod,
  runClaimPod,
  RESTORED_CHECKSUMS,
} from './fixtures/claim-pods.js';
import { PERSISTENT_VOLUME } from '../src/kube/snapshots.js';
import { busyboxImage, readyPod } from './fixtures/pods.js';
import { createPolicyRepo, FakeClock, KubeHandle, reconcilerFor } from './fixtures/policy-repo.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';
import { infoFor } from './fixtures/restore-fixtures.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { resticBinary } from './ground/restic.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir } from './ground/world.js';

const TIMEOUT = 1_200_000;
const SUMS = RESTORED_CHECKSUMS;
const WRITE =
  'head -c 2097152 /dev/urandom > /data/blob; mkdir -p /data/small; ' +
  'for i in $(seq 1 40); do echo "file $i $RANDOM" > /data/small/f$i; done';

interface VolumeLine {
  kind: string;
  namespace: string;
  pod?: string;
  volume?: string;
  checked: string;
  result: string;
  files?: number;
  bytes?: number;
  expected?: { files: number; bytes: number };
  reason?: string;
}

describe('a verification restore checks the data of volumes copied with restic', () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);
  const kube = new KubeHandle();
  let agent: RunningAgent;
  let agentNs: string;

  beforeAll(async () => {
    if (!ground().node) throw new Error('the test ground has no node: global-setup must start it');
    // Its own namespace for the agent's work: no other test file's agent takes it.
    agentNs = await newNamespace('vv-agent');
    agent = startNodeAgent(ground(), await mkdtemp(join(ground().workDir, 'agent-vv-')), {
      namespace: agentNs,
      name: 'lifeboat-agent-verify',
    });
  }, TIMEOUT);

  afterAll(async () => {
    await agent?.stop();
    await kube.close();
  });

  it(
    'passes with a line per volume, cleans up, and fails naming the volume once the repository is damaged',
    async () => {
      const { s3 } = ground();
      const ns = await newNamespace('vv');
      const secrets = await newNamespace('vv-sys');
      const bucket = await newBucket('vv');
      await createResticSecrets(core, secrets, { password: 'pw-verify-volumes' });
      await createClaim(core, ns, 'logs');
      await runClaimPod(core, {
        namespace: ns,
        name: 'logger',
        claim: 'logs',
        script: `echo started > /data/log; ${CLAIM_CHECKSUMS}`,
      });
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

      const schedule = 'vv-nightly';
      const prefix = `v${ns.slice(-5)}-`;
      const scratch = `${prefix}${ns}`;
      const repo = await createPolicyRepo({
        'storage-locations/primary.yaml': stringify({
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
        }),
        'schedules/vv.yaml': stringify({
          apiVersion: 'lifeboat.dev/v1',
          kind: 'BackupSchedule',
          metadata: { name: schedule },
          spec: {
            // Once a year: the second pass below verifies the same backup, made no new one.
            schedule: '0 2 1 1 *',
            verify: { schedule: '0 4 * * *', namespacePrefix: prefix },
            template: { includedNamespaces: [ns] },
          },
        }),
      });
      const metrics = createMetrics({ defaultMetrics: false });
      const clock = new FakeClock('2025-03-01T09:00:00Z');
      const r = await reconcilerFor(repo, {
        dataDir: await tempDir('vv-data-'),
        kube,
        clock,
        deps: {
          restic: { binary: resticBinary() },
          restoreWaitImage: busyboxImage(),
          agentNamespace: agentNs,
          metrics,
        },
      });
      const statusOf = async () =>
        parse(await readFile(join(r.wc.dir, 'status', 'verifications', `${schedule}.yaml`), 'utf8')) as {
          lastRun: Record<string, unknown> & { volumes?: VolumeLine[] };
        };
      const client = await kube.get();
      const nsInfo = await infoFor(client, 'namespaces');

      // Pass 1: the backup, then its verification at once.
      const first = await r.pass();
      const backup = 'vv-nightly-20250301090000';
      const passed = (await statusOf()).lastRun;
      // Its reason first: a failure shows why.
      expect(passed['reason'], JSON.stringify(passed)).toBeUndefined();
      expect(first.events).toEqual([
        { action: 'backup', subject: backup, outcome: 'Completed' },
        { action: 'verify', subject: schedule, outcome: `Passed (backup ${backup})` },
      ]);
      expect(passed).toMatchObject({
        phase: 'Passed',
        check: 'restore',
        namespaces: { [ns]: scratch },
        restorePhase: 'Completed',
        volumeCounts: { checked: 2, passed: 2, failed: 0 },
        cleanedUp: true,
      });
      expect(passed['leftovers']).toBeUndefined();
      const csiLine = {
        kind: 'csi-snapshot',
        namespace: scratch,
        claim: 'logs',
        checked: expect.stringMatching(
          new RegExp(
            `^claim made from the backup's CSI snapshot ${ns}/\\S+ and Bound; its data was not read`,
          ),
        ) as unknown,
        result: 'passed',
      };
      // 40 small files and the blob; the bytes as the backup recorded them.
      expect(passed.volumes).toEqual([
        csiLine,
        {
          kind: 'file-system-copy',
          namespace: scratch,
          pod: 'app',
          volume: 'data',
          checked:
            "restored with restic; files and bytes compared with the backup's record; every file read back and matched against the snapshot's content hashes (restic restore --verify)",
          result: 'passed',
          files: 41,
          bytes: expect.any(Number) as unknown,
          expected: { files: 41, bytes: expect.any(Number) as unknown },
        },
      ]);
      const line = passed.volumes?.[1];
      expect(line?.bytes).toBe(line?.expected?.bytes);
      expect(line?.bytes).toBeGreaterThan(2_097_152);
      let text = await metrics.registry.metrics();
      expect(text).toContain(`lifeboat_verification_volumes{schedule="${schedule}",result="passed"} 2`);
      expect(text).toContain(`lifeboat_verification_volumes{schedule="${schedule}",result="failed"} 0`);
      expect(text).toContain(`lifeboat_verification_failing{schedule="${schedule}"} 0`);
      // Nothing of the run is left: the scratch namespace, its claim's volume, its PodVolumeRestores.
      const leftovers = async () => ({
        namespace: await client.get(nsInfo, '', scratch),
        podVolumeRestores: (await client.list(POD_VOLUME_RESTORE, { namespace: agentNs })).items,
        volumes: (await client.list(PERSISTENT_VOLUME, {})).items.filter(
          (pv) => (pv.spec as { claimRef?: { namespace?: string } }).claimRef?.namespace === scratch,
        ),
      });
      expect(await leftovers()).toEqual({ namespace: null, podVolumeRestores: [], volumes: [] });

      // Damage the repository: one byte of every pack of restic/<namespace> is changed.
      const store = s3Store(bucket);
      const packs: string[] = [];
      for await (const o of store.list(`restic/${ns}/data/`)) packs.push(o.key);
      expect(packs.length).toBeGreaterThan(0);
      for (const key of packs) {
        const body = await buffer(await store.get(key));
        const at = Math.floor(body.length / 2);
        body[at] = (body[at] ?? 0) ^ 0xff;
        await store.put(key, body);
      }

      // Pass 2, at the next verify slot (no backup is due): the same backup fails its check.
      clock.set('2025-03-02T04:30:00Z');
      const second = await r.pass();
      expect(second.events).toEqual([
        { action: 'verify', subject: schedule, outcome: `Failed (backup ${backup})` },
      ]);
      const failed = (await statusOf()).lastRun;
      expect(failed).toMatchObject({
        phase: 'Failed',
        volumeCounts: { checked: 2, passed: 1, failed: 1 },
        cleanedUp: true,
      });
      expect(failed.volumes).toEqual([
        csiLine,
        expect.objectContaining({
          kind: 'file-system-copy',
          namespace: scratch,
          pod: 'app',
          volume: 'data',
          result: 'failed',
        }),
      ]);
      expect(failed.volumes?.[1]?.reason).toMatch(
        new RegExp(`^volume data of pod ${scratch}/app: .*restic restore`),
      );
      expect(failed['reason']).toMatch(
        new RegExp(`^1 of 2 volume\\(s\\) failed their check; volume data of pod ${scratch}/app: `),
      );
      text = await metrics.registry.metrics();
      expect(text).toContain(`lifeboat_verification_failing{schedule="${schedule}"} 1`);
      expect(text).toContain(`lifeboat_verification_volumes{schedule="${schedule}",result="failed"} 1`);
      expect(await leftovers()).toEqual({ namespace: null, podVolumeRestores: [], volumes: [] });
    },
    TIMEOUT,
  );
});
