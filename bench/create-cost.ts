// What one create costs the API server, etcd and lifeboat.
//
// A restore's apply is bound by the API server's CPU per create (ADR 0036), so wall time on a
// shared machine says little; the CPU the API server and etcd spent (from /proc) over the same
// objects does. On its own test ground (no node): for a few rounds, create N ConfigMaps and
// Secrets shaped as a restore sends them (listed from the API server, sanitized for restore)
// into fresh namespaces through KubeClient.createOnly with 64 in flight, and read the CPU of
// kube-apiserver, etcd and this process before and after. Nothing is deleted (the ground goes
// at the end), so no namespace deletion runs meanwhile. ADR 0042 used it to weigh changes in
// how a create is sent (protobuf answers: no measurable difference), comparing two branches.
//
//   npm run bench -- create-cost [--objects 2000] [--rounds 3] [--bytes 0]
// --bytes: each ConfigMap also holds a payload of that many bytes (larger answers to encode).
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { startGround } from '../test/ground/ground.js';
import { configMap, namespace, secret } from '../test/fixtures/seed.js';
import { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { discoverResources } from '../src/backup/discover.js';
import { sanitizeForRestore } from '../src/restore/sanitize.js';
import { DEFAULT_APPLY_CONCURRENCY } from '../src/restore/engine.js';
import { cpuByGroup } from './process-cpu.js';
import { median, type Benchmark } from './benchmark.js';

type Part = 'apiserver' | 'etcd' | 'lifeboat';

export interface CreateCostRound {
  objects: number;
  seconds: number;
  /** CPU milliseconds per create. */
  perCreate: Record<Part, number>;
}

export interface CreateCostResult {
  rounds: CreateCostRound[];
  /** Medians over the rounds: CPU ms per create, and objects per second. */
  medians: Record<Part, number> & { perSecond: number };
}

const NAMESPACES = 20;

export async function benchCreateCost(
  opts: { objects?: number; rounds?: number; bytes?: number; log?: (line: string) => void } = {},
): Promise<CreateCostResult> {
  const total = opts.objects ?? 2_000;
  const roundsWanted = opts.rounds ?? 3;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ground = await startGround({ log: (l) => log(`  [ground] ${l}`) });
  const groundDir = dirname(ground.info.kubeconfigPath);
  const kube = await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath });
  try {
    const infos = new Map((await discoverResources(kube)).map((r) => [r.resource, r]));
    const info = (resource: string): ResourceInfo => {
      const found = infos.get(resource);
      if (!found) throw new Error(`the cluster serves no ${resource}`);
      return found;
    };
    const template = await restoreShapedObjects(kube, info, total, opts.bytes ?? 0);
    const rounds: CreateCostRound[] = [];
    for (let round = 1; round <= roundsWanted; round++) {
      const names = Array.from({ length: NAMESPACES }, (_, i) => `cc-${round}-${i}`);
      for (const n of names) await kube.createOnly(info('namespaces'), namespace(n));
      const objects = template.map((o, i) => ({
        ...o,
        metadata: { ...o.metadata, namespace: names[i % NAMESPACES] ?? '' },
      }));
      const limit = pLimit(DEFAULT_APPLY_CONCURRENCY);
      const before = cpuNow(groundDir);
      const start = performance.now();
      await Promise.all(
        objects.map((o) =>
          limit(() => kube.createOnly(info(o.kind === 'Secret' ? 'secrets' : 'configmaps'), o)),
        ),
      );
      const seconds = (performance.now() - start) / 1000;
      const after = cpuNow(groundDir);
      const per = (p: Part) => (after[p] - before[p]) / objects.length;
      const r: CreateCostRound = {
        objects: objects.length,
        seconds,
        perCreate: { apiserver: per('apiserver'), etcd: per('etcd'), lifeboat: per('lifeboat') },
      };
      log(
        `round ${round}: ${r.objects} creates in ${seconds.toFixed(1)} s ` +
          `(${(r.objects / seconds).toFixed(0)}/s); CPU per create: apiserver ${fmt(r.perCreate.apiserver)} ms, ` +
          `etcd ${fmt(r.perCreate.etcd)} ms, lifeboat ${fmt(r.perCreate.lifeboat)} ms`,
      );
      rounds.push(r);
    }
    const m = (p: Part) => median(rounds.map((r) => r.perCreate[p]));
    const medians = {
      apiserver: m('apiserver'),
      etcd: m('etcd'),
      lifeboat: m('lifeboat'),
      perSecond: median(rounds.map((r) => r.objects / r.seconds)),
    };
    log(
      `medians: CPU per create: API server ${fmt(medians.apiserver)} ms, etcd ${fmt(medians.etcd)} ms, ` +
        `lifeboat ${fmt(medians.lifeboat)} ms; ${medians.perSecond.toFixed(0)} creates/s`,
    );
    return { rounds, medians };
  } finally {
    kube.close();
    await ground.stop();
  }
}

/**
 * `total` ConfigMaps and Secrets (half each) as a restore sends them: seeded, listed back from
 * the API server (as a backup stores them), sanitized for restore.
 */
async function restoreShapedObjects(
  kube: KubeClient,
  info: (resource: string) => ResourceInfo,
  total: number,
  bytes: number,
): Promise<KubeObject[]> {
  const ns = 'cc-seed';
  await kube.createOnly(info('namespaces'), namespace(ns));
  const labels = { 'bench.lifeboat.dev/set': 'create-cost', app: 'shop' };
  const half = Math.ceil(total / 2);
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: half }, (_, i) => [
      limit(() =>
        kube.createOnly(
          info('configmaps'),
          configMap({
            namespace: ns,
            name: `cm-${i}`,
            labels,
            data: { value: `cm-${i}`, ...(bytes > 0 ? { payload: 'x'.repeat(bytes) } : {}) },
          }),
        ),
      ),
      limit(() => kube.createOnly(info('secrets'), secret({ namespace: ns, name: `secret-${i}`, labels }))),
    ]).flat(),
  );
  const out: KubeObject[] = [];
  for (const resource of ['configmaps', 'secrets']) {
    const page = await kube.list(info(resource), { namespace: ns, labelSelector: 'bench.lifeboat.dev/set' });
    for (const obj of page.items) {
      const sanitized = sanitizeForRestore(obj, {
        groupResource: resource,
        restoreStatus: false,
        preserveNodePorts: false,
        backupName: 'create-cost',
        restoreName: 'create-cost',
      });
      if (sanitized.object) out.push(sanitized.object);
    }
  }
  return out;
}

/** CPU milliseconds so far of the ground's API server and etcd, and of this process. */
function cpuNow(groundDir: string): Record<Part, number> {
  const groups = cpuByGroup<'apiserver' | 'etcd'>((_, cmdline) => {
    if (!cmdline.includes(groundDir)) return undefined;
    const bin = cmdline.split(' ', 1)[0] ?? '';
    return bin.endsWith('/kube-apiserver') ? 'apiserver' : bin.endsWith('/etcd') ? 'etcd' : undefined;
  });
  const own = process.cpuUsage();
  return {
    apiserver: groups.get('apiserver') ?? 0,
    etcd: groups.get('etcd') ?? 0,
    lifeboat: (own.user + own.system) / 1000,
  };
}

function fmt(ms: number): string {
  return ms.toFixed(2);
}

export const createCostBenchmark: Benchmark = {
  description: 'CPU per create of the API server, etcd and lifeboat (restore-shaped ConfigMaps and Secrets)',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { objects: { type: 'string' }, rounds: { type: 'string' }, bytes: { type: 'string' } },
    });
    const result = await benchCreateCost({
      ...(values.objects ? { objects: Number(values.objects) } : {}),
      ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
      ...(values.bytes ? { bytes: Number(values.bytes) } : {}),
    });
    if (result.medians.apiserver === 0) {
      process.stderr.write('no CPU of the API server was measured: is /proc readable?\n');
      return 1;
    }
    return 0;
  },
};
