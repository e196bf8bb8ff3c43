// The I/O half of planning: read the verified archive, select and prepare each object
// (filters, namespace mapping, sanitizing, modifiers), look at the live cluster and ask the
// apiserver for a dry run. The pure half is plan.ts (buildPlan).
import pLimit from 'p-limit';
import type { KubeClient } from '../kube/client.js';
import { KubeApiError } from '../kube/client.js';
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { groupResource } from '../kube/types.js';
import type { BackupStore } from '../storage/store.js';
import type { VeleroBackup } from '../backup/velero-backup.js';
import { discover } from '../backup/discover.js';
import { compileFilter } from '../backup/filters.js';
import { createClusterDependencyCollector } from '../backup/cluster-scope.js';
import {
  archiveItems,
  chooseVersionDir,
  indexArchive,
  type ArchiveIndex,
  type ArchiveTypeFacts,
} from './archive-items.js';
import {
  decideItem,
  prepareDesiredObject,
  type DecidedItem,
  type PlanInputItem,
  type PlanItem,
  type PlanVolume,
} from './plan.js';
import { snapshotChecker } from './snapshot-check.js';
import { snapshotSourceOf } from './snapshot-cleanup.js';
import { isJsonMap } from './strategic-merge.js';
import { mapNamespace } from './namespace-mapping.js';
import { forEachLiveObject, liveKey, type LiveRead, type LiveRef } from './live-objects.js';
import { secretValueForms } from './redact.js';
import {
  backendsOf,
  backendWarning,
  hasReadyEndpoint,
  type BackendRef,
  type BackendState,
} from './backends.js';
import {
  claimBinding,
  rebindPatch,
  staleClaimUid,
  takenVolumeReason,
  volumeNameOf,
  type VolumeFacts,
} from './volume-binding.js';
import { ObjectSpool } from './spool.js';
import { judgeClusterIps, liveAddressNote, requestedClusterIps, withoutClusterIps } from './cluster-ip.js';
import type { AddressHolder } from './cluster-ip.js';
import { readCsiFiles, snapshotsByClaim } from './csi-snapshots.js';
import {
  backedUpSnapshotObjects,
  claimSnapshot,
  restoredSnapshotName,
  VOLUME_SNAPSHOT_CONTENTS,
  VOLUME_SNAPSHOTS,
  type CsiRestoreContext,
} from './csi-restore.js';
import type { RestoreSpec } from './spec.js';
import {
  copiedVolumesOf,
  DEFAULT_RESTORE_WAIT_IMAGE,
  readPodVolumeRecords,
  type FsRestoreContext,
  type PlannedPodVolume,
} from './fs-volumes.js';
import { movedClaimsOf, movedCopyOf, type MovedClaimCopy } from './moved-claims.js';
import type { ArchiveLimits } from '../archive/reader.js';
import { ADMISSION_RESOURCES, namespaceCreateInterceptors } from './namespace-admission.js';

export interface PreparedRestore {
  /** Every selected object, decided (plan.ts decideItem); in no particular order. */
  decided: DecidedItem[];
  /** Item key (see itemKey) → the object apply would write. The caller closes it. */
  spool: ObjectSpool;
  /** Every form of every Secret value seen, in the backup and in the live cluster. */
  secretForms: string[];
  /** groupResource → how to reach it in the target cluster (absent: not served yet). */
  resources: Map<string, ResourceInfo>;
  /** Every restored claim's volume (the plan's volumes section). */
  volumes: PlanVolume[];
}

/** The server-side apply field manager of everything a restore writes. */
export const FIELD_MANAGER = 'lifeboat';

export function itemKey(i: { groupResource: string; namespace: string; name: string }): string {
  return `${i.groupResource}/${i.namespace}/${i.name}`;
}

const CRDS = 'customresourcedefinitions.apiextensions.k8s.io';
const PVS = 'persistentvolumes';
const PVCS = 'persistentvolumeclaims';

/** Which resources Velero restores status for (spec.restoreStatus.included/excludedResources). */
function restoresStatus(spec: RestoreSpec, gr: string): boolean {
  const rs = spec.restoreStatus;
  if (!rs) return false;
  const inc = rs.includedResources ?? [];
  const exc = rs.excludedResources ?? [];
  if (exc.includes(gr) || exc.includes('*')) return false;
  return inc.includes('*') || inc.includes(gr);
}

/**
 * Read the archive and the cluster and decide every selected object. Memory holds one small
 * record per object (a Draft, then a DecidedItem), never the objects: each prepared object goes
 * to the spool as it streams out of the archive, and comes back from it when its live twin —
 * read a page at a time — is at hand to decide it.
 */
export async function prepareRestore(opts: {
  kube: KubeClient;
  store: BackupStore;
  backup: VeleroBackup;
  restoreName: string;
  spec: RestoreSpec;
  dryRun?: boolean;
  concurrency?: number;
  /** Bounds on what the archive may make planning hold or read (archive/reader.ts). */
  archiveLimits?: Partial<ArchiveLimits>;
  /** The image of the init container that holds a pod until its volumes are restored. */
  restoreWaitImage?: string;
}): Promise<PreparedRestore> {
  const { kube, store, backup, spec } = opts;
  // Pass 1 verifies the whole archive before anything is decided (archive-items.ts). The
  // side files and the cluster's discovery need nothing from it, so they are read meanwhile:
  // each is a fifth to a third of a plan's time on a busy machine (volumes benchmark --trace).
  const limits = opts.archiveLimits ?? {};
  const [index, csiFiles, podVolumeRecords, api] = await Promise.all([
    indexArchive(store, backup, limits),
    readCsiFiles(store, backup.metadata.name),
    readPodVolumeRecords(store, backup.metadata.name),
    discover(kube),
  ]);
  const served = new Map(api.resources.map((r) => [groupResource(r), r]));
  const versionsOf = new Map(
    api.groups.map((g) => [g.group, g.versions.filter((v) => v.available).map((v) => v.version)]),
  );
  const spool = await ObjectSpool.create();
  try {
    const ctx: DraftContext = {
      spec,
      backupName: backup.metadata.name,
      restoreName: opts.restoreName,
      served,
      versionsOf,
      spool,
      csi: {
        restoreName: opts.restoreName,
        ...(spec.restorePVs !== undefined ? { restorePVs: spec.restorePVs } : {}),
        ...(spec.namespaceMapping ? { namespaceMapping: spec.namespaceMapping } : {}),
        snapshots: snapshotsByClaim(csiFiles),
        snapshottedVolumes: new Set(
          csiFiles.volumeInfos
            .filter((v) => v.backupMethod === 'CSISnapshot' && !v.snapshotDataMoved && v.pvName !== undefined)
            .map((v) => v.pvName ?? ''),
        ),
      },
      fs: {
        restoreName: opts.restoreName,
        records: podVolumeRecords,
        movedClaims: movedClaimsOf(podVolumeRecords),
        movedVolumes: new Set(
          csiFiles.volumeInfos
            .filter((v) => v.snapshotDataMoved === true && v.pvName !== undefined)
            .map((v) => v.pvName ?? ''),
        ),
        copiedVolumes: copiedVolumesOf(csiFiles.volumeInfos),
        image: opts.restoreWaitImage ?? DEFAULT_RESTORE_WAIT_IMAGE,
      },
    };
    const drafts = await selectAndDraft({ store, backup, index, api, ctx, limits });
    const secretForms = new Set<string>();
    const volumes: PlanVolume[] = [];
    const decided = await decideAll({
      volumes,
      kube,
      drafts,
      ctx,
      dryRun: opts.dryRun ?? true,
      concurrency: opts.concurrency ?? 16,
      secretForms,
    });
    return { decided, spool, secretForms: [...secretForms], resources: served, volumes };
  } catch (err) {
    await spool.close();
    throw err;
  }
}

interface DraftContext {
  spec: RestoreSpec;
  backupName: string;
  restoreName: string;
  served: Map<string, ResourceInfo>;
  /** API group → the versions the cluster serves. */
  versionsOf: Map<string, string[]>;
  spool: ObjectSpool;
  csi: CsiRestoreContext;
  fs: FsRestoreContext;
}

/** A cluster-scoped archive object kept aside (in the spool) while its selection is decided. */
interface Candidate {
  gr: string;
  name: string;
  bytes: number;
}

/** Spool keys of archive objects kept aside while their selection is decided. */
const candidateKey = (gr: string, name: string): string => `candidate:${gr}/${name}`;

/**
 * The cluster-scoped candidates that the filters or the namespaced objects ask for, drafted
 * into `drafts`. Returns the names of the Namespace objects among them.
 */
async function draftCandidates(o: {
  candidates: Candidate[];
  filter: ReturnType<typeof compileFilter>;
  collector: ReturnType<typeof createClusterDependencyCollector>;
  infoOf: (gr: string) => ResourceInfo | undefined;
  ctx: DraftContext;
  drafts: Draft[];
}): Promise<Set<string>> {
  const { filter, collector } = o;
  const namespaceObjects = new Set<string>();
  for (const c of o.candidates) {
    const info = o.infoOf(c.gr);
    const obj = await o.ctx.spool.get(candidateKey(c.gr, c.name));
    o.ctx.spool.delete(candidateKey(c.gr, c.name));
    if (!info || !obj) continue;
    const keep =
      c.gr === 'namespaces'
        ? collector.includesNamespaceObject(obj)
        : filter.includesResource(info)
          ? filter.includesObject(obj)
          : collector.has(c.gr, c.name) && filter.includesDependency(obj, info);
    if (!keep) continue;
    if (c.gr === 'namespaces') namespaceObjects.add(c.name);
    o.drafts.push(await draftItem(c.gr, obj, c.bytes, o.ctx));
  }
  return namespaceObjects;
}

/**
 * Pass 2 over the archive: select objects with the restore's filters and draft each selected
 * one (drafts hold no objects; the prepared objects are in the spool).
 */
async function selectAndDraft(o: {
  store: BackupStore;
  backup: VeleroBackup;
  index: ArchiveIndex;
  api: Awaited<ReturnType<typeof discover>>;
  ctx: DraftContext;
  limits: Partial<ArchiveLimits>;
}): Promise<Draft[]> {
  const { ctx, index, api } = o;
  const { served, versionsOf, spec, spool } = ctx;
  // Resources that exist only in the archive (custom resources whose CRD is not installed
  // yet), so filters can name them and the plan can report them.
  const chosenDir = new Map<string, string>();
  for (const [gr, dirs] of index.versionDirs) {
    const group = gr.includes('.') ? gr.slice(gr.indexOf('.') + 1) : '';
    chosenDir.set(gr, chooseVersionDir(dirs, versionsOf.get(group) ?? []));
  }
  const archiveOnly = new Map<string, ResourceInfo>(
    [...index.types].filter(([gr]) => !served.has(gr)).map(([gr, f]) => [gr, pseudoInfo(gr, f)]),
  );
  const filter = compileFilter(spec, [...api.resources, ...archiveOnly.values()], { purpose: 'restore' });
  const infoOf = (gr: string): ResourceInfo | undefined => served.get(gr) ?? archiveOnly.get(gr);

  // Cluster-scoped objects under "auto" follow what is restored (PVs of PVCs, CRDs of CRs),
  // exactly as in a backup; the namespaced objects teach the collector what they need, so the
  // cluster-scoped candidates wait in the spool until the whole archive has been read.
  const collector = createClusterDependencyCollector({ filter });
  const drafts: Draft[] = [];
  const candidates: Candidate[] = [];
  const sourceNamespaces = new Set<string>();
  const claimsDrafted = new Set<string>();
  for await (const item of archiveItems({
    store: o.store,
    backup: o.backup,
    chosen: (gr) => chosenDir.get(gr) ?? '',
    limits: o.limits,
  })) {
    const info = infoOf(item.groupResource);
    if (!info) continue;
    if (item.namespace !== '') {
      if (!filter.includesResource(info) || !filter.includesNamespace(item.namespace)) continue;
      if (!filter.includesObject(item.object)) continue;
      collector.add(item.object, item.groupResource);
      if (item.groupResource === PVCS)
        claimsDrafted.add(`${item.namespace}/${item.object.metadata.name ?? ''}`);
      sourceNamespaces.add(item.object.metadata.namespace ?? item.namespace);
      drafts.push(await draftItem(item.groupResource, item.object, item.bytes, ctx));
    } else {
      if (item.groupResource === 'clusterrolebindings.rbac.authorization.k8s.io') {
        collector.addClusterRoleBinding(item.object);
      }
      const name = item.object.metadata.name ?? '';
      await spool.put(candidateKey(item.groupResource, name), item.object, item.bytes);
      candidates.push({ gr: item.groupResource, name, bytes: item.bytes });
    }
  }
  const namespaceObjects = await draftCandidates({ candidates, filter, collector, infoOf, ctx, drafts });
  await draftMissingSnapshots({ ctx, drafts, claims: claimsDrafted });
  // Velero creates the target namespace of restored objects when the backup does not hold it
  // (restore.go: namespace is created on demand); the plan shows it as a create.
  for (const ns of [...sourceNamespaces].filter((n) => !namespaceObjects.has(n)).sort()) {
    const obj: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } };
    drafts.push(await draftItem('namespaces', obj, JSON.stringify(obj).length, ctx));
  }
  return drafts;
}

/**
 * The VolumeSnapshot and VolumeSnapshotContent every restored claim with a CSI snapshot needs,
 * drafted from the side files when the archive did not bring them (csi-restore.ts
 * backedUpSnapshotObjects).
 */
async function draftMissingSnapshots(o: {
  ctx: DraftContext;
  drafts: Draft[];
  claims: Set<string>;
}): Promise<void> {
  const { ctx, drafts } = o;
  if (ctx.csi.restorePVs === false) return;
  const have = new Set(drafts.map((d) => `${d.base.groupResource}/${d.base.namespace}/${d.base.name}`));
  for (const [key, snap] of ctx.csi.snapshots) {
    if (!o.claims.has(key)) continue;
    const name = restoredSnapshotName(ctx.restoreName, snap.namespace, snap.volumeSnapshot);
    const target = mapNamespace(snap.namespace, ctx.spec.namespaceMapping);
    const { vs, vsc } = backedUpSnapshotObjects(snap);
    if (!have.has(`${VOLUME_SNAPSHOTS}/${target}/${name}`)) {
      drafts.push(await draftItem(VOLUME_SNAPSHOTS, vs, JSON.stringify(vs).length, ctx));
    }
    if (vsc && !have.has(`${VOLUME_SNAPSHOT_CONTENTS}//${name}`)) {
      drafts.push(await draftItem(VOLUME_SNAPSHOT_CONTENTS, vsc, JSON.stringify(vsc).length, ctx));
    }
  }
}

function pseudoInfo(gr: string, f: ArchiveTypeFacts): ResourceInfo {
  const dot = gr.indexOf('.');
  const resource = dot === -1 ? gr : gr.slice(0, dot);
  const group = dot === -1 ? '' : gr.slice(dot + 1);
  const version = f.apiVersion.includes('/') ? (f.apiVersion.split('/')[1] ?? '') : f.apiVersion;
  return {
    group,
    version,
    resource,
    kind: f.kind,
    namespaced: f.namespaced,
    verbs: [],
    shortNames: [],
    singularName: f.kind.toLowerCase(),
    preferredVersion: version,
  };
}

type ItemBase = Pick<PlanInputItem, 'groupResource' | 'apiVersion' | 'kind' | 'namespace' | 'name'>;

/**
 * One selected object on its way to a plan item, without the object itself: that is in the
 * spool under `key` when `spooled`. Some are decided without the cluster (`skipReason`,
 * `invalidReason`); the others wait for their live object, or for their CRD (`info` absent).
 */
interface Draft {
  base: ItemBase;
  key: string;
  spooled: boolean;
  skipReason?: string;
  invalidReason?: string;
  /** The resource at the object's version; absent when the cluster does not serve it. */
  info?: ResourceInfo;
  /** Argo CD / Flux tracking found on the object (gitops-tracking.ts), for the plan. */
  tracking?: { warning?: string; note?: string };
  /** A pod's volumes filled from file-system copies (fs-volumes.ts). */
  podVolumes?: PlannedPodVolume[];
  /** A claim whose snapshot data the backup moved into restic (moved-claims.ts). */
  moved?: MovedClaimCopy;
}

/** Everything about one object that needs no cluster call: target, sanitizing, modifiers, served version. */
async function draftItem(gr: string, obj: KubeObject, bytes: number, ctx: DraftContext): Promise<Draft> {
  const { spec } = ctx;
  const targetNamespace = obj.metadata.namespace
    ? mapNamespace(obj.metadata.namespace, spec.namespaceMapping)
    : '';
  const prepared = prepareDesiredObject(obj, {
    groupResource: gr,
    spec,
    backupName: ctx.backupName,
    restoreName: ctx.restoreName,
    restoreStatus: restoresStatus(spec, gr),
    csi: ctx.csi,
    fs: ctx.fs,
  });
  // Restored snapshot objects are renamed (csi-restore.ts); the plan shows what is written.
  const renamed = gr === VOLUME_SNAPSHOTS || gr === VOLUME_SNAPSHOT_CONTENTS;
  const name =
    gr === 'namespaces'
      ? mapNamespace(obj.metadata.name ?? '', spec.namespaceMapping)
      : renamed && prepared.desired
        ? (prepared.desired.metadata.name ?? '')
        : (obj.metadata.name ?? '');
  const base: ItemBase = {
    groupResource: gr,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: targetNamespace,
    name,
  };
  const key = itemKey(base);
  if (prepared.desired === null) {
    return 'skipReason' in prepared
      ? { base, key, spooled: false, skipReason: prepared.skipReason }
      : { base, key, spooled: false, invalidReason: prepared.invalidReason };
  }
  const desired = prepared.desired;
  await ctx.spool.put(key, desired, bytes);
  const preferred = ctx.served.get(gr);
  const moved = gr === PVCS ? movedCopyOf(obj, ctx.fs.movedClaims) : undefined;
  const tracked = {
    ...(prepared.tracking ? { tracking: prepared.tracking } : {}),
    ...(prepared.podVolumes ? { podVolumes: prepared.podVolumes } : {}),
    ...(moved ? { moved } : {}),
  };
  // Not served: decided once every CRD the backup brings is known (decideAll).
  if (!preferred) return { base, key, spooled: true, ...tracked };
  const info = atObjectVersion(preferred, desired.apiVersion);
  const versions = ctx.versionsOf.get(info.group) ?? [];
  if (!versions.includes(info.version)) {
    return {
      base,
      key,
      spooled: true,
      invalidReason: `the cluster serves ${gr} at ${versions.join(', ') || 'no version'}, not at ${desired.apiVersion}`,
    };
  }
  return { base, key, spooled: true, info, ...tracked };
}

/**
 * Decide every draft. Cluster-scoped objects and the target namespaces are read first: objects
 * in a namespace that does not exist do not exist either, and are not read at all — a restore
 * into new namespaces, the usual case after a disaster, then costs the cluster nothing to plan.
 * Live objects are read a page at a time (live-objects.ts) and each is decided as it arrives.
 */
async function decideAll(o: {
  kube: KubeClient;
  drafts: Draft[];
  ctx: DraftContext;
  dryRun: boolean;
  concurrency: number;
  secretForms: Set<string>;
  volumes: PlanVolume[];
}): Promise<DecidedItem[]> {
  const { ctx, drafts } = o;
  const decided: DecidedItem[] = [];
  const crdsRestored = new Set(
    drafts.filter((d) => d.base.groupResource === CRDS && d.spooled).map((d) => d.base.name),
  );
  const dryRuns = pLimit(o.concurrency);
  const backendWarnings = backendChecker({
    kube: o.kube,
    served: ctx.served,
    restoredServices: new Set(
      drafts
        .filter((d) => d.base.groupResource === 'services' && d.spooled && d.invalidReason === undefined)
        .map((d) => `${d.base.namespace}/${d.base.name}`),
    ),
  });
  const bindVolumes = volumeBinder({ kube: o.kube, drafts, ctx });
  const keepClusterIps = clusterIpChecker({ kube: o.kube, ctx });
  const claimVolumes = claimVolumeChecker({ kube: o.kube, drafts, ctx });
  // Asked once, when the first Namespace create is decided (namespace-admission.ts).
  let namespaceChecks: Promise<boolean> | undefined;
  const namespaceDryRuns = (): Promise<boolean> =>
    (namespaceChecks ??= namespaceCreatesNeedDryRuns(o.kube, ctx.served));
  const finish = async (
    draft: Draft,
    live: LiveRead | undefined,
    namespaceMissing = false,
  ): Promise<void> => {
    const desired = draft.spooled ? ((await ctx.spool.get(draft.key)) ?? null) : null;
    const input = await planInput({
      draft,
      desired,
      live,
      namespaceMissing,
      crdsRestored,
      o,
      dryRuns,
      namespaceDryRuns,
    });
    if (draft.podVolumes && input.desired) input.podVolumes = draft.podVolumes;
    if (input.desired && input.invalidReason === undefined) {
      const warnings = await backendWarnings(draft.base.groupResource, input.desired);
      if (warnings.length > 0) input.warnings = warnings;
      await bindVolumes(draft, input);
      await keepClusterIps(draft, input);
      const { warning, note } = draft.tracking ?? {};
      if (warning) input.warnings = [...(input.warnings ?? []), warning];
      if (note) input.notes = [...(input.notes ?? []), note];
    }
    if (draft.base.groupResource === PVCS) await claimVolumes.check(input);
    const forms = secretValueForms([input.desired, input.live]);
    for (const form of forms) o.secretForms.add(form);
    const one = decideItem(input, ctx.spec, forms);
    decided.push(one);
    if (draft.base.groupResource === PVCS) o.volumes.push(claimVolumes.row(one.item, input, draft.moved));
  };

  const needsLive = (d: Draft): d is Draft & { info: ResourceInfo } =>
    d.info !== undefined && d.skipReason === undefined && d.invalidReason === undefined;
  const waiting = drafts.filter(needsLive);
  // Decided without a live object: read back and decided a few at a time, like the rest.
  const decisions = pLimit(o.concurrency);
  const finishAll = (list: Draft[], live: LiveRead | undefined, namespaceMissing = false) =>
    Promise.all(list.map((d) => decisions(() => finish(d, live, namespaceMissing))));
  await finishAll(
    drafts.filter((d) => !needsLive(d)),
    undefined,
  );
  const byRef = new Map<string, Draft>();
  const refOf = (d: Draft & { info: ResourceInfo }): LiveRef => {
    const ref = { info: d.info, namespace: d.base.namespace, name: d.base.name };
    byRef.set(liveKey(ref), d);
    return ref;
  };
  const clusterScoped = waiting.filter((d) => d.base.namespace === '');
  const namespaced = waiting.filter((d) => d.base.namespace !== '');
  const namespacesInfo = ctx.served.get('namespaces');
  const targets = [...new Set(namespaced.map((d) => d.base.namespace))];
  const namespaceRefs: LiveRef[] = namespacesInfo
    ? targets.map((name) => ({ info: namespacesInfo, namespace: '', name }))
    : [];
  const clusterRefs = clusterScoped.map(refOf);
  // The target namespaces first (one LIST): which of them exist decides what else is read.
  // A namespace that could not be read counts as existing: its objects are then read one by
  // one, and each reports its own error. The reads of restored Namespaces are kept to decide them.
  const missing = new Set<string>();
  const namespaceReads = new Map<string, LiveRead>();
  await forEachLiveObject({
    kube: o.kube,
    refs: namespaceRefs,
    concurrency: o.concurrency,
    onRead: (ref, read) => {
      if ('object' in read && read.object === null) missing.add(ref.name);
      if (byRef.has(liveKey(ref))) namespaceReads.set(liveKey(ref), read);
      return Promise.resolve();
    },
  });
  const clusterPass = async (): Promise<void> => {
    await Promise.all(
      [...namespaceReads].flatMap(([key, read]) => {
        const draft = byRef.get(key);
        return draft ? [decisions(() => finish(draft, read))] : [];
      }),
    );
    await forEachLiveObject({
      kube: o.kube,
      refs: clusterRefs.filter((r) => !namespaceReads.has(liveKey(r))),
      concurrency: o.concurrency,
      onRead: async (ref, read) => {
        const draft = byRef.get(liveKey(ref));
        if (draft) await decisions(() => finish(draft, read));
      },
    });
  };
  // Objects in namespaces that do not exist need nothing from the cluster: they are decided
  // while the cluster-scoped ones wait for their dry runs (the API server's time, not ours),
  // with a limit of their own. Claims wait for the volumes, which are decided first.
  const inMissing = namespaced.filter((d) => missing.has(d.base.namespace));
  const fresh = pLimit(o.concurrency);
  const decideMissing = () =>
    Promise.all(inMissing.map((d) => fresh(() => finish(d, { object: null }, true))));
  if (inMissing.some((d) => d.base.groupResource === PVCS)) {
    await clusterPass();
    await decideMissing();
  } else {
    await Promise.all([clusterPass(), decideMissing()]);
  }
  await forEachLiveObject({
    kube: o.kube,
    refs: namespaced.filter((d) => !missing.has(d.base.namespace)).map(refOf),
    concurrency: o.concurrency,
    onRead: async (ref, read) => {
      const draft = byRef.get(liveKey(ref));
      if (draft) await decisions(() => finish(draft, read));
    },
  });
  return decided;
}

/**
 * Claims and volumes (volume-binding.ts): a surviving Released volume reserved for a restored
 * claim is bound again; a live volume that belongs to another claim is not written; a restored
 * claim keeps or loses volumeName; both get a note or a warning. Volumes are decided before
 * claims (the cluster-scoped pass comes first), so the live volumes read for them are at hand;
 * a claim's volume outside the restore is read once.
 */
function volumeBinder(o: {
  kube: KubeClient;
  drafts: Draft[];
  ctx: DraftContext;
}): (draft: Draft, input: PlanInputItem) => Promise<void> {
  const { ctx } = o;
  const ready = (d: Draft, gr: string) =>
    d.base.groupResource === gr && d.spooled && d.invalidReason === undefined && d.skipReason === undefined;
  const restoredClaims = new Set(
    o.drafts.filter((d) => ready(d, PVCS)).map((d) => `${d.base.namespace}/${d.base.name}`),
  );
  const facts: VolumeFacts = {
    restoredVolumes: new Set(o.drafts.filter((d) => ready(d, PVS)).map((d) => d.base.name)),
    skippedVolumes: new Map(
      o.drafts
        .filter((d) => d.base.groupResource === PVS && d.skipReason !== undefined)
        .map((d) => [d.base.name, d.skipReason ?? '']),
    ),
    copiedVolumes: ctx.fs.copiedVolumes ?? new Set(),
  };
  const liveVolumes = new Map<string, Promise<KubeObject | null>>();
  const liveVolume = (name: string): Promise<KubeObject | null> => {
    let read = liveVolumes.get(name);
    const info = ctx.served.get(PVS);
    if (!read) {
      read = info ? o.kube.get(info, '', name) : Promise.resolve(null);
      liveVolumes.set(name, read);
    }
    return read;
  };
  return async (draft, input) => {
    const desired = input.desired;
    if (!desired) return;
    if (draft.base.groupResource === PVS) {
      liveVolumes.set(draft.base.name, Promise.resolve(input.live));
      const taken = takenVolumeReason(desired, input.live);
      if (taken !== undefined) {
        input.desired = null;
        input.skipReason = taken;
        return;
      }
      const uid = staleClaimUid(desired, input.live, restoredClaims);
      if (uid === undefined) return;
      const ref = (desired.spec as { claimRef: { namespace?: string; name?: string } }).claimRef;
      input.staleClaimUid = uid;
      input.notes = [
        `Released by its deleted claim ${ref.namespace ?? ''}/${ref.name ?? ''}: the restore clears claimRef.uid so that the volume binds to the restored claim again, and to no other`,
      ];
      if (ctx.spec.existingResourcePolicy !== 'update') {
        const patch = rebindPatch(desired);
        input.desired = patch;
        await respool(ctx, draft, patch);
      }
      return;
    }
    if (draft.base.groupResource !== PVCS || input.live !== null) return;
    const volume = volumeNameOf(desired);
    if (volume === undefined) return;
    const binding = claimBinding(desired, await liveVolume(volume), facts);
    if (binding.note) input.notes = [...(input.notes ?? []), binding.note];
    if (binding.warning) input.warnings = [...(input.warnings ?? []), binding.warning];
    if (!binding.keepVolumeName) {
      delete (desired.spec as { volumeName?: string }).volumeName;
      await respool(ctx, draft, desired);
    }
  };
}

/** Store a draft's object again after a plan-time check changed it: apply reads the spool. */
function respool(ctx: DraftContext, draft: Draft, obj: KubeObject): Promise<void> {
  return ctx.spool.put(draft.key, obj, JSON.stringify(obj).length);
}

/**
 * A Service created with a cluster IP the user set (cluster-ip.ts): kept when this cluster's
 * service ranges hold it and no other Service has it, else left out with a warning. The ranges
 * are read once; each address is one GET of its IPAddress object.
 */
function clusterIpChecker(o: {
  kube: KubeClient;
  ctx: DraftContext;
}): (draft: Draft, input: PlanInputItem) => Promise<void> {
  const { ctx } = o;
  let ranges: Promise<string[]> | undefined;
  const serviceRanges = (): Promise<string[]> => {
    const info = ctx.served.get('servicecidrs.networking.k8s.io');
    ranges ??= info
      ? o.kube.list(info, {}).then((page) =>
          page.items.flatMap((cidr) => {
            const cidrs = (cidr.spec as { cidrs?: unknown } | undefined)?.cidrs;
            return Array.isArray(cidrs) ? cidrs.filter((c): c is string => typeof c === 'string') : [];
          }),
        )
      : Promise.resolve([]);
    return ranges;
  };
  return async (draft, input) => {
    if (draft.base.groupResource !== 'services' || !input.desired) return;
    const ips = requestedClusterIps(input.desired);
    if (ips.length === 0) return;
    if (input.live) {
      // The address is immutable: an existing Service keeps its own, whatever the backup says.
      const liveIps = requestedClusterIps(input.live);
      if (liveIps.join() === ips.join()) return;
      input.notes = [...(input.notes ?? []), liveAddressNote(ips, liveIps)];
      input.desired = withoutClusterIps(input.desired);
      await respool(ctx, draft, input.desired);
      return;
    }
    const addresses = ctx.served.get('ipaddresses.networking.k8s.io');
    const holders = new Map<string, AddressHolder>();
    for (const ip of ips) {
      const found = addresses ? await o.kube.get(addresses, '', ip) : null;
      if (found) holders.set(ip, (found.spec as { parentRef?: AddressHolder } | undefined)?.parentRef ?? {});
    }
    const verdict = judgeClusterIps(input.desired, ips, { serviceRanges: await serviceRanges(), holders });
    if (verdict.keep) {
      input.notes = [...(input.notes ?? []), verdict.note];
      return;
    }
    input.warnings = [...(input.warnings ?? []), verdict.warning];
    input.desired = withoutClusterIps(input.desired);
    await respool(ctx, draft, input.desired);
  };
}

/**
 * Claims restored from a CSI snapshot: the snapshot must come back with them (its restored
 * VolumeSnapshot is in the plan and valid) and must still exist (snapshot-check.ts); otherwise
 * the claim is `invalid`, as creating it would leave it Pending for good. Also the plan's
 * volume row of every claim.
 */
function claimVolumeChecker(o: { kube: KubeClient; drafts: Draft[]; ctx: DraftContext }): {
  check: (input: PlanInputItem) => Promise<void>;
  row: (item: Omit<PlanItem, 'tier'>, input: PlanInputItem, moved?: MovedClaimCopy) => PlanVolume;
} {
  const { ctx } = o;
  const snapshotDrafts = new Map(
    o.drafts
      .filter((d) => d.base.groupResource === VOLUME_SNAPSHOTS)
      .map((d) => [`${d.base.namespace}/${d.base.name}`, d]),
  );
  const byRestoredName = new Map(
    [...ctx.csi.snapshots.values()].map((s) => [
      restoredSnapshotName(ctx.restoreName, s.namespace, s.volumeSnapshot),
      s,
    ]),
  );
  const exists = snapshotChecker({ kube: o.kube, served: ctx.served });
  const sourceOf = (input: PlanInputItem): string | undefined =>
    input.desired ? snapshotSourceOf(input.desired) : undefined;
  return {
    check: async (input) => {
      const source = sourceOf(input);
      if (source === undefined || input.live !== null || input.invalidReason !== undefined) return;
      const vs = snapshotDrafts.get(`${input.namespace}/${source}`);
      const snap = byRestoredName.get(source);
      const what = snap ? `${snap.namespace}/${snap.volumeSnapshot}` : source;
      if (!vs || !vs.spooled || vs.invalidReason !== undefined || vs.skipReason !== undefined) {
        input.invalidReason = `its CSI snapshot ${what} cannot be restored: ${
          vs?.invalidReason ?? vs?.skipReason ?? 'the backup has no VolumeSnapshot for it'
        }`;
        return;
      }
      if (!snap?.snapshotHandle || !snap.driver) {
        input.invalidReason = `its CSI snapshot ${what} has no snapshot handle or driver in the backup`;
        return;
      }
      const state = await exists({ handle: snap.snapshotHandle, driver: snap.driver });
      if (state.state === 'gone') {
        input.invalidReason = `its CSI snapshot ${what} (handle ${snap.snapshotHandle}) no longer exists: ${state.reason}`;
      } else if (state.state === 'unknown') {
        input.warnings = [
          ...(input.warnings ?? []),
          `could not confirm that its CSI snapshot ${what} (handle ${snap.snapshotHandle}) still exists: ${state.reason}`,
        ];
      }
    },
    row: (item, input, moved) => {
      const source = sourceOf(input);
      const desiredSpec = isJsonMap(input.desired?.spec) ? input.desired.spec : {};
      const resources = isJsonMap(desiredSpec.resources) ? desiredSpec.resources : {};
      const requests = isJsonMap(resources.requests) ? resources.requests : {};
      const fromBackup = source !== undefined ? byRestoredName.get(source) : undefined;
      const row: PlanVolume = { namespace: item.namespace, claim: item.name, action: 'create' };
      if (typeof requests.storage === 'string') row.size = requests.storage;
      if (typeof desiredSpec.storageClassName === 'string') row.storageClass = desiredSpec.storageClassName;
      if (fromBackup) {
        row.snapshot = {
          volumeSnapshot: `${fromBackup.namespace}/${fromBackup.volumeSnapshot}`,
          ...(fromBackup.snapshotHandle ? { handle: fromBackup.snapshotHandle } : {}),
          ...(fromBackup.driver ? { driver: fromBackup.driver } : {}),
          ...(fromBackup.restoreSize ? { restoreSize: fromBackup.restoreSize } : {}),
          restoredAs: source,
        };
      }
      if (moved) row.copy = moved;
      switch (item.action) {
        case 'create':
          if (source !== undefined) row.action = 'create-from-snapshot';
          else if (moved) row.action = 'create-from-copy';
          else if (ctx.csi.restorePVs === false && input.desired && claimSnapshot(input.desired, ctx.csi)) {
            row.reason = 'restorePVs is false: a new, empty volume';
          }
          break;
        case 'conflict':
        case 'invalid':
          row.action = item.action;
          if (item.reason !== undefined) row.reason = item.reason;
          break;
        default:
          row.action = 'skip';
          row.reason = input.live
            ? 'the claim exists; its volume is left as it is'
            : (item.reason ?? item.action);
      }
      return row;
    },
  };
}

/**
 * Warnings for objects that call a Service (backends.ts): whether the restore brings the
 * Service, or else whether the cluster has it with a ready endpoint. Each Service is read once.
 */
function backendChecker(o: {
  kube: KubeClient;
  served: Map<string, ResourceInfo>;
  restoredServices: Set<string>;
}): (groupResource: string, obj: KubeObject) => Promise<string[]> {
  const states = new Map<string, Promise<BackendState>>();
  const stateOf = async (ref: BackendRef): Promise<BackendState> => {
    const key = `${ref.namespace}/${ref.name}`;
    if (o.restoredServices.has(key)) return 'restored';
    const services = o.served.get('services');
    const slices = o.served.get('endpointslices.discovery.k8s.io');
    if (!services || !slices) return 'missing';
    if ((await o.kube.get(services, ref.namespace, ref.name)) === null) return 'missing';
    const page = await o.kube.list(slices, {
      namespace: ref.namespace,
      labelSelector: `kubernetes.io/service-name=${ref.name}`,
    });
    return hasReadyEndpoint(page.items) ? 'ready' : 'no-ready-endpoints';
  };
  return async (groupResource, obj) => {
    const warnings: string[] = [];
    for (const ref of backendsOf(groupResource, obj)) {
      const key = `${ref.namespace}/${ref.name}`;
      let state = states.get(key);
      if (!state) {
        state = stateOf(ref);
        states.set(key, state);
      }
      const warning = backendWarning(ref, await state);
      if (warning) warnings.push(warning);
    }
    return warnings;
  };
}

/** The plan input of one draft, with the dry run where one can tell something. */
async function planInput(a: {
  draft: Draft;
  desired: KubeObject | null;
  live: LiveRead | undefined;
  namespaceMissing: boolean;
  crdsRestored: Set<string>;
  o: { kube: KubeClient; ctx: DraftContext; dryRun: boolean };
  dryRuns: ReturnType<typeof pLimit>;
  /** Whether a Namespace create can be refused by more than what the archive shows. */
  namespaceDryRuns: () => Promise<boolean>;
}): Promise<PlanInputItem> {
  const { draft, desired } = a;
  const { base } = draft;
  if (draft.skipReason !== undefined)
    return { ...base, desired: null, live: null, skipReason: draft.skipReason };
  if (draft.invalidReason !== undefined || desired === null) {
    return { ...base, desired, live: null, invalidReason: draft.invalidReason ?? 'not prepared' };
  }
  if (!draft.info) {
    // Not served by the cluster: fine when the backup brings its CRD (it is created in an
    // earlier tier, and apply waits for it); otherwise nothing can be created.
    if (a.crdsRestored.has(base.groupResource)) return { ...base, desired, live: null };
    return {
      ...base,
      desired,
      live: null,
      invalidReason: `the cluster does not serve ${base.groupResource} and the backup has no CustomResourceDefinition for it`,
    };
  }
  const read = a.live ?? { error: 'not read' };
  if ('error' in read) {
    return { ...base, desired, live: null, invalidReason: `cannot read the live object: ${read.error}` };
  }
  const live = read.object;
  const { info } = draft;
  // A create into a namespace that does not exist yet is refused by the dry run (the namespace
  // comes in an earlier tier), which tells nothing; the apiserver also holds each such request
  // 50 ms waiting for the namespace to appear (NamespaceLifecycle admission), so none is sent.
  // A Namespace create is dry-run only where a webhook or policy could refuse it, or the
  // restore may not create namespaces (namespace-admission.ts): otherwise each answers what
  // the archive already shows, a hundred requests for a restore of a hundred namespaces.
  const unchecked =
    base.groupResource === 'namespaces' && live === null && a.o.dryRun && !(await a.namespaceDryRuns());
  const dryRunError =
    a.o.dryRun && !a.namespaceMissing && !unchecked
      ? await a.dryRuns(() => dryRunFor({ kube: a.o.kube, info, desired, live, spec: a.o.ctx.spec }))
      : undefined;
  return {
    ...base,
    desired,
    live,
    ...(dryRunError ? { dryRunError } : {}),
    ...(a.namespaceMissing ? { namespaceNew: true } : {}),
  };
}

/**
 * Whether the plan must dry-run its Namespace creates: true when this client may not create
 * namespaces (the dry runs then say so per namespace), when a webhook or admission policy can
 * see a Namespace create, or when either cannot be found out. One access review and a LIST per
 * admission resource the cluster serves.
 */
async function namespaceCreatesNeedDryRuns(
  kube: KubeClient,
  served: Map<string, ResourceInfo>,
): Promise<boolean> {
  try {
    const [answer, ...lists] = await Promise.all([
      kube.create(SELF_SUBJECT_ACCESS_REVIEWS, {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        metadata: {},
        spec: { resourceAttributes: { verb: 'create', group: '', version: 'v1', resource: 'namespaces' } },
      }),
      ...ADMISSION_RESOURCES.flatMap((gr) => {
        const info = served.get(gr);
        return info ? [kube.list(info, {})] : [];
      }),
    ]);
    const allowed = (answer.status as { allowed?: unknown } | undefined)?.allowed === true;
    // More than a page of webhooks and policies: not worth reading further; dry-run instead.
    if (!allowed || lists.some((page) => page.continueToken)) return true;
    return namespaceCreateInterceptors(lists.flatMap((page) => page.items)).length > 0;
  } catch {
    return true;
  }
}

/** Create-only, so discovery's listable resources leave it out; authorization.k8s.io/v1 since 1.6. */
const SELF_SUBJECT_ACCESS_REVIEWS: ResourceInfo = {
  group: 'authorization.k8s.io',
  version: 'v1',
  resource: 'selfsubjectaccessreviews',
  kind: 'SelfSubjectAccessReview',
  namespaced: false,
  verbs: ['create'],
  shortNames: [],
  singularName: 'selfsubjectaccessreview',
  preferredVersion: 'v1',
};

/**
 * The resource at the version the object is written in. Velero creates each object through its
 * own apiVersion (restore.go restoreItem: the dynamic client for the object's GroupVersionKind),
 * so an object from an old archive's unversioned directory — written at whatever version the
 * source cluster preferred then — is sent as it is and the apiserver converts it. Discovery
 * gives the preferred version; a resource keeps its name across versions, so only that changes.
 */
export function atObjectVersion(info: ResourceInfo, apiVersion: string): ResourceInfo {
  const slash = apiVersion.indexOf('/');
  const group = slash === -1 ? '' : apiVersion.slice(0, slash);
  const version = slash === -1 ? apiVersion : apiVersion.slice(slash + 1);
  if (group !== info.group || version === '' || version === info.version) return info;
  return { ...info, version };
}

/**
 * Server-side dry run (dryRun=All): admission and validation run, nothing is persisted, so the
 * plan shows now what apply would be refused. A create into a namespace that does not exist
 * yet cannot be dry-run (the namespace is created in an earlier tier); those are not errors.
 */
async function dryRunFor(o: {
  kube: KubeClient;
  info: ResourceInfo;
  desired: KubeObject;
  live: KubeObject | null;
  spec: RestoreSpec;
}): Promise<string | undefined> {
  try {
    if (o.live === null) await o.kube.create(o.info, o.desired, { dryRun: true });
    else if (o.spec.existingResourcePolicy === 'update') {
      // Forced as apply forces it (engine.ts applyItem), so the dry run judges the same write.
      await o.kube.apply(o.info, o.desired, { fieldManager: FIELD_MANAGER, force: true, dryRun: true });
    }
    return undefined;
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 404 && o.live === null) return undefined;
    if (err instanceof KubeApiError && err.reason === 'AlreadyExists') return undefined;
    return errorText(err);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
