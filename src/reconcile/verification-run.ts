// One verification restore (verification.ts holds the pure decisions): the latest Completed
// backup of a schedule restored into scratch namespaces, the namespaced objects of each kind
// looked up there against the backup's resource list, and the scratch namespaces deleted.
//
// Scratch namespaces are lifeboat's own: created by the run with VERIFICATION_LABEL before the
// restore writes into them, so a run deletes only namespaces an earlier run of the same
// schedule made, and refuses (a failed verification, nothing restored) when a namespace of that
// name exists without the label: it may be someone's.
//
// Volumes come back as in any restore: pods copied with restic wait in their restore-wait init
// container while the node agent fills them from restic/<backup namespace> (the repository is
// the source namespace's, not the scratch one's), here with `restic restore --verify`; claims
// are made from their CSI snapshots. Each volume is then one line of the result
// (verification-volumes.ts). Afterwards the run deletes its PodVolumeRestores and the scratch
// namespaces and waits (bounded) until they, their claims' volumes and any snapshot content of
// the restore are gone; what stays is listed in the result.
//
// A run never throws: whatever goes wrong is its Failed result, for status, metrics and the
// webhook. Failure messages name objects and namespaces, never values.
import type { VeleroBackup } from '../backup/velero-backup.js';
import { readResourceList } from '../backup/catalog.js';
import { discoverResources } from '../backup/discover.js';
import type { KubeClient } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import type { Logger } from '../observe/logger.js';
import { applyRestore, type RestoreDeps } from '../restore/engine.js';
import { verifyBackup } from '../backup/verify.js';
import { nonRestorableReason } from '../backup/default-exclusions.js';
import type { BackupStore } from '../storage/store.js';
import { PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, VOLUME_SNAPSHOT_CONTENT } from '../kube/snapshots.js';
import { readCsiFiles, snapshotsByClaim } from '../restore/csi-snapshots.js';
import { readPodVolumeRecords } from '../restore/fs-volumes.js';
import type { FsRestoreConfig } from '../restore/pod-volume-restores.js';
import { isJsonMap } from '../restore/strategic-merge.js';
import { POD_VOLUME_RESTORE, RESTORE_NAME_LABEL } from '../volumes/pod-volume-types.js';
import {
  compareVolumes,
  describeVolume,
  volumeCounts,
  type ClaimState,
  type VolumeCheck,
} from './verification-volumes.js';
import {
  compareCounts,
  expectedObjects,
  scratchNamespaces,
  splitKindKey,
  VERIFICATION_LABEL,
  type ExpectedObjects,
  type KindCount,
  type SkippedKind,
  withoutUnrestorable,
} from './verification.js';

export type VerificationPhase = 'Passed' | 'Failed';

export interface VerificationResult {
  schedule: string;
  phase: VerificationPhase;
  /**
   * restore: restored into scratch namespaces and compared; archive: the backup holds no
   * namespaced objects (nothing a scratch restore may write), so its stored objects were read
   * and checked as `lifeboat backup verify` does instead.
   */
  check: 'restore' | 'archive';
  /** The slot of the verify cron this run stood for. */
  slot: string;
  backup: string;
  /** The restore's name (its record is under restores/<name>/ in the location). */
  restore?: string;
  startTimestamp: string;
  completionTimestamp: string;
  /** Source namespace → scratch namespace. */
  namespaces?: Record<string, string>;
  kinds?: KindCount[];
  /** Kinds of the backup no restore writes (events, …), so not looked for: objects and why. */
  notRestoredKinds?: SkippedKind[];
  missing?: string[];
  missingTotal?: number;
  /** archive check: items read, and what was wrong (first 20). */
  archiveItems?: number;
  archiveProblems?: string[];
  restorePhase?: string;
  /** Objects the restore could not write, "<resource> <ns>/<name>: <message>" (first 20). */
  restoreFailures?: string[];
  /** One line per volume of the backup restored into a scratch namespace, and their counts. */
  volumes?: VolumeCheck[];
  volumeCounts?: { checked: number; passed: number; failed: number };
  /** Why it failed, in one sentence. */
  reason?: string;
  /** Everything the run made is gone (scratch namespaces, their volumes, PodVolumeRestores). */
  cleanedUp: boolean;
  /** What was still there when the run stopped waiting for the clean-up. */
  leftovers?: string[];
}

export interface VerificationRunInput {
  schedule: string;
  backup: VeleroBackup;
  slot: Date;
  namespacePrefix: string;
  cleanup: 'Always' | 'OnSuccess';
}

export interface VerificationRunDeps {
  kube: KubeClient;
  /** The location holding the backup; also where the restore's record is written. */
  store: BackupStore;
  log: Logger;
  clock: () => Date;
  /** How long to wait for an earlier run's scratch namespace to be gone; default 2 minutes. */
  namespaceGoneTimeoutMs?: number;
  restoreOptions?: Pick<RestoreDeps, 'archiveLimits' | 'allowMissingChecksum'>;
  /** The location's restic repository: volumes copied with restic are filled and read back. */
  fsRestore?: FsRestoreConfig;
  restoreWaitImage?: string;
  /** How long the clean-up may take before what is left is reported; default 5 minutes. */
  cleanupTimeoutMs?: number;
}

const SHOWN = 20;

export async function runVerification(
  input: VerificationRunInput,
  deps: VerificationRunDeps,
): Promise<VerificationResult> {
  const start = deps.clock();
  const base = {
    schedule: input.schedule,
    slot: input.slot.toISOString(),
    backup: input.backup.metadata.name,
    startTimestamp: start.toISOString(),
  };
  const finish = (rest: Omit<VerificationResult, keyof typeof base | 'completionTimestamp'>) => ({
    ...base,
    ...rest,
    completionTimestamp: deps.clock().toISOString(),
  });
  let mapping: Record<string, string> | undefined;
  const created: string[] = [];
  let nsInfo: ResourceInfo | undefined;
  let result: VerificationResult;
  const restore = restoreNameOf(input.schedule, input.slot);
  try {
    const expected = expectedObjects(await readResourceList(deps.store, input.backup.metadata.name));
    if (expected.namespaces.length === 0) return finish(await checkArchive(base.backup, deps));
    const scratch = scratchNamespaces(expected.namespaces, input.namespacePrefix);
    if ('error' in scratch)
      return finish({ phase: 'Failed', check: 'restore', reason: scratch.error, cleanedUp: true });
    mapping = scratch.mapping;
    const resources = await discoverResources(deps.kube);
    nsInfo = resources.find((r) => r.group === '' && r.resource === 'namespaces');
    if (!nsInfo) throw new Error('the cluster serves no namespaces resource');
    await prepareScratch(Object.values(mapping), { ...input, nsInfo, created }, deps);
    result = await restoreAndCount({ input, deps, expected, mapping, resources, base: finish });
  } catch (err) {
    result = finish({
      phase: 'Failed',
      check: 'restore',
      ...(mapping ? { namespaces: mapping } : {}),
      reason: err instanceof Error ? err.message : String(err),
      cleanedUp: false,
    });
  }
  const clean = input.cleanup === 'Always' || result.phase === 'Passed';
  if (clean && nsInfo && created.length > 0) {
    const left = await cleanUp({ names: created, nsInfo, restore }, deps).catch((err: unknown) => [
      `the clean-up stopped: ${err instanceof Error ? err.message : String(err)}`,
    ]);
    result.cleanedUp = left.length === 0;
    if (left.length > 0) result.leftovers = left.slice(0, SHOWN);
  } else {
    result.cleanedUp = created.length === 0;
  }
  return result;
}

async function restoreAndCount(o: {
  input: VerificationRunInput;
  deps: VerificationRunDeps;
  expected: ExpectedObjects;
  mapping: Record<string, string>;
  resources: readonly ResourceInfo[];
  base: (
    rest: Omit<VerificationResult, 'schedule' | 'slot' | 'backup' | 'startTimestamp' | 'completionTimestamp'>,
  ) => VerificationResult;
}): Promise<VerificationResult> {
  const { input, deps, expected, mapping } = o;
  const restore = restoreNameOf(input.schedule, input.slot);
  const backupName = input.backup.metadata.name;
  const restored = await applyRestore(
    {
      name: restore,
      spec: {
        backupName: input.backup.metadata.name,
        includedNamespaces: expected.namespaces,
        // Cluster-scoped objects are the cluster's: a verification must not touch them.
        includeClusterResources: false,
        namespaceMapping: mapping,
        existingResourcePolicy: 'none',
      },
    },
    {
      kube: deps.kube,
      store: deps.store,
      log: deps.log,
      clock: deps.clock,
      ...deps.restoreOptions,
      // Every restored file is read back and checked against the snapshot (restic --verify).
      ...(deps.fsRestore ? { fsRestore: { ...deps.fsRestore, verify: true } } : {}),
      ...(deps.restoreWaitImage ? { restoreWaitImage: deps.restoreWaitImage } : {}),
    },
    // A slot's run that died part-way may have left its record: this run replaces it.
    { existing: 'replace' },
  );
  // Events and the like are in the backup but no restore writes them (default-exclusions.ts).
  // So are VolumeSnapshots: a restore makes them only to provision claims from, and deletes them
  // once the claims are Bound (snapshot-cleanup.ts); the claims' volume lines check those.
  const { expected: compared, skipped } = withoutUnrestorable(expected, (kind) => {
    const info = infoOfKind(kind, o.resources);
    if (!info) return undefined;
    if (info.group === 'snapshot.storage.k8s.io' && info.resource === 'volumesnapshots') {
      return 'a restore makes VolumeSnapshots only to provision claims from them and deletes them once the claims are Bound; the volume lines check the claims';
    }
    return nonRestorableReason(info.group ? `${info.resource}.${info.group}` : info.resource);
  });
  const found = new Map<string, Set<string>>();
  for (const kind of compared.byKind.keys()) {
    const info = infoOfKind(kind, o.resources);
    if (!info) continue;
    for (const ns of Object.values(mapping))
      found.set(`${kind}\u0000${ns}`, await namesIn(info, ns, deps.kube));
  }
  const comparison = compareCounts(compared, mapping, (kind, ns) => found.get(`${kind}\u0000${ns}`));
  const failedItems = restored.items.filter((i) => i.result === 'failed');
  const failures = failedItems.map(
    (i) => `${i.groupResource} ${i.namespace}/${i.name}: ${i.message ?? 'failed'}`,
  );
  const volumes = await checkVolumes({
    deps,
    backupName,
    mapping,
    restored,
    itemFailures: new Map(
      failedItems.map((i) => [`${i.groupResource} ${i.namespace}/${i.name}`, i.message ?? 'failed']),
    ),
  });
  const counts = volumeCounts(volumes);
  const firstFailed = volumes.find((v) => v.result === 'failed');
  const passed = comparison.passed && restored.phase === 'Completed' && counts.failed === 0;
  const reason = passed
    ? undefined
    : firstFailed
      ? `${counts.failed} of ${counts.checked} volume(s) failed their check; ${describeVolume(firstFailed)}: ${firstFailed.reason ?? 'failed'}`
      : restored.phase !== 'Completed'
        ? `the restore ended ${restored.phase}${restored.failureReason ? `: ${restored.failureReason}` : ` (${failures.length} object(s) failed)`}`
        : `${comparison.missingTotal} object(s) of the backup were not found in the scratch namespaces`;
  return o.base({
    phase: passed ? 'Passed' : 'Failed',
    check: 'restore',
    restore,
    namespaces: mapping,
    kinds: comparison.kinds,
    ...(skipped.length > 0 ? { notRestoredKinds: skipped } : {}),
    ...(comparison.missingTotal > 0
      ? { missing: comparison.missing, missingTotal: comparison.missingTotal }
      : {}),
    restorePhase: restored.phase,
    ...(failures.length > 0 ? { restoreFailures: failures.slice(0, SHOWN) } : {}),
    ...(volumes.length > 0 ? { volumes, volumeCounts: counts } : {}),
    ...(reason ? { reason } : {}),
    cleanedUp: false,
  });
}

/**
 * The volume lines: the backup's restic copies (its podvolumebackups file) and CSI-snapshotted
 * claims (its volume info and snapshot lists) against the restore's fills and the claims found.
 */
async function checkVolumes(o: {
  deps: VerificationRunDeps;
  backupName: string;
  mapping: Record<string, string>;
  restored: Awaited<ReturnType<typeof applyRestore>>;
  itemFailures: Map<string, string>;
}): Promise<VolumeCheck[]> {
  const { deps, backupName, mapping } = o;
  const [byPod, csiFiles] = await Promise.all([
    readPodVolumeRecords(deps.store, backupName),
    readCsiFiles(deps.store, backupName),
  ]);
  const records = [...byPod.values()].flat();
  const moved = new Set(records.flatMap((r) => (r.sourceClaim ? [`${r.namespace}/${r.sourceClaim}`] : [])));
  const csiClaims = [...snapshotsByClaim(csiFiles).values()]
    .filter((s) => !moved.has(`${s.namespace}/${s.claim}`) && mapping[s.namespace] !== undefined)
    .map((s) => ({ namespace: s.namespace, claim: s.claim, volumeSnapshot: s.volumeSnapshot }));
  const claims = new Map<string, ClaimState>();
  for (const c of csiClaims) {
    const target = mapping[c.namespace] ?? c.namespace;
    const pvc = await deps.kube.get(PERSISTENT_VOLUME_CLAIM, target, c.claim);
    if (pvc === null) continue;
    const spec = isJsonMap(pvc.spec) ? pvc.spec : {};
    const source = isJsonMap(spec.dataSource) ? spec.dataSource : undefined;
    const phase = isJsonMap(pvc.status) ? pvc.status.phase : undefined;
    claims.set(`${target}/${c.claim}`, {
      ...(typeof phase === 'string' ? { phase } : {}),
      ...(source?.kind === 'VolumeSnapshot' && typeof source.name === 'string'
        ? { fromSnapshot: source.name }
        : {}),
    });
  }
  return compareVolumes({
    records,
    csiClaims,
    mapping,
    podVolumes: o.restored.podVolumes ?? [],
    movedClaims: o.restored.movedClaims ?? [],
    claim: (ns, name) => claims.get(`${ns}/${name}`),
    itemFailures: o.itemFailures,
  });
}

/**
 * A backup without namespaced objects (only cluster-scoped ones, or none) has nothing a scratch
 * restore may write: a verification must never touch cluster-scoped objects. Its stored objects
 * are checked instead, as `lifeboat backup verify` does (present, checksums, every item parsed,
 * archive against the resource list), so a broken backup still fails its verification.
 */
async function checkArchive(
  backup: string,
  deps: VerificationRunDeps,
): Promise<
  Omit<VerificationResult, 'schedule' | 'slot' | 'backup' | 'startTimestamp' | 'completionTimestamp'>
> {
  const report = await verifyBackup(deps.store, backup, {
    ...(deps.restoreOptions?.archiveLimits ? { limits: deps.restoreOptions.archiveLimits } : {}),
  });
  const problems = report.problems.map((p) => `${p.object}: ${p.problem}`);
  return {
    phase: report.ok ? 'Passed' : 'Failed',
    check: 'archive',
    archiveItems: report.items,
    ...(problems.length > 0 ? { archiveProblems: problems.slice(0, SHOWN) } : {}),
    ...(report.ok
      ? {}
      : {
          reason: `backup ${backup} holds no namespaced objects, and its archive check found ${problems.length} problem(s)`,
        }),
    cleanedUp: true,
  };
}

/** `<schedule>-verify-<yyyyMMddHHmmss>` of the slot: one restore record per verification slot. */
export function restoreNameOf(schedule: string, slot: Date): string {
  const stamp = slot.toISOString().replace(/\D/g, '').slice(0, 14);
  return `${schedule}-verify-${stamp}`;
}

/** The served resource of a resource-list kind key, at any version of its group. */
function infoOfKind(key: string, resources: readonly ResourceInfo[]): ResourceInfo | undefined {
  const { group, kind } = splitKindKey(key);
  return resources.find((r) => r.group === group && r.kind === kind && r.namespaced);
}

async function namesIn(info: ResourceInfo, namespace: string, kube: KubeClient): Promise<Set<string>> {
  const names = new Set<string>();
  let continueToken: string | undefined;
  do {
    const page = await kube.list(info, {
      namespace,
      limit: 500,
      ...(continueToken ? { continueToken } : {}),
    });
    for (const item of page.items) if (item.metadata.name) names.add(item.metadata.name);
    continueToken = page.continueToken;
  } while (continueToken);
  return names;
}

/**
 * Each scratch namespace, fresh and labelled: an earlier run's is deleted and waited for; one
 * this schedule did not make is refused. Those created are added to `o.created` as they are.
 */
async function prepareScratch(
  names: readonly string[],
  o: VerificationRunInput & { nsInfo: ResourceInfo; created: string[] },
  deps: VerificationRunDeps,
): Promise<void> {
  for (const name of names) {
    const existing = await deps.kube.get(o.nsInfo, '', name);
    if (existing === null) continue;
    if (existing.metadata.labels?.[VERIFICATION_LABEL] !== o.schedule) {
      throw new Error(
        `scratch namespace ${name} exists and was not made by a verification of schedule ${o.schedule} (no label ${VERIFICATION_LABEL}=${o.schedule}): nothing restored; delete it or change namespacePrefix`,
      );
    }
    deps.log.info(
      { schedule: o.schedule, namespace: name },
      'deleting the scratch namespace of an earlier verification',
    );
    await deps.kube.delete(o.nsInfo, '', name);
  }
  await waitGone(names, o.nsInfo, deps);
  for (const name of names) {
    const ns: KubeObject = {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name, labels: { [VERIFICATION_LABEL]: o.schedule } },
    };
    await deps.kube.create(o.nsInfo, ns);
    o.created.push(name);
  }
}

async function waitGone(
  names: readonly string[],
  nsInfo: ResourceInfo,
  deps: VerificationRunDeps,
): Promise<void> {
  const deadline = Date.now() + (deps.namespaceGoneTimeoutMs ?? 120_000);
  for (const name of names) {
    while ((await deps.kube.get(nsInfo, '', name)) !== null) {
      if (Date.now() > deadline) {
        throw new Error(
          `scratch namespace ${name} of an earlier verification is still terminating: nothing restored`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

/**
 * Delete what the run made: its PodVolumeRestores (in the agent's namespace, not the scratch
 * one) and the scratch namespaces (the namespace controller removes pods, claims and
 * VolumeSnapshots in them; the provisioner then deletes the claims' volumes). Waits, bounded,
 * until nothing of it is left; a snapshot content the restore made for a scratch claim that
 * never bound is deleted too (the restore makes them with deletionPolicy Retain, so the
 * backup's storage snapshot stays). Returns what is still there.
 */
async function cleanUp(
  o: { names: readonly string[]; nsInfo: ResourceInfo; restore: string },
  deps: VerificationRunDeps,
): Promise<string[]> {
  const run: CleanUpRun = {
    ...o,
    scratch: new Set(o.names),
    deps,
    agentNamespace: deps.fsRestore?.namespace,
  };
  for (const name of await podVolumeRestoresOf(run).catch(() => [])) {
    await tryDelete(run, `PodVolumeRestore ${run.agentNamespace ?? ''}/${name}`, () =>
      deps.kube.delete(POD_VOLUME_RESTORE, run.agentNamespace ?? '', name),
    );
  }
  for (const name of o.names) {
    await tryDelete(run, `Namespace ${name}`, () => deps.kube.delete(o.nsInfo, '', name));
  }
  const deadline = Date.now() + (deps.cleanupTimeoutMs ?? 300_000);
  for (;;) {
    const left = [
      ...(await namespacesLeft(run)),
      ...(await volumesLeft(run)),
      ...(await contentsLeft(run)),
      ...(await podVolumeRestoresOf(run).catch(() => [])).map(
        (name) => `PodVolumeRestore ${run.agentNamespace ?? ''}/${name}`,
      ),
    ];
    if (left.length === 0) return [];
    if (Date.now() > deadline) {
      deps.log.warn({ restore: o.restore, left }, 'a verification left objects behind');
      return left;
    }
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

interface CleanUpRun {
  names: readonly string[];
  nsInfo: ResourceInfo;
  restore: string;
  scratch: ReadonlySet<string>;
  deps: VerificationRunDeps;
  /** Where the run's PodVolumeRestores are (the agent's namespace), when it had a repository. */
  agentNamespace: string | undefined;
}

async function tryDelete(run: CleanUpRun, what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    run.deps.log.warn(
      { restore: run.restore, object: what, err: err instanceof Error ? err.message : String(err) },
      'could not delete an object of a verification; the next verification deletes it',
    );
  }
}

async function podVolumeRestoresOf(run: CleanUpRun): Promise<string[]> {
  if (run.agentNamespace === undefined) return [];
  const items = await listAll(run.deps.kube, POD_VOLUME_RESTORE, {
    namespace: run.agentNamespace,
    labelSelector: `${RESTORE_NAME_LABEL}=${run.restore}`,
  });
  return items.map((p) => p.metadata.name ?? '');
}

async function namespacesLeft(run: CleanUpRun): Promise<string[]> {
  const left: string[] = [];
  for (const name of run.names) {
    if ((await run.deps.kube.get(run.nsInfo, '', name)) !== null) left.push(`Namespace ${name}`);
  }
  return left;
}

/** The PersistentVolumes of scratch claims (deleted by their provisioner after the claims). */
async function volumesLeft(run: CleanUpRun): Promise<string[]> {
  return (await listAll(run.deps.kube, PERSISTENT_VOLUME, {})).flatMap((pv) => {
    const ref = isJsonMap(pv.spec) && isJsonMap(pv.spec.claimRef) ? pv.spec.claimRef : undefined;
    return typeof ref?.namespace === 'string' && run.scratch.has(ref.namespace)
      ? [`PersistentVolume ${pv.metadata.name ?? ''} (claim ${ref.namespace}/${String(ref.name)})`]
      : [];
  });
}

/**
 * VolumeSnapshotContents for VolumeSnapshots of the scratch namespaces; one with deletionPolicy
 * Retain (the restore's own for a claim that never bound) is deleted, the storage snapshot
 * staying. A cluster without the snapshot API has none.
 */
async function contentsLeft(run: CleanUpRun): Promise<string[]> {
  const left: string[] = [];
  for (const vsc of await listAll(run.deps.kube, VOLUME_SNAPSHOT_CONTENT, {}).catch(() => [])) {
    const spec = isJsonMap(vsc.spec) ? vsc.spec : {};
    const ref = isJsonMap(spec.volumeSnapshotRef) ? spec.volumeSnapshotRef : undefined;
    if (typeof ref?.namespace !== 'string' || !run.scratch.has(ref.namespace)) continue;
    const name = vsc.metadata.name ?? '';
    left.push(`VolumeSnapshotContent ${name}`);
    if (spec.deletionPolicy === 'Retain') {
      await tryDelete(run, `VolumeSnapshotContent ${name}`, () =>
        run.deps.kube.delete(VOLUME_SNAPSHOT_CONTENT, '', name),
      );
    }
  }
  return left;
}

async function listAll(
  kube: KubeClient,
  info: ResourceInfo,
  o: { namespace?: string; labelSelector?: string },
): Promise<KubeObject[]> {
  const items: KubeObject[] = [];
  let continueToken: string | undefined;
  do {
    const page = await kube.list(info, { ...o, limit: 500, ...(continueToken ? { continueToken } : {}) });
    items.push(...page.items);
    continueToken = page.continueToken;
  } while (continueToken);
  return items;
}
