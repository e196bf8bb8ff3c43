// One verification restore (verification.ts holds the pure decisions): the latest Completed
// backup of a schedule restored into scratch namespaces, the namespaced objects of each kind
// looked up there against the backup's resource list, and the scratch namespaces deleted.
//
// Scratch namespaces are lifeboat's own: created by the run with VERIFICATION_LABEL before the
// restore writes into them, so a run deletes only namespaces an earlier run of the same
// schedule made, and refuses (a failed verification, nothing restored) when a namespace of that
// name exists without the label: it may be someone's.
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
import type { BackupStore } from '../storage/store.js';
import {
  compareCounts,
  expectedObjects,
  scratchNamespaces,
  splitKindKey,
  VERIFICATION_LABEL,
  type ExpectedObjects,
  type KindCount,
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
  missing?: string[];
  missingTotal?: number;
  /** archive check: items read, and what was wrong (first 20). */
  archiveItems?: number;
  archiveProblems?: string[];
  restorePhase?: string;
  /** Objects the restore could not write, "<resource> <ns>/<name>: <message>" (first 20). */
  restoreFailures?: string[];
  /** Why it failed, in one sentence. */
  reason?: string;
  cleanedUp: boolean;
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
    result.cleanedUp = await deleteScratch(created, nsInfo, deps);
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
    { kube: deps.kube, store: deps.store, log: deps.log, clock: deps.clock, ...deps.restoreOptions },
    // A slot's run that died part-way may have left its record: this run replaces it.
    { existing: 'replace' },
  );
  const found = new Map<string, Set<string>>();
  for (const kind of expected.byKind.keys()) {
    const info = infoOfKind(kind, o.resources);
    if (!info) continue;
    for (const ns of Object.values(mapping))
      found.set(`${kind}\u0000${ns}`, await namesIn(info, ns, deps.kube));
  }
  const comparison = compareCounts(expected, mapping, (kind, ns) => found.get(`${kind}\u0000${ns}`));
  const failures = restored.items
    .filter((i) => i.result === 'failed')
    .map((i) => `${i.groupResource} ${i.namespace}/${i.name}: ${i.message ?? 'failed'}`);
  const passed = comparison.passed && restored.phase === 'Completed';
  const reason = passed
    ? undefined
    : restored.phase !== 'Completed'
      ? `the restore ended ${restored.phase}${restored.failureReason ? `: ${restored.failureReason}` : ` (${failures.length} object(s) failed)`}`
      : `${comparison.missingTotal} object(s) of the backup were not found in the scratch namespaces`;
  return o.base({
    phase: passed ? 'Passed' : 'Failed',
    check: 'restore',
    restore,
    namespaces: mapping,
    kinds: comparison.kinds,
    ...(comparison.missingTotal > 0
      ? { missing: comparison.missing, missingTotal: comparison.missingTotal }
      : {}),
    restorePhase: restored.phase,
    ...(failures.length > 0 ? { restoreFailures: failures.slice(0, SHOWN) } : {}),
    ...(reason ? { reason } : {}),
    cleanedUp: false,
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

/** Delete the scratch namespaces (the namespace controller removes what is in them). */
async function deleteScratch(
  names: readonly string[],
  nsInfo: ResourceInfo,
  deps: VerificationRunDeps,
): Promise<boolean> {
  let all = true;
  for (const name of names) {
    try {
      await deps.kube.delete(nsInfo, '', name);
    } catch (err) {
      all = false;
      deps.log.warn(
        { namespace: name, err: err instanceof Error ? err.message : String(err) },
        'could not delete a scratch namespace; the next verification deletes it',
      );
    }
  }
  return all;
}
