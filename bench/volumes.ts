// Volumes benchmark: what lifeboat adds to the driver's own CSI snapshots and restores.
//
// On its own test ground with a node and CSI storage: N claims of M MB each (random bytes,
// written straight into the driver's volume directories). Each run measures, in turn,
//   (a) raw snapshots: one VolumeSnapshot per claim, created directly, as many at once as the
//       volume phase takes (4), until every one is readyToUse — the driver's and sidecars' time;
//   (b) backup: runBackup of the namespace (listing, the volume phase with the same snapshots,
//       archive, side files) to a local directory; once with the waits lifeboat had before
//       (250 ms doubling to 2 s) and once with pollDelay (util/poll-delay.ts), order alternating;
//   (c) raw restore: per claim a static VolumeSnapshotContent with the backup's handle, its
//       VolumeSnapshot, once that is readyToUse a claim made from it, 4 at once, until Bound,
//       snapshot objects deleted;
//   (d) restore: planRestore + applyRestore of the backup into a new namespace (the claims from
//       the same snapshots, bound, temporary snapshots deleted); once with the old fixed 500 ms
//       wait for binding and once with pollDelay; (c) and (d) interleaved, order alternating.
// Prints the medians and the ratios to (a) and (c) (target ≤ 1.1).
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
import {
  PERSISTENT_VOLUME_CLAIM,
  SnapshotApi,
  VOLUME_SNAPSHOT,
  VOLUME_SNAPSHOT_CONTENT,
} from '../src/kube/snapshots.js';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { runBackup } from '../src/backup/engine.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { DEFAULT_VOLUME_CONCURRENCY } from '../src/volumes/phase.js';
import { median, type Benchmark } from './benchmark.js';
import { kubeTracer, logLines, timeline } from './volumes-trace.js';

const TARGET_RATIO = 1.1;
/** Long enough for a client-side rate limiter of 5 requests/s to refill its burst of 10. */
const SETTLE_MS = 3_000;

const MEASURES = [
  'rawSnapshots',
  'backupBefore',
  'backup',
  'rawRestore',
  'restoreBefore',
  'restore',
  'restoreApply',
] as const;
type Measure = (typeof MEASURES)[number];

/** The waits lifeboat used before pollDelay, kept here to measure against in the same run. */
const doublingDelay = (elapsedMs: number): number => {
  // 250 ms, doubling up to 2 s: the n-th wait began after 250 · (2^n − 1) ms.
  let wait = 250;
  for (let waited = 0; waited + wait <= elapsedMs && wait < 2_000; wait *= 2) waited += wait;
  return Math.min(wait, 2_000);
};
const fixedDelay = (): number => 500;

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
  /** Print each restore's calls and the controllers' log lines (volumes-trace.ts). */
  trace?: boolean;
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
      // A backup holds its contents at Retain; Delete again, so the driver's copies go too.
      for (const c of await api.contentsLabelled(label))
        await api.setContentDeletionPolicy(c.metadata.name ?? '', 'Delete');
      for (const s of await api.snapshotsLabelled(label)) await api.deleteSnapshot(ns, s.metadata.name ?? '');
      await until(
        async () => ((await api.snapshotsLabelled(label)).length === 0 ? true : undefined),
        'cleanup',
      );
    };
    const dropNamespace = async (name: string): Promise<void> => {
      await kube.delete(namespaces, '', name);
      await until(
        async () => ((await kube.get(namespaces, '', name)) === null ? true : undefined),
        `namespace ${name} gone`,
      );
    };
    /**
     * Before each measured restore: the previous restore's volumes and snapshot objects are gone
     * (their deletions processed), then a pause. The snapshot controller and the CSI sidecars
     * talk to the apiserver through client-side rate limiters (5 requests/s, bursts of 10); the
     * deletions after a restore drain them, and whichever restore came next would otherwise
     * start with its controllers throttled — which, not lifeboat, decided half a second or
     * more either way.
     */
    const settle = async (): Promise<void> => {
      const PVS = {
        ...PERSISTENT_VOLUME_CLAIM,
        resource: 'persistentvolumes',
        kind: 'PersistentVolume',
        namespaced: false,
      };
      await until(async () => {
        const pvs = await kube.list(PVS, {});
        const foreign = pvs.items.filter(
          (pv) => (pv.spec as { claimRef?: { namespace?: string } } | undefined)?.claimRef?.namespace !== ns,
        );
        const vsc = await kube.list(VOLUME_SNAPSHOT_CONTENT, {});
        const restored = vsc.items.filter((c) => /^(lifeboat|raw)-/.test(c.metadata.name ?? ''));
        const vs = await kube.list(VOLUME_SNAPSHOT, {});
        const others = vs.items.filter((v) => v.metadata.namespace !== ns);
        return foreign.length + restored.length + others.length === 0 ? true : undefined;
      }, 'the previous restore cleaned up');
      await new Promise((r) => setTimeout(r, SETTLE_MS));
    };
    const timed = async (what: Measure, fn: () => Promise<void>): Promise<number> => {
      const t = performance.now();
      await fn();
      const s = (performance.now() - t) / 1000;
      times[what].push(s);
      return s;
    };
    const times: Record<Measure, number[]> = {
      rawSnapshots: [],
      backupBefore: [],
      backup: [],
      rawRestore: [],
      restoreBefore: [],
      restore: [],
      restoreApply: [],
    };
    const store = new LocalDirStore({ root: await mkdtemp(join(tmpdir(), 'lifeboat-bench-volumes-')) });
    const tracer = o.trace ? kubeTracer(kube, store) : undefined;

    /** (a) the driver's own snapshots: one VolumeSnapshot per claim, until every one is ready. */
    const rawSnapshots = async (run: number): Promise<void> => {
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
    };
    /** Where a backup's time goes: before the first snapshot, snapshots, after the last one. */
    const profile: { before: number[]; snapshots: number[]; after: number[] } = {
      before: [],
      snapshots: [],
      after: [],
    };
    const backupRun = async (name: string, before: boolean): Promise<void> => {
      const t0 = Date.now();
      const result = await runBackup(
        { name, spec: { includedNamespaces: [ns] } },
        { kube, store, ...(before ? { volumePollDelay: doublingDelay } : {}) },
      );
      const t1 = Date.now();
      if (result.phase !== 'Completed') throw new Error(`backup ${result.name}: ${result.phase}`);
      const starts = result.volumes.map((v) => v.start?.getTime() ?? t0);
      const ends = result.volumes.map((v) => v.completion?.getTime() ?? t1);
      if (!before && starts.length > 0) {
        profile.before.push((Math.min(...starts) - t0) / 1000);
        profile.snapshots.push((Math.max(...ends) - Math.min(...starts)) / 1000);
        profile.after.push((t1 - Math.max(...ends)) / 1000);
      }
    };

    /**
     * (c) claims straight from the backup's snapshots, the driver's own restore: per claim a
     * static VolumeSnapshotContent with the handle (Retain), its VolumeSnapshot and a claim made
     * from it, until Bound, then the two snapshot objects deleted (what a restore must do too).
     */
    const rawRestore = async (backup: string, target: string): Promise<void> => {
      const handles = new Map<string, string>();
      for (const c of await api.contentsLabelled(`velero.io/backup-name=${backup}`)) {
        const vsName = c.spec.volumeSnapshotRef.name;
        const vs = vsName ? await api.snapshot(ns, vsName) : null;
        const source = vs?.spec.source.persistentVolumeClaimName;
        if (source && c.status?.snapshotHandle) handles.set(source, c.status.snapshotHandle);
      }
      await kube.create(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: target } });
      await Promise.all(
        claims.map((claim) =>
          limit(async () => {
            const handle = handles.get(claim);
            if (!handle) throw new Error(`no snapshot handle for ${claim} in backup ${backup}`);
            const name = `${target}-${claim}`;
            await kube.create(VOLUME_SNAPSHOT_CONTENT, {
              apiVersion: 'snapshot.storage.k8s.io/v1',
              kind: 'VolumeSnapshotContent',
              metadata: { name },
              spec: {
                deletionPolicy: 'Retain',
                driver: csi.driver,
                source: { snapshotHandle: handle },
                volumeSnapshotRef: {
                  apiVersion: 'snapshot.storage.k8s.io/v1',
                  kind: 'VolumeSnapshot',
                  namespace: target,
                  name,
                },
              },
            });
            await kube.create(VOLUME_SNAPSHOT, {
              apiVersion: 'snapshot.storage.k8s.io/v1',
              kind: 'VolumeSnapshot',
              metadata: { name, namespace: target },
              spec: { source: { volumeSnapshotContentName: name } },
            });
            // A claim made before its snapshot is ready sends the provisioner into its retry
            // back-off; the driver's own restore at its best waits for readyToUse first.
            await until(async () => {
              const s = await api.snapshot(target, name);
              return s?.status?.readyToUse ? true : undefined;
            }, `snapshot ${target}/${name} ready`);
            await kube.create(PERSISTENT_VOLUME_CLAIM, {
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              metadata: { name: claim, namespace: target },
              spec: {
                storageClassName: csi.storageClass,
                accessModes: ['ReadWriteOnce'],
                resources: { requests: { storage: '1Gi' } },
                dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name },
              },
            });
            await until(async () => {
              const pvc = (await kube.get(PERSISTENT_VOLUME_CLAIM, target, claim)) as {
                status?: { phase?: string };
              } | null;
              return pvc?.status?.phase === 'Bound' ? true : undefined;
            }, `claim ${target}/${claim} bound`);
            await kube.delete(VOLUME_SNAPSHOT, target, name);
            await kube.delete(VOLUME_SNAPSHOT_CONTENT, '', name);
          }),
        ),
      );
    };
    /** (d) lifeboat: plan and apply the restore of the namespace into `target`. */
    const lifeboatRestore = async (backup: string, target: string, before: boolean): Promise<void> => {
      const req = { name: `r-${target}`, spec: { backupName: backup, namespaceMapping: { [ns]: target } } };
      const deps = { kube, store, ...(before ? { volumePollDelay: fixedDelay } : {}) };
      const { plan } = await planRestore(req, deps);
      const t = performance.now();
      const result = await applyRestore(req, deps, { approvedHash: plan.hash });
      // Through the Git flow the plan is made a pass earlier; the wait after approval is this.
      if (!before) times.restoreApply.push((performance.now() - t) / 1000);
      if (result.phase !== 'Completed') throw new Error(`restore ${result.name}: ${result.phase}`);
      const claimsBack = result.items.filter(
        (i) => i.groupResource === 'persistentvolumeclaims' && i.result === 'created',
      ).length;
      if (claimsBack !== claims.length)
        throw new Error(`restore ${result.name}: ${claimsBack} claims created`);
    };

    for (let run = 1; run <= o.runs; run++) {
      // Odd runs take lifeboat's "before" first, even runs last, so neither always goes first.
      const order = run % 2 === 1 ? [true, false] : [false, true];
      await timed('rawSnapshots', () => rawSnapshots(run));
      await clean(`bench-raw=${run}`);
      for (const before of order) {
        const name = `bench-${run}-${before ? 'before' : 'after'}`;
        await timed(before ? 'backupBefore' : 'backup', () => backupRun(name, before));
        if (before) await clean(`velero.io/backup-name=${name}`);
      }
      const backup = `bench-${run}-after`;
      const restores: [Measure, string, () => Promise<void>][] = [
        ['rawRestore', `raw-${run}`, () => rawRestore(backup, `raw-${run}`)],
        ['restoreBefore', `lbb-${run}`, () => lifeboatRestore(backup, `lbb-${run}`, true)],
        ['restore', `lba-${run}`, () => lifeboatRestore(backup, `lba-${run}`, false)],
      ];
      if (run % 2 === 0) restores.reverse();
      for (const [what, target, fn] of restores) {
        await settle();
        tracer?.start();
        const from = Date.now();
        await timed(what, fn);
        if (tracer) {
          const calls = tracer.stop();
          const logDir = join(ground.info.workDir, '..', 'logs');
          const lines = await logLines(logDir, from, Date.now(), [target, 'lifeboat-']);
          log(`trace of ${what} into ${target}:`);
          for (const row of timeline(from, calls, lines)) log(row);
        }
        await dropNamespace(target);
      }
      await clean(`velero.io/backup-name=${backup}`);
      log(`run ${run}: ` + MEASURES.map((m) => `${m} ${times[m].at(-1)?.toFixed(2) ?? '?'} s`).join(', '));
    }
    const med = Object.fromEntries(MEASURES.map((m) => [m, median(times[m])])) as Record<Measure, number>;
    return {
      seconds: med,
      backupRatio: med.backup / med.rawSnapshots,
      backupRatioBefore: med.backupBefore / med.rawSnapshots,
      restoreRatio: med.restore / med.rawRestore,
      restoreRatioBefore: med.restoreBefore / med.rawRestore,
      applyRatio: med.restoreApply / med.rawRestore,
      backupProfile: {
        before: median(profile.before),
        snapshots: median(profile.snapshots),
        after: median(profile.after),
      },
    };
  } finally {
    kube.close();
    await ground.stop();
  }
}

export const volumesBenchmark: Benchmark = {
  description:
    'back up and restore N CSI volumes of M MB; time against the driver’s own snapshots and restores (target ≤ 1.1×)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        volumes: { type: 'string', default: '10' },
        mb: { type: 'string', default: '50' },
        runs: { type: 'string', default: '3' },
        trace: { type: 'boolean', default: false },
      },
    });
    const log = (l: string): void => void process.stdout.write(`${l}\n`);
    const r = await benchVolumes({
      volumes: Number(values.volumes),
      mb: Number(values.mb),
      runs: Number(values.runs),
      trace: values.trace,
      log,
    });
    const s = r.seconds;
    log(`medians over ${values.runs} runs of ${values.volumes} × ${values.mb} MB:`);
    log(`  raw snapshots ${s.rawSnapshots.toFixed(2)} s`);
    log(
      `  backup, before (250 ms doubling to 2 s) ${s.backupBefore.toFixed(2)} s: ratio ${r.backupRatioBefore.toFixed(2)}`,
    );
    log(`  backup, now (pollDelay) ${s.backup.toFixed(2)} s: ratio ${r.backupRatio.toFixed(2)}`);
    const p = r.backupProfile;
    log(
      `    of which: ${p.before.toFixed(2)} s before the first snapshot (listing), ` +
        `${p.snapshots.toFixed(2)} s snapshots, ${p.after.toFixed(2)} s after the last (archive, side files)`,
    );
    log(`  raw restore (claims from VolumeSnapshots) ${s.rawRestore.toFixed(2)} s`);
    log(
      `  restore, before (500 ms) ${s.restoreBefore.toFixed(2)} s: ratio ${r.restoreRatioBefore.toFixed(2)}`,
    );
    log(`  restore, now (pollDelay) ${s.restore.toFixed(2)} s: ratio ${r.restoreRatio.toFixed(2)}`);
    log(
      `    of which apply (after approval) ${s.restoreApply.toFixed(2)} s: ratio ${r.applyRatio.toFixed(2)}`,
    );
    const mb = (Number(values.volumes) * Number(values.mb)) / 1;
    log(
      `  throughput: backup ${(mb / s.backup).toFixed(1)} MB/s, restore ${(mb / s.restore).toFixed(1)} MB/s`,
    );
    log(`target: both ratios ≤ ${TARGET_RATIO}`);
    return r.backupRatio <= TARGET_RATIO && r.restoreRatio <= TARGET_RATIO ? 0 : 1;
  },
};
