// The restic repository's lifecycle on the real ground (issue 13): the node agent runs as a
// host process, PodVolumeBackups are made by the volume phase's capturer directly (as in
// volumes-fs-agent.test.ts), restic writes to versitygw. In order:
// - the agent killed with -9 in the middle of a 200 MB volume's backup: the volume is reported
//   failed, the restarted agent clears the stale lock, `restic check` passes, the next backup works;
// - a second backup after changing 1% of the volume adds about that 1% to the bucket, and both
//   snapshots restore through PodVolumeRestores with the right sha256;
// - a backup's expiry in a reconcile pass forgets its restic snapshots and prunes their data;
// - a password Secret without the named key fails naming Secret and key; no log holds the password.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { KubeClient } from '../src/kube/client.js';
import { resolveRepository } from '../src/volumes/agent-repository.js';
import { podVolumeDir } from '../src/volumes/pod-volume-path.js';
import { POD_VOLUME_BACKUP } from '../src/volumes/pod-volume-types.js';
import { captureFsVolumes, fsVolumeErrors, type FsPod } from '../src/volumes/restic-capturer.js';
import { checkRepository, listLocks, snapshotsTagged, type ResticRepository } from '../src/volumes/restic.js';
import { startNodeAgent, type RunningAgent } from './ground/agent.js';
import { resticBinary } from './ground/restic.js';
import { ground, kubeConfig, newBucket, newNamespace, tempDir, testS3Client } from './ground/world.js';
import { until } from './fixtures/pods.js';
import {
  createPolicyRepo,
  FakeClock,
  HOUR,
  KubeHandle,
  localLocation,
  reconcilerFor,
  scheduleDoc,
} from './fixtures/policy-repo.js';
import { createResticSecrets } from './fixtures/restic-secrets.js';

const TIMEOUT = 900_000;
const MB = 1024 * 1024;
const SIZE = 200 * MB;
const PASSWORD = 'lifecycle-password-do-not-leak';

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The processes whose parent is pid (read from /proc). */
async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Field 4 (after the parenthesised command name) is the parent's pid.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(entry));
  }
  return out;
}

describe('the restic repository lifecycle', () => {
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const agents: RunningAgent[] = [];
  let kube: KubeClient;
  let namespace: string;
  let bucket: string;
  let pod: FsPod;
  let dataDir: string;
  let repo: ResticRepository;
  let logDir: string;
  const restic = () => ({ binary: resticBinary() });

  const repository = (passwordKey = 'password') => ({
    bucket,
    prefix: 'backups',
    s3Url: ground().s3.endpoint,
    region: ground().s3.region,
    s3ForcePathStyle: true,
    credentialsSecret: { namespace, name: 's3', key: 'cloud' },
    passwordSecret: { namespace, name: 'restic', key: passwordKey },
  });

  const capture = (backupName: string, passwordKey?: string) =>
    captureFsVolumes(pod, ['data'], {
      kube,
      backupName,
      repository: repository(passwordKey),
      namespace,
      volumeOfClaim: () => undefined,
      pollMs: 300,
    });

  /** Bytes stored under the namespace's repository in the bucket. */
  const bucketBytes = async (): Promise<number> => {
    let total = 0;
    let token: string | undefined;
    do {
      const page = await testS3Client().send(
        new ListObjectsV2Command({
          Bucket: bucket,
          Prefix: `backups/restic/${namespace}/`,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      for (const o of page.Contents ?? []) total += o.Size ?? 0;
      token = page.NextContinuationToken;
    } while (token);
    return total;
  };

  /** Random bytes over [offset, offset+length) of the volume's file, as a process in the pod would write. */
  const overwrite = async (offset: number, length: number): Promise<void> => {
    const fh = await open(join(dataDir, 'big'), offset === 0 && length === SIZE ? 'w' : 'r+');
    try {
      for (let done = 0; done < length; done += 4 * MB) {
        const n = Math.min(4 * MB, length - done);
        await fh.write(randomBytes(n), 0, n, offset + done);
      }
    } finally {
      await fh.close();
    }
  };

  beforeAll(async () => {
    const { node } = ground();
    if (!node) throw new Error('the test ground has no node: global-setup must start it');
    logDir = await mkdtemp(join(ground().workDir, 'agent-lifecycle-'));
    namespace = await newNamespace('fslife');
    agents.push(startNodeAgent(ground(), logDir, { namespace, name: 'agent-1' }));
    kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    bucket = await newBucket('fslife');
    await createResticSecrets(core, namespace, { password: `${PASSWORD}\n` });
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'big' },
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              name: 'main',
              image: node.images.busybox,
              imagePullPolicy: 'Never',
              command: ['sh', '-c', 'sleep 100000'],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
      },
    });
    const running = await until(async () => {
      const p = await core.readNamespacedPod({ name: 'big', namespace });
      return p.status?.phase === 'Running' ? p : undefined;
    }, 'pod big to run');
    pod = {
      namespace,
      name: 'big',
      uid: running.metadata?.uid ?? '',
      node: running.spec?.nodeName ?? '',
      volumes: [{ name: 'data', type: 'emptyDir' }],
    };
    dataDir = await podVolumeDir({
      kubeletRootDir: node.kubeletRootDir,
      podUid: pod.uid,
      pod: `${namespace}/big`,
      volume: 'data',
    });
    await overwrite(0, SIZE);
    repo = await resolveRepository(kube, { ...repository(), volumeNamespace: namespace });
  }, TIMEOUT);

  afterAll(async () => {
    for (const a of agents) await a.stop();
    kube?.close();
  });

  const agentLogs = async (): Promise<string> =>
    (await Promise.all(agents.map((a) => readFile(a.proc.logPath, 'utf8').catch(() => '')))).join('\n');

  it(
    'an agent killed with -9 mid-backup: the volume is reported failed, the stale lock is cleared, restic check passes, the next backup works',
    async () => {
      const first = agents[0];
      if (!first) throw new Error('no agent');
      const pending = capture('killed');
      // Killed once restic has uploaded part of the volume and not all of it.
      const inFlight = await until(async () => {
        const page = await kube.list(POD_VOLUME_BACKUP, {
          labelSelector: 'lifeboat.dev/backup-name=killed',
        });
        const status = (page.items[0] as { status?: { phase?: string } } | undefined)?.status;
        if (status?.phase !== 'InProgress') return undefined;
        const stored = await bucketBytes();
        return stored > 20 * MB ? stored : undefined;
      }, 'the backup to be under way');
      const agentPid = first.proc.child.pid ?? 0;
      // As when the agent's container dies: restic with it.
      const children = await childrenOf(agentPid);
      expect(children.length, 'restic runs as a child of the agent').toBeGreaterThan(0);
      for (const pid of children) process.kill(pid, 'SIGKILL');
      process.kill(agentPid, 'SIGKILL');
      await first.proc.exited;
      const stale = await listLocks(repo, restic());
      expect(stale.length, 'the killed restic left its lock').toBeGreaterThan(0);
      // A check cannot take its exclusive lock past it.
      await expect(checkRepository(repo, restic())).rejects.toThrow('locked');

      agents.push(startNodeAgent(ground(), logDir, { namespace, name: 'agent-2' }));
      const [outcome] = await pending;
      expect(outcome?.result).toBe('failed');
      expect(outcome?.error).toContain(`volume data of pod ${namespace}/big`);
      expect(outcome?.error).toContain('the node agent stopped during the backup');
      expect(fsVolumeErrors(outcome ? [outcome] : [])).toEqual([
        expect.objectContaining({ namespace, resource: 'pods', name: 'big' }),
      ]);
      await until(
        async () => ((await listLocks(repo, restic())).length === 0 ? true : undefined),
        'the restarted agent to clear the stale lock',
        60_000,
      );
      expect(await agentLogs()).toContain('removed stale restic locks of an interrupted run');
      await checkRepository(repo, restic());

      const [next] = await capture('full');
      expect(next?.result, next?.error).toBe('succeeded');
      expect(next?.bytes).toBe(SIZE);
      console.log(`killed with ${inFlight} bytes in the bucket; next backup ${next?.snapshotId}`);
    },
    TIMEOUT,
  );

  it(
    'a second backup after changing 1% of the volume adds about that 1%, and both snapshots restore with the right sha256',
    async () => {
      const { node } = ground();
      if (!node) throw new Error('no node');
      const fullSum = await sha256(join(dataDir, 'big'));
      const full = await snapshotsTagged(repo, { backup: 'full' }, restic());
      expect(full).toHaveLength(1);
      const before = await bucketBytes();
      const changed = SIZE / 100;
      await overwrite(100 * MB, changed);
      const incrSum = await sha256(join(dataDir, 'big'));
      const [incr] = await capture('incr');
      expect(incr?.result, incr?.error).toBe('succeeded');
      const added = incr?.object?.status?.dataAdded ?? -1;
      const grown = (await bucketBytes()) - before;
      console.log(
        `incremental: changed ${changed} of ${SIZE} bytes; restic data_added ${added}, bucket grew ${grown} bytes`,
      );
      // restic's chunks average 1 MiB, so a changed region costs it plus the chunks at its edges.
      expect(added).toBeGreaterThanOrEqual(changed);
      expect(added).toBeLessThan(SIZE / 20);
      expect(grown).toBeLessThan(SIZE / 20);

      // Both snapshots restore into a new pod's volumes before its workload starts.
      const reader = await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'reader' },
          spec: {
            restartPolicy: 'Never',
            initContainers: [
              {
                name: 'restore-wait',
                image: node.images.busybox,
                imagePullPolicy: 'Never',
                command: [
                  'sh',
                  '-c',
                  'until [ -f /v1/.lifeboat-restore/rr ] && [ -f /v2/.lifeboat-restore/rr ]; do sleep 1; done',
                ],
                volumeMounts: [
                  { name: 'v1', mountPath: '/v1' },
                  { name: 'v2', mountPath: '/v2' },
                ],
              },
            ],
            containers: [
              {
                name: 'main',
                image: node.images.busybox,
                imagePullPolicy: 'Never',
                command: ['sh', '-c', 'sha256sum /v1/big /v2/big'],
                volumeMounts: [
                  { name: 'v1', mountPath: '/v1' },
                  { name: 'v2', mountPath: '/v2' },
                ],
              },
            ],
            volumes: [
              { name: 'v1', emptyDir: {} },
              { name: 'v2', emptyDir: {} },
            ],
          },
        },
      });
      await until(async () => {
        const p = await core.readNamespacedPod({ name: 'reader', namespace });
        return p.status?.initContainerStatuses?.[0]?.state?.running ? p : undefined;
      }, 'the reader to wait in its init container');
      for (const [volume, snapshotID] of [
        ['v1', full[0]?.id ?? ''],
        ['v2', incr?.snapshotId ?? ''],
      ] as const) {
        await custom.createNamespacedCustomObject({
          group: 'lifeboat.dev',
          version: 'v1alpha1',
          namespace,
          plural: 'podvolumerestores',
          body: {
            apiVersion: 'lifeboat.dev/v1alpha1',
            kind: 'PodVolumeRestore',
            metadata: { name: `rr-${volume}`, labels: { 'lifeboat.dev/node': node.name } },
            spec: {
              node: node.name,
              pod: { namespace, name: 'reader', uid: reader.metadata?.uid ?? '' },
              volume,
              restoreName: 'rr',
              repository: { ...repository(), volumeNamespace: namespace },
              snapshotID,
              expected: { files: 1, dirs: 0, bytes: SIZE },
            },
          },
        });
      }
      await until(async () => {
        const p = await core.readNamespacedPod({ name: 'reader', namespace });
        if (p.status?.phase === 'Failed') throw new Error('the reader failed');
        return p.status?.phase === 'Succeeded' ? p : undefined;
      }, 'the reader to print the checksums');
      const printed = await core.readNamespacedPodLog({ name: 'reader', namespace, container: 'main' });
      expect(printed).toBe(`${fullSum}  /v1/big\n${incrSum}  /v2/big\n`);
      expect(fullSum).not.toBe(incrSum);
    },
    TIMEOUT,
  );

  it(
    "expiry in a reconcile pass forgets the backup's restic snapshots, prunes their data and deletes its PodVolumeBackups",
    async () => {
      const handle = new KubeHandle();
      try {
        const objects = await newNamespace('fslife-objects');
        const policy = await createPolicyRepo({
          'storage-locations/primary.yaml': localLocation('primary', { path: 'primary', isDefault: true }),
          'schedules/vols.yaml': scheduleDoc('vols', { cron: '0 0 1 1 *', namespaces: [objects], ttl: '1h' }),
        });
        const clock = new FakeClock(new Date().toISOString());
        const r = await reconcilerFor(policy, {
          dataDir: await tempDir('fslife-'),
          kube: handle,
          clock,
          deps: { restic: restic() },
        });
        const first = await r.pass();
        const backup = first.events.find((e) => e.action === 'backup')?.subject;
        if (!backup) throw new Error(`no backup in ${JSON.stringify(first.events)}`);
        // The backup's volume copy holds 10 MB that no other snapshot has.
        await overwrite(50 * MB, 10 * MB);
        const [mine] = await capture(backup);
        expect(mine?.result, mine?.error).toBe('succeeded');
        await overwrite(50 * MB, 10 * MB);
        const [later] = await capture('later');
        expect(later?.result, later?.error).toBe('succeeded');
        expect(await snapshotsTagged(repo, { backup }, restic())).toHaveLength(1);
        const before = await bucketBytes();

        clock.advance(2 * HOUR);
        const second = await r.pass();
        expect(
          second.events.map((e) => `${e.action} ${e.subject}`),
          JSON.stringify(second.events),
        ).toContain(`expire ${backup}`);
        expect(await snapshotsTagged(repo, { backup }, restic())).toEqual([]);
        // Other backups' snapshots stay.
        for (const other of ['full', 'incr', 'later'])
          expect(await snapshotsTagged(repo, { backup: other }, restic())).toHaveLength(1);
        const after = await bucketBytes();
        console.log(`expiry: repository ${before} -> ${after} bytes`);
        expect(before - after).toBeGreaterThan(9 * MB);
        const left = await kube.list(POD_VOLUME_BACKUP, {
          labelSelector: `lifeboat.dev/backup-name=${backup}`,
        });
        expect(left.items).toEqual([]);
        await checkRepository(repo, restic());
      } finally {
        await handle.close();
      }
    },
    TIMEOUT,
  );

  it(
    'a password Secret without the named key fails naming the Secret and key, and no log holds the password',
    async () => {
      const [outcome] = await capture('nokey', 'no-such-key');
      expect(outcome?.result).toBe('failed');
      expect(outcome?.error).toContain(`volume data of pod ${namespace}/big`);
      expect(outcome?.error).toContain(`Secret ${namespace}/restic has no key no-such-key`);
      expect(await agentLogs()).not.toContain(PASSWORD);
      expect(JSON.stringify(outcome)).not.toContain(PASSWORD);
    },
    TIMEOUT,
  );
});
