// The measuring half of the backup benchmark. Each invocation is a fresh process that does one
// kind of work, so its peak RSS belongs to that work alone:
//   raw    — a parallel, paginated LIST of every type the backup lists, at one revision, with
//            the engine's concurrency and page size, doing nothing with the objects.
//   floor  — the raw LIST, plus the least that any backup in Velero's layout must do with what
//            it lists: every object's JSON, twice (the archive holds two copies), through gzip
//            at the archive's level into an upload to the same bucket. No tar, no filters, no
//            resource list: what no implementation can go under on this machine.
//   backup — runBackup of the same selection into the S3 bucket.
// It first does the work once unmeasured (connections, the apiserver's caches, the JIT), then
// `runs` times measured. Reads its configuration from LIFEBOAT_BENCH_CONFIG and writes one
// JSON line of results to stdout.
import { once } from 'node:events';
import { pipeline, Transform } from 'node:stream';
import { constants as zlibConstants, createGzip, type Gzip } from 'node:zlib';
import pLimit from 'p-limit';
import { runBackup } from '../src/backup/engine.js';
import { discoverResources } from '../src/backup/discover.js';
import { selectResources } from '../src/backup/selection.js';
import type { BackupSpec } from '../src/backup/spec.js';
import { KubeClient, type ListPage } from '../src/kube/client.js';
import { S3Store } from '../src/storage/s3-store.js';
import type { S3Endpoint } from '../test/ground/context.js';
import { machineBusyMs, RssSampler } from './benchmark.js';

export interface MeasureConfig {
  mode: 'raw' | 'floor' | 'backup';
  kubeconfig: string;
  s3: S3Endpoint;
  bucket: string;
  spec: BackupSpec;
  runs: number;
  concurrency: number;
  pageSize: number;
  gzipLevel?: number;
}

export interface MeasureResult {
  /** Duration of each measured run, in milliseconds. */
  ms: number[];
  /**
   * CPU time (user + system, every thread: zlib works on the thread pool) of each measured run,
   * in milliseconds. Less sensitive than wall time to other work on a shared machine.
   */
  cpuMs: number[];
  /** Busy CPU time of the whole machine (this process, the API server, etcd, S3) per measured run. */
  machineCpuMs: number[];
  /** Objects seen (raw, floor) or backed up (backup) in the last run. */
  items: number;
  archiveBytes: number;
  phase: string;
  /** RSS once every module is loaded, before any work, in bytes. */
  baselineRss: number;
  /** Peak RSS over the process's work, in bytes. */
  peakRss: number;
  /** Peak RSS up to the end of the first (warm-up) run: one backup in a fresh process, as the CLI does. */
  firstRunPeakRss: number;
}

/**
 * List every selected type at one revision, a page at a time, as the engine does, handing each
 * page to `onPage` (awaited: backpressure). Resolves to the number of objects listed.
 */
async function listEverything(
  kube: KubeClient,
  config: MeasureConfig,
  onPage: (page: ListPage) => Promise<void> | void,
): Promise<number> {
  // Discovery and the selection are part of any backup's work; the engine does them too.
  const clusterNamespaces = await kube.countNamespaces();
  const selection = selectResources(
    config.spec,
    await discoverResources(kube),
    clusterNamespaces === undefined ? {} : { clusterNamespaces },
  );
  const revision = await kube.currentRevision();
  const limit = pLimit(config.concurrency);
  let items = 0;
  await Promise.all(
    selection.types.map((target) =>
      limit(async () => {
        for (const namespace of target.namespaces ?? [undefined]) {
          let continueToken: string | undefined;
          do {
            const page = await kube.list(target.info, {
              ...(namespace ? { namespace } : {}),
              limit: config.pageSize,
              ...(continueToken
                ? { continueToken }
                : { resourceVersion: revision, resourceVersionMatch: 'Exact' as const }),
            });
            items += page.items.length;
            continueToken = page.continueToken;
            await onPage(page);
          } while (continueToken);
        }
      }),
    ),
  );
  return items;
}

async function floorBackup(
  kube: KubeClient,
  store: S3Store,
  config: MeasureConfig,
  run: number,
): Promise<{ items: number; bytes: number }> {
  const gzip: Gzip = createGzip({ level: config.gzipLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION });
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  // pipeline: a failed upload destroys `counted`, and with it gzip, so no write waits forever.
  pipeline(gzip, counted, () => undefined);
  const upload = store.put(`bench-floor/${process.pid}-${run}.gz`, counted);
  const items = await listEverything(kube, config, async (page) => {
    const parts: Buffer[] = [];
    for (let i = 0; i < page.items.length; i++) {
      const json = page.itemJson(i);
      parts.push(json, json);
    }
    if (!gzip.write(Buffer.concat(parts))) await once(gzip, 'drain');
  });
  gzip.end();
  await upload;
  return { items, bytes };
}

async function measure(config: MeasureConfig): Promise<MeasureResult> {
  const baselineRss = process.memoryUsage.rss();
  const rss = new RssSampler();
  rss.start();
  const kube = await KubeClient.create({ kubeconfig: config.kubeconfig });
  const store = new S3Store({
    bucket: config.bucket,
    endpoint: config.s3.endpoint,
    region: config.s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.s3.accessKeyId, secretAccessKey: config.s3.secretAccessKey },
  });
  const result: MeasureResult = {
    ms: [],
    cpuMs: [],
    machineCpuMs: [],
    items: 0,
    archiveBytes: 0,
    phase: '',
    baselineRss,
    peakRss: 0,
    firstRunPeakRss: 0,
  };
  try {
    for (let run = 0; run <= config.runs; run++) {
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const machineBefore = machineBusyMs();
      if (config.mode === 'raw') {
        result.items = await listEverything(kube, config, () => undefined);
        result.phase = 'Listed';
      } else if (config.mode === 'floor') {
        const floor = await floorBackup(kube, store, config, run);
        result.items = floor.items;
        result.archiveBytes = floor.bytes;
        result.phase = 'Listed';
      } else {
        const backup = await runBackup(
          { name: `bench-${process.pid}-${run}`, spec: config.spec },
          {
            kube,
            store,
            concurrency: config.concurrency,
            pageSize: config.pageSize,
            ...(config.gzipLevel === undefined ? {} : { gzipLevel: config.gzipLevel }),
          },
        );
        result.items = backup.totalItems;
        result.archiveBytes = backup.bytes ?? 0;
        result.phase = backup.phase;
      }
      // Run 0 warms up and is not counted.
      if (run === 0) result.firstRunPeakRss = rss.peak();
      else {
        result.ms.push(performance.now() - started);
        const cpu = process.cpuUsage(cpuBefore);
        result.cpuMs.push((cpu.user + cpu.system) / 1000);
        result.machineCpuMs.push(machineBusyMs() - machineBefore);
      }
    }
  } finally {
    kube.close();
    result.peakRss = rss.stop();
  }
  return result;
}

const raw = process.env.LIFEBOAT_BENCH_CONFIG;
if (!raw) throw new Error('LIFEBOAT_BENCH_CONFIG is not set: run this through `npm run bench -- backup`');
process.stdout.write(`${JSON.stringify(await measure(JSON.parse(raw) as MeasureConfig))}\n`);
