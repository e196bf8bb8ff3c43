// What one create costs the API server, etcd and lifeboat, by how the create is sent.
//
// A restore's apply is bound by the API server's CPU per create (ADR 0036), so wall time on a
// shared machine says little; the CPU the API server and etcd spent (from /proc) over the same
// objects does. On its own test ground (no node): for a few rounds, each variant in turn (the
// first alternates), create N ConfigMaps and Secrets shaped as a restore sends them (listed
// from the API server, sanitized for restore) into fresh namespaces through KubeClient.createOnly
// with 64 in flight, and read the CPU of kube-apiserver, etcd and this process before and after.
// Nothing is deleted (the ground goes at the end), so no namespace deletion runs meanwhile.
//   json:     answers in JSON (the API server encodes each created object as JSON);
//   protobuf: answers asked for in protobuf (`Accept: application/vnd.kubernetes.protobuf,
//             application/json`), lifeboat's default since ADR 0042.
//
//   npm run bench -- create-cost [--objects 2000] [--rounds 3]
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

const VARIANTS = ['json', 'protobuf'] as const;
type Variant = (typeof VARIANTS)[number];
type Part = 'apiserver' | 'etcd' | 'lifeboat';

export interface CreateCostRound {
  variant: Variant;
  objects: number;
  seconds: number;
  /** CPU milliseconds per create. */
  perCreate: Record<Part, number>;
}

export interface CreateCostResult {
  rounds: CreateCostRound[];
  /** Medians over the rounds, per variant: CPU ms per create, and objects per second. */
  medians: Record<Variant, Record<Part, number> & { perSecond: number }>;
}

const NAMESPACES = 20;

export async function benchCreateCost(
  opts: { objects?: number; rounds?: number; log?: (line: string) => void } = {},
): Promise<CreateCostResult> {
  const total = opts.objects ?? 2_000;
  const roundsWanted = opts.rounds ?? 3;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ground = await startGround({ log: (l) => log(`  [ground] ${l}`) });
  const groundDir = dirname(ground.info.kubeconfigPath);
  const clients: Record<Variant, KubeClient> = {
    json: await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath, protobufAnswers: false }),
    protobuf: await KubeClient.create({ kubeconfig: ground.info.kubeconfigPath, protobufAnswers: true }),
  };
  const kube = clients.json;
  try {
    const infos = new Map((await discoverResources(kube)).map((r) => [r.resource, r]));
    const info = (resource: string): ResourceInfo => {
      const found = infos.get(resource);
      if (!found) throw new Error(`the cluster serves no ${resource}`);
      return found;
    };
    const template = await restoreShapedObjects(kube, info, total);
    const rounds: CreateCostRound[] = [];
    for (let round = 1; round <= roundsWanted; round++) {
      const order = round % 2 === 1 ? VARIANTS : [...VARIANTS].reverse();
      for (const variant of order) {
        const prefix = `cc-${round}-${variant}`;
        const names = Array.from({ length: NAMESPACES }, (_, i) => `${prefix}-${i}`);
        for (const n of names) await kube.createOnly(info('namespaces'), namespace(n));
        const objects = template.map((o, i) => ({
          ...o,
          metadata: { ...o.metadata, namespace: names[i % NAMESPACES] ?? '' },
        }));
        const client = clients[variant];
        const limit = pLimit(DEFAULT_APPLY_CONCURRENCY);
        const before = cpuNow(groundDir);
        const start = performance.now();
        await Promise.all(
          objects.map((o) =>
            limit(() => client.createOnly(info(o.kind === 'Secret' ? 'secrets' : 'configmaps'), o)),
          ),
        );
        const seconds = (performance.now() - start) / 1000;
        const after = cpuNow(groundDir);
        const per = (p: Part) => (after[p] - before[p]) / objects.length;
        const r: CreateCostRound = {
          variant,
          objects: objects.length,
          seconds,
          perCreate: { apiserver: per('apiserver'), etcd: per('etcd'), lifeboat: per('lifeboat') },
        };
        log(
          `round ${round} ${variant.padEnd(8)} ${r.objects} creates in ${seconds.toFixed(1)} s ` +
            `(${(r.objects / seconds).toFixed(0)}/s); CPU per create: apiserver ${fmt(r.perCreate.apiserver)} ms, ` +
            `etcd ${fmt(r.perCreate.etcd)} ms, lifeboat ${fmt(r.perCreate.lifeboat)} ms`,
        );
        rounds.push(r);
      }
    }
    const medians = Object.fromEntries(
      VARIANTS.map((v) => {
        const mine = rounds.filter((r) => r.variant === v);
        const m = (p: Part) => median(mine.map((r) => r.perCreate[p]));
        return [
          v,
          {
            apiserver: m('apiserver'),
            etcd: m('etcd'),
            lifeboat: m('lifeboat'),
            perSecond: median(mine.map((r) => r.objects / r.seconds)),
          },
        ];
      }),
    ) as CreateCostResult['medians'];
    log('');
    log('| variant | API server ms/create | etcd ms/create | lifeboat ms/create | creates/s |');
    log('|---|---|---|---|---|');
    for (const v of VARIANTS) {
      const m = medians[v];
      log(`| ${v} | ${fmt(m.apiserver)} | ${fmt(m.etcd)} | ${fmt(m.lifeboat)} | ${m.perSecond.toFixed(0)} |`);
    }
    log(
      `protobuf / json, API server CPU per create: ${(medians.protobuf.apiserver / medians.json.apiserver).toFixed(2)}`,
    );
    return { rounds, medians };
  } finally {
    for (const c of Object.values(clients)) c.close();
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
): Promise<KubeObject[]> {
  const ns = 'cc-seed';
  await kube.createOnly(info('namespaces'), namespace(ns));
  const labels = { 'bench.lifeboat.dev/set': 'create-cost', app: 'shop' };
  const half = Math.ceil(total / 2);
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: half }, (_, i) => [
      limit(() => kube.createOnly(info('configmaps'), configMap({ namespace: ns, name: `cm-${i}`, labels }))),
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
  description: 'CPU per create of the API server, etcd and lifeboat: JSON vs protobuf answers',
  async run(args) {
    const { values } = parseArgs({
      args,
      options: { objects: { type: 'string' }, rounds: { type: 'string' } },
    });
    const result = await benchCreateCost({
      ...(values.objects ? { objects: Number(values.objects) } : {}),
      ...(values.rounds ? { rounds: Number(values.rounds) } : {}),
    });
    if (result.medians.json.apiserver === 0) {
      process.stderr.write('no CPU of the API server was measured: is /proc readable?\n');
      return 1;
    }
    return 0;
  },
};
