// Volumes benchmark: what a lifeboat backup of CSI volumes costs over the driver's own snapshots.
//
// On its own test ground with a node and CSI storage: N claims of M MB each (random bytes,
// written straight into the driver's volume directories). Taking turns for a few runs,
//   (a) raw: one VolumeSnapshot per claim, created directly, as many at once as the volume
//       phase takes (4), until every one is readyToUse — the driver's and sidecars' own time;
//   (b) backup: runBackup of the namespace (listing, the volume phase with the same snapshots,
//       archive, side files) to a local directory;
// deleting each run's snapshots again. Prints both times and their ratio (target ≤ 1.1),
// medians over the runs.
//
//   npm run bench -- volumes [--volumes 10] [--mb 50] [--runs 3]
import { randomBytes } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { startGround } from '../test/ground/ground.js';
import { KubeClient } from '../src/kube/client.js';
import { PERSISTENT_VOLUME_CLAIM, SnapshotApi } from '../src/kube/snapshots.js';
import { runBackup } from '../src/backup/engine.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { DEFAULT_VOLUME_CONCURRENCY } from '../src/volumes/phase.js';
import { median, type Benchmark } from './benchmark.js';

const TARGET_RATIO = 1.1;

async function until<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 600_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function benchVolumes(o: {
  volumes: number;
  mb: number;
  runs: number;
  log: (l: string) => void;
}) {
  const { log } = o;
  const ground = await startGround({ node: true, log: (l) => log(`  [ground] ${l}`) });
  const csi = ground.info.csi;
  if (!csi) throw new Error('the ground has no CSI storage');
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath });
  const api = new SnapshotApi(kube);
  try {
    const ns = 'bench-volumes';
    const namespaces = {
      ...PERSISTENT_VOLUME_CLAIM,
      resource: 'namespaces',
      kind: 'Namespace',
      singularName: 'namespace',
      namespaced: false,
    };
    await kube.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const claims = Array.from({ length: o.volumes }, (_, i) => `vol-${i}`);
    log(`creating ${o.volumes} claims of ${o.mb} MB…`);
    for (const name of claims) {
      await kube.create(PERSISTENT_VOLUME_CLAIM, {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: ns },
        spec: {
          storageClassName: csi.storageClass,
          accessModes: ['ReadWriteOnce'],
          resources: { requests: { storage: '1Gi' } },
        },
      });
    }
    for (const name of claims) {
      const pvName = await until(async () => {
        const pvc = (await kube.get(PERSISTENT_VOLUME_CLAIM, ns, name)) as {
          spec?: { volumeName?: string };
          status?: { phase?: string };
        } | null;
        return pvc?.status?.phase === 'Bound' ? pvc.spec?.volumeName : undefined;
      }, `claim ${name} bound`);
      const pv = await api.persistentVolume(pvName);
      const dir = join(csi.stateDir, 'volumes', pv?.spec.csi?.volumeHandle ?? '?', 'data');
      await writeFile(join(dir, 'blob'), randomBytes(o.mb * 1024 * 1024));
    }
    const limit = pLimit(DEFAULT_VOLUME_CONCURRENCY);
    const clean = async (label: string): Promise<void> => {
      for (const s of await api.snapshotsLabelled(label)) await api.deleteSnapshot(ns, s.metadata.name ?? '');
      await until(
        async () => ((await api.snapshotsLabelled(label)).length === 0 ? true : undefined),
        'cleanup',
      );
    };
    const raw: number[] = [];
    const backup: number[] = [];
    const store = new LocalDirStore({ root: await mkdtemp(join(tmpdir(), 'lifeboat-bench-volumes-')) });
    for (let run = 1; run <= o.runs; run++) {
      const label = `bench-raw=${run}`;
      let t = performance.now();
      await Promise.all(
        claims.map((claim) =>
          limit(async () => {
            const vs = await api.createSnapshot({
              apiVersion: 'snapshot.storage.k8s.io/v1',
              kind: 'VolumeSnapshot',
              metadata: {
                generateName: `raw-${claim}-`,
                namespace: ns,
                labels: { 'bench-raw': String(run) },
              },
              spec: {
                source: { persistentVolumeClaimName: claim },
                volumeSnapshotClassName: csi.snapshotClass,
              },
            });
            await until(async () => {
              const s = await api.snapshot(ns, vs.metadata.name ?? '');
              return s?.status?.readyToUse ? true : undefined;
            }, `snapshot of ${claim}`);
          }),
        ),
      );
      raw.push((performance.now() - t) / 1000);
      await clean(label);

      t = performance.now();
      const result = await runBackup(
        { name: `bench-${run}`, spec: { includedNamespaces: [ns] } },
        { kube, store },
      );
      backup.push((performance.now() - t) / 1000);
      if (result.phase !== 'Completed') throw new Error(`backup ${result.name}: ${result.phase}`);
      await clean(`velero.io/backup-name=bench-${run}`);
      log(`run ${run}: raw ${raw.at(-1)!.toFixed(2)} s, backup ${backup.at(-1)!.toFixed(2)} s`);
    }
    const rawSeconds = median(raw);
    const backupSeconds = median(backup);
    return { rawSeconds, backupSeconds, ratio: backupSeconds / rawSeconds };
  } finally {
    kube.close();
    await ground.stop();
  }
}

export const volumesBenchmark: Benchmark = {
  description: 'back up N CSI volumes of M MB; time against the driver’s own snapshots (target ≤ 1.1×)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        volumes: { type: 'string', default: '10' },
        mb: { type: 'string', default: '50' },
        runs: { type: 'string', default: '3' },
      },
    });
    const log = (l: string): void => void process.stdout.write(`${l}\n`);
    const r = await benchVolumes({
      volumes: Number(values.volumes),
      mb: Number(values.mb),
      runs: Number(values.runs),
      log,
    });
    log(`raw snapshots (median): ${r.rawSeconds.toFixed(2)} s`);
    log(`lifeboat backup (median): ${r.backupSeconds.toFixed(2)} s`);
    log(`ratio: ${r.ratio.toFixed(2)} (target ≤ ${TARGET_RATIO})`);
    return r.ratio <= TARGET_RATIO ? 0 : 1;
  },
};
