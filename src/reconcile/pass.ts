// One reconcile pass: pull → validate → observe → decide → act → write status.
//
// Deciding is pure (decide.ts); this module gathers its input, carries out its actions and
// writes the status tree once, in one commit whose message and trailers say what happened.
// An invalid document stalls only itself; a failing action is recorded and the rest go on.
import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import type { WorkingCopy } from '../gitops/working-copy.js';
import { LIFEBOAT_ACTION, TRAILER } from '../gitops/commit-message.js';
import type { KubeClient } from '../kube/client.js';
import type { Logger } from '../observe/logger.js';
import type { Metrics } from '../observe/metrics.js';
import { storageRequestCounters } from '../observe/storage-counters.js';
import { createWebhookNotifier, type NotificationEvent } from '../observe/notify.js';
import { documentsOfKind, resolveStorageLocation, toBackupSpec, toRestoreSpec } from '../policy/convert.js';
import type { BackupScheduleDocument, RestoreDocument, VerifySpec } from '../policy/types.js';
import type { PolicyFileCache } from '../policy/load.js';
import type { BackupResult } from '../backup/engine.js';
import { restoreLayout } from '../storage/layout.js';
import { deleteBackup } from '../backup/catalog.js';
import {
  backupSnapshots,
  deleteBackupSnapshots,
  findOrphanSnapshots,
  type OrphanSnapshot,
} from '../volumes/delete-snapshots.js';
import { forgetBackupVolumes } from '../volumes/forget-backup.js';
import { checkLocationRepositories } from '../volumes/check-repositories.js';
import { locationRepository, type LocationRepository } from '../volumes/location-repository.js';
import type { FsRestoreConfig } from '../restore/pod-volume-restores.js';
import {
  lastCheckOf,
  renderRepositoryStatus,
  REPOSITORIES_DIR,
  repositoryCheckDue,
  repositoryStatusPath,
} from './repository-checks.js';
import type { ResticOptions } from '../volumes/restic.js';
import type { RestorePlan } from '../restore/plan.js';
import type { RestoreSpec } from '../restore/spec.js';
import type { RestoreResult, StalePlanError } from '../restore/engine.js';
import { commitMessage, recoveredEvents, type PassEvent } from './commit-summary.js';
import { decideWithNotes, type Action, type RestorePolicy, type SchedulePolicy } from './decide.js';
import type { LockedVerdict } from './expiry.js';
import type { VerificationResult } from './verification-run.js';
import {
  isVerificationDue,
  verificationMemory,
  verificationStatusPath,
  VERIFICATIONS_DIR,
} from './verification.js';
import { isDue } from './schedule.js';
import { SCHEDULE_LABEL, parseScheduledBackupName } from './naming.js';
import { groupBy } from './backup-index.js';
import type { VeleroBackup } from '../backup/velero-backup.js';
import {
  observe,
  planPaths,
  lastChangeLookup,
  restoreRecord,
  scheduleMemory,
  type Observation,
  type ObservedLocation,
  type ObservedRestore,
} from './observe.js';
import { defaultIdentity } from './leader.js';
import type { ForgeReporter } from '../gitops/forge/reporter.js';
import { approvers, type PullRequest } from '../gitops/forge/forge.js';
import {
  approvalNeeded,
  approvalRules,
  judgeApprovals,
  matchingRules,
  namespacesChanged,
} from './approval-rules.js';
import type { ArchiveLimits } from '../archive/reader.js';
import { mergeCleanups, type CleanupRecord } from './leftovers.js';
import { DEFAULT_LEFTOVER_GRACE_MS } from './expiry.js';
import { attemptState, attemptSummary } from './restore-attempt.js';
import {
  CLAIMS_DIR,
  earlierCleanups,
  renderRestoreClaim,
  renderStatusTree,
  renderVerificationStatus,
  restoreClaimPath,
  statusChanges,
  type Condition,
  type RestoreStatusInput,
  type RevisionLookup,
  type ScheduleStatusInput,
} from './status-tree.js';

// Loaded when a pass first needs them: a quiet pass backs up, plans, restores and verifies
// nothing, and the engines (about a hundred modules) cost it about 0.2 s of CPU to load.
const backupEngine = () => import('../backup/engine.js');
const restoreEngine = () => import('../restore/engine.js');
const restorePlanFiles = async () => ({
  ...(await import('../restore/plan.js')),
  ...(await import('../restore/plan-render.js')),
});
const verificationRun = () => import('./verification-run.js');

/** lifeboat's own namespace: the node agent's work objects, and Secrets named without one. */
const LIFEBOAT_NAMESPACE = 'lifeboat';

export interface ReconcilerDeps {
  wc: WorkingCopy;
  kube: () => Promise<KubeClient>;
  log: Logger;
  metrics?: Metrics;
  clock?: () => Date;
  /** Relative local-directory locations resolve against this directory. */
  localRoot: string;
  env?: NodeJS.ProcessEnv;
  /** Review branches that may carry Restore documents. */
  restoreBranches?: string;
  /** Bounds on reading a backup archive for a restore (archive/reader.ts). */
  archiveLimits?: Partial<ArchiveLimits>;
  /** Restore lifeboat backups whose checksum was removed (backup/archive-checksum.ts). */
  allowMissingChecksum?: boolean;
  /**
   * How long a half-written backup or an unfinished upload must have been idle before it is
   * cleaned up (default one hour, expiry.ts DEFAULT_LEFTOVER_GRACE_MS).
   */
  leftoverGraceMs?: number;
  /** --allow-link-local-endpoints: StorageLocations may use link-local and metadata addresses. */
  allowLinkLocalEndpoints?: boolean;
  /** Pull requests, comments and statuses on a forge (best effort; plain Git works without). */
  forge?: ForgeReporter;
  /** restic, for the repository upkeep the reconciler does itself (forget and prune on expiry). */
  restic?: ResticOptions;
  /**
   * The image of the init container that holds a restored pod until the node agent has filled
   * its volumes (the lifeboat image by default). Plans and applies use the same one, so a plan's
   * hash does not change between review and apply.
   */
  restoreWaitImage?: string;
  /** Policy files read by earlier passes (`lifeboat run`): unchanged ones are not parsed again. */
  policyCache?: PolicyFileCache;
  /**
   * Where the reconciler makes the node agent's work objects (PodVolumeBackups and
   * PodVolumeRestores); lifeboat's own namespace by default, which the agent watches.
   */
  agentNamespace?: string;
  /**
   * Called before the pass does more than observe, decide and write status: an action, a
   * verification restore or a repository check. `reconcile --once` runs the quiet part without
   * V8's optimizing compiler and turns it back on here (ADR 0045).
   */
  beforeWork?: () => void;
}

export type { PassEvent } from './commit-summary.js';

export interface PassReport {
  revision: string;
  actions: Action[];
  events: PassEvent[];
  policyErrors: number;
  statusCommit?: string;
  /** VolumeSnapshots labelled with a backup no location holds (reported, not deleted). */
  orphanSnapshots?: OrphanSnapshot[];
}

/** Status writes retry longer than other commits: about a minute at most, then the next pass. */
const STATUS_PUSH_RETRY = { attempts: 12 };

const ready = (reason: string, message: string): Condition => ({
  type: 'Ready',
  status: 'True',
  reason,
  message,
});
const plannedCondition = (hash: string): Condition =>
  ready('Planned', `plan ${hash.slice(0, 19)} awaits review; merging the branch approves it`);
const stalled = (reason: string, message: string): Condition => ({
  type: 'Stalled',
  status: 'True',
  reason,
  message,
});

export async function reconcileOnce(deps: ReconcilerDeps): Promise<PassReport> {
  const clock = deps.clock ?? (() => new Date());
  const started = Date.now();
  await deps.wc.sync();
  const obs = await observe({
    wc: deps.wc,
    kube: deps.kube,
    log: deps.log,
    localRoot: deps.localRoot,
    ...(deps.env ? { env: deps.env } : {}),
    restoreBranches: deps.restoreBranches ?? 'restore/*',
    allowLinkLocalEndpoints: deps.allowLinkLocalEndpoints === true,
    ...(deps.metrics ? { storageRequests: storageRequestCounters(deps.metrics) } : {}),
    ...(deps.policyCache ? { policyCache: deps.policyCache } : {}),
  });
  const now = clock();
  const ctx = new PassContext(deps, obs, now);
  await ctx.retryForgeCalls();
  const decision = decideWithNotes(await ctx.decideInput());
  for (const note of decision.notes) deps.log.debug({ subject: note.subject }, note.message);
  ctx.holdLocked(decision.locked);
  if (decision.actions.length > 0) deps.beforeWork?.();
  for (const action of decision.actions) await ctx.act(action);
  await ctx.verifySchedules();
  await ctx.checkRepositories();
  const orphanSnapshots = await ctx.orphanSnapshots();
  const statusCommit = await ctx.writeStatus();
  deps.metrics?.reconcileDuration.observe((Date.now() - started) / 1000);
  return {
    revision: obs.revision,
    actions: decision.actions,
    events: ctx.events,
    policyErrors: obs.errors.length,
    ...(statusCommit ? { statusCommit } : {}),
    ...(orphanSnapshots.length > 0 ? { orphanSnapshots } : {}),
  };
}

/** The state of one pass while it acts; written to Git once, at the end. */
class PassContext {
  readonly events: PassEvent[] = [];
  private readonly restoreStatus = new Map<string, RestoreStatusInput>();
  private readonly lastBackups = new Map<string, { name: string; phase?: string; slot?: string }>();
  private readonly scheduleErrors = new Map<string, string>();
  /** Claims (status/claims/…) this pass released; the status write must not bring them back. */
  private readonly releasedClaims = new Set<string>();
  /** Clean-ups this pass made, for status/cleanups.yaml. */
  private readonly cleanups: CleanupRecord[] = [];
  /** Each schedule's previous status, parsed once: it does not change during a pass. */
  private readonly memories = new Map<string, ReturnType<typeof scheduleMemory>>();
  /** Every location's backups by schedule label; dropped whenever a location's list changes. */
  private byLabel: Map<string, VeleroBackup[]> | undefined;
  /** Claims this pass made (status/claims/…), which the status write keeps. */
  private readonly newClaims = new Map<string, string>();
  /** Restores whose last attempt was interrupted (their InProgress record), by name. */
  private readonly interrupted = new Map<string, RestoreResult>();
  /** Pull requests found or opened this pass, by head branch. */
  private readonly pullRequests = new Map<string, PullRequest>();
  /** Verification restores run this pass, by schedule. */
  private readonly verifications = new Map<string, VerificationResult & { nextRun: string }>();
  /** Backups retention would delete that the object lock holds, by location and name. */
  private readonly locked = new Map<string, LockedVerdict>();
  /** status/repositories/<location>.yaml files of the restic checks this pass ran. */
  private readonly repositoryStatus = new Map<string, string>();
  private defaultResolved = false;
  private defaultLocationCache: ReturnType<typeof resolveStorageLocation>;
  /** Which commit each document's status reflects; see revisionLookup(). */
  private revisions: RevisionLookup | undefined;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly obs: Observation,
    private readonly now: Date,
  ) {}

  /** Retention waits for the lock: logged once a pass, and said in each backup's status. */
  holdLocked(locked: readonly LockedVerdict[]): void {
    for (const l of locked) {
      this.locked.set(`${l.location}/${l.name}`, l);
      this.deps.log.info(
        { location: l.location, backup: l.name, deletableAfter: l.deletableAfter.toISOString() },
        `not deleted yet: ${l.reason}`,
      );
    }
  }

  private get clock(): () => Date {
    return this.deps.clock ?? (() => new Date());
  }

  private get schedules(): BackupScheduleDocument[] {
    return documentsOfKind(this.obs.documents, 'BackupSchedule');
  }

  private memory(schedule: string): ReturnType<typeof scheduleMemory> {
    let memory = this.memories.get(schedule);
    if (memory === undefined) {
      memory = scheduleMemory(this.obs.existingStatus, schedule);
      this.memories.set(schedule, memory);
    }
    return memory;
  }

  /** The backups labelled with this schedule name, in every location, in listing order. */
  private labelled(schedule: string): VeleroBackup[] {
    this.byLabel ??= groupBy(
      this.obs.locations.flatMap((l) => l.backups ?? []),
      (b) => b.metadata.labels?.[SCHEDULE_LABEL],
    );
    return this.byLabel.get(schedule) ?? [];
  }

  private location(name: string): ObservedLocation | undefined {
    return this.obs.locations.find((l) => l.name === name);
  }

  /** Where restore records go: the default location if writable, else the first writable one. */
  private resultLocation(): ObservedLocation | undefined {
    const def = this.defaultLocation();
    const loc = def ? this.location(def.name) : undefined;
    if (loc?.store && !loc.readOnly) return loc;
    return this.obs.locations.find((l) => l.store && !l.readOnly);
  }

  /** The location holding a backup (the first that lists it). */
  private locationOfBackup(name: string): ObservedLocation | undefined {
    return this.obs.locations.find((l) => l.backups?.some((b) => b.metadata.name === name));
  }

  /** The backup a Restore reads: its backupName, or its schedule's newest usable backup. */
  private backupOfRestore(doc: RestoreDocument): string | undefined {
    if (doc.spec.backupName) return doc.spec.backupName;
    // Validation lets no Restore without one of the two through.
    if (!doc.spec.scheduleName) return undefined;
    const candidates = this.labelled(doc.spec.scheduleName)
      .filter((b) => b.status.phase === 'Completed')
      .sort((a, b) => (b.status.startTimestamp ?? '').localeCompare(a.status.startTimestamp ?? ''));
    return candidates[0]?.metadata.name;
  }

  /**
   * `restic check` of the restic repositories of each location whose spec.restic.verify is
   * due (one location, one repository at a time), into status/repositories/<location>.yaml
   * and the metrics. A failed check is a finding, not a failed pass.
   */
  async checkRepositories(): Promise<void> {
    for (const doc of documentsOfKind(this.obs.documents, 'StorageLocation')) {
      const verify = doc.spec.provider === 'aws' ? doc.spec.restic?.verify : undefined;
      const loc = this.location(doc.metadata.name);
      if (!verify || !loc?.store) continue;
      const path = repositoryStatusPath(doc.metadata.name);
      const due = repositoryCheckDue({
        schedule: verify.schedule,
        lastCheck: lastCheckOf(this.obs.existingStatus.get(path)),
        now: this.now,
      });
      if (!due.due) continue;
      this.deps.beforeWork?.();
      const log = this.deps.log.child({ location: doc.metadata.name });
      try {
        const checks = await checkLocationRepositories({
          kube: await this.deps.kube(),
          store: loc.store,
          // Secrets named without a namespace are in lifeboat's, as for the location's own (locations.ts).
          repository: locationRepository({ name: doc.metadata.name, spec: doc.spec }, LIFEBOAT_NAMESPACE),
          restic: this.deps.restic ?? {},
          ...(verify.readDataSubset ? { readDataSubset: verify.readDataSubset } : {}),
        });
        for (const c of checks) {
          this.deps.metrics?.resticChecks.inc({
            location: doc.metadata.name,
            namespace: c.namespace,
            result: c.result,
          });
          if (c.result === 'Passed') {
            this.deps.metrics?.resticCheckLastSuccess.set(
              { location: doc.metadata.name, namespace: c.namespace },
              Date.now() / 1000,
            );
            log.info({ namespace: c.namespace, seconds: c.seconds }, 'restic check passed');
          } else {
            log.error({ namespace: c.namespace, err: c.error }, 'restic check failed');
          }
        }
        this.repositoryStatus.set(
          path,
          renderRepositoryStatus({
            location: doc.metadata.name,
            at: this.now,
            nextCheck: due.nextRun,
            checks,
          }),
        );
        this.events.push({
          action: 'check-repositories',
          subject: doc.metadata.name,
          outcome: checks.some((c) => c.result === 'Failed') ? 'Failed' : 'Passed',
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        log.error({ err: message }, 'could not check the restic repositories');
        this.deps.metrics?.reconcileErrors.inc({ stage: 'act' });
        this.events.push({
          action: 'check-repositories',
          subject: doc.metadata.name,
          outcome: 'Failed',
          error: message,
        });
      }
    }
  }

  /**
   * VolumeSnapshots whose backup no location holds. Only when every location could be listed
   * (otherwise a backup may merely be unseen); each is logged as a warning and reported.
   */
  async orphanSnapshots(): Promise<OrphanSnapshot[]> {
    if (this.obs.locations.some((l) => l.backups === undefined)) return [];
    let orphans: OrphanSnapshot[];
    try {
      orphans = findOrphanSnapshots({
        snapshots: await backupSnapshots(await this.deps.kube()),
        backups: this.obs.locations.flatMap((l) => (l.backups ?? []).map((b) => b.metadata.name)),
        now: this.now,
        graceMs: this.deps.leftoverGraceMs ?? DEFAULT_LEFTOVER_GRACE_MS,
      });
    } catch (err) {
      this.deps.log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'could not list VolumeSnapshots',
      );
      return [];
    }
    for (const o of orphans) {
      this.deps.log.warn(
        { namespace: o.namespace, volumeSnapshot: o.name, backup: o.backup },
        'VolumeSnapshot of a backup that no storage location holds',
      );
    }
    return orphans;
  }

  async decideInput(): Promise<Parameters<typeof decideWithNotes>[0]> {
    const schedules: SchedulePolicy[] = this.schedules.map((d) => {
      return {
        name: d.metadata.name,
        cron: d.spec.schedule,
        timeZone: d.spec.timeZone,
        paused: d.spec.paused,
        skipImmediately: d.spec.skipImmediately,
        createdAt: new Date(this.firstSeen(d.metadata.name)),
        template: this.withLocation(toBackupSpec(d.spec.template)),
        ...(d.spec.retention ? { retention: d.spec.retention } : {}),
      };
    });
    const lastBackups: Record<string, Date | undefined> = {};
    for (const d of this.schedules) {
      const slot = this.memory(d.metadata.name).lastSlot;
      lastBackups[d.metadata.name] = slot ? new Date(slot) : undefined;
    }
    const oneOffsDone = documentsOfKind(this.obs.documents, 'Backup')
      .map((d) => d.metadata.name)
      .filter((n) => this.obs.existingStatus.has(`status/backups/${n}.yaml`));
    const resultLoc = this.resultLocation();
    const restores: RestorePolicy[] = [];
    for (const r of this.obs.restores) {
      const backupName = this.backupOfRestore(r.doc) ?? '';
      const recorded = r.onMain ? await this.recordOrClaim(resultLoc, r.doc.metadata.name) : undefined;
      const state = recorded ? attemptState(recorded, this.now) : undefined;
      if (recorded && state === 'interrupted') {
        // Not applied: it is re-planned and applied again (see applyRestoreAction).
        this.interrupted.set(r.doc.metadata.name, recorded);
        this.recordInterrupted(r, recorded);
        restores.push({
          name: r.doc.metadata.name,
          backupName,
          branch: r.branch,
          onMain: r.onMain,
          specHash: r.specHash,
          ...(r.plan ? { planCommittedHash: r.plan.hash } : {}),
          ...(r.plan?.specHash ? { planSpecHash: r.plan.specHash } : {}),
          applied: false,
          interrupted: true,
        });
        continue;
      }
      restores.push({
        name: r.doc.metadata.name,
        backupName,
        branch: r.branch,
        onMain: r.onMain,
        specHash: r.specHash,
        ...(r.plan ? { planCommittedHash: r.plan.hash } : {}),
        ...(r.plan?.specHash ? { planSpecHash: r.plan.specHash } : {}),
        applied: recorded !== undefined,
      });
      if (recorded !== undefined) this.recordRestoreApplied(r, recorded);
    }
    const def = this.defaultLocation();
    return {
      now: this.now,
      schedules,
      backups: documentsOfKind(this.obs.documents, 'Backup').map((d) => ({
        name: d.metadata.name,
        spec: this.withLocation(toBackupSpec(d.spec)),
      })),
      restores,
      locations: this.obs.locations.map((l) => l.state),
      status: { lastBackups, oneOffsDone },
      ...(def ? { defaultLocation: def.name } : {}),
      ...(this.deps.leftoverGraceMs !== undefined ? { leftoverGraceMs: this.deps.leftoverGraceMs } : {}),
    };
  }

  /**
   * The restore's record in the result location or, when there is none, its claim in Git as a
   * record in progress: a reconciler that claimed it and has not recorded it yet (or died before
   * it could) holds it, and it is never applied again.
   */
  private async recordOrClaim(
    loc: ObservedLocation | undefined,
    name: string,
  ): Promise<RestoreResult | undefined> {
    const recorded = await restoreRecord(loc, name);
    if (recorded !== undefined) return recorded;
    const claim = this.obs.existingStatus.get(restoreClaimPath(name));
    if (claim === undefined) return undefined;
    return inProgressRecord(name, claimedPlanHash(claim));
  }

  /**
   * The default location, looked up once a pass: every schedule without a storageLocation asks,
   * and each lookup scans all documents (quadratic at hundreds of schedules).
   */
  private defaultLocation(): ReturnType<typeof resolveStorageLocation> {
    if (!this.defaultResolved) {
      this.defaultLocationCache = resolveStorageLocation(this.obs.documents);
      this.defaultResolved = true;
    }
    return this.defaultLocationCache;
  }

  private withLocation<T extends { storageLocation?: string }>(spec: T): T {
    if (spec.storageLocation) return spec;
    const def = this.defaultLocation();
    return def ? { ...spec, storageLocation: def.name } : spec;
  }

  /**
   * When a schedule was first seen: from status, or — when status was lost — its oldest backup
   * in the buckets (so the status tree rebuilds from the buckets alone), or now.
   */
  private firstSeen(schedule: string): string {
    const remembered = this.memory(schedule).firstSeen;
    if (remembered) return remembered;
    const starts = this.labelled(schedule)
      .filter((b) => b.status.startTimestamp)
      .map((b) => b.status.startTimestamp ?? '')
      .sort();
    return starts[0] ?? this.now.toISOString();
  }

  async act(action: Action): Promise<void> {
    try {
      switch (action.type) {
        case 'backup':
          return await this.backup(action);
        case 'expire':
        case 'cleanup':
          return await this.expire(action);
        case 'plan-restore':
          return await this.planRestoreAction(action);
        case 'apply-restore':
          return await this.applyRestoreAction(action);
        case 'abort-upload':
          return await this.abortUpload(action);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.error({ action: action.type, err: message }, 'action failed');
      this.deps.metrics?.reconcileErrors.inc({ stage: 'act' });
      const subject =
        'backupName' in action ? action.backupName : 'restore' in action ? action.restore : action.key;
      this.events.push({ action: action.type, subject, outcome: 'Failed', error: message });
      if (action.type === 'plan-restore') await this.reportPlanFailed(action, message);
      if (action.type === 'backup' && action.schedule) this.scheduleErrors.set(action.schedule, message);
      // A backup that could not even start (a filter the cluster does not serve) failed too.
      const loc = action.type === 'backup' ? this.location(action.location) : undefined;
      if (action.type === 'backup' && loc) {
        await this.notify(loc, {
          kind: 'BackupFailed',
          subject: action.backupName,
          message,
          details: { location: loc.name, ...(action.schedule ? { schedule: action.schedule } : {}) },
          time: this.clock(),
        });
      }
    }
  }

  /** A review branch whose plan could not be made gets a failing lifeboat/plan status. */
  private async reportPlanFailed(
    action: Extract<Action, { type: 'plan-restore' }>,
    reason: string,
  ): Promise<void> {
    const r = this.findRestore(action.restore, action.branch);
    if (!this.deps.forge || !r || r.onMain) return;
    const head = await this.branchHead(r.branch);
    if (head) await this.deps.forge.planFailed({ restore: action.restore, head, reason });
  }

  private async backup(action: Extract<Action, { type: 'backup' }>): Promise<void> {
    const loc = this.location(action.location);
    if (!loc?.store)
      throw new Error(
        `storage location ${action.location} is not available: ${loc?.error ?? 'unknown location'}`,
      );
    const labels = action.schedule ? { [SCHEDULE_LABEL]: action.schedule } : undefined;
    this.deps.metrics?.backupsStarted.inc({ schedule: action.schedule ?? '' });
    const t0 = Date.now();
    const fsBackup = this.fsRepository(action.location);
    // The pass's clock stamps the backup: its expiration (start + ttl) is later compared with
    // the same clock's now, as Velero's GC controller compares the stored expiration with its own.
    const { runBackup } = await backupEngine();
    const result = await runBackup(
      { name: action.backupName, spec: action.spec, ...(labels ? { labels } : {}) },
      {
        kube: await this.deps.kube(),
        store: loc.store,
        log: this.deps.log,
        clock: this.clock,
        ...(fsBackup ? { fsBackup } : {}),
        onFsProgress: (p) => {
          const gauge = this.deps.metrics?.podVolumeBackupBytes;
          const labels = { namespace: p.namespace, pod: p.pod, volume: p.volume };
          gauge?.set({ ...labels, kind: 'done' }, p.bytesDone);
          gauge?.set({ ...labels, kind: 'total' }, p.totalBytes);
        },
      },
    );
    // The copies are over: their progress is no longer news.
    this.deps.metrics?.podVolumeBackupBytes.reset();
    this.recordBackupMetrics(action.schedule, result, (Date.now() - t0) / 1000);
    loc.backups = [...(loc.backups ?? []), result.metadata];
    this.byLabel = undefined;
    if (action.schedule) {
      this.lastBackups.set(action.schedule, {
        name: action.backupName,
        phase: result.phase,
        slot: (action.scheduledFor ?? this.now).toISOString(),
      });
    }
    this.events.push({
      action: LIFEBOAT_ACTION.backup,
      subject: action.backupName,
      outcome: result.phase,
      ...(result.failureReason ? { error: result.failureReason } : {}),
    });
    if (result.phase === 'Failed' || result.phase === 'PartiallyFailed') {
      await this.notify(loc, {
        kind: result.phase === 'Failed' ? 'BackupFailed' : 'BackupPartiallyFailed',
        subject: action.backupName,
        message:
          result.failureReason ??
          `${result.errors.length} error(s): ${result.errors
            .slice(0, 3)
            .map((e) => `${e.resource}${e.namespace ? ` in ${e.namespace}` : ''}: ${e.message}`)
            .join('; ')}`,
        details: { location: loc.name, ...(action.schedule ? { schedule: action.schedule } : {}) },
        time: this.clock(),
      });
    }
  }

  /**
   * Verification restores that are due (a schedule's `verify` cron): each restores the
   * schedule's newest Completed backup into scratch namespaces and checks it (verification-run.ts).
   */
  async verifySchedules(): Promise<void> {
    for (const d of this.schedules) {
      const verify = d.spec.verify;
      if (!verify) continue;
      const name = d.metadata.name;
      const memory = verificationMemory(this.obs.existingStatus.get(verificationStatusPath(name)));
      const due = isVerificationDue({
        cron: verify.schedule,
        timeZone: d.spec.timeZone,
        lastSlot: memory.lastSlot ? new Date(memory.lastSlot) : undefined,
        now: this.now,
      });
      if (!due.due || due.scheduledFor === undefined) {
        this.deps.log.debug({ subject: `verify/${name}` }, due.reason);
        continue;
      }
      const backup = this.newestCompleted(name);
      const loc = backup ? this.locationOfBackup(backup.metadata.name) : undefined;
      if (!backup || !loc?.store) {
        this.deps.log.info(
          { schedule: name },
          'verification due, but the schedule has no Completed backup yet',
        );
        continue;
      }
      this.deps.beforeWork?.();
      await this.verifyOne({ name, loc, backup, slot: due.scheduledFor, nextRun: due.nextRun, verify });
    }
  }

  private async verifyOne(o: {
    name: string;
    loc: ObservedLocation;
    backup: VeleroBackup;
    slot: Date;
    nextRun: Date;
    verify: VerifySpec;
  }): Promise<void> {
    const { name, loc } = o;
    if (!loc.store) return;
    this.deps.log.info({ schedule: name, backup: o.backup.metadata.name }, 'verification restore');
    const { runVerification } = await verificationRun();
    const result = await runVerification(
      {
        schedule: name,
        backup: o.backup,
        slot: o.slot,
        namespacePrefix: o.verify.namespacePrefix,
        cleanup: o.verify.cleanup,
      },
      {
        kube: await this.deps.kube(),
        store: loc.store,
        log: this.deps.log,
        clock: this.clock,
        restoreOptions: this.archiveOptions(),
        // Volumes copied with restic are filled by the agent as in any restore of this location.
        ...this.fsRestoreOptions(loc.name),
      },
    );
    this.verifications.set(name, { ...result, nextRun: o.nextRun.toISOString() });
    const m = this.deps.metrics;
    m?.verificationsTotal.inc({ schedule: name, result: result.phase });
    m?.verificationFailing.set({ schedule: name }, result.phase === 'Passed' ? 0 : 1);
    if (result.volumeCounts) {
      m?.verificationVolumes.set({ schedule: name, result: 'passed' }, result.volumeCounts.passed);
      m?.verificationVolumes.set({ schedule: name, result: 'failed' }, result.volumeCounts.failed);
    }
    if (result.phase === 'Passed') {
      m?.lastSuccessfulVerification.set({ schedule: name }, Date.parse(result.completionTimestamp) / 1000);
    }
    this.events.push({
      action: LIFEBOAT_ACTION.verify,
      subject: name,
      outcome: `${result.phase} (backup ${result.backup})`,
    });
    if (result.phase === 'Failed') {
      this.deps.log.warn(
        { schedule: name, backup: result.backup, reason: result.reason },
        'verification failed',
      );
      await this.notify(loc, {
        kind: 'VerificationFailed',
        subject: name,
        message: result.reason ?? 'failed',
        details: { schedule: name, backup: result.backup, location: loc.name },
        time: this.clock(),
      });
    }
  }

  /** The schedule's newest Completed backup in any location. */
  private newestCompleted(schedule: string): VeleroBackup | undefined {
    return this.labelled(schedule)
      .filter((b) => b.status.phase === 'Completed')
      .sort((a, b) => (b.status.startTimestamp ?? '').localeCompare(a.status.startTimestamp ?? ''))[0];
  }

  /** Tell the location's webhook, if it has one; never fails the action (observe/notify.ts). */
  private async notify(loc: ObservedLocation, event: NotificationEvent): Promise<void> {
    const webhook = loc.webhook;
    if (!webhook) return;
    if (webhook.url === undefined) {
      this.deps.log.warn(
        { location: loc.name, webhook: webhook.name, kind: event.kind, reason: webhook.error },
        'notification not delivered: the webhook URL could not be read',
      );
      this.deps.metrics?.notificationsTotal.inc({ kind: event.kind, result: 'failed' });
      return;
    }
    const notifier = createWebhookNotifier({
      name: webhook.name,
      url: webhook.url,
      log: this.deps.log,
      ...(this.deps.metrics ? { metrics: this.deps.metrics } : {}),
    });
    await notifier.notify(event);
  }

  /** `seconds`: wall time, not the pass's clock, which tests may hold still. */
  private recordBackupMetrics(schedule: string | undefined, result: BackupResult, seconds: number): void {
    const m = this.deps.metrics;
    if (!m) return;
    const s = schedule ?? '';
    m.backupsTotal.inc({ phase: result.phase, schedule: s });
    m.backupDuration.observe({ phase: result.phase }, seconds);
    m.backupItems.inc({ schedule: s }, result.totalItems);
    if (result.bytes) m.backupBytes.inc({ schedule: s }, result.bytes);
    if (result.phase === 'Completed' && schedule) {
      m.lastSuccessfulBackup.set({ schedule }, Date.parse(result.completionTimestamp) / 1000);
    }
  }

  private async expire(action: Extract<Action, { type: 'expire' | 'cleanup' }>): Promise<void> {
    const loc = this.location(action.location);
    if (!loc?.store) throw new Error(`storage location ${action.location} is not available`);
    if (loc.readOnly) throw new Error(`refusing to delete from read-only location ${action.location}`);
    // Snapshots first: if the cluster cannot be reached the backup stays, and the next pass
    // tries again, so no snapshot outlives its backup unseen.
    const snapshots = await deleteBackupSnapshots(await this.deps.kube(), action.backupName);
    for (const s of snapshots) {
      this.deps.log.info(
        { backup: action.backupName, namespace: s.namespace, volumeSnapshot: s.name, content: s.content },
        s.deletionPolicy === 'Retain'
          ? 'deleted the VolumeSnapshot; its content has deletionPolicy Retain, so it and the storage snapshot stay'
          : 'deleted the VolumeSnapshot and, by its deletionPolicy, its content',
      );
    }
    // restic snapshots next, while the backup's podvolumebackups side file still names their
    // repositories; a repository that cannot be opened keeps the backup for the next pass.
    const forgotten = await forgetBackupVolumes({
      kube: await this.deps.kube(),
      store: loc.store,
      backupName: action.backupName,
      restic: this.deps.restic ?? {},
    });
    for (const f of forgotten) {
      const fields = {
        backup: action.backupName,
        namespace: f.namespace,
        repository: f.repository,
        snapshots: f.forgotten.length,
        ...(f.unlocked > 0 ? { staleLocksRemoved: f.unlocked } : {}),
      };
      if (f.pruneError) {
        this.deps.log.warn(
          { ...fields, err: f.pruneError },
          "forgot the backup's restic snapshots; the prune failed, so their data stays until the repository's next prune",
        );
      } else if (f.forgotten.length > 0) {
        this.deps.log.info(fields, "forgot the backup's restic snapshots and pruned their data");
      }
    }
    await deleteBackup(loc.store, action.backupName);
    loc.backups = (loc.backups ?? []).filter((b) => b.metadata.name !== action.backupName);
    if (action.type === 'cleanup') {
      this.deps.log.info(
        { location: action.location, backup: action.backupName, reason: action.reason },
        'cleaned up a half-written backup',
      );
      this.cleanups.push({
        at: this.now.toISOString(),
        location: action.location,
        kind: 'backup',
        name: action.backupName,
        reason: action.reason,
      });
    }
    this.byLabel = undefined;
    this.deps.metrics?.backupsExpired.inc({
      reason: action.type === 'cleanup' ? 'leftover' : (action.reason.split(' ')[0] ?? 'ttl'),
    });
    this.events.push({ action: LIFEBOAT_ACTION.expire, subject: action.backupName, outcome: action.reason });
  }

  /** An upload its writer abandoned: abort it, so its parts stop costing storage. */
  private async abortUpload(action: Extract<Action, { type: 'abort-upload' }>): Promise<void> {
    const loc = this.location(action.location);
    if (!loc?.store) throw new Error(`storage location ${action.location} is not available`);
    if (loc.readOnly) throw new Error(`refusing to abort an upload in read-only location ${action.location}`);
    await loc.store.abortUpload({ key: action.key, id: action.id });
    this.deps.log.info(
      {
        location: action.location,
        key: action.key,
        uploadId: action.id,
        bytes: action.size,
        reason: action.reason,
      },
      'aborted an abandoned upload',
    );
    this.cleanups.push({
      at: this.now.toISOString(),
      location: action.location,
      kind: 'upload',
      name: action.key,
      uploadId: action.id,
      bytes: action.size,
      reason: action.reason,
    });
    this.events.push({ action: LIFEBOAT_ACTION.abortUpload, subject: action.key, outcome: 'aborted' });
  }

  private findRestore(name: string, branch?: string): ObservedRestore | undefined {
    return this.obs.restores.find(
      (r) => r.doc.metadata.name === name && (branch === undefined || r.branch === branch),
    );
  }

  /**
   * The restic repository of a location for file-system volume copies, when it names one
   * (spec.restic). Without it, volumes chosen for a copy fail naming why (volumes/phase.ts) and
   * copied volumes are planned but cannot be filled; the error of a location that cannot hold
   * one is logged, and validate reports it too.
   */
  private fsRepository(
    locationName: string,
  ): { repository: LocationRepository; namespace: string; moverImage?: string } | undefined {
    const doc = documentsOfKind(this.obs.documents, 'StorageLocation').find(
      (d) => d.metadata.name === locationName,
    );
    if (!doc || doc.spec.provider !== 'aws' || !doc.spec.restic) return undefined;
    try {
      // Secrets named without a namespace are in lifeboat's, as for the location's own (locations.ts).
      const repository = locationRepository({ name: doc.metadata.name, spec: doc.spec }, LIFEBOAT_NAMESPACE);
      // snapshotMoveData's short-lived pod only waits, like the restore-wait container.
      const image = this.deps.restoreWaitImage;
      const namespace = this.deps.agentNamespace ?? LIFEBOAT_NAMESPACE;
      return { repository, namespace, ...(image ? { moverImage: image } : {}) };
    } catch (err) {
      this.deps.log.warn({ location: locationName }, (err as Error).message);
      return undefined;
    }
  }

  /** What restores of a location's backups need for file-system volumes, in plan and apply alike. */
  private fsRestoreOptions(locationName: string): { fsRestore?: FsRestoreConfig; restoreWaitImage?: string } {
    const fs = this.fsRepository(locationName);
    return {
      ...(fs ? { fsRestore: fs } : {}),
      ...(this.deps.restoreWaitImage ? { restoreWaitImage: this.deps.restoreWaitImage } : {}),
    };
  }

  /** How restores treat the archives they read: limits, missing checksums. */
  private archiveOptions(): { archiveLimits?: Partial<ArchiveLimits>; allowMissingChecksum?: boolean } {
    return {
      ...(this.deps.archiveLimits ? { archiveLimits: this.deps.archiveLimits } : {}),
      ...(this.deps.allowMissingChecksum ? { allowMissingChecksum: true } : {}),
    };
  }

  /** Plan against the location that holds the backup (or the schedule's backups). */
  private async plan(r: ObservedRestore): Promise<{ plan: RestorePlan; files: Record<string, string> }> {
    const backupName = this.backupOfRestore(r.doc);
    const loc = backupName ? this.locationOfBackup(backupName) : undefined;
    if (!loc?.store) {
      throw new Error(
        `backup ${backupName ?? `of schedule ${r.doc.spec.scheduleName ?? ''}`} is not in any available storage location`,
      );
    }
    const spec = restoreSpecFor(r.doc, backupName);
    const { planRestore } = await restoreEngine();
    const { canonicalJson, renderPlanMarkdown } = await restorePlanFiles();
    const planned = await planRestore(
      { name: r.doc.metadata.name, spec },
      {
        kube: await this.deps.kube(),
        store: loc.store,
        log: this.deps.log,
        ...this.archiveOptions(),
        ...this.fsRestoreOptions(loc.name),
      },
    );
    const paths = planPaths(r.doc.metadata.name);
    return {
      plan: planned.plan,
      files: {
        [paths.md]: renderPlanMarkdown(planned.plan),
        // The JSON twin records the spec hash it was made for, so a changed Restore is re-planned.
        [paths.json]: `${canonicalJson({ ...planned.plan, specHash: r.specHash }, 2)}\n`,
      },
    };
  }

  /** A fresh plan for review: on the Restore's branch, or a new branch when it is on main. */
  private async planRestoreAction(action: Extract<Action, { type: 'plan-restore' }>): Promise<void> {
    const r = this.findRestore(action.restore, action.branch);
    if (!r) throw new Error(`restore ${action.restore} not found on ${action.branch}`);
    const { plan, files } = await this.plan(r);
    const branch = r.onMain ? `restore/${action.restore}-replan` : r.branch;
    this.deps.wc.writeFiles(files);
    const commit = await this.deps.wc.commitAndPush({
      message: `lifeboat: plan restore ${action.restore} (${plan.summary.total.total} objects)`,
      trailers: { [TRAILER.action]: LIFEBOAT_ACTION.planRestore, [TRAILER.restore]: action.restore },
      branch,
      createFrom: this.deps.wc.branch,
      // A replan branch made before (and perhaps squash-merged) takes main in, so it merges again.
      ...(r.onMain ? { mergeFrom: this.deps.wc.branch } : {}),
    });
    this.restoreStatus.set(action.restore, {
      name: action.restore,
      phase: r.onMain ? 'Stalled' : 'PendingApproval',
      branch,
      backup: plan.backupName,
      planHash: plan.hash,
      conditions: [
        r.onMain
          ? stalled(r.plan ? 'PlanOutdated' : 'PlanMissing', `a fresh plan awaits review on branch ${branch}`)
          : plannedCondition(plan.hash),
      ],
    });
    this.events.push({
      action: LIFEBOAT_ACTION.planRestore,
      subject: action.restore,
      outcome: commit.committed ? 'planned' : 'plan unchanged',
    });
    if (this.deps.forge) {
      const head = commit.committed ? commit.sha : await this.branchHead(branch);
      const needed = approvalNeeded(
        matchingRules(approvalRules(this.obs.documents), namespacesChanged(plan)),
      );
      const pr = head
        ? await this.deps.forge.planCommitted({
            plan,
            branch,
            head,
            planPath: planPaths(action.restore).md,
            ...(needed ? { approvalNeeded: needed } : {}),
          })
        : undefined;
      if (pr) this.pullRequests.set(branch, pr);
    }
  }

  /** Forge calls that failed on earlier passes (the forge was down), made again first. */
  async retryForgeCalls(): Promise<void> {
    await this.deps.forge?.retryPending(async (restore, branch) => {
      const json = await this.deps.wc.readFile(planPaths(restore).json, { branch });
      const head = await this.branchHead(branch);
      return json && head ? { plan: JSON.parse(json) as RestorePlan, head } : undefined;
    });
  }

  /** The commit a branch of the remote points at, as last fetched or pushed. */
  private async branchHead(branch: string): Promise<string | undefined> {
    const out = await this.deps.wc.log(['-1', '--format=%H', this.deps.wc.remoteRef(branch)]).catch(() => '');
    return out.trim() || undefined;
  }

  /** The commit of main's first-parent chain that last changed a restore's plan: its merge. */
  private async mergeOfPlan(name: string): Promise<string | undefined> {
    const out = await this.deps.wc
      .log([
        '--first-parent',
        '-1',
        '--format=%H',
        this.deps.wc.remoteRef(this.deps.wc.branch),
        '--',
        planPaths(name).json,
      ])
      .catch(() => '');
    return out.trim() || undefined;
  }

  /** After apply (or a refusal of a stale plan): the result on the pull request that approved it. */
  private async reportApplied(
    name: string,
    result: { phase: string; planHash: string; counts: Record<string, number>; failures?: string[] },
    replanBranch?: string,
  ): Promise<void> {
    if (!this.deps.forge) return;
    const mergeCommit = await this.mergeOfPlan(name);
    const replanPr = replanBranch ? this.pullRequests.get(replanBranch) : undefined;
    const failures = this.restoreStatus.get(name)?.failures;
    await this.deps.forge.applied({
      restore: name,
      ...result,
      ...(failures ? { failures } : {}),
      ...(mergeCommit ? { mergeCommit } : {}),
      ...(replanBranch ? { replan: { branch: replanBranch, ...(replanPr ? { pr: replanPr } : {}) } } : {}),
    });
  }

  private async applyRestoreAction(action: Extract<Action, { type: 'apply-restore' }>): Promise<void> {
    const r = this.findRestore(action.restore);
    if (!r) throw new Error(`restore ${action.restore} not found on ${this.deps.wc.branch}`);
    const resultLoc = this.resultLocation();
    if (!resultLoc?.store) throw new Error('no writable storage location to record the restore in');
    // At most once: a record stops it, unless it is of an attempt that was interrupted, which
    // is re-planned against the cluster and carried on only if that plan is the approved one.
    const interrupted = this.interrupted.get(action.restore);
    if ((await restoreRecord(resultLoc, action.restore)) !== undefined && interrupted === undefined) return;
    const backupName = this.backupOfRestore(r.doc);
    const loc = backupName ? this.locationOfBackup(backupName) : undefined;
    if (!loc?.store) throw new Error(`backup ${backupName ?? '?'} is not in any available storage location`);
    const request = { name: action.restore, spec: restoreSpecFor(r.doc, backupName) };
    const deps = {
      kube: await this.deps.kube(),
      store: loc.store,
      resultStore: resultLoc.store,
      log: this.deps.log,
      clock: this.clock,
      ...this.archiveOptions(),
      ...this.fsRestoreOptions(loc.name),
    };
    // A stale plan is found before claiming, so a restore that stays stale pass after pass
    // costs no claim commits; applyRestore checks again after the claim.
    const { applyRestore, planRestore, StalePlanError } = await restoreEngine();
    const fresh = await planRestore(request, deps);
    if (fresh.plan.hash !== action.approvedPlanHash) {
      await this.notifyStalePlan(loc, action.restore, backupName);
      return this.refuseStalePlan(r, new StalePlanError(action.approvedPlanHash, fresh.plan));
    }
    const refused = await this.approvalRefusal(fresh.plan);
    if (refused !== undefined) return this.refuseUnapproved(r, fresh.plan, refused);
    // The dead attempt's claim goes first, so this pass's claim is a new one.
    if (interrupted !== undefined) await this.releaseClaimInGit(action.restore);
    if (!(await this.claimInGit(action.restore, action.approvedPlanHash))) {
      this.deps.log.info({ restore: action.restore }, 'another reconciler claimed this restore first');
      return;
    }
    // Claimed anew after a release: the status write keeps this claim.
    this.releasedClaims.delete(restoreClaimPath(action.restore));
    await claimRestore(resultLoc, action.restore, action.approvedPlanHash, this.clock());
    const m = this.deps.metrics;
    m?.restoresStarted.inc();
    const t0 = Date.now();
    let result: RestoreResult;
    try {
      // 'resume': the record there is this pass's claim (over an interrupted attempt's record).
      result = await applyRestore(request, deps, {
        approvedHash: action.approvedPlanHash,
        existing: 'resume',
      });
    } catch (err) {
      await releaseClaim(resultLoc, action.restore);
      await this.releaseClaimInGit(action.restore);
      if (err instanceof StalePlanError) {
        await this.notifyStalePlan(loc, action.restore, backupName);
        return this.refuseStalePlan(r, err);
      }
      throw err;
    }
    m?.restoresTotal.inc({ phase: result.phase });
    m?.restoreDuration.observe({ phase: result.phase }, (Date.now() - t0) / 1000);
    for (const [k, v] of Object.entries(result.counts)) m?.restoreItems.inc({ result: k }, v);
    this.recordRestoreApplied(r, result);
    this.events.push({
      action: LIFEBOAT_ACTION.applyRestore,
      subject: action.restore,
      outcome: result.phase,
    });
    await this.reportApplied(action.restore, {
      phase: result.phase,
      planHash: result.planHash,
      counts: result.counts,
    });
  }

  /**
   * Why the approval rules (RestoreApproval documents on the policy branch) forbid applying
   * this plan, or undefined when they allow it. The approvals are the reviews, still current, of
   * the pull request that merged the plan, read from the forge: branch protection may require
   * "an approval", but only lifeboat knows whose approval a namespace needs. A forge that
   * cannot be asked throws, so nothing is applied and the next pass asks again.
   */
  private async approvalRefusal(plan: RestorePlan): Promise<string | undefined> {
    const matched = matchingRules(approvalRules(this.obs.documents), namespacesChanged(plan));
    if (matched.length === 0) return undefined;
    const needed = approvalNeeded(matched) ?? '';
    const forge = this.deps.forge?.forge;
    if (!forge)
      return `not applied: ${needed}; lifeboat has no forge to read the pull request's approvals from (--forge)`;
    const mergeCommit = await this.mergeOfPlan(plan.restoreName);
    if (mergeCommit && (await this.changesApprovalRules(mergeCommit)))
      return `not applied: ${needed}; the commit that approved it (${mergeCommit.slice(0, 12)}) also changed RestoreApproval rules, which a pull request may not do for itself: merge rule changes on their own, then propose the restore again`;
    const pr = mergeCommit ? await forge.pullRequestOfCommit(mergeCommit) : undefined;
    if (!pr?.merged)
      return `not applied: ${needed}; no merged pull request on ${forge.kind} brought the plan to ${this.deps.wc.branch}`;
    const verdict = await judgeApprovals({
      matched,
      approvers: approvers(await forge.reviews(pr.number)),
      teamMembers: (team) => forge.teamMembers(team),
    });
    return verdict.ok ? undefined : verdict.message;
  }

  /**
   * Whether a commit (against its first parent) touched a RestoreApproval document: a pull
   * request that loosened the rules guarding it would otherwise approve itself. The diff is
   * read with whole files as context (policy files are small), so the kind line is in it.
   */
  private async changesApprovalRules(sha: string): Promise<boolean> {
    const files = (
      await this.deps.wc.log(['-1', '--format=', '--name-only', '--diff-merges=first-parent', sha])
    )
      .split('\n')
      .filter((f) => /\.ya?ml$/.test(f));
    if (files.length === 0) return false;
    const diff = await this.deps.wc.log([
      '-1',
      '--format=',
      '-p',
      '-U100000',
      '--diff-merges=first-parent',
      sha,
      '--',
      ...files,
    ]);
    return /^[ +-]kind:\s*['"]?RestoreApproval\b/m.test(diff);
  }

  /** Apply nothing: say who must approve, in status, the log and on the pull request. */
  private async refuseUnapproved(r: ObservedRestore, plan: RestorePlan, message: string): Promise<void> {
    const name = r.doc.metadata.name;
    this.deps.log.warn({ restore: name }, message);
    this.restoreStatus.set(name, {
      name,
      phase: 'Stalled',
      backup: plan.backupName,
      planHash: plan.hash,
      conditions: [stalled('ApprovalRequired', message)],
    });
    this.events.push({
      action: LIFEBOAT_ACTION.applyRestore,
      subject: name,
      outcome: 'ApprovalRequired',
      error: message,
    });
    if (!this.deps.forge) return;
    const mergeCommit = await this.mergeOfPlan(name);
    await this.deps.forge.applied({
      restore: name,
      phase: 'ApprovalRequired',
      planHash: plan.hash,
      counts: {},
      refused: message,
      ...(mergeCommit ? { mergeCommit } : {}),
    });
  }

  private notifyStalePlan(loc: ObservedLocation, restore: string, backup: string | undefined): Promise<void> {
    return this.notify(loc, {
      kind: 'RestorePlanStale',
      subject: restore,
      message: 'the cluster or backup changed since the plan was approved; a fresh plan awaits review',
      details: { location: loc.name, ...(backup ? { backup } : {}) },
      time: this.clock(),
    });
  }

  /** Apply nothing; mark it and put the fresh plan up for review. */
  private async refuseStalePlan(r: ObservedRestore, err: StalePlanError): Promise<void> {
    const name = r.doc.metadata.name;
    await this.planRestoreAction({
      type: 'plan-restore',
      restore: name,
      branch: r.branch,
      reason: 'plan outdated',
    });
    const st = this.restoreStatus.get(name);
    const interrupted = this.interrupted.get(name);
    if (st && interrupted) {
      st.phase = 'Interrupted';
      st.counts = interrupted.counts;
      st.conditions = [
        stalled(
          'Interrupted',
          `interrupted: ${attemptSummary(interrupted)}. The cluster no longer matches the approved plan, so nothing more was applied: ` +
            `the plan for the rest awaits review on branch ${st.branch ?? `restore/${name}-replan`}; merging it applies the rest`,
        ),
      ];
    } else if (st) st.conditions = [stalled('PlanOutdated', err.message)];
    this.events.push({ action: LIFEBOAT_ACTION.applyRestore, subject: name, outcome: 'PlanOutdated' });
    if (r.onMain)
      await this.reportApplied(
        name,
        { phase: 'PlanOutdated', planHash: err.approvedHash, counts: {} },
        st?.branch ?? `restore/${name}-replan`,
      );
  }

  /**
   * Claim a restore before applying it, so that of two reconcilers that both decided to apply
   * it, exactly one does. Object stores have no compare-and-swap, but a Git branch does: pushes
   * are never forced, so every commit that lands has the branch tip of that moment as parent,
   * and the claims of concurrent reconcilers land one after the other. The claim file's content
   * is the same for every claimant; the first claim commit adds it, a later one (rebuilt on top
   * by the push retry) adds nothing — no commit at all, or one that merely modifies it. Only the
   * reconciler whose commit added the file applies. The claim stays as a record, so a restore is
   * never claimed again unless this pass releases it (the plan was stale, or applying failed).
   */
  private async claimInGit(name: string, planHash: string): Promise<boolean> {
    const path = restoreClaimPath(name);
    const claim = renderRestoreClaim(name, planHash);
    this.deps.wc.writeFiles({ [path]: claim });
    // A unique claim id: two claimants with the same identity, tree, parent and second would
    // otherwise make the very same commit, and both pushes would "succeed".
    const commit = await this.deps.wc.commitAndPush({
      message: `lifeboat: claim restore ${name}\n\nClaim ${randomUUID()} by ${defaultIdentity()} to apply plan ${planHash}.`,
    });
    if (!commit.committed) return false;
    const change = await this.deps.wc.log(['-1', '--format=', '--name-status', commit.sha, '--', path]);
    const won = /^A\s/.test(change.trim());
    if (won) this.newClaims.set(path, claim);
    return won;
  }

  private async releaseClaimInGit(name: string): Promise<void> {
    const path = restoreClaimPath(name);
    this.deps.wc.writeFiles({ [path]: null });
    await this.deps.wc.commitAndPush({ message: `lifeboat: release the claim on restore ${name}` });
    this.releasedClaims.add(path);
    this.newClaims.delete(path);
  }

  /** Status of a restore whose last attempt died: how far it got and what happens next. */
  private recordInterrupted(r: ObservedRestore, record: RestoreResult): void {
    this.restoreStatus.set(r.doc.metadata.name, {
      name: r.doc.metadata.name,
      phase: 'Interrupted',
      ...(record.backupName ? { backup: record.backupName } : {}),
      planHash: record.planHash,
      counts: record.counts,
      conditions: [
        stalled(
          'Interrupted',
          `interrupted: ${attemptSummary(record)}. Each pass re-plans it against the cluster: ` +
            'an unchanged plan is applied again; a changed one goes up for review',
        ),
      ],
    });
  }

  private recordRestoreApplied(r: ObservedRestore, result: RestoreResult): void {
    const name = r.doc.metadata.name;
    if (result.phase !== 'InProgress' && r.plan && result.planHash !== r.plan.hash) {
      // Not this Restore's record: the name was used before (by `lifeboat restore apply`, or
      // a Restore since renamed). It is never overwritten, and this one is not applied.
      this.restoreStatus.set(name, {
        name,
        phase: 'Stalled',
        planHash: r.plan.hash,
        conditions: [
          stalled(
            'NameInUse',
            `restores/${name}/ already holds another restore (${result.phase}, plan ${result.planHash.slice(0, 19)}, completed ${result.completionTimestamp}): nothing was applied; give this Restore a new name`,
          ),
        ],
      });
      return;
    }
    const failures = result.items
      .filter((i) => i.result === 'failed')
      .map((i) => `${i.groupResource} ${i.namespace ? `${i.namespace}/` : ''}${i.name}: ${i.message ?? ''}`);
    this.restoreStatus.set(r.doc.metadata.name, {
      name: r.doc.metadata.name,
      phase: result.phase,
      ...(result.backupName ? { backup: result.backupName } : {}),
      planHash: result.planHash,
      ...(result.phase !== 'InProgress'
        ? { appliedAt: result.completionTimestamp, counts: result.counts }
        : {}),
      ...(failures.length > 0 ? { failures } : {}),
      ...(result.hooks && result.hooks.length > 0
        ? {
            hooks: result.hooks.map((h) => ({
              pod: h.pod,
              container: h.container,
              hook: h.hook,
              command: h.command,
              ...(h.exitCode === undefined ? {} : { exitCode: h.exitCode }),
              failed: h.failed,
              ...(h.reason ? { reason: h.reason } : {}),
            })),
          }
        : {}),
      conditions: [
        result.phase === 'InProgress'
          ? ready('Applying', `a reconciler is applying it: ${attemptSummary(result)}`)
          : ready('Applied', `applied: ${result.phase}`),
      ],
    });
  }

  /** The whole status tree, committed once if anything changed. */
  async writeStatus(): Promise<string | undefined> {
    const schedules: ScheduleStatusInput[] = this.schedules.map((d) => this.scheduleStatus(d));
    const invalid = new Set(
      this.obs.errors.map((e) => (e.document ? `${e.document.kind}/${e.document.name}` : '')),
    );
    for (const r of this.obs.restores) {
      if (this.restoreStatus.has(r.doc.metadata.name)) continue;
      const backup = this.backupOfRestore(r.doc);
      this.restoreStatus.set(r.doc.metadata.name, {
        name: r.doc.metadata.name,
        phase: r.onMain ? 'Approved' : 'PendingApproval',
        ...(r.onMain ? {} : { branch: r.branch }),
        ...(backup ? { backup } : {}),
        ...(r.plan ? { planHash: r.plan.hash } : {}),
        conditions: [r.plan ? plannedCondition(r.plan.hash) : ready('Pending', 'waiting for a plan')],
      });
    }
    const backups = this.obs.locations.flatMap((l) =>
      (l.backups ?? []).map((backup) => ({
        location: l.name,
        backup,
        ...(l.store?.objectLock ? { objectLock: l.store.objectLock.mode } : {}),
        ...this.heldExpiry(l.name, backup.metadata.name),
      })),
    );
    const present = new Set(backups.map((b) => b.backup.metadata.name));
    const finishedOneOffs = documentsOfKind(this.obs.documents, 'Backup')
      .filter(
        (d) =>
          !present.has(d.metadata.name) &&
          this.obs.existingStatus.has(`status/backups/${d.metadata.name}.yaml`),
      )
      .map((d) => ({
        name: d.metadata.name,
        location: d.spec.storageLocation ?? 'default',
        phase: 'Deleted',
      }));
    const desired = renderStatusTree({
      revisions: this.revisionLookup(),
      schedules,
      backups,
      finishedOneOffs,
      restores: [...this.restoreStatus.values()].filter((r) => !invalid.has(`Restore/${r.name}`)),
      policyErrors: this.obs.errors,
      policyWarnings: this.obs.warnings,
      cleanups: mergeCleanups(earlierCleanups(this.obs.existingStatus), this.cleanups),
    });
    // Claims are records, not projections: kept as they are unless this pass released them.
    for (const [path, text] of this.obs.existingStatus) {
      if (path.startsWith(CLAIMS_DIR) && !this.releasedClaims.has(path)) desired.set(path, text);
    }
    for (const [path, text] of this.newClaims) desired.set(path, text);
    this.verificationFiles(desired);
    // Repository checks are records of when they ran: kept until the next check replaces them.
    for (const [path, text] of this.obs.existingStatus) {
      if (path.startsWith(REPOSITORIES_DIR)) desired.set(path, text);
    }
    for (const [path, text] of this.repositoryStatus) desired.set(path, text);
    const changes = statusChanges(desired, this.obs.existingStatus);
    if (Object.keys(changes).length === 0) return undefined;
    this.deps.wc.writeFiles(changes);
    const events = [
      ...this.events,
      ...recoveredEvents(changes, new Set(this.obs.existingStatus.keys()), this.events),
    ];
    // Status must land: more attempts than a plan or claim gets (still bounded), and what a
    // lost write would have recorded is recovered by the next pass (recoveredEvents).
    const commit = await this.deps.wc.commitAndPush({
      ...commitMessage(events),
      retry: STATUS_PUSH_RETRY,
    });
    return commit.committed ? commit.sha : undefined;
  }

  private heldExpiry(
    location: string,
    name: string,
  ): { heldExpiry?: { reason: string; deletableAfter: string } } {
    const held = this.locked.get(`${location}/${name}`);
    if (held === undefined) return {};
    return { heldExpiry: { reason: held.wouldDelete, deletableAfter: held.deletableAfter.toISOString() } };
  }

  /**
   * status/verifications/<schedule>.yaml: a record, not a projection. Rewritten when this pass
   * verified, kept while its schedule still verifies, dropped with the schedule or its section.
   */
  private verificationFiles(desired: Map<string, string>): void {
    const verifying = new Set(this.schedules.filter((d) => d.spec.verify).map((d) => d.metadata.name));
    for (const [path, text] of this.obs.existingStatus) {
      if (!path.startsWith(`${VERIFICATIONS_DIR}/`)) continue;
      const schedule = path.slice(VERIFICATIONS_DIR.length + 1).replace(/\.yaml$/, '');
      if (verifying.has(schedule)) desired.set(path, text);
    }
    for (const [schedule, result] of this.verifications) {
      const { nextRun, schedule: _schedule, ...lastRun } = result;
      desired.set(
        verificationStatusPath(schedule),
        renderVerificationStatus({
          name: schedule,
          observedRevision: this.revisionLookup().document('BackupSchedule', schedule),
          lastRun,
          nextRun,
        }),
      );
    }
  }

  /**
   * Per document, the last commit that changed its file (never a branch's document). Built once
   * a pass: the status write asks for every schedule and every backup.
   */
  private revisionLookup(): RevisionLookup {
    if (this.revisions) return this.revisions;
    const { history, documents } = this.obs;
    const lastChange = lastChangeLookup(history);
    // The first document of a kind and name, as a search in document order would find.
    const fileOf = new Map<string, string>();
    for (const d of documents) {
      const key = `${d.kind}/${d.metadata.name}`;
      if (!fileOf.has(key)) fileOf.set(key, d.source.file);
    }
    this.revisions = {
      document: (kind, name) => {
        const file = fileOf.get(`${kind}/${name}`);
        return file === undefined ? undefined : lastChange([file]);
      },
      files: lastChange,
    };
    return this.revisions;
  }

  private scheduleStatus(d: BackupScheduleDocument): ScheduleStatusInput {
    const name = d.metadata.name;
    const memory = this.memory(name);
    const fromBucket = [...this.labelled(name)].sort((a, b) =>
      (b.status.startTimestamp ?? '').localeCompare(a.status.startTimestamp ?? ''),
    )[0];
    const last =
      this.lastBackups.get(name) ??
      (fromBucket
        ? {
            name: fromBucket.metadata.name,
            phase: fromBucket.status.phase,
            slot:
              parseScheduledBackupName(fromBucket.metadata.name)?.at.toISOString() ??
              memory.lastSlot ??
              fromBucket.status.startTimestamp ??
              '',
          }
        : memory.lastSlot
          ? { name: '', slot: memory.lastSlot }
          : undefined);
    const due = isDue({
      schedule: {
        cron: d.spec.schedule,
        timeZone: d.spec.timeZone,
        paused: d.spec.paused,
        skipImmediately: d.spec.skipImmediately,
        createdAt: new Date(this.firstSeen(d.metadata.name)),
      },
      lastBackupTime: last?.slot ? new Date(last.slot) : undefined,
      now: this.now,
    });
    const error = this.scheduleErrors.get(name);
    return {
      name,
      firstSeen: this.firstSeen(name),
      paused: d.spec.paused,
      ...(last ? { lastBackup: last } : {}),
      ...(d.spec.paused ? {} : { nextRun: due.nextRun.toISOString() }),
      conditions: [
        error
          ? stalled('BackupFailed', error)
          : last?.phase === 'Failed' || last?.phase === 'PartiallyFailed'
            ? ready(last.phase, `last backup ${last.name} is ${last.phase}`)
            : ready(
                d.spec.paused ? 'Paused' : 'Scheduled',
                d.spec.paused ? 'paused' : `next run ${due.nextRun.toISOString()}`,
              ),
      ],
    };
  }
}

/**
 * The engine's spec for a Restore document: a schedule is resolved to the backup the pass
 * chose, so planning and applying read the same backup even if a new one lands in between.
 */
function restoreSpecFor(doc: RestoreDocument, backupName: string | undefined): RestoreSpec {
  const { scheduleName, ...spec } = toRestoreSpec(doc);
  return backupName ? { ...spec, backupName } : { ...spec, ...(scheduleName ? { scheduleName } : {}) };
}

/** The plan hash a claim file names; '' when it cannot be read (the claim holds all the same). */
function claimedPlanHash(text: string): string {
  try {
    const hash = (parseYaml(text) as { planHash?: unknown } | null)?.planHash;
    return typeof hash === 'string' ? hash : '';
  } catch {
    return '';
  }
}

/** A restore record that says a reconciler took the restore and has not finished it. */
function inProgressRecord(name: string, planHash: string, started?: Date): RestoreResult {
  return {
    apiVersion: 'lifeboat.dev/v1',
    kind: 'RestoreResult',
    name,
    backupName: '',
    phase: 'InProgress',
    planHash,
    startTimestamp: started?.toISOString() ?? '',
    completionTimestamp: '',
    counts: { created: 0, updated: 0, skipped: 0, failed: 0 },
    items: [],
  };
}

/** The claim written before applying: from here on the restore is never applied again. */
async function claimRestore(loc: ObservedLocation, name: string, planHash: string, now: Date): Promise<void> {
  const claim = inProgressRecord(name, planHash, now);
  await loc.store?.put(restoreLayout.record(name), JSON.stringify(claim, null, 2));
}

async function releaseClaim(loc: ObservedLocation, name: string): Promise<void> {
  await loc.store?.delete([restoreLayout.record(name)]);
}
