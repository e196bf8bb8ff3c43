// The backup engine: discover → pick one etcd revision → list every selected resource type at
// that revision (concurrently, paginated) → filter → stream into a tar.gz that streams into the
// store → write the resource list and log → write velero-backup.json last.
//
// Like Velero's pkg/backup/backup.go, the engine produces a stream and the store uploads it;
// unlike Velero, every type is listed at one revision, so a backup never mixes before and after.
import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable } from 'node:stream';
import pLimit from 'p-limit';
import type { KubeClient, ListPage } from '../kube/client.js';
import { isTransientKubeError, KubeApiError } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { groupResource } from '../kube/types.js';
import type { BackupStore } from '../storage/store.js';
import { assertValidName, backupLayout } from '../storage/layout.js';
import {
  createArchiveWriter,
  type ArchiveFile,
  type ArchiveWriter,
  type ItemPairs,
} from '../archive/writer.js';
import {
  itemDir,
  itemPath,
  itemSubpath,
  METADATA_VERSION_PATH,
  BACKUP_FORMAT_VERSION,
  PREFERRED_VERSION_SUFFIX,
} from '../archive/paths.js';
import type { BackupSpec } from './spec.js';
import { RunLog } from '../observe/run-log.js';
import type { Logger } from '../observe/logger.js';
import { silentLogger } from '../observe/logger.js';
import {
  ANNOTATION_ARCHIVE_BYTES,
  ANNOTATION_NOT_POINT_IN_TIME,
  ANNOTATION_REVISION,
  ANNOTATION_SHA256,
  buildVeleroBackup,
  ttlOf,
  type BackupPhase,
  type VeleroBackup,
} from './velero-backup.js';
import { discover, type Discovery } from './discover.js';
import { unavailableGroupIssues, type UnavailableGroupIssues } from './unavailable-groups.js';
import { selectResources, type BackupSelection } from './selection.js';
import { ResourceListSpool } from './resource-list.js';
import { stringifyJson } from '../util/json.js';
import { VolumeCollector } from '../volumes/collect.js';
import type { PollDelay } from '../util/poll-delay.js';
import {
  runVolumePhase,
  type AroundPod,
  type FsBackupConfig,
  type FsProgress,
  type VolumePhaseResult,
} from '../volumes/phase.js';
import { selectFsBackupVolumes } from '../volumes/fs-backup-select.js';
import { volumeSideFileWrites } from '../volumes/side-files.js';
import { discardSnapshots } from '../volumes/discard.js';
import { keyringOf } from '../crypto/keyed-store.js';
import {
  ANNOTATION_STORED_SHA256,
  newBackupSealer,
  type BackupSealer,
  type EncryptedFile,
} from '../crypto/backup-encryption.js';
import { prepareBackupHooks, type HookRun } from '../hooks/backup-hooks.js';

export interface BackupRequest {
  name: string;
  spec: BackupSpec;
  /** Labels on the Backup object, e.g. velero.io/schedule-name. */
  labels?: Record<string, string>;
}

export interface BackupItemError {
  namespace?: string;
  resource: string;
  name?: string;
  message: string;
}

export interface BackupResult {
  name: string;
  phase: BackupPhase;
  revision?: string;
  startTimestamp: string;
  completionTimestamp: string;
  expiration: string;
  totalItems: number;
  /** Objects per resource (`configmaps`, `deployments.apps`). */
  counts: Record<string, number>;
  errors: BackupItemError[];
  warnings: string[];
  /** Resources listed at the latest revision rather than at `revision` (e.g. aggregated APIs). */
  notPointInTime: string[];
  sha256?: string;
  bytes?: number;
  failureReason?: string;
  metadata: VeleroBackup;
  /** Each volume's outcome (claim, snapshot, size, duration). */
  volumes: VolumePhaseResult['outcomes'];
  /** Each file-system copy of a pod volume (restic, through the node agent). */
  podVolumes: VolumePhaseResult['podVolumes'];
  /** The pod hooks that ran (src/hooks/backup-hooks.ts); their output is in the log only. */
  hooks?: HookRun[];
}

export interface BackupProgress {
  itemsDone: number;
  resourcesDone: number;
  resourcesTotal: number;
}

/** Resource types listed at once, unless BackupDeps.concurrency says otherwise. */
export const DEFAULT_LIST_CONCURRENCY = 6;
/** Objects per list page (Velero's --client-page-size default is 500 too). */
export const DEFAULT_PAGE_SIZE = 500;

export interface BackupDeps {
  kube: KubeClient;
  store: BackupStore;
  log?: Logger;
  clock?: () => Date;
  /** Resource types listed at once. */
  concurrency?: number;
  /** Objects per list page. */
  pageSize?: number;
  /** gzip level of the archive, 1 (fastest) to 9 (smallest); zlib's default (6) otherwise, as Velero. */
  gzipLevel?: number;
  /** How often to start again at a fresh revision when the chosen one is compacted away. */
  maxRevisionRetries?: number;
  /**
   * A list request that failed although the client tried it again (the API server restarting,
   * overloaded, unreachable) is tried this many more times, from the same page, after waiting
   * delayMs, twice as long, … If it still fails the backup is Failed, naming the types.
   */
  listRetries?: { attempts?: number; delayMs?: number };
  /** Called once a revision is chosen, before listing (tests use it to force compaction). */
  onRevision?: (revision: string, attempt: number) => Promise<void>;
  onProgress?: (p: BackupProgress) => void;
  /** Runs a pod's volume capture between its hooks (src/volumes/phase.ts); default: capture only. */
  aroundPod?: AroundPod;
  /** Volumes captured at once. */
  volumeConcurrency?: number;
  /** The wait between two looks at a volume snapshot; pollDelay (util/poll-delay.ts) by default. */
  volumePollDelay?: PollDelay;
  /** The restic repository for file-system copies of pod volumes (the location's). */
  fsBackup?: FsBackupConfig;
  /** Bytes done / total of each file-system copy while it runs. */
  onFsProgress?: (p: FsProgress) => void;
}

export class BackupExistsError extends Error {
  constructor(name: string, where: string) {
    super(`backup ${name} already exists in ${where}; delete it first or choose another name`);
    this.name = 'BackupExistsError';
  }
}

/** The chosen revision was compacted away while listing (HTTP 410 Gone). */
class RevisionGoneError extends Error {}

/** Types whose listing failed for good: a backup without (part of) them is not taken. */
class TypesNotListedError extends Error {
  constructor(failed: BackupItemError[], unfinished: number) {
    const types = [...new Set(failed.map((f) => f.resource))].sort();
    const first = failed[0];
    super(
      `could not list ${types.join(', ')} after retrying` +
        (first ? ` (${first.namespace ? `namespace ${first.namespace}: ` : ''}${first.message})` : '') +
        (unfinished > 0 ? `; ${unfinished} other type(s) stopped unfinished` : '') +
        '; a backup missing their objects is not kept',
    );
    this.name = 'TypesNotListedError';
  }
}

const DEFAULT_LIST_RETRIES = { attempts: 3, delayMs: 2_000 };

export async function runBackup(req: BackupRequest, deps: BackupDeps): Promise<BackupResult> {
  assertValidName('backup', req.name);
  // A bad TTL fails before anything is written, naming the field (the duration parser cannot).
  try {
    ttlOf(req.spec);
  } catch (err) {
    throw new Error(`backup ${req.name}: spec.ttl: ${errorText(err)}`);
  }
  const log = deps.log ?? silentLogger();
  const clock = deps.clock ?? (() => new Date());
  const { store, kube } = deps;
  if (store.readOnly)
    throw new Error(`${store.describe} is a read-only location: cannot write backup ${req.name}`);
  // Discovery and filter validation happen before any byte is written: a bad filter (unknown
  // resource, invalid selector) is a clear error, and nothing is shown as a backup.
  const { api, clusterNamespaces } = await checkStoreAndDiscover(req.name, store, kube);
  const selection = selectResources(
    req.spec,
    api.resources,
    clusterNamespaces === undefined ? {} : { clusterNamespaces },
  );
  const unavailable = unavailableGroupIssues(req.spec, api.unavailableGroupVersions);

  const start = clock();
  const runLog = new RunLog(clock);
  runLog.add('info', 'backup started', { backup: req.name, resources: selection.types.length });
  for (const w of selection.warnings) runLog.add('warning', w);
  for (const w of unavailable.warnings) runLog.add('warning', w);
  for (const e of unavailable.errors) runLog.add('error', e.message, { resource: e.resource });

  // One data key per backup (all attempts, the Failed record's log too), wrapped by the
  // location's active key; none when the location has no keys or only retired ones.
  const keyring = keyringOf(store);
  const sealer = keyring?.activeName !== undefined ? newBackupSealer(req.name, keyring) : undefined;
  if (sealer) runLog.add('info', 'backup is encrypted', { key: keyring?.activeName });

  const maxRetries = deps.maxRevisionRetries ?? 3;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptBackup({ req, deps, selection, unavailable, start, runLog, log, attempt, sealer });
    } catch (err) {
      if (err instanceof RevisionGoneError && attempt <= maxRetries) {
        log.warn(
          { backup: req.name, attempt },
          'revision compacted while listing; starting again at a fresh revision',
        );
        runLog.add(
          'warning',
          'revision compacted while listing (410 Gone); starting again at a fresh revision',
          {
            attempt,
          },
        );
        continue;
      }
      const reason =
        err instanceof RevisionGoneError
          ? `etcd compacted the revision being listed (410 Gone) on ${attempt} attempt(s) in a row; ` +
            `no consistent listing was possible: ${err.message}`
          : errorText(err);
      return failBackup({ req, deps, start, runLog, reason, sealer });
    }
  }
}

/**
 * The store's checks (the bucket is there, the backup is not) and discovery. The store's two
 * requests wait on S3 while discovery waits on the API server: made at once, they cost no
 * round trip of their own. Their answers still come first: a missing bucket, then an existing
 * backup, then a discovery failure.
 */
async function checkStoreAndDiscover(
  name: string,
  store: BackupStore,
  kube: KubeClient,
): Promise<{ api: Discovery; clusterNamespaces: number | undefined }> {
  const [checked, existing, discovered] = await Promise.allSettled([
    store.check(),
    store.exists(backupLayout.metadata(name)),
    (async () => ({ api: await discover(kube), clusterNamespaces: await kube.countNamespaces() }))(),
  ]);
  if (checked.status === 'rejected') throw checked.reason;
  if (existing.status === 'rejected') throw existing.reason;
  if (existing.value) throw new BackupExistsError(name, store.describe);
  if (discovered.status === 'rejected') throw discovered.reason;
  return discovered.value;
}

interface AttemptContext {
  req: BackupRequest;
  deps: BackupDeps;
  selection: BackupSelection;
  /** Group-versions discovery could not read: errors or warnings, as the spec chose. */
  unavailable: UnavailableGroupIssues;
  start: Date;
  runLog: RunLog;
  log: Logger;
  attempt: number;
  /** Set when the location encrypts: archive, resource list and log go through it. */
  sealer: BackupSealer | undefined;
}

async function attemptBackup(ctx: AttemptContext): Promise<BackupResult> {
  const { req, deps, selection } = ctx;
  const { kube, store } = deps;
  const clock = deps.clock ?? (() => new Date());
  // Pre hooks of pods without captured volumes run before the revision is chosen, so the
  // listing sees what they did; their post hooks run once the listing is done.
  const podHooks = await prepareBackupHooks({ kube, selection, hooks: req.spec.hooks, runLog: ctx.runLog });
  // Pods mounting claims the backup includes have their hooks run around their volumes' capture
  // (the volume phase) instead of around the listing.
  const claimsIncluded = selection.types.some(
    (t) => t.info.group === '' && t.info.resource === 'persistentvolumeclaims',
  );
  // So do pods with volumes chosen for a file-system copy (the volume phase copies those).
  const fsDefault = req.spec.defaultVolumesToFsBackup ?? false;
  await podHooks.beforeListing(
    (pod) =>
      (claimsIncluded && pod.claims.length > 0) ||
      (pod.phase === undefined || pod.phase === 'Running'
        ? selectFsBackupVolumes(pod.fsVolumes, fsDefault).volumes.length > 0
        : false),
  );
  const revision = await kube.currentRevision();
  await deps.onRevision?.(revision, ctx.attempt);
  ctx.log.info({ backup: req.name, revision, attempt: ctx.attempt }, 'listing at one revision');

  const writer = createArchiveWriter(deps.gzipLevel === undefined ? {} : { gzipLevel: deps.gzipLevel });
  const stored = ctx.sealer ? sealedArchive(writer.output, ctx.sealer) : undefined;
  const upload = store.put(backupLayout.archive(req.name), stored?.body ?? writer.output, {
    contentType: stored ? 'application/octet-stream' : 'application/gzip',
  });
  // If the upload fails (missing bucket, rejected credentials), stop the producers at once.
  upload.catch((err: unknown) => writer.abort(err instanceof Error ? err : new Error(String(err))));

  const state = new ListingState(selection, writer, new ResourceListSpool());
  state.errors.push(...ctx.unavailable.errors);
  state.warnings.push(...ctx.unavailable.warnings);
  let volumes: VolumePhaseResult | undefined;
  /** The side files' writes, when they go alongside the archive's upload. */
  const early: { sideFiles?: Promise<void> } = {};
  try {
    await writer.addFile(METADATA_VERSION_PATH, `${BACKUP_FORMAT_VERSION}\n`);
    try {
      await listAll({ ctx, revision, state });
    } finally {
      await podHooks.afterListing();
    }
    volumes = await runVolumePhase({
      kube,
      backupName: req.name,
      spec: req.spec,
      collector: state.volumes,
      addToArchive: (info, objects) => state.addObjects(info, objects),
      addHeldEntries: (info, entries) => state.addHeldEntries(info, entries),
      runLog: ctx.runLog,
      log: ctx.log,
      clock,
      // Hooks around each pod's volumes: pre hooks, capture, post hooks (src/hooks).
      aroundPod: deps.aroundPod ?? ((pod, capture) => podHooks.aroundPod(pod, capture).then(() => undefined)),
      ...(deps.volumeConcurrency ? { concurrency: deps.volumeConcurrency } : {}),
      ...(deps.volumePollDelay ? { pollDelay: deps.volumePollDelay } : {}),
      ...(deps.fsBackup ? { fsBackup: deps.fsBackup } : {}),
      ...(deps.onFsProgress ? { onFsProgress: deps.onFsProgress } : {}),
    });
    await podHooks.afterVolumes();
    state.errors.push(...volumes.errors);
    state.warnings.push(...volumes.warnings);
    state.errors.push(...podHooks.errors);
    state.warnings.push(...podHooks.warnings);
    state.hooks.push(...podHooks.runs);
    return await finishBackup({ ctx, revision, state, volumes, writer, upload, stored, early, clock });
  } catch (err) {
    writer.abort(err instanceof Error ? err : new Error(String(err)));
    await upload.catch(() => undefined);
    await early.sideFiles?.catch(() => undefined);
    const written = early.sideFiles && volumes ? sideFileKeys(req.name, volumes) : [];
    await store.delete([backupLayout.archive(req.name), ...written]).catch(() => undefined);
    // A backup that is not kept must not keep its snapshots either.
    if (volumes) await discardSnapshots(kube, volumes.outcomes);
    throw err;
  } finally {
    // Closing a temporary file must not hide why the backup failed.
    await state.names.close().catch(() => undefined);
  }
}

/**
 * End the archive, wait for its upload and store the rest, the metadata last. The side files'
 * writes are kept in `early` when they start before the upload ends, for the caller to undo
 * them if the backup fails.
 */
async function finishBackup(o: {
  ctx: AttemptContext;
  revision: string;
  state: ListingState;
  volumes: VolumePhaseResult;
  writer: ArchiveWriter;
  upload: Promise<void>;
  stored: { digest: () => { sha256: string; bytes: number } } | undefined;
  early: { sideFiles?: Promise<void> };
  clock: () => Date;
}): Promise<BackupResult> {
  const { ctx, revision, state, volumes, early } = o;
  const digest = await o.writer.finish();
  const phase = recordOutcome(ctx, state, revision, digest);
  // The resource list, the log and the volume side files need nothing of the archive's
  // upload: without object lock they are stored while it completes, which takes a round trip
  // to S3 off every backup. With object lock they wait, to be written locked after the
  // archive's retention (completeBackup).
  if (!ctx.deps.store.objectLock) {
    early.sideFiles = writeSideFiles({ ctx, state, volumes, locked: {} });
    early.sideFiles.catch(() => undefined);
  }
  await o.upload;
  await early.sideFiles;
  return completeBackup({
    ctx,
    revision,
    state,
    digest,
    volumes,
    phase,
    sideFilesWritten: early.sideFiles !== undefined,
    ...(o.stored ? { storedDigest: o.stored.digest() } : {}),
    completion: o.clock(),
  });
}

/** Everything learned while listing: counts, names per kind (for the resource list), errors. */
class ListingState {
  readonly counts: Record<string, number> = {};
  readonly errors: BackupItemError[] = [];
  readonly warnings: string[] = [];
  readonly notPointInTime: string[] = [];
  readonly hooks: HookRun[] = [];
  /** Listings that failed for good (transient errors, after every retry). */
  readonly unlisted: BackupItemError[] = [];
  /** Types that stopped part-way because another one failed for good. */
  unfinished = 0;
  totalItems = 0;
  resourcesDone = 0;
  /** Small records of the pods and claims kept, for the volume phase. */
  readonly volumes = new VolumeCollector();

  /** Set once a listing failed for good: every other one stops at its next page. */
  get stopping(): boolean {
    return this.unlisted.length > 0;
  }

  constructor(
    readonly selection: BackupSelection,
    private readonly writer: ArchiveWriter,
    /** Velero's resource list: "apiVersion/Kind" → ["ns/name" | "name"], spooled, not held. */
    readonly names: ResourceListSpool,
  ) {}

  /**
   * Serialize one page of objects into archive entries. Done as soon as the page arrives, so
   * the parsed objects (several times larger than their JSON) can go while the entries wait
   * for the writer.
   */
  serializePage(info: ResourceInfo, page: ListPage, kept: readonly number[]): PageBatch {
    const gr = groupResource(info);
    const listKey = `${info.group === '' ? info.version : `${info.group}/${info.version}`}/${info.kind}`;
    const names: string[] = [];
    // Velero writes each item twice: unversioned (for old readers) and under the preferred
    // version directory (pkg/backup/item_backupper.go). Both paths end in the same subpath,
    // made once per object; the writer joins them as it writes the headers.
    const dirs = [itemDir(gr, ''), itemDir(gr, `${info.version}${PREFERRED_VERSION_SUFFIX}`)] as const;
    const paths: string[] = [];
    const contents: Buffer[] = [];
    // Claims are written by the volume phase, with their snapshot's name (collect.ts).
    const held = this.volumes.holdsEntries(info);
    for (const index of kept) {
      const obj = page.items[index] as KubeObject;
      this.volumes.observe(info, obj);
      const ns = obj.metadata.namespace ?? '';
      const name = obj.metadata.name ?? '';
      // The JSON is the API server's own, compact like Velero's json.Marshal: serializing
      // again was the largest cost of writing a backup.
      const json = page.itemJson(index);
      if (held) this.volumes.hold(obj, json);
      else {
        paths.push(itemSubpath(ns, name));
        contents.push(json);
      }
      names.push(ns === '' ? name : `${ns}/${name}`);
    }
    this.names.add(listKey, names);
    return { groupResource: gr, pairs: { dirs, paths, contents }, items: kept.length };
  }

  /** Entries of listed objects the volume phase held back and completed (claims): counted already. */
  async addHeldEntries(
    info: ResourceInfo,
    entries: readonly { namespace: string; name: string; json: string | Buffer }[],
  ): Promise<void> {
    const gr = groupResource(info);
    const versionDir = `${info.version}${PREFERRED_VERSION_SUFFIX}`;
    await this.writer.addFiles(
      entries.flatMap((e) => [
        {
          path: itemPath({ groupResource: gr, namespace: e.namespace, name: e.name, versionDir: '' }),
          content: e.json,
        },
        {
          path: itemPath({ groupResource: gr, namespace: e.namespace, name: e.name, versionDir }),
          content: e.json,
        },
      ]),
    );
  }

  /** Objects the volume phase made (VolumeSnapshots and their contents), as listed ones are. */
  async addObjects(info: ResourceInfo, objects: readonly KubeObject[]): Promise<void> {
    if (objects.length === 0) return;
    const gr = groupResource(info);
    const versionDir = `${info.version}${PREFERRED_VERSION_SUFFIX}`;
    const files: ArchiveFile[] = [];
    const names: string[] = [];
    for (const obj of objects) {
      const ns = obj.metadata.namespace ?? '';
      const name = obj.metadata.name ?? '';
      // Objects read through the client keep int64s (a content's creationTime) as BigInt.
      const json = stringifyJson(obj);
      files.push(
        { path: itemPath({ groupResource: gr, namespace: ns, name, versionDir: '' }), content: json },
        { path: itemPath({ groupResource: gr, namespace: ns, name, versionDir }), content: json },
      );
      names.push(ns === '' ? name : `${ns}/${name}`);
    }
    this.names.add(
      `${info.group === '' ? info.version : `${info.group}/${info.version}`}/${info.kind}`,
      names,
    );
    await this.writer.addFiles(files);
    this.count(gr, objects.length);
  }

  /**
   * Write a serialized page, as one batch: the writer awaits backpressure once per few dozen
   * entries, not once per entry. Batches from concurrent listers go into the tar one after
   * another, in call order.
   */
  async writeBatch(batch: PageBatch): Promise<void> {
    if (batch.pairs.paths.length > 0) await this.writer.addItemPairs(batch.pairs);
    this.count(batch.groupResource, batch.items);
  }

  private count(gr: string, items: number): void {
    this.counts[gr] = (this.counts[gr] ?? 0) + items;
    this.totalItems += items;
  }
}

/** One page of objects, serialized into archive entries (held claims have none). */
interface PageBatch {
  groupResource: string;
  pairs: ItemPairs;
  items: number;
}

async function listAll(opts: { ctx: AttemptContext; revision: string; state: ListingState }): Promise<void> {
  const { ctx, revision, state } = opts;
  const { deps, selection } = ctx;
  const limit = pLimit(deps.concurrency ?? DEFAULT_LIST_CONCURRENCY);
  const report = (): void =>
    deps.onProgress?.({
      itemsDone: state.totalItems,
      resourcesDone: state.resourcesDone,
      resourcesTotal: selection.types.length,
    });

  // In phases (selection.ts): namespaced types decide which cluster-scoped objects "auto"
  // needs, and ClusterRoleBindings decide which ClusterRoles.
  for (const phase of [1, 2, 3] as const) {
    const group = selection.types.filter((t) => t.phase === phase);
    await Promise.all(
      group.map((t) =>
        limit(async () => {
          if (state.stopping) return;
          await listType({ ctx, revision, state, target: t });
          state.resourcesDone++;
          report();
        }),
      ),
    );
    if (state.stopping) throw new TypesNotListedError(state.unlisted, state.unfinished);
  }
}

/**
 * What to do after a list request failed: 'retry' the same page (after waiting), 'skip' the
 * rest of this type in this namespace (an error the server meant: forbidden, not found — the
 * backup goes on and ends PartiallyFailed, as Velero's does), or 'stop' (a transient failure
 * that outlasted every retry, or another type's: the backup is Failed). 410 Gone throws.
 */
async function afterListError(o: {
  ctx: AttemptContext;
  state: ListingState;
  err: unknown;
  gr: string;
  namespace: string | undefined;
  failures: number;
  /** Which page of this type (in this namespace) failed, from 1: after 1 a continue token. */
  page: number;
}): Promise<'retry' | 'skip' | 'stop'> {
  const { ctx, state, err, gr, namespace } = o;
  if (err instanceof KubeApiError && err.status === 410) throw new RevisionGoneError(err.message);
  const message = errorText(err);
  const where = { resource: gr, ...(namespace ? { namespace } : {}) };
  if (!isTransientKubeError(err)) {
    state.errors.push({ ...where, message });
    ctx.runLog.add('error', 'cannot list resource', { ...where, error: message });
    return 'skip';
  }
  const retries = { ...DEFAULT_LIST_RETRIES, ...ctx.deps.listRetries };
  if (state.stopping) {
    state.unfinished++;
    return 'stop';
  }
  if (o.failures > retries.attempts) {
    state.unlisted.push({ ...where, message });
    ctx.runLog.add('error', 'cannot list resource after retrying', { ...where, error: message });
    return 'stop';
  }
  // The page is asked for again with the same continue token (or revision): the listing
  // resumes exactly where it stopped; a token whose revision is compacted meanwhile gives 410.
  ctx.runLog.add('warning', 'listing failed; trying again', {
    ...where,
    page: o.page,
    attempt: o.failures,
    error: message,
  });
  await new Promise((r) => setTimeout(r, retries.delayMs * 2 ** (o.failures - 1)));
  return 'retry';
}

async function listType(opts: {
  ctx: AttemptContext;
  revision: string;
  state: ListingState;
  target: BackupSelection['types'][number];
}): Promise<void> {
  const { ctx, revision, state, target } = opts;
  const { info } = target;
  const gr = groupResource(info);
  // Aggregated APIs are served by other servers that cannot list at an etcd revision of ours.
  const pointInTime = !info.aggregated;
  if (!pointInTime) state.notPointInTime.push(gr);
  const namespaces = target.namespaces ?? [undefined];
  // One page is written while the next is fetched: the listing waits on the API server, the
  // writing on the CPU, and they overlap. At most two pages of this type are held at once,
  // one of them as serialized entries only.
  let writing: Promise<void> = Promise.resolve();
  for (const namespace of namespaces) {
    let continueToken: string | undefined;
    let failures = 0;
    let pageNumber = 1;
    for (;;) {
      if (state.stopping) {
        state.unfinished++;
        await writing;
        return;
      }
      let page;
      try {
        page = await ctx.deps.kube.list(info, {
          ...(namespace ? { namespace } : {}),
          limit: ctx.deps.pageSize ?? DEFAULT_PAGE_SIZE,
          ...(continueToken ? { continueToken } : {}),
          ...(pointInTime ? { resourceVersion: revision, resourceVersionMatch: 'Exact' as const } : {}),
          ...(target.mode === 'all' && ctx.selection.serverLabelSelector
            ? { labelSelector: ctx.selection.serverLabelSelector }
            : {}),
        });
      } catch (err) {
        failures++;
        const next = await afterListError({ ctx, state, err, gr, namespace, failures, page: pageNumber });
        if (next === 'retry') continue;
        if (next === 'stop') {
          await writing;
          return;
        }
        // A type the server refuses to list (forbidden, gone) is a per-resource error: the rest
        // of the backup goes on — other namespaces too — and ends PartiallyFailed, as Velero's.
        break;
      }
      failures = 0;
      pageNumber++;
      // Decided here, in page order: keepObject records dependencies as it goes.
      const kept: number[] = [];
      for (let index = 0; index < page.items.length; index++) {
        if (ctx.selection.keepObject(info, page.items[index] as KubeObject)) kept.push(index);
      }
      continueToken = page.continueToken;
      // Made into entries before waiting for the previous page's write, so that only the
      // JSON of this page is held meanwhile, not its parsed objects.
      const batch = kept.length > 0 ? state.serializePage(info, page, kept) : undefined;
      // Let the parsed objects go before waiting (locals of an async function live on).
      page = undefined;
      await writing;
      writing = batch ? state.writeBatch(batch) : Promise.resolve();
      // Awaited on the next round or below; until then a failure must not count as unhandled.
      writing.catch(() => undefined);
      if (!continueToken) break;
    }
  }
  await writing;
}

async function completeBackup(opts: {
  ctx: AttemptContext;
  revision: string;
  state: ListingState;
  digest: { sha256: string; bytes: number };
  volumes: VolumePhaseResult;
  phase: BackupPhase;
  /** Whether the resource list, log and volume side files are stored already (writeSideFiles). */
  sideFilesWritten: boolean;
  /** Of the archive as stored, when encrypted (`digest` is of the tar.gz inside). */
  storedDigest?: { sha256: string; bytes: number };
  completion: Date;
}): Promise<BackupResult> {
  const { ctx, revision, state, digest, volumes, phase, completion } = opts;
  const { sealer } = ctx;
  const { req, deps } = ctx;
  const { store } = deps;

  const metadata = buildVeleroBackup({
    name: req.name,
    spec: req.spec,
    ...labelsOf(req, sealer),
    annotations: {
      ...sealer?.annotations,
      ...(opts.storedDigest ? { [ANNOTATION_STORED_SHA256]: opts.storedDigest.sha256 } : {}),
      [ANNOTATION_SHA256]: digest.sha256,
      [ANNOTATION_ARCHIVE_BYTES]: String(digest.bytes),
      [ANNOTATION_REVISION]: revision,
      ...(state.notPointInTime.length > 0
        ? { [ANNOTATION_NOT_POINT_IN_TIME]: state.notPointInTime.sort().join(',') }
        : {}),
    },
    phase,
    start: ctx.start,
    completion,
    totalItems: state.totalItems,
    itemsBackedUp: state.totalItems,
    errors: state.errors.length,
    warnings: state.warnings.length + ctx.selection.warnings.length,
    csiSnapshots: volumes.csiSnapshots,
    dataMovements: dataMovementsOf(volumes.outcomes),
  });
  // Object lock: every object the backup keeps is retained until the backup expires, each
  // written once. The archive was streamed before the expiration was known to be wanted (a
  // failed attempt's archive must stay deletable), so it gets its retention now, before the
  // metadata: a backup that looks complete is always fully locked (docs/decisions/0026).
  const retainUntil = store.objectLock ? lockDate(metadata.status.expiration) : undefined;
  const locked = retainUntil ? { retainUntil } : {};
  if (retainUntil) await store.retain?.(backupLayout.archive(req.name), retainUntil);
  if (!opts.sideFilesWritten) await writeSideFiles({ ctx, state, volumes, locked });
  // Written last: its presence means the backup is complete (ARCHITECTURE.md).
  await store.put(backupLayout.metadata(req.name), JSON.stringify(metadata, null, 2), {
    contentType: 'application/json',
    ...locked,
  });
  return {
    name: req.name,
    phase,
    revision,
    startTimestamp: ctx.start.toISOString(),
    completionTimestamp: completion.toISOString(),
    expiration: metadata.status.expiration ?? '',
    totalItems: state.totalItems,
    counts: state.counts,
    errors: state.errors,
    warnings: [...ctx.selection.warnings, ...state.warnings],
    notPointInTime: state.notPointInTime,
    sha256: digest.sha256,
    bytes: digest.bytes,
    metadata,
    volumes: volumes.outcomes,
    podVolumes: volumes.podVolumes,
    ...(state.hooks.length > 0 ? { hooks: state.hooks } : {}),
  };
}

/** The backup's phase, from the errors gathered, and the log's last line, which says it. */
function recordOutcome(
  ctx: AttemptContext,
  state: ListingState,
  revision: string,
  digest: { sha256: string },
): BackupPhase {
  const phase: BackupPhase = state.errors.length > 0 ? 'PartiallyFailed' : 'Completed';
  ctx.runLog.add('info', `backup ${phase}`, { items: state.totalItems, revision, sha256: digest.sha256 });
  return phase;
}

/**
 * The resource list, the log and the volume side files: independent of each other, and all
 * stored before the metadata.
 */
async function writeSideFiles(opts: {
  ctx: AttemptContext;
  state: ListingState;
  volumes: VolumePhaseResult;
  locked: { retainUntil?: Date };
}): Promise<void> {
  const { ctx, state, volumes, locked } = opts;
  const { req, deps, runLog, sealer } = ctx;
  const { store } = deps;
  const key = backupLayout.resourceList(req.name);
  await Promise.all([
    // As one buffer (one plain PUT) unless its names went to disk: then streamed.
    state.names
      .gzippedInMemory()
      .then(async (list) =>
        list
          ? store.put(key, sealer ? await sealer.encrypt('resource-list', list) : list, locked)
          : store.put(key, sealStream(await state.names.gzipped(), sealer, 'resource-list'), locked),
      ),
    store.put(
      backupLayout.log(req.name),
      sealer ? await sealer.encrypt('log', runLog.gzip()) : runLog.gzip(),
      locked,
    ),
    // Volume side files name snapshots and handles, no data: they stay readable without the
    // key, as velero-backup.json does, so snapshots can be found and expired without it.
    ...volumeSideFileWrites(req.name, volumes).map((f) => store.put(f.key, f.body, locked)),
  ]);
}

/** The keys writeSideFiles writes. */
function sideFileKeys(name: string, volumes: VolumePhaseResult): string[] {
  return [
    backupLayout.resourceList(name),
    backupLayout.log(name),
    ...volumeSideFileWrites(name, volumes).map((f) => f.key),
  ];
}

/** The claims whose snapshot data was moved into restic (snapshotMoveData), or failed to be. */
function dataMovementsOf(outcomes: VolumePhaseResult['outcomes']): {
  attempted: number;
  completed: number;
  failed: number;
} {
  const completed = outcomes.filter((x) => x.moved !== undefined).length;
  const failed = outcomes.filter((x) => x.movementFailed === true).length;
  return { attempted: completed + failed, completed, failed };
}

/** The retention date of a locked backup: its expiration, unless that has already passed. */
function lockDate(expiration: string | undefined): Date | undefined {
  if (!expiration) return undefined;
  // S3 keeps whole seconds (HTTP dates): round up, so the lock never ends before the expiration.
  const until = new Date(Math.ceil(Date.parse(expiration) / 1000) * 1000);
  // S3 refuses a retain-until date in the past; such a backup is due for expiry anyway.
  return until.getTime() > Date.now() ? until : undefined;
}

/**
 * A backup that could not be written: its partial archive is already removed; record it as
 * Failed (Velero shows failed backups too) with the reason, so it is never taken as complete.
 */
async function failBackup(opts: {
  req: BackupRequest;
  deps: BackupDeps;
  start: Date;
  runLog: RunLog;
  reason: string;
  sealer: BackupSealer | undefined;
}): Promise<BackupResult> {
  const { req, deps, start, runLog, reason, sealer } = opts;
  const completion = (deps.clock ?? (() => new Date()))();
  runLog.add('error', 'backup failed', { reason });
  const metadata = buildVeleroBackup({
    name: req.name,
    spec: req.spec,
    ...labelsOf(req, sealer),
    ...(sealer ? { annotations: sealer.annotations } : {}),
    phase: 'Failed',
    start,
    completion,
    failureReason: reason,
  });
  // Best effort: when the store itself is the problem (missing bucket), these writes fail too
  // and the caller still gets the Failed result with the reason.
  try {
    await deps.store.put(
      backupLayout.log(req.name),
      sealer ? await sealer.encrypt('log', runLog.gzip()) : runLog.gzip(),
    );
    await deps.store.put(backupLayout.metadata(req.name), JSON.stringify(metadata, null, 2));
  } catch {
    // nothing more to record
  }
  return {
    name: req.name,
    phase: 'Failed',
    startTimestamp: start.toISOString(),
    completionTimestamp: completion.toISOString(),
    expiration: metadata.status.expiration ?? '',
    totalItems: 0,
    counts: {},
    errors: [],
    warnings: [],
    notPointInTime: [],
    failureReason: reason,
    metadata,
    volumes: [],
    podVolumes: [],
  };
}

function labelsOf(req: BackupRequest, sealer: BackupSealer | undefined): { labels?: Record<string, string> } {
  const labels = { ...req.labels, ...sealer?.labels };
  return Object.keys(labels).length > 0 ? { labels } : {};
}

/** `source` through the sealer's encryption of `file` (errors of either end the result). */
function sealStream(source: Readable, sealer: BackupSealer | undefined, file: EncryptedFile): Readable {
  if (!sealer) return source;
  const out = sealer.encryptStream(file);
  pipeline(source, out, () => undefined);
  return out;
}

/** The archive encrypted, with the sha256 and size of what is stored, known once it is read. */
function sealedArchive(
  archive: Readable,
  sealer: BackupSealer,
): { body: Readable; digest: () => { sha256: string; bytes: number } } {
  const hash = createHash('sha256');
  let bytes = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  pipeline(archive, sealer.encryptStream('archive'), counted, () => undefined);
  return { body: counted, digest: () => ({ sha256: hash.digest('hex'), bytes }) };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
