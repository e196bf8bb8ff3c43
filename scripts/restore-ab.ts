// A/B of what one restore costs: the Velero benchmark's backup (1,000 ConfigMaps and Secrets in
// 100 namespaces, S3 store) restored into its deleted namespaces, alternately by another
// checkout's engine (BASE=/path/to/checkout, e.g. /work/main) and this one's, in one process on
// one ground, after a warm-up restore each. Per restore it prints lifeboat's CPU, the ground's
// CPU (API server, etcd, controller manager, S3 server), wall time and the API requests sent,
// by verb and resource (counted in KubeClient's send); then the medians. PROF=/tmp/x also
// writes a V8 CPU profile of each measured restore of this checkout (/tmp/x-<run>.cpuprofile).
//
//   npx tsx scripts/restore-ab.ts [runs=4] [objects=1000]
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { startGround } from '../test/ground/ground.js';
import { seedNamespaces } from '../test/fixtures/seed.js';
import { discoverResources } from '../src/backup/discover.js';
import { runBackup } from '../src/backup/engine.js';
import { KubeClient } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import { applyRestore } from '../src/restore/engine.js';
import { S3Store } from '../src/storage/s3-store.js';
import { cpuByGroup } from '../bench/process-cpu.js';
import { median } from '../bench/benchmark.js';

const runs = Number(process.argv[2] ?? 4);
const objects = Number(process.argv[3] ?? 1000);
const BUCKET = 'restore-ab';

interface SentSpec {
  method: string;
  path: string;
  query?: Record<string, unknown>;
}
/** KubeClient's private send, reached to count requests; both checkouts' clients have it. */
interface Countable {
  send: (spec: SentSpec) => Promise<unknown>;
  close: () => void;
}
interface Engine {
  name: string;
  kube: Countable;
  applyRestore: typeof applyRestore;
  S3Store: typeof S3Store;
}

/** `METHOD[ dry] resource`; discovery documents as `GET discovery`. */
function requestKey(spec: SentSpec): string {
  const parts = spec.path.split('/').filter((p) => p !== '');
  const dry = spec.query?.dryRun ? ' dry' : '';
  const ns = parts.indexOf('namespaces');
  const discovery = spec.method === 'GET' && ns < 0 && parts.length <= 3 && !spec.query;
  const resource = discovery
    ? 'discovery'
    : ns >= 0
      ? (parts[ns + 2] ?? 'namespaces')
      : parts[parts.length - 1];
  return `${spec.method}${dry} ${resource ?? ''}`;
}

function counting(kube: Countable, counts: Map<string, number>): () => void {
  const send = kube.send;
  kube.send = (spec) => {
    const key = requestKey(spec);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    return send.call(kube, spec);
  };
  return () => {
    kube.send = send;
  };
}

const ground = await startGround({ log: () => undefined });
const kubeconfig = ground.info.kubeconfigPath;
const { s3 } = ground.info;
try {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const credentials = { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey };
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials,
  });
  await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  client.destroy();
  const storeOpts = {
    bucket: BUCKET,
    prefix: 'lifeboat',
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials,
  };
  const kube = await KubeClient.create({ kubeconfig });
  const nsInfo = (await discoverResources(kube)).find((r) => r.resource === 'namespaces') as ResourceInfo;
  const seeded = await seedNamespaces({
    kube,
    prefix: 'ab',
    namespaces: 100,
    perNamespace: { configMaps: objects / 200, secrets: objects / 200 },
  });
  // As the benchmark: the namespaces' controllers have had their time before the backup.
  await new Promise((r) => setTimeout(r, 10_000));
  const backup = await runBackup(
    { name: 'ab', spec: { includedNamespaces: seeded.namespaces } },
    { kube, store: new S3Store(storeOpts) },
  );
  console.log(`backup ${backup.phase}, ${backup.totalItems} items`);
  const engines: Engine[] = [];
  const base = process.env.BASE;
  if (base) {
    const client = (await import(join(base, 'src/kube/client.ts'))) as { KubeClient: typeof KubeClient };
    const engine = (await import(join(base, 'src/restore/engine.ts'))) as {
      applyRestore: typeof applyRestore;
    };
    const store = (await import(join(base, 'src/storage/s3-store.ts'))) as { S3Store: typeof S3Store };
    engines.push({
      name: 'base',
      kube: (await client.KubeClient.create({ kubeconfig })) as unknown as Countable,
      applyRestore: engine.applyRestore,
      S3Store: store.S3Store,
    });
  }
  engines.push({
    name: 'this',
    kube: (await KubeClient.create({ kubeconfig })) as unknown as Countable,
    applyRestore,
    S3Store,
  });
  const groundDir = dirname(kubeconfig);
  const groundCpu = () =>
    cpuByGroup<'g'>((_s, cmd) => (cmd.includes(groundDir) ? 'g' : undefined)).get('g') ?? 0;
  const ownCpu = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  const deleteAll = async () => {
    const limit = pLimit(16);
    await Promise.all(seeded.namespaces.map((n) => limit(() => kube.delete(nsInfo, '', n))));
    const wanted = new Set(seeded.namespaces);
    for (;;) {
      const left = (await kube.list(nsInfo, {})).items.filter((n) => wanted.has(n.metadata.name ?? ''));
      if (left.length === 0) return;
      await new Promise((r) => setTimeout(r, 500));
    }
  };
  const rows = new Map<string, { cpu: number[]; ground: number[]; wall: number[]; requests: number[] }>();
  let n = 0;
  for (let run = 0; run <= runs; run++) {
    for (const e of run % 2 === 0 ? engines : [...engines].reverse()) {
      await deleteAll();
      await new Promise((r) => setTimeout(r, 2_000));
      const counts = new Map<string, number>();
      const restore = counting(e.kube, counts);
      const session = process.env.PROF && run > 0 && e.name === 'this' ? new Session() : undefined;
      if (session) {
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      const g0 = groundCpu();
      const c0 = ownCpu();
      const t0 = performance.now();
      const result = await e.applyRestore(
        { name: `r${n++}`, spec: { backupName: 'ab' } },
        { kube: e.kube as unknown as KubeClient, store: new e.S3Store(storeOpts) },
      );
      const wall = performance.now() - t0;
      const cpu = ownCpu() - c0;
      const g = groundCpu() - g0;
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync(`${process.env.PROF}-${run}.cpuprofile`, JSON.stringify(profile));
        session.disconnect();
      }
      restore();
      const requests = [...counts.values()].reduce((a, b) => a + b, 0);
      const byKey = [...counts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      console.log(
        `${run === 0 ? 'warm-up ' : ''}${e.name}: ${result.phase}, ${result.items.length} items, lifeboat CPU ${cpu.toFixed(0)} ms, ` +
          `ground CPU ${g.toFixed(0)} ms, wall ${wall.toFixed(0)} ms, ${requests} requests: ${byKey}`,
      );
      if (run === 0) continue;
      let row = rows.get(e.name);
      if (!row) rows.set(e.name, (row = { cpu: [], ground: [], wall: [], requests: [] }));
      row.cpu.push(cpu);
      row.ground.push(g);
      row.wall.push(wall);
      row.requests.push(requests);
    }
  }
  for (const [name, r] of rows)
    console.log(
      `median of ${r.cpu.length}, ${name}: lifeboat CPU ${median(r.cpu).toFixed(0)} ms, ground CPU ${median(r.ground).toFixed(0)} ms, ` +
        `wall ${median(r.wall).toFixed(0)} ms, ${median(r.requests)} requests`,
    );
  for (const e of engines) e.kube.close();
  kube.close();
} finally {
  await ground.stop();
}
