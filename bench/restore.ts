// Restore benchmark: how much a lifeboat restore costs over the least any tool must do.
//
// On its own test ground: seed N objects (ConfigMaps and Secrets across 100 namespaces), back
// them up to a local directory, delete the namespaces, then, taking turns for a few runs,
//   (a) raw: create the same objects straight from the archive into fresh namespaces, as many
//       requests in flight as the engine applies at once (64) — one POST per object, nothing else;
//   (b) restore: applyRestore (verified archive, plan against the live cluster, tiers, apply,
//       stored result) into other fresh namespaces, by namespace mapping;
// deleting each run's namespaces again, so every run starts from the same cluster. Prints both
// times, their ratio (target ≤ 1.5), objects per second and peak RSS; medians over the runs.
//
//   npm run bench -- restore [--objects 10000] [--namespaces 100] [--runs 3]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { startGround } from '../test/ground/ground.js';
import { seedNamespaces } from '../test/fixtures/seed.js';
import { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { groupResource } from '../src/kube/types.js';
import { discoverResources } from '../src/backup/discover.js';
import { runBackup } from '../src/backup/engine.js';
import { getBackup, openArchive } from '../src/backup/catalog.js';
import { LocalDirStore } from '../src/storage/local-store.js';
import { applyRestore, DEFAULT_APPLY_CONCURRENCY } from '../src/restore/engine.js';
import { median, RssSampler, type Benchmark } from './benchmark.js';

export interface RestoreBenchOptions {
  /** ConfigMaps and Secrets in all (half each), spread over `namespaces`. Default 10,000. */
  objects?: number;
  /** Default 100. */
  namespaces?: number;
  /** Raw and restore take turns this many times; medians are reported. Default 3. */
  runs?: number;
  log?: (line: string) => void;
}

export interface RestoreRunFigures {
  rawSeconds: number;
  restoreSeconds: number;
  /** Until the restore applied its first object: reading the archive twice and planning. */
  planSeconds: number;
  rawPeakRss: number;
  restorePeakRss: number;
}

export interface RestoreBenchResult {
  objects: number;
  namespaces: number;
  runs: RestoreRunFigures[];
  /** Medians over the runs. */
  rawSeconds: number;
  restoreSeconds: number;
  planSeconds: number;
  rawPerSecond: number;
  restorePerSecond: number;
  /** Highest over the runs. */
  restorePeakRss: number;
  /** Median restore time / median raw time; the target is ≤ 1.5. */
  ratio: number;
}

/** The raw create's requests in flight: as many as the engine applies at once by default. */
const CONCURRENCY = DEFAULT_APPLY_CONCURRENCY;
const TARGET_RATIO = 1.5;
const MiB = 1024 * 1024;

export async function benchRestore(opts: RestoreBenchOptions = {}): Promise<RestoreBenchResult> {
  const total = opts.objects ?? 10_000;
  const namespaces = opts.namespaces ?? 100;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const perNamespace = Math.max(1, Math.round(total / namespaces / 2));
  const ground = await startGround({ log: (l) => log(`  [ground] ${l}`) });
  const storageDir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-restore-'));
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath });
  try {
    log(`seeding ${perNamespace * 2 * namespaces} objects in ${namespaces} namespaces…`);
    const seeded = await seedNamespaces({
      kube,
      prefix: 'bench-src',
      namespaces,
      perNamespace: { configMaps: perNamespace, secrets: perNamespace },
    });
    const store = new LocalDirStore({ root: storageDir, create: true });
    const backup = await runBackup(
      { name: 'bench-restore', spec: { includedNamespaces: seeded.namespaces } },
      { kube, store },
    );
    if (backup.phase !== 'Completed')
      throw new Error(`backup ${backup.phase}: ${backup.failureReason ?? ''}`);
    log(`backed up ${backup.totalItems} items; deleting the namespaces…`);
    await deleteNamespaces(kube, seeded.namespaces);
    // The raw create's input, read from the same archive before any clock starts.
    const objects = await archivedObjects(store, 'bench-restore');

    const runs: RestoreRunFigures[] = [];
    for (let run = 1; run <= (opts.runs ?? 3); run++) {
      runs.push(await oneRun({ kube, store, objects, sources: seeded.namespaces, run, log }));
    }
    const rawSeconds = median(runs.map((r) => r.rawSeconds));
    const restoreSeconds = median(runs.map((r) => r.restoreSeconds));
    const result: RestoreBenchResult = {
      objects: objects.length,
      namespaces,
      runs,
      rawSeconds,
      restoreSeconds,
      planSeconds: median(runs.map((r) => r.planSeconds)),
      rawPerSecond: objects.length / rawSeconds,
      restorePerSecond: objects.length / restoreSeconds,
      restorePeakRss: Math.max(...runs.map((r) => r.restorePeakRss)),
      ratio: restoreSeconds / rawSeconds,
    };
    report(result, log);
    return result;
  } finally {
    kube.close();
    await ground.stop();
    await rm(storageDir, { recursive: true, force: true });
  }
}

/** (a) then (b), each into its own fresh namespaces, deleted again afterwards. */
async function oneRun(o: {
  kube: KubeClient;
  store: LocalDirStore;
  objects: KubeObject[];
  sources: string[];
  run: number;
  log: (line: string) => void;
}): Promise<RestoreRunFigures> {
  const { kube } = o;
  const rawTarget = (ns: string) => ns.replace(/^bench-src-/, `bench-raw${o.run}-`);
  o.log(`run ${o.run}: raw create of ${o.objects.length} objects, ${CONCURRENCY} in flight…`);
  const raw = await measured(() => rawCreate({ kube, objects: o.objects, targetOf: rawTarget }));
  await deleteNamespaces(kube, o.sources.map(rawTarget));

  const namespaceMapping = Object.fromEntries(
    o.sources.map((ns) => [ns, ns.replace(/^bench-src-/, `bench-restored${o.run}-`)]),
  );
  o.log(`run ${o.run}: lifeboat restore…`);
  let firstApplied: number | undefined;
  const started = performance.now();
  const restore = await measured(() =>
    applyRestore(
      { name: `bench-restore-${o.run}`, spec: { backupName: 'bench-restore', namespaceMapping } },
      {
        kube,
        store: o.store,
        onProgress: () => (firstApplied ??= performance.now()),
      },
    ),
  );
  if (restore.value.phase !== 'Completed') {
    const failed = restore.value.items.filter((i) => i.result === 'failed').slice(0, 5);
    throw new Error(`restore ${restore.value.phase}: ${JSON.stringify(failed)}`);
  }
  await deleteNamespaces(kube, Object.values(namespaceMapping));
  return {
    rawSeconds: raw.seconds,
    restoreSeconds: restore.seconds,
    planSeconds: ((firstApplied ?? started) - started) / 1000,
    rawPeakRss: raw.peakRss,
    restorePeakRss: restore.peakRss,
  };
}

function report(r: RestoreBenchResult, log: (line: string) => void): void {
  const mib = (b: number) => `${Math.round(b / MiB)} MiB`;
  const s = (x: number) => `${x.toFixed(2)} s`;
  log(
    `restore benchmark: ${r.objects} ConfigMaps and Secrets in ${r.namespaces} namespaces, ${r.runs.length} runs`,
  );
  r.runs.forEach((run, i) =>
    log(
      `  run ${i + 1}: raw ${s(run.rawSeconds)}, restore ${s(run.restoreSeconds)} (planning ${s(run.planSeconds)}), ` +
        `ratio ${(run.restoreSeconds / run.rawSeconds).toFixed(2)}, peak RSS raw ${mib(run.rawPeakRss)}, restore ${mib(run.restorePeakRss)}`,
    ),
  );
  log(
    `  raw create (${CONCURRENCY} in flight): ${s(r.rawSeconds)}, ${Math.round(r.rawPerSecond)} objects/s (median)`,
  );
  log(
    `  lifeboat restore: ${s(r.restoreSeconds)}, ${Math.round(r.restorePerSecond)} objects/s (median; planning ${s(r.planSeconds)})`,
  );
  log(
    `  ratio restore/raw: ${r.ratio.toFixed(2)} (target ≤ ${TARGET_RATIO}: ${r.ratio <= TARGET_RATIO ? 'met' : 'MISSED'})`,
  );
  log(
    `  peak RSS: restore ${mib(r.restorePeakRss)}, whole process ${mib(process.resourceUsage().maxRSS * 1024)}`,
  );
}

/** Time `fn` and sample the process's RSS while it runs. */
async function measured<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; peakRss: number }> {
  const rss = new RssSampler();
  rss.start();
  const start = performance.now();
  try {
    const value = await fn();
    return { value, seconds: (performance.now() - start) / 1000, peakRss: rss.stop() };
  } finally {
    rss.stop();
  }
}

/** The archived ConfigMaps and Secrets (unversioned copies), stripped of what the server assigned. */
async function archivedObjects(store: LocalDirStore, backupName: string): Promise<KubeObject[]> {
  const out: KubeObject[] = [];
  for await (const entry of await openArchive(store, await getBackup(store, backupName))) {
    const item = entry.item;
    if (!item || item.versionDir !== '' || !['configmaps', 'secrets'].includes(item.groupResource)) continue;
    const obj = entry.json as KubeObject;
    if (obj.metadata.name === 'kube-root-ca.crt') continue; // the cluster publishes its own
    const {
      uid: _u,
      resourceVersion: _r,
      creationTimestamp: _c,
      managedFields: _m,
      ...metadata
    } = obj.metadata;
    out.push({ ...obj, metadata });
  }
  return out;
}

/** Namespaces first, then every object, CONCURRENCY requests in flight. */
async function rawCreate(o: {
  kube: KubeClient;
  objects: KubeObject[];
  targetOf: (ns: string) => string;
}): Promise<void> {
  const infos = new Map((await discoverResources(o.kube)).map((r) => [groupResource(r), r]));
  const info = (gr: string): ResourceInfo => {
    const found = infos.get(gr);
    if (!found) throw new Error(`not served: ${gr}`);
    return found;
  };
  const limit = pLimit(CONCURRENCY);
  const namespaces = [...new Set(o.objects.map((x) => o.targetOf(x.metadata.namespace ?? '')))];
  await Promise.all(
    namespaces.map((name) =>
      limit(() =>
        o.kube.create(info('namespaces'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }),
      ),
    ),
  );
  await Promise.all(
    o.objects.map((obj) =>
      limit(() =>
        o.kube.create(info(obj.kind === 'Secret' ? 'secrets' : 'configmaps'), {
          ...obj,
          metadata: { ...obj.metadata, namespace: o.targetOf(obj.metadata.namespace ?? '') },
        }),
      ),
    ),
  );
}

async function deleteNamespaces(kube: KubeClient, names: string[]): Promise<void> {
  const info = (await discoverResources(kube)).find((r) => r.group === '' && r.resource === 'namespaces');
  if (!info) throw new Error('the cluster serves no namespaces');
  const limit = pLimit(CONCURRENCY);
  await Promise.all(names.map((n) => limit(() => kube.delete(info, '', n))));
  const deadline = Date.now() + 600_000;
  for (;;) {
    const left = (await kube.list(info, {})).items.filter((n) => names.includes(n.metadata.name ?? ''));
    if (left.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${left.length} namespaces still terminating after 10 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

export const restoreBenchmark: Benchmark = {
  description:
    'restore of N ConfigMaps/Secrets from a local directory vs a raw parallel create (--objects, --namespaces, --runs)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        objects: { type: 'string', default: '10000' },
        namespaces: { type: 'string', default: '100' },
        runs: { type: 'string', default: '3' },
      },
    });
    const int = (flag: string, value: string | undefined): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`--${flag} must be a positive integer, not ${value}`);
      return n;
    };
    const result = await benchRestore({
      objects: int('objects', values.objects),
      namespaces: int('namespaces', values.namespaces),
      runs: int('runs', values.runs),
    });
    return result.ratio <= TARGET_RATIO ? 0 : 1;
  },
};
