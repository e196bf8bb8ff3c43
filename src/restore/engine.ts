// Restore: plan (what would happen to every object) and apply (do it, tier by tier).
//
// The plan is what reviewers approve. Apply re-plans and refuses when the fresh plan's hash
// differs from the approved one (the backup, the spec or the cluster changed), unless forced.
import pLimit from 'p-limit';
import { gzipSync } from 'node:zlib';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { groupResource } from '../kube/types.js';
import type { BackupStore } from '../storage/store.js';
import { assertValidName, restoreLayout } from '../storage/layout.js';
import { ANNOTATION_SHA256, type VeleroBackup } from '../backup/velero-backup.js';
import { discover } from '../backup/discover.js';
import type { Logger } from '../observe/logger.js';
import { silentLogger } from '../observe/logger.js';
import { RunLog } from '../observe/run-log.js';
import { runRestoreExecHooks, type RestoreHookRun } from '../hooks/restore-exec.js';
import {
  restorePodVolumes,
  type FsRestoreConfig,
  type PodVolumeRestoreOutcome,
} from './pod-volume-restores.js';
import { getRestore, RestoreNotFoundError } from './catalog.js';
import { assemblePlan, disclosedNames, type PlanItem, type RestorePlan } from './plan.js';
import type { ObjectSpool } from './spool.js';
import { atObjectVersion, FIELD_MANAGER, itemKey, prepareRestore } from './prepare.js';
import { resolveRestoreSource } from './source.js';
import type { RestoreSpec } from './spec.js';
import { scrubText } from './redact.js';
import type { Priorities } from './order.js';
import type { ArchiveLimits } from '../archive/reader.js';
import { backupMadeBy, checksumWarnings } from '../backup/archive-checksum.js';
import { validateNamespaceMapping } from './namespace-mapping.js';
import { validateResourceModifiers } from './modifiers.js';
import { VOLUME_SNAPSHOTS } from './csi-restore.js';
import { RestoredSnapshots } from './snapshot-cleanup.js';
import type { PollDelay } from '../util/poll-delay.js';
import { fillMovedClaims, type MovedClaimFill } from './moved-claims-fill.js';
import { DEFAULT_RESTORE_WAIT_IMAGE } from './fs-volumes.js';

export { FIELD_MANAGER };

/**
 * Writes in flight while applying, unless RestoreDeps.concurrency says otherwise. A restore is
 * thousands of small creates whose time is the API server's: with 16 in flight a busy 2-core
 * API server still waited between them, with 64 it created 20% more objects per second (see
 * docs/decisions/0036-restore-speed.md). The API server's own limits (max-mutating-requests-
 * inflight, 200 by default; priority and fairness) queue or refuse (429, tried again) beyond.
 */
export const DEFAULT_APPLY_CONCURRENCY = 64;

export interface RestoreRequest {
  name: string;
  spec: RestoreSpec;
}

export interface RestoreDeps {
  kube: KubeClient;
  /** Where the backup is read from. */
  store: BackupStore;
  /** Where the result and log are recorded; `store` by default (a read-only store records nothing). */
  resultStore?: BackupStore;
  log?: Logger;
  clock?: () => Date;
  /**
   * Requests in flight at once. By default 16 while planning (each one holds an object being
   * decided) and DEFAULT_APPLY_CONCURRENCY while applying.
   */
  concurrency?: number;
  priorities?: Priorities;
  /**
   * Restore a lifeboat backup whose velero-backup.json lost its archive checksum, unverified
   * (backup/archive-checksum.ts); refused otherwise.
   */
  allowMissingChecksum?: boolean;
  /** Bounds on what a backup's archive may make planning read and hold (archive/reader.ts). */
  archiveLimits?: Partial<ArchiveLimits>;
  /** How long to wait for a restored CRD to be Established. */
  crdTimeoutMs?: number;
  /**
   * How long to wait for claims restored from CSI snapshots to be Bound before the restore's
   * temporary VolumeSnapshots are deleted (snapshot-cleanup.ts); default 10 minutes.
   */
  volumeBindTimeoutMs?: number;
  /** The wait between two looks at a restored claim; pollDelay (util/poll-delay.ts) by default. */
  volumePollDelay?: PollDelay;
  onProgress?: (done: number, total: number) => void;
  /** The restic repository that pod volumes are restored from (the location's). */
  fsRestore?: FsRestoreConfig;
  /** The image of the init container that holds a restored pod until its volumes are filled. */
  restoreWaitImage?: string;
  /**
   * Called with the plan before anything is applied or recorded; what it throws refuses the
   * restore (the CLI refuses volumes it has no repository to fill from).
   */
  checkPlan?: (plan: RestorePlan) => void;
}

export type RestoreItemResult = 'created' | 'updated' | 'skipped' | 'failed';
/** InProgress is only ever seen in a stored record: a reconciler's claim before it applies. */
export type RestorePhase = 'InProgress' | 'Completed' | 'PartiallyFailed' | 'Failed';

export interface RestoreItemOutcome {
  groupResource: string;
  namespace: string;
  name: string;
  result: RestoreItemResult;
  message?: string;
}

export interface RestoreResult {
  apiVersion: 'lifeboat.dev/v1';
  kind: 'RestoreResult';
  name: string;
  backupName: string;
  phase: RestorePhase;
  planHash: string;
  startTimestamp: string;
  completionTimestamp: string;
  counts: Record<RestoreItemResult, number>;
  items: RestoreItemOutcome[];
  failureReason?: string;
  /**
   * While InProgress: how far applying got, rewritten as it goes (the counts so far are in
   * `counts`). A record left InProgress whose updatedAt stops moving is an interrupted restore
   * (its writer was killed): see reconcile/restore-attempt.ts.
   */
  progress?: { done: number; total: number; updatedAt: string };
  /** Exec hooks run in restored pods (src/hooks/restore-exec.ts); their output is in the log only. */
  hooks?: RestoreHookRun[];
  /** Pod volumes filled from file-system copies (restic), one per volume. */
  podVolumes?: PodVolumeRestoreOutcome[];
  /** Claims filled from their moved snapshot data (snapshotMoveData), one per claim. */
  movedClaims?: MovedClaimFill[];
}

/** What applyRestore does when restores/<name>/ already holds a record. */
export type ExistingRecordPolicy =
  /** Refuse (RestoreNameInUseError): the default, so no earlier record is ever overwritten. */
  | 'refuse'
  /**
   * Carry on after an interrupted restore of this name (a record left InProgress): re-plan
   * against the live cluster and apply what the plan says now. Finished records are refused.
   */
  | 'resume'
  /** Overwrite whatever record is there. */
  | 'replace';

/** restores/<name>/ is taken: the name of an earlier restore is never silently reused. */
export class RestoreNameInUseError extends Error {
  constructor(
    readonly restoreName: string,
    readonly existing: RestoreResult | undefined,
    where: string,
  ) {
    super(nameInUseMessage(restoreName, existing, where));
    this.name = 'RestoreNameInUseError';
  }
}

function nameInUseMessage(name: string, existing: RestoreResult | undefined, where: string): string {
  if (existing === undefined) {
    return `restore ${name}: ${where} already holds files under restores/${name}/ but no record; use another name, or --replace`;
  }
  if (existing.phase === 'InProgress') {
    const p = existing.progress;
    const how = p
      ? `${p.done} of ${p.total} objects done, last progress ${p.updatedAt}`
      : `started ${existing.startTimestamp || 'at an unknown time'}`;
    return (
      `restore ${name} in ${where} did not finish (${how}): it was interrupted, or is still running. ` +
      'If no other process applies it, --resume re-plans against the cluster and applies the rest; or use another name'
    );
  }
  return (
    `restore ${name} already exists in ${where} (${existing.phase}, completed ${existing.completionTimestamp}): ` +
    'use another name, or --replace to overwrite its record'
  );
}

export class StalePlanError extends Error {
  constructor(
    readonly approvedHash: string,
    readonly freshPlan: RestorePlan,
  ) {
    super(
      `the approved plan is stale: it has hash ${approvedHash.slice(0, 12)}, but planning now gives ${freshPlan.hash.slice(0, 12)} ` +
        '(the backup, the spec or the cluster changed). Review the new plan, or apply with --force.',
    );
    this.name = 'StalePlanError';
  }
}

export interface PlannedRestore {
  plan: RestorePlan;
  backup: VeleroBackup;
}

/** A plan with what applying it needs; `spool` must be closed. */
interface ApplicablePlan extends PlannedRestore {
  /** Item key (see itemKey) → the object apply writes. */
  spool: ObjectSpool;
  resources: Map<string, ResourceInfo>;
  /**
   * Every form of every Secret value the restore has seen, in the backup and in the live
   * cluster: apiserver errors during apply can quote either (an admission webhook that echoes
   * the old object), so both are scrubbed from the messages apply records.
   */
  secretForms: string[];
}

/** A restore spec that cannot be carried out; `problems` are `field: message` lines. */
export class RestoreSpecError extends Error {
  constructor(
    readonly restoreName: string,
    readonly problems: string[],
  ) {
    super(`restore ${restoreName}: invalid spec: ${problems.join('; ')}`);
    this.name = 'RestoreSpecError';
  }
}

/**
 * Velero validates a restore before it starts (pkg/controller/restore_controller.go
 * validateAndComplete; resource modifiers: FailedValidation) and restores nothing from an
 * invalid one. Policy documents are checked when they are loaded; the CLI and other callers
 * pass specs straight in, so the engine checks again rather than failing object by object.
 */
function checkSpec(req: RestoreRequest): void {
  const problems = [
    ...validateNamespaceMapping(req.spec.namespaceMapping),
    ...(req.spec.resourceModifiers
      ? validateResourceModifiers(req.spec.resourceModifiers).map((p) => `resourceModifiers.${p}`)
      : []),
  ];
  if (problems.length > 0) throw new RestoreSpecError(req.name, problems);
}

/** Plan a restore: a pure function of the verified archive and the live cluster (see plan.ts). */
export async function planRestore(req: RestoreRequest, deps: RestoreDeps): Promise<PlannedRestore> {
  const planned = await prepareAndPlan(req, deps);
  await planned.spool.close();
  return { plan: planned.plan, backup: planned.backup };
}

async function prepareAndPlan(req: RestoreRequest, deps: RestoreDeps): Promise<ApplicablePlan> {
  assertValidName('restore', req.name);
  checkSpec(req);
  const backup = await resolveRestoreSource(deps.store, req.spec);
  // Before anything is read: a lifeboat backup without its checksum is refused unless allowed.
  const warnings = checksumWarnings(backup, { allowMissing: deps.allowMissingChecksum ?? false });
  const prepared = await prepareRestore({
    kube: deps.kube,
    store: deps.store,
    backup,
    restoreName: req.name,
    spec: req.spec,
    ...(deps.concurrency ? { concurrency: deps.concurrency } : {}),
    ...(deps.archiveLimits ? { archiveLimits: deps.archiveLimits } : {}),
    ...(deps.restoreWaitImage ? { restoreWaitImage: deps.restoreWaitImage } : {}),
  });
  const header = {
    restoreName: req.name,
    backupName: backup.metadata.name,
    backupSha256: backup.metadata.annotations?.[ANNOTATION_SHA256] ?? '',
    backupMadeBy: backupMadeBy(backup),
    warnings,
    // The hash covers the spec as approved, with the schedule resolved to a backup.
    spec: { ...req.spec, backupName: backup.metadata.name },
    ...(deps.priorities ? { priorities: deps.priorities } : {}),
  };
  try {
    const plan = assemblePlan(header, prepared.decided, prepared.secretForms, prepared.volumes);
    return {
      plan,
      backup,
      spool: prepared.spool,
      resources: prepared.resources,
      secretForms: prepared.secretForms,
    };
  } catch (err) {
    await prepared.spool.close();
    throw err;
  }
}

/**
 * Apply a restore. With `approvedHash`, refuse (StalePlanError) when a fresh plan differs,
 * unless `force`. The result and log are stored under restores/<name>/ as Velero does.
 */
export async function applyRestore(
  req: RestoreRequest,
  deps: RestoreDeps,
  opts: ApplyOptions = {},
): Promise<RestoreResult> {
  const clock = deps.clock ?? (() => new Date());
  const log = deps.log ?? silentLogger();
  const start = clock();
  assertValidName('restore', req.name);
  // The record is looked for while planning reads the backup and the cluster (planning
  // changes nothing): one or two S3 round trips fewer before the archive is read. A name in
  // use is still refused, before anything is applied or recorded.
  const [existing, planning] = await Promise.allSettled([
    checkExistingRecord(req.name, deps.resultStore ?? deps.store, opts.existing ?? 'refuse'),
    prepareAndPlan(req, deps),
  ]);
  if (existing.status === 'rejected') {
    if (planning.status === 'fulfilled') await planning.value.spool.close();
    throw existing.reason;
  }
  if (planning.status === 'rejected') throw planning.reason;
  const planned = planning.value;
  try {
    deps.checkPlan?.(planned.plan);
    return await applyPlanned({ req, deps, opts, planned, start, clock, log });
  } finally {
    await planned.spool.close();
  }
}

export interface ApplyOptions {
  approvedHash?: string;
  force?: boolean;
  /** Default 'refuse'. */
  existing?: ExistingRecordPolicy;
  /**
   * How often the InProgress record is rewritten while applying: every this many objects
   * (default 50), but after the first such write at most once per progressIntervalMs.
   */
  progressEvery?: number;
  /**
   * Least time between two progress writes after the first (default 1,000 ms). Each write is
   * the log and the record, two PUTs: every 50 objects was 26 of them in a restore of 1,300
   * objects lasting 3 s, CPU taken from the API server that the restore waits on.
   */
  progressIntervalMs?: number;
}

async function checkExistingRecord(
  name: string,
  store: BackupStore,
  policy: ExistingRecordPolicy,
): Promise<void> {
  if (policy === 'replace' || store.readOnly) return;
  let existing: RestoreResult | undefined;
  try {
    existing = await getRestore(store, name);
  } catch (err) {
    if (!(err instanceof RestoreNotFoundError)) throw err;
    const first = await store.list(restoreLayout.dir(name))[Symbol.asyncIterator]().next();
    if (first.done !== true) throw new RestoreNameInUseError(name, undefined, store.describe);
    return;
  }
  if (policy === 'resume' && existing.phase === 'InProgress') return;
  throw new RestoreNameInUseError(name, existing, store.describe);
}

async function applyPlanned(o: {
  req: RestoreRequest;
  deps: RestoreDeps;
  opts: ApplyOptions;
  planned: ApplicablePlan;
  start: Date;
  clock: () => Date;
  log: Logger;
}): Promise<RestoreResult> {
  const { req, deps, opts, planned, clock, log } = o;
  if (opts.approvedHash && opts.approvedHash !== planned.plan.hash && !opts.force) {
    throw new StalePlanError(opts.approvedHash, planned.plan);
  }
  const runLog = new RunLog(clock);
  runLog.add('info', 'restore started', {
    restore: req.name,
    backup: planned.backup.metadata.name,
    planHash: planned.plan.hash,
    forced: opts.force && opts.approvedHash && opts.approvedHash !== planned.plan.hash ? true : undefined,
  });
  for (const warning of planned.plan.warnings ?? []) runLog.add('warning', warning);
  log.info({ restore: req.name, items: planned.plan.items.length }, 'applying restore');
  const resultStore = deps.resultStore ?? deps.store;
  const counts: Record<RestoreItemResult, number> = { created: 0, updated: 0, skipped: 0, failed: 0 };
  const progress = new ProgressRecord({
    store: resultStore,
    base: {
      apiVersion: 'lifeboat.dev/v1',
      kind: 'RestoreResult',
      name: req.name,
      backupName: planned.backup.metadata.name,
      phase: 'InProgress',
      planHash: planned.plan.hash,
      startTimestamp: o.start.toISOString(),
      completionTimestamp: '',
      counts,
      items: [],
    },
    total: planned.plan.items.length,
    runLog,
    clock,
    ...o.opts,
  });
  await progress.write(0);
  const movedClaims: MovedClaimFill[] = [];
  const snapshots = new RestoredSnapshots({
    kube: deps.kube,
    resources: planned.resources,
    runLog,
    readyTimeoutMs: Math.min(deps.volumeBindTimeoutMs ?? 600_000, 120_000),
    bindTimeoutMs: deps.volumeBindTimeoutMs ?? 600_000,
    ...(deps.volumePollDelay ? { pollDelay: deps.volumePollDelay } : {}),
  });
  const outcomes = await executePlan({
    planned,
    deps,
    runLog,
    snapshots,
    onOutcome: (outcome, done) => {
      counts[outcome.result]++;
      progress.applied(done);
    },
    // Moved claims are filled as soon as they exist, before any later tier's pod can mount them.
    afterTier: async (tierOutcomes) => {
      movedClaims.push(
        ...(await fillCreatedMovedClaims({ planned, deps, runLog, tierOutcomes, counts, name: req.name })),
      );
    },
  });
  await progress.settled();
  await snapshots.finish();
  // Volumes first: a pod's containers (and so its exec hooks) start only once they are filled.
  const podVolumes = await fillPodVolumes({ planned, deps, runLog, outcomes, counts, name: req.name });
  const hookRuns = await runPodExecHooks({ planned, deps, runLog, outcomes, counts });
  const attempted = outcomes.filter((o) => o.result !== 'skipped').length;
  const phase: RestorePhase =
    counts.failed === 0 ? 'Completed' : counts.failed === attempted ? 'Failed' : 'PartiallyFailed';
  const result: RestoreResult = {
    apiVersion: 'lifeboat.dev/v1',
    kind: 'RestoreResult',
    name: req.name,
    backupName: planned.backup.metadata.name,
    phase,
    planHash: planned.plan.hash,
    startTimestamp: o.start.toISOString(),
    completionTimestamp: clock().toISOString(),
    counts,
    items: outcomes,
    ...(hookRuns.length > 0 ? { hooks: hookRuns } : {}),
    ...(podVolumes.length > 0 ? { podVolumes } : {}),
    ...(movedClaims.length > 0 ? { movedClaims } : {}),
  };
  runLog.add('info', `restore ${phase}`, counts);
  await storeRestoreResult(deps.resultStore ?? deps.store, result, runLog);
  return result;
}

/**
 * The InProgress record (and the log so far) rewritten while a restore applies, so a restore
 * whose process is killed leaves a record that says how far it got, and a log that exists.
 * Writes are chained: never two at once, never an older one landing after a newer one.
 */
class ProgressRecord {
  private chain: Promise<void> = Promise.resolve();
  private pending = false;

  constructor(
    private readonly o: {
      store: BackupStore;
      base: RestoreResult;
      total: number;
      runLog: RunLog;
      clock: () => Date;
    } & Pick<ApplyOptions, 'progressEvery' | 'progressIntervalMs'>,
  ) {
    this.every = Math.max(1, o.progressEvery ?? 50);
    this.intervalMs = Math.max(0, o.progressIntervalMs ?? 1_000);
  }

  private readonly every: number;
  private readonly intervalMs: number;
  private lastAppliedWrite: number | undefined;

  /** `done` objects are applied: write now and then (the first time at once). */
  applied(done: number): void {
    if (done % this.every !== 0) return;
    const now = Date.now();
    if (this.lastAppliedWrite !== undefined && now - this.lastAppliedWrite < this.intervalMs) return;
    this.lastAppliedWrite = now;
    this.schedule(done);
  }

  /** Write now, and wait for it: the first record lands before anything is applied. */
  async write(done: number): Promise<void> {
    this.schedule(done);
    await this.settled();
  }

  /** Write soon; a write already waiting covers this one. */
  schedule(done: number): void {
    if (this.o.store.readOnly || this.pending) return;
    this.pending = true;
    this.chain = this.chain.then(async () => {
      this.pending = false;
      const { base, total, runLog, clock } = this.o;
      const record: RestoreResult = {
        ...base,
        counts: { ...base.counts },
        progress: { done, total, updatedAt: clock().toISOString() },
      };
      await this.o.store.put(restoreLayout.log(base.name), runLog.gzip());
      await this.o.store.put(restoreLayout.record(base.name), JSON.stringify(record, null, 2));
    });
  }

  /** Wait for the writes so far; a failed progress write fails the restore's record-keeping. */
  async settled(): Promise<void> {
    await this.chain;
  }
}

/**
 * The volumes of the created pods that the plan fills from restic snapshots (pod-volume-restores.ts);
 * a volume that failed fails its pod's item, naming the volume.
 */
async function fillPodVolumes(o: {
  planned: ApplicablePlan;
  deps: RestoreDeps;
  runLog: RunLog;
  outcomes: RestoreItemOutcome[];
  counts: Record<RestoreItemResult, number>;
  name: string;
}): Promise<PodVolumeRestoreOutcome[]> {
  const pods = createdPods(o.planned, o.outcomes)
    .map((i) => ({
      namespace: i.namespace,
      name: i.name,
      volumes: (i.podVolumes ?? []).filter((v) => v.action === 'restore'),
    }))
    .filter((p) => p.volumes.length > 0);
  if (pods.length === 0) return [];
  const results = await restorePodVolumes({
    kube: o.deps.kube,
    restoreName: o.name,
    pods,
    ...(o.deps.fsRestore ? { config: o.deps.fsRestore } : {}),
    runLog: o.runLog,
  });
  const failed = new Map<string, string[]>();
  for (const x of results) {
    if (x.result !== 'failed') continue;
    const key = `${x.namespace}/${x.pod}`;
    failed.set(key, [...(failed.get(key) ?? []), x.error ?? `volume ${x.volume}: failed`]);
  }
  failPods(
    o,
    failed,
    (why) =>
      `its volumes were not restored, so it waits in its restore-wait init container: ${why.join('; ')}`,
  );
  return results;
}

/**
 * The claims of one tier that the restore created and the plan fills from moved snapshot data
 * (moved-claims-fill.ts); a claim not filled fails its item, naming it.
 */
async function fillCreatedMovedClaims(o: {
  planned: ApplicablePlan;
  deps: RestoreDeps;
  runLog: RunLog;
  tierOutcomes: RestoreItemOutcome[];
  counts: Record<RestoreItemResult, number>;
  name: string;
}): Promise<MovedClaimFill[]> {
  const copies = new Map(
    (o.planned.plan.volumes ?? []).flatMap((v) =>
      v.action === 'create-from-copy' && v.copy ? [[`${v.namespace}/${v.claim}`, v.copy] as const] : [],
    ),
  );
  if (copies.size === 0) return [];
  const claims = o.tierOutcomes.flatMap((x) => {
    const copy = copies.get(`${x.namespace}/${x.name}`);
    return x.groupResource === 'persistentvolumeclaims' && x.result === 'created' && copy
      ? [{ namespace: x.namespace, claim: x.name, copy }]
      : [];
  });
  if (claims.length === 0) return [];
  const fills = await fillMovedClaims({
    kube: o.deps.kube,
    restoreName: o.name,
    claims,
    ...(o.deps.fsRestore ? { config: o.deps.fsRestore } : {}),
    image: o.deps.restoreWaitImage ?? DEFAULT_RESTORE_WAIT_IMAGE,
    runLog: o.runLog,
  });
  const failed = new Map(
    fills.filter((f) => f.result === 'failed').map((f) => [`${f.namespace}/${f.claim}`, f]),
  );
  for (const outcome of o.tierOutcomes) {
    const fill = failed.get(`${outcome.namespace}/${outcome.name}`);
    if (outcome.groupResource !== 'persistentvolumeclaims' || !fill) continue;
    o.counts[outcome.result]--;
    o.counts.failed++;
    outcome.result = 'failed';
    outcome.message = fill.error ?? 'not filled';
    o.runLog.add('error', 'could not restore', {
      item: `persistentvolumeclaims/${outcome.namespace}/${outcome.name}`,
      error: outcome.message,
    });
  }
  return fills;
}

/** Exec hooks of the pods the restore created; a failed `Fail` hook fails that pod's item. */
async function runPodExecHooks(o: {
  planned: ApplicablePlan;
  deps: RestoreDeps;
  runLog: RunLog;
  outcomes: RestoreItemOutcome[];
  counts: Record<RestoreItemResult, number>;
}): Promise<RestoreHookRun[]> {
  const pods = createdPods(o.planned, o.outcomes)
    .map((i) => ({
      namespace: i.namespace,
      name: i.name,
      hooks: (i.hooks ?? []).filter((h) => h.type === 'exec'),
    }))
    .filter((p) => p.hooks.length > 0);
  if (pods.length === 0) return [];
  const { runs, failed } = await runRestoreExecHooks({ kube: o.deps.kube, pods, runLog: o.runLog });
  failPods(o, failed, (why) => why);
  return runs;
}

/** The plan items of the pods this restore created (the ones whose volumes and hooks it owns). */
function createdPods(planned: ApplicablePlan, outcomes: readonly RestoreItemOutcome[]): PlanItem[] {
  const created = new Set(
    outcomes
      .filter((x) => x.groupResource === 'pods' && x.result === 'created')
      .map((x) => `${x.namespace}/${x.name}`),
  );
  return planned.plan.items.filter(
    (i) => i.groupResource === 'pods' && created.has(`${i.namespace}/${i.name}`),
  );
}

/** Marks the created pods named in `failed` (by namespace/name) failed, with the message of why. */
function failPods<T>(
  o: { outcomes: RestoreItemOutcome[]; counts: Record<RestoreItemResult, number> },
  failed: ReadonlyMap<string, T>,
  message: (why: T) => string,
): void {
  for (const outcome of o.outcomes) {
    const why = failed.get(`${outcome.namespace}/${outcome.name}`);
    if (outcome.groupResource !== 'pods' || why === undefined) continue;
    o.counts[outcome.result]--;
    o.counts.failed++;
    outcome.result = 'failed';
    outcome.message = message(why);
  }
}

async function executePlan(o: {
  planned: ApplicablePlan;
  deps: RestoreDeps;
  runLog: RunLog;
  /** The restore's snapshot objects: claims wait for their snapshot, snapshots go once claims are Bound. */
  snapshots: RestoredSnapshots;
  onOutcome?: (outcome: RestoreItemOutcome, done: number) => void;
  /** Runs once a tier is applied, before the next (moved claims are filled there). */
  afterTier?: (tierOutcomes: RestoreItemOutcome[]) => Promise<void>;
}): Promise<RestoreItemOutcome[]> {
  const { planned, deps, runLog } = o;
  const { plan } = planned;
  const resources = new Map(planned.resources);
  const disclosed = disclosedNames(plan.items);
  const scrub = (t: string): string => scrubText(t, planned.secretForms, disclosed);
  const limit = pLimit(deps.concurrency ?? DEFAULT_APPLY_CONCURRENCY);
  const outcomes: RestoreItemOutcome[] = [];
  let done = 0;
  for (let tier = 0; tier < plan.tiers.length; tier++) {
    const items = plan.items.filter((i) => i.tier === tier);
    const tierOutcomes = await Promise.all(
      items.map(async (item) => {
        // A restored snapshot waits for its content, a claim for its snapshot: each for its own
        // alone, outside the limit (snapshot-cleanup.ts).
        const desired = waitsForSnapshot(item) ? await planned.spool.get(itemKey(item)) : undefined;
        if (desired) await o.snapshots.beforeCreate(item.groupResource, desired);
        return limit(async () => {
          const outcome = await applyItem({ item, planned, resources, deps, scrub });
          if (outcome.result === 'created') o.snapshots.created(outcome, desired);
          done++;
          o.onOutcome?.(outcome, done);
          deps.onProgress?.(done, plan.items.length);
          if (outcome.result === 'failed') {
            runLog.add('error', 'could not restore', { item: itemKey(item), error: outcome.message });
          }
          return outcome;
        });
      }),
    );
    outcomes.push(...tierOutcomes);
    if (items.some((i) => i.groupResource === 'persistentvolumeclaims')) o.snapshots.claimsPlaced();
    await o.afterTier?.(tierOutcomes);
    // CRDs: wait until Established, then learn how to reach their resources (Velero waits too).
    const crds = tierOutcomes.filter(
      (t) => t.groupResource === 'customresourcedefinitions.apiextensions.k8s.io' && t.result !== 'failed',
    );
    if (crds.length > 0) {
      await waitForCrds({ deps, names: crds.map((c) => c.name), runLog, resources });
    }
  }
  return outcomes;
}

function waitsForSnapshot(item: PlanItem): boolean {
  return (
    item.action === 'create' &&
    (item.groupResource === 'persistentvolumeclaims' || item.groupResource === VOLUME_SNAPSHOTS)
  );
}

async function applyItem(o: {
  item: PlanItem;
  planned: ApplicablePlan;
  resources: Map<string, ResourceInfo>;
  deps: RestoreDeps;
  scrub: (t: string) => string;
}): Promise<RestoreItemOutcome> {
  const { item, deps } = o;
  const base = { groupResource: item.groupResource, namespace: item.namespace, name: item.name };
  switch (item.action) {
    case 'unchanged':
      return { ...base, result: 'skipped', message: 'unchanged' };
    case 'skip':
      return { ...base, result: 'skipped', message: item.reason ?? 'skipped' };
    case 'conflict':
    case 'invalid':
      return { ...base, result: 'failed', message: `${item.action}: ${item.reason ?? ''}` };
    default:
      break;
  }
  const desired = await o.planned.spool.get(itemKey(item));
  const served = o.resources.get(item.groupResource);
  if (!desired || !served) {
    return { ...base, result: 'failed', message: `the cluster does not serve ${item.groupResource}` };
  }
  const info = atObjectVersion(served, desired.apiVersion);
  try {
    if (item.rebindVolume) {
      await rebindVolume({ item, info, desired, deps, policy: o.planned.plan.spec.existingResourcePolicy });
      return { ...base, result: 'updated' };
    }
    if (item.action === 'create') {
      try {
        await deps.kube.createOnly(info, desired);
        return { ...base, result: 'created' };
      } catch (err) {
        // Created by a controller since planning (the default ServiceAccount of a namespace
        // restored a moment ago): Velero then compares and updates per policy.
        if (!(err instanceof KubeApiError && err.reason === 'AlreadyExists')) throw err;
        if (
          o.planned.plan.spec.existingResourcePolicy !== 'update' &&
          item.groupResource !== 'serviceaccounts'
        ) {
          return { ...base, result: 'skipped', message: 'already exists' };
        }
      }
    }
    // force: existingResourcePolicy update means "make it what the backup says", which Velero
    // does with a patch that no one can refuse. Without force, server-side apply refuses every
    // field another manager last wrote (kubectl edit or apply, a controller) — exactly the
    // fields that differ — so no real update could happen. Fields that must not be taken over
    // (immutable ones, objects a controller owns) are already `conflict` in the plan.
    await deps.kube.apply(info, desired, { fieldManager: FIELD_MANAGER, force: true });
    return { ...base, result: 'updated' };
  } catch (err) {
    const message =
      err instanceof KubeApiError && err.status === 409 ? `conflict: ${err.message}` : errorText(err);
    return { ...base, result: 'failed', message: o.scrub(message) };
  }
}

/**
 * A surviving Released volume bound again to its restored claim (volume-binding.ts): claimRef's
 * uid and resourceVersion belong to the PV controller, and claimRef is a granular struct, so
 * server-side apply cannot remove them; a merge patch does. Under `update` the backed-up volume
 * is applied first.
 */
async function rebindVolume(o: {
  item: PlanItem;
  info: ResourceInfo;
  desired: KubeObject;
  deps: RestoreDeps;
  policy: RestoreSpec['existingResourcePolicy'];
}): Promise<void> {
  if (o.policy === 'update') {
    await o.deps.kube.apply(o.info, o.desired, { fieldManager: FIELD_MANAGER, force: true });
  }
  await o.deps.kube.mergePatch(
    o.info,
    { namespace: '', name: o.item.name },
    { spec: { claimRef: { uid: null, resourceVersion: null } } },
    { fieldManager: FIELD_MANAGER },
  );
}

async function waitForCrds(o: {
  deps: RestoreDeps;
  names: string[];
  runLog: RunLog;
  resources: Map<string, ResourceInfo>;
}): Promise<void> {
  const { deps } = o;
  const crdInfo = o.resources.get('customresourcedefinitions.apiextensions.k8s.io');
  if (!crdInfo) return;
  const deadline = Date.now() + (deps.crdTimeoutMs ?? 60_000);
  for (const name of o.names) {
    for (;;) {
      const crd = await deps.kube.get(crdInfo, '', name);
      const conditions = (crd?.status as { conditions?: { type: string; status: string }[] } | undefined)
        ?.conditions;
      if (conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) {
        o.runLog.add('warning', 'CustomResourceDefinition not Established in time', { crd: name });
        break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  // Re-discover so the new resources can be created.
  for (let attempt = 0; attempt < 50; attempt++) {
    const api = await discover(deps.kube);
    for (const r of api.resources) o.resources.set(groupResource(r), r);
    if (o.names.every((n) => o.resources.has(n))) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function storeRestoreResult(store: BackupStore, result: RestoreResult, runLog: RunLog): Promise<void> {
  if (store.readOnly) return; // a read-only location keeps nothing of ours (Velero does the same)
  // Velero's results file: warnings and errors by scope ("velero", "cluster", "namespaces").
  const errors: { cluster: string[]; namespaces: Record<string, string[]> } = { cluster: [], namespaces: {} };
  const resourceList: Record<string, string[]> = {};
  for (const i of result.items) {
    const ref = i.namespace ? `${i.namespace}/${i.name}` : i.name;
    (resourceList[i.groupResource] ??= []).push(`${ref}(${i.result})`);
    if (i.result !== 'failed') continue;
    const line = `error restoring ${i.groupResource}/${ref}: ${i.message ?? ''}`;
    if (i.namespace) (errors.namespaces[i.namespace] ??= []).push(line);
    else errors.cluster.push(line);
  }
  // The three files at once; the record last, as it says the restore is finished.
  await Promise.all([
    store.put(restoreLayout.results(result.name), gzipSync(JSON.stringify({ errors, warnings: {} }))),
    store.put(restoreLayout.resourceList(result.name), gzipSync(JSON.stringify(resourceList))),
    store.put(restoreLayout.log(result.name), runLog.gzip()),
  ]);
  await store.put(restoreLayout.record(result.name), JSON.stringify(result, null, 2));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
