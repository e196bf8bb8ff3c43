// File-system volumes benchmark: what the node agent adds to restic itself.
//
// On its own test ground with a node: a pod's emptyDir filled with --mb MB of random files
// (written straight into the kubelet's volume directory). Taking turns for --runs runs, each
// into fresh, empty repositories (so every backup is a full one) made before the clock starts
// as two copies of one `restic init`: restic calibrates its key derivation (scrypt's N, r, p)
// to the machine's load when a repository is made, and every later open of the repository
// costs in proportion. On this shared machine two inits a minute apart got p=6 and p=4, which
// made one side's restic restore 0.35 s slower than the other's with lifeboat doing nothing;
// with one key for both, that noise is gone. So both sides measure the usual case, a
// repository that exists:
//   (a) raw backup: plain `restic backup` of that directory to the same S3 server;
//   (b) agent backup: a PodVolumeBackup of the volume, from creation until the agent marks it
//       Completed (it reads the repository's Secrets, then runs restic backup);
//   (c) raw restore: `restic restore` of (a)'s snapshot into an empty directory;
//   (d) agent restore: a PodVolumeRestore of (b)'s snapshot into a new pod's emptyDir, from
//       creation until Completed (restic restore, then the count check and the marker).
// Prints each run, the medians, throughput, the ratios (target ≤ 1.1) and the peak RSS of the
// agent process (VmHWM) and of the restic processes it ran. Each agent figure is also split
// into phases, to show where the agent adds time: `queue` from creating the object until the
// agent took it (startTimestamp), `restic` the agent's restic commands (its log), `agent` the
// rest until it wrote completionTimestamp (Secrets, checks, the marker), `report` until this
// benchmark saw Completed.
//
//   npm run bench -- volumes-fs [--mb 256] [--runs 3]   (--mb 1024 for the 1 GB volume)
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { startGround } from '../test/ground/ground.js';
import { startNodeAgent } from '../test/ground/agent.js';
import { resticBinary } from '../test/ground/restic.js';
import { KubeClient } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import { podVolumeDir } from '../src/volumes/pod-volume-path.js';
import {
  NODE_LABEL,
  POD_VOLUME_BACKUP,
  POD_VOLUME_RESTORE,
  SECRET,
  type PodVolumeBackup,
  type PodVolumeRestore,
  type RepositorySpec,
} from '../src/volumes/pod-volume-types.js';
import { median, type Benchmark } from './benchmark.js';

const TARGET_RATIO = 1.1;

/** One agent run split into phases, in seconds (see the header). */
interface Phases {
  queue: number;
  restic: number;
  agent: number;
  report: number;
}
const FILE_MB = 32;

const core = (resource: string, kind: string, namespaced: boolean): ResourceInfo => ({
  ...SECRET,
  resource,
  kind,
  namespaced,
  singularName: kind.toLowerCase(),
  verbs: ['get', 'list', 'create', 'delete'],
});
const NAMESPACE = core('namespaces', 'Namespace', false);
const POD = core('pods', 'Pod', true);

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 1_800_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** VmHWM (peak resident set) of a process, in bytes; 0 when it is gone. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}

async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
  }
  return out;
}

/** Plain restic, as a user would run it, with the repository in its environment. */
function restic(args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(resticBinary(), [...args, '--no-cache', '-o', 's3.bucket-lookup=path'], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-65_536)));
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-8_192)));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`restic ${args[0]} exited ${code}: ${err}`)),
    );
  });
}

export async function benchVolumesFs(o: { mb: number; runs: number; log: (l: string) => void }) {
  const { log } = o;
  const ground = await startGround({ node: true, log: (l) => log(`  [ground] ${l}`) });
  const node = ground.info.node;
  if (!node) throw new Error('the ground has no node');
  const { s3 } = ground.info;
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath });
  const agent = startNodeAgent(ground.info, await mkdtemp(join(tmpdir(), 'bench-agent-')), {
    namespace: 'bench-fs',
  });
  const scratch = await mkdtemp(join(tmpdir(), 'bench-fs-'));
  let resticPeak = 0;
  const sampler = setInterval(() => {
    void (async () => {
      for (const pid of await childrenOf(agent.proc.child.pid ?? -1))
        resticPeak = Math.max(resticPeak, await peakRss(pid));
    })();
  }, 200);
  try {
    const ns = 'bench-fs';
    const bucket = 'bench-fs';
    const s3Client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    await s3Client.send(new CreateBucketCommand({ Bucket: bucket }));
    /** An empty repository's objects (config, keys) copied: the same repository, key and KDF. */
    const copyRepository = async (from: string, to: string): Promise<void> => {
      const list = await s3Client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${from}/` }));
      for (const { Key } of list.Contents ?? []) {
        if (!Key) continue;
        const got = await s3Client.send(new GetObjectCommand({ Bucket: bucket, Key }));
        const body = await got.Body?.transformToByteArray();
        await s3Client.send(
          new PutObjectCommand({ Bucket: bucket, Key: `${to}/${Key.slice(from.length + 1)}`, Body: body }),
        );
      }
    };
    await kube.create(NAMESPACE, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const password = randomBytes(24).toString('base64');
    const cloud = `[default]\naws_access_key_id=${s3.accessKeyId}\naws_secret_access_key=${s3.secretAccessKey}\n`;
    await kube.create(SECRET, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'restic', namespace: ns },
      data: {
        password: Buffer.from(password).toString('base64'),
        cloud: Buffer.from(cloud).toString('base64'),
      },
    });
    const repository = (prefix: string): RepositorySpec => ({
      volumeNamespace: ns,
      bucket,
      prefix,
      s3Url: s3.endpoint,
      region: s3.region,
      s3ForcePathStyle: true,
      credentialsSecret: { namespace: ns, name: 'restic', key: 'cloud' },
      passwordSecret: { namespace: ns, name: 'restic', key: 'password' },
    });
    const rawEnv = (prefix: string): NodeJS.ProcessEnv => ({
      RESTIC_REPOSITORY: `s3:${s3.endpoint}/${bucket}/${prefix}/restic/${ns}`,
      RESTIC_PASSWORD: password,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_DEFAULT_REGION: s3.region,
    });

    const pod = async (name: string): Promise<{ uid: string; dir: string }> => {
      await kube.create(POD, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace: ns },
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
      });
      const running = await until(async () => {
        const p = await kube.get(POD, ns, name);
        return (p?.status as { phase?: string } | undefined)?.phase === 'Running' && p ? p : undefined;
      }, `pod ${name} to run`);
      const uid = running.metadata.uid ?? '';
      const dir = await podVolumeDir({
        kubeletRootDir: node.kubeletRootDir,
        podUid: uid,
        pod: `${ns}/${name}`,
        volume: 'data',
      });
      return { uid, dir };
    };

    const source = await pod('source');
    const files = Math.max(1, Math.round(o.mb / FILE_MB));
    const fileBytes = Math.round((o.mb * 1024 * 1024) / files);
    log(`writing ${files} files of ${(fileBytes / 1024 / 1024).toFixed(1)} MB into the pod's emptyDir…`);
    for (let i = 0; i < files; i++) await writeFile(join(source.dir, `f${i}`), randomBytes(fileBytes));
    const totalBytes = files * fileBytes;

    /** The resticSeconds the agent logged for the object of this kind and name. */
    const resticSeconds = async (kind: 'backup' | 'restore', name: string): Promise<number> => {
      const log = await readFile(agent.proc.logPath, 'utf8');
      for (const line of log.split('\n')) {
        if (!line.startsWith('{')) continue;
        const l = JSON.parse(line) as Record<string, unknown>;
        if (l[kind] === name && typeof l.resticSeconds === 'number') return l.resticSeconds;
      }
      throw new Error(`the agent logged no resticSeconds for ${kind} ${name}`);
    };
    const phasesOf = async (o: {
      kind: 'backup' | 'restore';
      name: string;
      created: number;
      seen: number;
      status: { startTimestamp?: string; completionTimestamp?: string } | undefined;
    }): Promise<Phases> => {
      const { kind, name, created, seen, status } = o;
      const start = Date.parse(status?.startTimestamp ?? '');
      const end = Date.parse(status?.completionTimestamp ?? '');
      const restic = await resticSeconds(kind, name);
      return {
        queue: (start - created) / 1000,
        restic,
        agent: (end - start) / 1000 - restic,
        report: (seen - end) / 1000,
      };
    };

    const waitEnd = async <T extends PodVolumeBackup | PodVolumeRestore>(info: ResourceInfo, name: string) =>
      until(async () => {
        const obj = (await kube.get(info, ns, name)) as T | null;
        const phase = obj?.status?.phase;
        if (phase === 'Failed') throw new Error(`${info.kind} ${name} failed: ${obj?.status?.message ?? ''}`);
        return phase === 'Completed' && obj ? obj : undefined;
      }, `${info.kind} ${name}`);

    const times = {
      rawBackup: [] as number[],
      agentBackup: [] as number[],
      rawRestore: [] as number[],
      agentRestore: [] as number[],
    };
    const phases = { backup: [] as Phases[], restore: [] as Phases[] };
    for (let run = 0; run < o.runs; run++) {
      await restic(['init'], rawEnv(`raw-${run}`));
      await copyRepository(`raw-${run}/restic/${ns}`, `agent-${run}/restic/${ns}`);
      const rawBackup = async (): Promise<string> => {
        const env = rawEnv(`raw-${run}`);
        const t = performance.now();
        const out = await restic(['backup', '--json', '.'], env, source.dir);
        times.rawBackup.push((performance.now() - t) / 1000);
        const summary = out
          .split('\n')
          .map((l) =>
            l.startsWith('{') ? (JSON.parse(l) as { message_type?: string; snapshot_id?: string }) : {},
          )
          .find((m) => m.message_type === 'summary');
        if (!summary?.snapshot_id) throw new Error('restic backup printed no summary');
        return summary.snapshot_id;
      };
      const agentBackup = async (): Promise<string> => {
        const name = `b-${run}`;
        const t = performance.now();
        const created = Date.now();
        await kube.create(POD_VOLUME_BACKUP, {
          apiVersion: 'lifeboat.dev/v1alpha1',
          kind: 'PodVolumeBackup',
          metadata: { name, namespace: ns, labels: { [NODE_LABEL]: node.name } },
          spec: {
            node: node.name,
            pod: { namespace: ns, name: 'source', uid: source.uid },
            volume: 'data',
            backupName: name,
            repository: repository(`agent-${run}`),
          },
        });
        const done = await waitEnd<PodVolumeBackup>(POD_VOLUME_BACKUP, name);
        times.agentBackup.push((performance.now() - t) / 1000);
        phases.backup.push(
          await phasesOf({ kind: 'backup', name, created, seen: Date.now(), status: done.status }),
        );
        return done.status?.snapshotID ?? '';
      };
      // Interleaved: odd runs start with the agent.
      let rawSnapshot: string;
      let agentSnapshot: string;
      if (run % 2 === 0) {
        rawSnapshot = await rawBackup();
        agentSnapshot = await agentBackup();
      } else {
        agentSnapshot = await agentBackup();
        rawSnapshot = await rawBackup();
      }

      const target = await pod(`target-${run}`);
      const rawRestore = async (): Promise<void> => {
        const dir = join(scratch, `restore-${run}`);
        const t = performance.now();
        await restic(['restore', '--json', rawSnapshot, '--target', dir], rawEnv(`raw-${run}`));
        times.rawRestore.push((performance.now() - t) / 1000);
        await rm(dir, { recursive: true, force: true });
      };
      const agentRestore = async (): Promise<void> => {
        const name = `r-${run}`;
        const t = performance.now();
        const created = Date.now();
        await kube.create(POD_VOLUME_RESTORE, {
          apiVersion: 'lifeboat.dev/v1alpha1',
          kind: 'PodVolumeRestore',
          metadata: { name, namespace: ns, labels: { [NODE_LABEL]: node.name } },
          spec: {
            node: node.name,
            pod: { namespace: ns, name: `target-${run}`, uid: target.uid },
            volume: 'data',
            restoreName: name,
            repository: repository(`agent-${run}`),
            snapshotID: agentSnapshot,
            expected: { files, dirs: 0, bytes: totalBytes },
          },
        });
        const done = await waitEnd<PodVolumeRestore>(POD_VOLUME_RESTORE, name);
        times.agentRestore.push((performance.now() - t) / 1000);
        phases.restore.push(
          await phasesOf({ kind: 'restore', name, created, seen: Date.now(), status: done.status }),
        );
      };
      if (run % 2 === 0) {
        await rawRestore();
        await agentRestore();
      } else {
        await agentRestore();
        await rawRestore();
      }
      await kube.delete(POD, ns, `target-${run}`);
      const f = (xs: number[]) => `${xs.at(-1)?.toFixed(2) ?? '?'} s`;
      log(
        `run ${run}: backup raw ${f(times.rawBackup)}, agent ${f(times.agentBackup)}; restore raw ${f(times.rawRestore)}, agent ${f(times.agentRestore)}`,
      );
      log(`  agent backup:  ${phaseText(phases.backup.at(-1))}`);
      log(`  agent restore: ${phaseText(phases.restore.at(-1))}`);
    }
    const m = {
      rawBackup: median(times.rawBackup),
      agentBackup: median(times.agentBackup),
      rawRestore: median(times.rawRestore),
      agentRestore: median(times.agentRestore),
    };
    const medianPhases = (xs: Phases[]): Phases => ({
      queue: median(xs.map((p) => p.queue)),
      restic: median(xs.map((p) => p.restic)),
      agent: median(xs.map((p) => p.agent)),
      report: median(xs.map((p) => p.report)),
    });
    return {
      ...m,
      backupPhases: medianPhases(phases.backup),
      restorePhases: medianPhases(phases.restore),
      totalBytes,
      backupRatio: m.agentBackup / m.rawBackup,
      restoreRatio: m.agentRestore / m.rawRestore,
      agentPeakRss: await peakRss(agent.proc.child.pid ?? -1),
      resticPeakRss: resticPeak,
    };
  } finally {
    clearInterval(sampler);
    await agent.stop();
    kube.close();
    await ground.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

function phaseText(p: Phases | undefined): string {
  if (!p) return '?';
  const s = (x: number) => `${x.toFixed(2)} s`;
  return `queue ${s(p.queue)}, restic ${s(p.restic)}, agent ${s(p.agent)}, report ${s(p.report)}`;
}

export const volumesFsBenchmark: Benchmark = {
  description:
    'back up and restore a pod volume of M MB through the node agent against plain restic (target ≤ 1.1×)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { mb: { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } },
    });
    const log = (l: string): void => void process.stdout.write(`${l}\n`);
    const r = await benchVolumesFs({ mb: Number(values.mb), runs: Number(values.runs), log });
    const mbps = (s: number) => `${(r.totalBytes / 1024 / 1024 / s).toFixed(1)} MB/s`;
    const mib = (b: number) => `${(b / 1024 / 1024).toFixed(0)} MB`;
    log(`volume: ${mib(r.totalBytes)}; medians over the runs:`);
    log(
      `backup   raw restic ${r.rawBackup.toFixed(2)} s (${mbps(r.rawBackup)}), agent ${r.agentBackup.toFixed(2)} s (${mbps(r.agentBackup)}), ratio ${r.backupRatio.toFixed(2)}`,
    );
    log(
      `restore  raw restic ${r.rawRestore.toFixed(2)} s (${mbps(r.rawRestore)}), agent ${r.agentRestore.toFixed(2)} s (${mbps(r.agentRestore)}), ratio ${r.restoreRatio.toFixed(2)}`,
    );
    log(`agent backup phases (medians):  ${phaseText(r.backupPhases)}`);
    log(`agent restore phases (medians): ${phaseText(r.restorePhases)}`);
    log(
      `peak RSS: agent ${mib(r.agentPeakRss)}, its restic ${mib(r.resticPeakRss)} (target ratio ≤ ${TARGET_RATIO})`,
    );
    return r.backupRatio <= TARGET_RATIO && r.restoreRatio <= TARGET_RATIO ? 0 : 1;
  },
};
