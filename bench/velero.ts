// lifeboat and Velero side by side: the same objects backed up and restored by both, on one
// test ground, to one bucket on the ground's S3 server.
//
// For each size (1,000 and 10,000 ConfigMaps and Secrets, half each, in 100 namespaces): seed
// them, then for a few runs, the two tools taking turns (the one that goes first alternates):
//   backup:  lifeboat's engine (runBackup, in this process, to s3://<bucket>/lifeboat) and
//            Velero's server (a Backup object, to s3://<bucket>/velero);
//   restore: the namespaces are deleted and, once 31 s have passed since the deletes were sent
//            (see AFTER_DELETE_MS), lifeboat's applyRestore (plan and apply) or a Velero Restore
//            object brings them back, and the seeded objects are compared with what was seeded
//            (count, names, labels, data). --restore-at-once restores as soon as they are gone.
// lifeboat's time is the engine call's. Velero's is from creating the Backup or Restore object
// to seeing its phase Completed (polled every 100 ms); its own status timestamps (whole seconds)
// are printed beside it. Objects per second count the seeded objects only, for both tools.
// Velero runs with its default client rate limits (100 QPS, burst 100) and one item worker:
// what a user who installs it gets. On a shared machine wall time measures the neighbours too,
// so the CPU each tool and the ground (API server, etcd, S3 server) spent is printed as well.
//
//   npm run bench -- velero [--objects 1000,10000] [--namespaces 100] [--runs 2] [--restore-at-once]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import { startGround, type Ground } from '../test/ground/ground.js';
import { locationStatus, startVelero, type Velero } from '../test/ground/velero.js';
import { seedNamespaces } from '../test/fixtures/seed.js';
import { discoverResources } from '../src/backup/discover.js';
import { runBackup } from '../src/backup/engine.js';
import { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { applyRestore } from '../src/restore/engine.js';
import { RESTORE_LABELS } from '../src/restore/sanitize.js';
import { S3Store } from '../src/storage/s3-store.js';
import { median, type Benchmark } from './benchmark.js';
import { cpuByGroup } from './process-cpu.js';

const TARGET_RATIO = 10;
const BUCKET = 'bench-velero';
const LOCATION = 'default';
const SET_LABEL = 'bench.lifeboat.dev/set';
const POLL_MS = 100;
const DELETE_CONCURRENCY = 16;
/**
 * How long after its namespaces' deletes a restore starts. For 30 s after a Namespace DELETE,
 * the API server's NamespaceLifecycle admission reads that namespace from etcd on every create
 * in it, even once it exists again (k8s.io/apiserver admission/plugin/namespace/lifecycle,
 * forceLiveLookupTTL): on the ground the API server then spends half as much CPU again per
 * create (ADR 0053). A restore after a disaster, or into namespaces deleted earlier, does not
 * pay it; one started within 30 s of deleting does, whichever tool sends the creates.
 */
const AFTER_DELETE_MS = 31_000;

export interface VeleroBenchOptions {
  /** Seeded ConfigMaps and Secrets per size (half each). Default 1,000 and 10,000. */
  sizes?: number[];
  /** Default 100. */
  namespaces?: number;
  /** Each tool backs up and restores this many times per size; medians are reported. Default 2. */
  runs?: number;
  /** lifeboat's client over HTTP/1.1 instead of HTTP/2 (ADR 0053's A/B); Velero is not touched. */
  http1?: boolean;
  /** Restore as soon as the deleted namespaces are gone, not AFTER_DELETE_MS after the deletes. */
  restoreAtOnce?: boolean;
  log?: (line: string) => void;
}

type Tool = 'lifeboat' | 'velero';

export interface Timed {
  /** Wall time as the benchmark measured it. */
  seconds: number;
  /** Velero only: completionTimestamp − startTimestamp of its status (whole seconds). */
  statusSeconds?: number;
  /** Items the tool itself reports (it counts namespaces, service accounts and the like too). */
  items: number;
  /** CPU seconds meanwhile: the tool's process(es), and the ground's (API server, etcd, S3, …). */
  cpu: { tool: number; cluster: number };
}

export interface VeleroRunFigures {
  backup: Record<Tool, Timed>;
  restore: Record<Tool, Timed>;
  first: Tool;
}

export interface VeleroSizeResult {
  objects: number;
  namespaces: number;
  runs: VeleroRunFigures[];
  /** Medians over the runs, seconds. */
  backup: Record<Tool, number>;
  restore: Record<Tool, number>;
  /** Velero's seconds / lifeboat's: how many times lifeboat's objects per second Velero's is. */
  backupRatio: number;
  restoreRatio: number;
  /** Medians of CPU seconds, the tool's and the ground's together. */
  backupCpu: Record<Tool, number>;
  restoreCpu: Record<Tool, number>;
  /** Velero's CPU / lifeboat's: the ratio a machine of its own would show, whatever else runs. */
  backupCpuRatio: number;
  restoreCpuRatio: number;
}

export async function benchVelero(opts: VeleroBenchOptions = {}): Promise<VeleroSizeResult[]> {
  const sizes = opts.sizes ?? [1_000, 10_000];
  const namespaces = opts.namespaces ?? 100;
  const runs = opts.runs ?? 2;
  const log = opts.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ground = await startGround({ log: (l) => log(`  [ground] ${l}`) });
  const veleroDir = await mkdtemp(join(tmpdir(), 'lifeboat-bench-velero-'));
  const kube = await KubeClient.create({
    kubeconfig: ground.info.kubeconfigPath,
    ...(opts.http1 ? { http2: false } : {}),
  });
  let velero: Velero | undefined;
  try {
    await createBucket(ground);
    const { s3 } = ground.info;
    // One S3 server, one bucket: lifeboat under `lifeboat/`, Velero under `velero/`, so that
    // neither sees (and Velero does not sync) the other's backups while it is measured.
    const store = new S3Store({
      bucket: BUCKET,
      prefix: 'lifeboat',
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    velero = await startVelero({
      kubeconfigPath: ground.info.kubeconfigPath,
      s3,
      dir: veleroDir,
      syncPeriod: '1m',
      log: (l) => log(`  [velero] ${l}`),
    });
    await velero.addLocation({ name: LOCATION, bucket: BUCKET, prefix: 'velero', default: true });
    await velero.waitFor('backupstoragelocations', LOCATION, (o) => locationStatus(o).phase === 'Available');
    log(`lifeboat writes to s3://${BUCKET}/lifeboat and Velero to s3://${BUCKET}/velero on ${s3.endpoint}`);

    const infos = new Map((await discoverResources(kube)).map((r) => [r.resource, r]));
    const info = (resource: string): ResourceInfo => {
      const found = infos.get(resource);
      if (!found) throw new Error(`the cluster serves no ${resource}`);
      return found;
    };
    const results: VeleroSizeResult[] = [];
    for (const size of sizes) {
      const perNamespace = Math.max(1, Math.round(size / namespaces / 2));
      const set = `s${size}`;
      log(`seeding ${perNamespace * 2 * namespaces} ConfigMaps and Secrets in ${namespaces} namespaces…`);
      const seeded = await seedNamespaces({
        kube,
        prefix: `bench-${set}`,
        namespaces,
        perNamespace: { configMaps: perNamespace, secrets: perNamespace },
        labels: { [SET_LABEL]: set },
      });
      const state = () => seededState(kube, info, set);
      const seededNow = await state();
      if (seededNow.count !== seeded.objects)
        throw new Error(`seeded ${seeded.objects} objects but ${seededNow.count} carry the label`);
      const ctx: RunContext = {
        kube,
        store,
        velero,
        namespaces: seeded.namespaces,
        objects: seeded.objects,
        state,
        seeded: seededNow,
        deleteAll: () => deleteNamespaces(kube, info('namespaces'), seeded.namespaces),
        restoreAfterMs: opts.restoreAtOnce ? 0 : AFTER_DELETE_MS,
        settled: () => controllersDone(kube, info, seeded.namespaces),
        cpu: cpuSampler(dirname(ground.info.kubeconfigPath), velero.pid),
        log,
      };
      const figures: VeleroRunFigures[] = [];
      for (let run = 1; run <= runs; run++) figures.push(await oneRun(ctx, `${set}-${run}`, run));
      const backup = {
        lifeboat: medianOf(figures, 'backup', 'lifeboat'),
        velero: medianOf(figures, 'backup', 'velero'),
      };
      const restore = {
        lifeboat: medianOf(figures, 'restore', 'lifeboat'),
        velero: medianOf(figures, 'restore', 'velero'),
      };
      const cpu = (what: 'backup' | 'restore', tool: Tool) =>
        median(figures.map((f) => f[what][tool].cpu.tool + f[what][tool].cpu.cluster));
      const backupCpu = { lifeboat: cpu('backup', 'lifeboat'), velero: cpu('backup', 'velero') };
      const restoreCpu = { lifeboat: cpu('restore', 'lifeboat'), velero: cpu('restore', 'velero') };
      const result: VeleroSizeResult = {
        objects: seeded.objects,
        namespaces,
        runs: figures,
        backup,
        restore,
        backupRatio: backup.velero / backup.lifeboat,
        restoreRatio: restore.velero / restore.lifeboat,
        backupCpu,
        restoreCpu,
        backupCpuRatio: backupCpu.velero / backupCpu.lifeboat,
        restoreCpuRatio: restoreCpu.velero / restoreCpu.lifeboat,
      };
      report(result, log);
      results.push(result);
      await ctx.deleteAll();
    }
    summary(results, log);
    return results;
  } finally {
    await velero?.stop();
    kube.close();
    await ground.stop();
    await rm(veleroDir, { recursive: true, force: true });
  }
}

interface RunContext {
  kube: KubeClient;
  store: S3Store;
  velero: Velero;
  namespaces: string[];
  objects: number;
  /** The seeded objects now, and as they were seeded. */
  state: () => Promise<SeededState>;
  seeded: SeededState;
  /** Deletes the seeded namespaces and waits until they are gone; resolves to when the deletes were sent. */
  deleteAll: () => Promise<number>;
  /** A restore starts this long after the deletes were sent (AFTER_DELETE_MS, or 0). */
  restoreAfterMs: number;
  /** Resolves once the controllers' objects of every seeded namespace exist. */
  settled: () => Promise<void>;
  /** CPU milliseconds so far of lifeboat (this process), Velero and the ground. */
  cpu: () => Record<Tool | 'cluster', number>;
  log: (line: string) => void;
}

/** Both tools back up, then both restore; the one that goes first alternates between runs. */
async function oneRun(ctx: RunContext, id: string, run: number): Promise<VeleroRunFigures> {
  const order: Tool[] = run % 2 === 1 ? ['lifeboat', 'velero'] : ['velero', 'lifeboat'];
  const backups = {} as Record<Tool, Timed>;
  const restores = {} as Record<Tool, Timed>;
  const names: Record<Tool, string> = { lifeboat: `lb-${id}`, velero: `vl-${id}` };
  for (const tool of order) {
    await ctx.settled();
    ctx.log(`run ${id}: ${tool} backs up ${ctx.objects} objects…`);
    backups[tool] = await withCpu(ctx, tool, () =>
      tool === 'lifeboat' ? lifeboatBackup(ctx, names.lifeboat) : veleroBackup(ctx, names.velero),
    );
  }
  for (const tool of order) {
    const deletedAt = await ctx.deleteAll();
    const wait = deletedAt + ctx.restoreAfterMs - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const after = ((performance.now() - deletedAt) / 1000).toFixed(1);
    ctx.log(`run ${id}: ${tool} restores, ${after} s after the namespaces' deletes…`);
    restores[tool] = await withCpu(ctx, tool, () =>
      tool === 'lifeboat'
        ? lifeboatRestore(ctx, names.lifeboat, `lb-${id}`)
        : veleroRestore(ctx, names.velero, `vl-${id}`),
    );
    const found = await ctx.state();
    if (found.count !== ctx.seeded.count || found.digest !== ctx.seeded.digest)
      throw new Error(
        `${tool}'s restore of ${names[tool]} brought back ${found.count} of ${ctx.seeded.count} objects` +
          (found.count === ctx.seeded.count ? ', not all as they were seeded' : ''),
      );
  }
  return { backup: backups, restore: restores, first: order[0] ?? 'lifeboat' };
}

/** The CPU the tool and the ground spent while `fn` ran. */
async function withCpu(ctx: RunContext, tool: Tool, fn: () => Promise<Omit<Timed, 'cpu'>>): Promise<Timed> {
  const before = ctx.cpu();
  const timed = await fn();
  // lifeboat's own CPU is read before the sampler's scan of /proc (10–20 ms of this process's
  // CPU), which is not lifeboat's; the sampler reads it after its scan, so `before` excludes it.
  const ownAfter = ownCpuMs();
  const after = ctx.cpu();
  const toolAfter = tool === 'lifeboat' ? ownAfter : after[tool];
  return {
    ...timed,
    cpu: { tool: (toolAfter - before[tool]) / 1000, cluster: (after.cluster - before.cluster) / 1000 },
  };
}

function ownCpuMs(): number {
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000;
}

/**
 * lifeboat is this process; Velero is the server's process group (its plugins included); the
 * ground is every other process started with its directory on the command line (API server,
 * etcd, controller manager, S3 server).
 */
function cpuSampler(groundDir: string, veleroPid: number): () => Record<Tool | 'cluster', number> {
  return () => {
    const groups = cpuByGroup<'velero' | 'cluster'>((stat, cmdline) =>
      stat.pgrp === veleroPid ? 'velero' : cmdline.includes(groundDir) ? 'cluster' : undefined,
    );
    return {
      lifeboat: ownCpuMs(),
      velero: groups.get('velero') ?? 0,
      cluster: groups.get('cluster') ?? 0,
    };
  };
}

async function lifeboatBackup(ctx: RunContext, name: string): Promise<Omit<Timed, 'cpu'>> {
  const start = performance.now();
  const result = await runBackup(
    { name, spec: { includedNamespaces: ctx.namespaces } },
    { kube: ctx.kube, store: ctx.store },
  );
  const seconds = (performance.now() - start) / 1000;
  if (result.phase !== 'Completed')
    throw new Error(`lifeboat backup ${name} ${result.phase}: ${result.failureReason ?? ''}`);
  return { seconds, items: result.totalItems };
}

async function lifeboatRestore(
  ctx: RunContext,
  backupName: string,
  name: string,
): Promise<Omit<Timed, 'cpu'>> {
  const start = performance.now();
  const result = await applyRestore({ name, spec: { backupName } }, { kube: ctx.kube, store: ctx.store });
  const seconds = (performance.now() - start) / 1000;
  if (result.phase !== 'Completed') {
    const failed = result.items.filter((i) => i.result === 'failed').slice(0, 5);
    throw new Error(`lifeboat restore ${name} ${result.phase}: ${JSON.stringify(failed)}`);
  }
  return { seconds, items: result.items.length };
}

interface VeleroStatus {
  phase?: string;
  startTimestamp?: string;
  completionTimestamp?: string;
  progress?: { totalItems?: number; itemsBackedUp?: number; itemsRestored?: number };
  errors?: number;
  warnings?: number;
  failureReason?: string;
}

async function veleroBackup(ctx: RunContext, name: string): Promise<Omit<Timed, 'cpu'>> {
  const start = performance.now();
  await ctx.velero.create('backups', {
    apiVersion: 'velero.io/v1',
    kind: 'Backup',
    metadata: { name },
    spec: {
      includedNamespaces: ctx.namespaces,
      storageLocation: LOCATION,
      snapshotVolumes: false,
      defaultVolumesToFsBackup: false,
    },
  });
  const status = await veleroFinished(ctx.velero, 'backups', name);
  const seconds = (performance.now() - start) / 1000;
  if (status.phase !== 'Completed')
    throw new Error(`Velero backup ${name} ${status.phase ?? '?'}: ${JSON.stringify(status)}`);
  return { seconds, statusSeconds: statusSeconds(status), items: status.progress?.itemsBackedUp ?? 0 };
}

async function veleroRestore(ctx: RunContext, backupName: string, name: string): Promise<Omit<Timed, 'cpu'>> {
  const start = performance.now();
  await ctx.velero.create('restores', {
    apiVersion: 'velero.io/v1',
    kind: 'Restore',
    metadata: { name },
    spec: { backupName, restorePVs: false },
  });
  const status = await veleroFinished(ctx.velero, 'restores', name);
  const seconds = (performance.now() - start) / 1000;
  if (status.phase !== 'Completed') {
    const details = await ctx.velero.cli(['restore', 'describe', name, '--details', '--colorized=false']);
    throw new Error(
      `Velero restore ${name} ${status.phase ?? '?'}: ${JSON.stringify(status)}\n${details.stdout}`,
    );
  }
  return { seconds, statusSeconds: statusSeconds(status), items: status.progress?.itemsRestored ?? 0 };
}

/**
 * Velero's final phases (pkg/apis/velero/v1 backup_types.go, restore_types.go); before them a
 * backup goes through New, Queued, ReadyToStart, InProgress, WaitingForPluginOperations and
 * Finalizing, a restore through most of those.
 */
const FINAL = new Set(['Completed', 'PartiallyFailed', 'Failed', 'FailedValidation', 'Deleting']);

async function veleroFinished(velero: Velero, resource: string, name: string): Promise<VeleroStatus> {
  const deadline = Date.now() + 3_600_000;
  for (;;) {
    const obj: KubeObject | null = await velero.get(resource, name);
    const status = (obj?.status ?? {}) as VeleroStatus;
    if (FINAL.has(status.phase ?? '')) return status;
    if (Date.now() > deadline)
      throw new Error(`Velero ${resource}/${name} still ${status.phase} after an hour`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export function statusSeconds(status: {
  startTimestamp?: string;
  completionTimestamp?: string;
}): number | undefined {
  if (!status.startTimestamp || !status.completionTimestamp) return undefined;
  return (Date.parse(status.completionTimestamp) - Date.parse(status.startTimestamp)) / 1000;
}

export interface SeededState {
  count: number;
  /** sha256 over every object's kind, namespace, name, labels (the restore labels both tools set left out), data and type. */
  digest: string;
}

/**
 * The seeded ConfigMaps and Secrets of one size as they are now: how many, and a digest of what
 * a restore must bring back, so a restore that drops or changes an object is caught.
 */
async function seededState(
  kube: KubeClient,
  info: (resource: string) => ResourceInfo,
  set: string,
): Promise<SeededState> {
  const lines: string[] = [];
  for (const resource of ['configmaps', 'secrets']) {
    let continueToken: string | undefined;
    do {
      const page = await kube.list(info(resource), {
        labelSelector: `${SET_LABEL}=${set}`,
        limit: 1000,
        ...(continueToken ? { continueToken } : {}),
      });
      for (const obj of page.items) lines.push(restorable(obj));
      continueToken = page.continueToken;
    } while (continueToken);
  }
  lines.sort();
  const hash = createHash('sha256');
  for (const line of lines) hash.update(line).update('\n');
  return { count: lines.length, digest: hash.digest('hex') };
}

/** What of an object a restore must keep, as one line of JSON. */
export function restorable(obj: KubeObject): string {
  const labels = Object.fromEntries(
    Object.entries(obj.metadata.labels ?? {})
      .filter(([k]) => !(RESTORE_LABELS as readonly string[]).includes(k))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  const { data, type } = obj as KubeObject & { data?: Record<string, string>; type?: string };
  const sortedData = Object.fromEntries(Object.entries(data ?? {}).sort(([a], [b]) => (a < b ? -1 : 1)));
  return JSON.stringify([
    obj.kind,
    obj.metadata.namespace,
    obj.metadata.name,
    labels,
    sortedData,
    type ?? null,
  ]);
}

/**
 * Waits until each namespace holds what the cluster's controllers add to a new one: the
 * `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap. A backup taken right after
 * seeding or a restore would otherwise hold fewer items than one taken a moment later, and
 * both tools must back up, and so restore, the same items.
 */
async function controllersDone(
  kube: KubeClient,
  info: (resource: string) => ResourceInfo,
  namespaces: string[],
): Promise<void> {
  const deadline = Date.now() + 300_000;
  const has = async (resource: string, name: string): Promise<Set<string>> =>
    new Set(
      (await kube.list(info(resource), {})).items
        .filter((o) => o.metadata.name === name)
        .map((o) => o.metadata.namespace ?? ''),
    );
  for (;;) {
    const accounts = await has('serviceaccounts', 'default');
    const roots = await has('configmaps', 'kube-root-ca.crt');
    const missing = namespaces.filter((n) => !accounts.has(n) || !roots.has(n));
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${missing.length} namespaces still lack their controllers' objects after 5 minutes`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Deletes the namespaces, waits until they are gone, and returns when the last delete was sent. */
async function deleteNamespaces(kube: KubeClient, info: ResourceInfo, names: string[]): Promise<number> {
  const limit = pLimit(DELETE_CONCURRENCY);
  let sentAt = performance.now();
  await Promise.all(
    names.map((n) =>
      limit(() => {
        sentAt = performance.now();
        return kube.delete(info, '', n);
      }),
    ),
  );
  const wanted = new Set(names);
  const deadline = Date.now() + 900_000;
  for (;;) {
    const left = (await kube.list(info, {})).items.filter((n) => wanted.has(n.metadata.name ?? ''));
    if (left.length === 0) return sentAt;
    if (Date.now() > deadline)
      throw new Error(`${left.length} namespaces still terminating after 15 minutes`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function createBucket(ground: Ground): Promise<void> {
  const { s3 } = ground.info;
  // As src/storage/s3-store.ts does: the SDK's Node-version notice is noise here.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
  } finally {
    client.destroy();
  }
}

function medianOf(runs: VeleroRunFigures[], what: 'backup' | 'restore', tool: Tool): number {
  return median(runs.map((r) => r[what][tool].seconds));
}

function report(r: VeleroSizeResult, log: (line: string) => void): void {
  const s = (x: number) => `${x.toFixed(2)} s`;
  const timed = (t: Timed) =>
    `${s(t.seconds)}${t.statusSeconds === undefined ? '' : ` (status ${t.statusSeconds} s)`}, ${t.items} items, ` +
    `CPU ${t.cpu.tool.toFixed(1)} s + ground ${t.cpu.cluster.toFixed(1)} s`;
  log(`${r.objects} ConfigMaps and Secrets in ${r.namespaces} namespaces, ${r.runs.length} runs:`);
  r.runs.forEach((run, i) => {
    log(`  run ${i + 1} (${run.first} first):`);
    log(`    backup:  lifeboat ${timed(run.backup.lifeboat)}; Velero ${timed(run.backup.velero)}`);
    log(`    restore: lifeboat ${timed(run.restore.lifeboat)}; Velero ${timed(run.restore.velero)}`);
  });
  const perSecond = (seconds: number) => `${Math.round(r.objects / seconds)} objects/s`;
  for (const what of ['backup', 'restore'] as const) {
    const ratio = what === 'backup' ? r.backupRatio : r.restoreRatio;
    log(
      `  ${what} (medians): lifeboat ${s(r[what].lifeboat)}, ${perSecond(r[what].lifeboat)}; ` +
        `Velero ${s(r[what].velero)}, ${perSecond(r[what].velero)}; ` +
        `ratio ${ratio.toFixed(1)}× (target ≥ ${TARGET_RATIO}×: ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'})`,
    );
    const cpu = what === 'backup' ? r.backupCpu : r.restoreCpu;
    const cpuRatio = what === 'backup' ? r.backupCpuRatio : r.restoreCpuRatio;
    log(
      `  ${what} CPU, tool + ground (medians): lifeboat ${s(cpu.lifeboat)}, Velero ${s(cpu.velero)}; ratio ${cpuRatio.toFixed(1)}×`,
    );
  }
}

function summary(results: VeleroSizeResult[], log: (line: string) => void): void {
  log('velero benchmark (objects per second, medians; ratio = lifeboat / Velero):');
  log(
    '  objects | backup lifeboat | backup Velero | ratio (CPU ratio) | restore lifeboat | restore Velero | ratio (CPU ratio)',
  );
  for (const r of results) {
    const ps = (seconds: number) => String(Math.round(r.objects / seconds));
    log(
      `  ${r.objects} | ${ps(r.backup.lifeboat)} | ${ps(r.backup.velero)} | ${r.backupRatio.toFixed(1)} (${r.backupCpuRatio.toFixed(1)}) | ` +
        `${ps(r.restore.lifeboat)} | ${ps(r.restore.velero)} | ${r.restoreRatio.toFixed(1)} (${r.restoreCpuRatio.toFixed(1)})`,
    );
  }
}

export const veleroBenchmark: Benchmark = {
  description:
    "lifeboat vs the real Velero server: backup and restore of the same objects to one S3 server (--objects 1000,10000, --namespaces, --runs, --http1: lifeboat over HTTP/1.1, --restore-at-once: restore without waiting out the 30 s after the namespaces' deletes)",
  async run(args) {
    const { values } = parseArgs({
      args,
      options: {
        objects: { type: 'string', default: '1000,10000' },
        namespaces: { type: 'string', default: '100' },
        runs: { type: 'string', default: '2' },
        http1: { type: 'boolean', default: false },
        'restore-at-once': { type: 'boolean', default: false },
      },
    });
    const int = (flag: string, value: string | undefined): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`--${flag} must be a positive integer, not ${value}`);
      return n;
    };
    const results = await benchVelero({
      sizes: (values.objects ?? '').split(',').map((v) => int('objects', v.trim())),
      namespaces: int('namespaces', values.namespaces),
      runs: int('runs', values.runs),
      http1: values.http1 === true,
      restoreAtOnce: values['restore-at-once'] === true,
    });
    return results.every((r) => r.backupRatio >= TARGET_RATIO && r.restoreRatio >= TARGET_RATIO) ? 0 : 1;
  },
};
