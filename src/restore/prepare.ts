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
import { prepareDesiredObject, type PlanInputItem } from './plan.js';
import { mapNamespace } from './namespace-mapping.js';
import { liveKey, readLiveObjects, type LiveRead, type LiveRef } from './live-objects.js';
import type { RestoreSpec } from './spec.js';

export interface PreparedRestore {
  items: PlanInputItem[];
  /** Item key (see itemKey) → the object apply will write. */
  desired: Map<string, KubeObject>;
  /** groupResource → how to reach it in the target cluster (absent: not served yet). */
  resources: Map<string, ResourceInfo>;
  index: ArchiveIndex;
}

/** The server-side apply field manager of everything a restore writes. */
export const FIELD_MANAGER = 'lifeboat';

export function itemKey(i: { groupResource: string; namespace: string; name: string }): string {
  return `${i.groupResource}/${i.namespace}/${i.name}`;
}

const CRDS = 'customresourcedefinitions.apiextensions.k8s.io';

/** Which resources Velero restores status for (spec.restoreStatus.included/excludedResources). */
function restoresStatus(spec: RestoreSpec, gr: string): boolean {
  const rs = spec.restoreStatus;
  if (!rs) return false;
  const inc = rs.includedResources ?? [];
  const exc = rs.excludedResources ?? [];
  if (exc.includes(gr) || exc.includes('*')) return false;
  return inc.includes('*') || inc.includes(gr);
}

export async function prepareRestore(opts: {
  kube: KubeClient;
  store: BackupStore;
  backup: VeleroBackup;
  restoreName: string;
  spec: RestoreSpec;
  dryRun?: boolean;
  concurrency?: number;
}): Promise<PreparedRestore> {
  const { kube, store, backup, spec } = opts;
  const backupName = backup.metadata.name;
  // Pass 1 verifies the whole archive before anything is decided (archive-items.ts).
  const index = await indexArchive(store, backup);
  const api = await discover(kube);
  const served = new Map(api.resources.map((r) => [groupResource(r), r]));
  const versionsOf = new Map(
    api.groups.map((g) => [g.group, g.versions.filter((v) => v.available).map((v) => v.version)]),
  );

  // Resources that exist only in the archive (custom resources whose CRD is not installed
  // yet), so filters can name them and the plan can report them.
  const chosenDir = new Map<string, string>();
  for (const [gr, dirs] of index.versionDirs) {
    const group = gr.includes('.') ? gr.slice(gr.indexOf('.') + 1) : '';
    chosenDir.set(gr, chooseVersionDir(dirs, versionsOf.get(group) ?? []));
  }
  const facts = index.types;
  const archiveOnly: ResourceInfo[] = [...facts]
    .filter(([gr]) => !served.has(gr))
    .map(([gr, f]) => pseudoInfo(gr, f));
  const filter = compileFilter(spec, [...api.resources, ...archiveOnly], { purpose: 'restore' });
  const infoOf = (gr: string): ResourceInfo | undefined =>
    served.get(gr) ?? archiveOnly.find((r) => groupResource(r) === gr);

  // Cluster-scoped objects under "auto" follow what is restored (PVs of PVCs, CRDs of CRs),
  // exactly as in a backup; pass 2 learns the dependencies from the namespaced objects.
  const collector = createClusterDependencyCollector({ filter });
  const selected: { gr: string; obj: KubeObject }[] = [];
  const clusterCandidates: { gr: string; obj: KubeObject }[] = [];
  for await (const item of archiveItems({ store, backup, chosen: (gr) => chosenDir.get(gr) ?? '' })) {
    const info = infoOf(item.groupResource);
    if (!info) continue;
    if (item.namespace !== '') {
      if (!filter.includesResource(info) || !filter.includesNamespace(item.namespace)) continue;
      if (!filter.includesObject(item.object)) continue;
      collector.add(item.object, item.groupResource);
      selected.push({ gr: item.groupResource, obj: item.object });
    } else {
      if (item.groupResource === 'clusterrolebindings.rbac.authorization.k8s.io') {
        collector.addClusterRoleBinding(item.object);
      }
      clusterCandidates.push({ gr: item.groupResource, obj: item.object });
    }
  }
  for (const c of clusterCandidates) {
    const info = infoOf(c.gr);
    if (!info) continue;
    const name = c.obj.metadata.name ?? '';
    const keep =
      c.gr === 'namespaces'
        ? collector.includesNamespaceObject(c.obj)
        : filter.includesResource(info)
          ? filter.includesObject(c.obj)
          : collector.has(c.gr, name) && filter.includesDependency(c.obj, info);
    if (keep) selected.push({ gr: c.gr, obj: c.obj });
  }
  addMissingNamespaces(selected);

  const crdsRestored = new Set(selected.filter((s) => s.gr === CRDS).map((s) => s.obj.metadata.name ?? ''));
  const drafts = selected.map(({ gr, obj }) =>
    draftItem({
      gr,
      obj,
      spec,
      backupName,
      restoreName: opts.restoreName,
      served,
      versionsOf,
      crdsRestored,
    }),
  );
  const concurrency = opts.concurrency ?? 16;
  await readLive({ kube, drafts, namespacesInfo: served.get('namespaces'), concurrency });
  const desired = new Map<string, KubeObject>();
  const limit = pLimit(concurrency);
  const items = await Promise.all(
    drafts.map((d) =>
      limit(() => finishItem({ draft: d, kube, spec, dryRun: opts.dryRun ?? true, desired })),
    ),
  );
  return { items, desired, resources: served, index };
}

/**
 * Velero creates the target namespace of restored objects when the backup does not hold it
 * (restore.go: namespace is created on demand); the plan shows it as a create.
 */
function addMissingNamespaces(selected: { gr: string; obj: KubeObject }[]): void {
  const present = new Set(selected.filter((s) => s.gr === 'namespaces').map((s) => s.obj.metadata.name));
  const needed = new Set<string>();
  for (const s of selected) {
    const ns = s.obj.metadata.namespace;
    if (ns && !present.has(ns)) needed.add(ns);
  }
  for (const ns of [...needed].sort()) {
    selected.push({ gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
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
 * One selected object on its way to a plan item: decided already without the cluster (skipped,
 * invalid, or a custom resource whose CRD the restore brings), or waiting for its live object.
 */
type Draft =
  | { decided: PlanInputItem; desired?: KubeObject }
  | {
      base: ItemBase;
      desired: KubeObject;
      /** The resource at the object's version. */
      info: ResourceInfo;
      /** Filled by readLive; null when the object (or its namespace) does not exist. */
      live?: LiveRead;
      /** Its namespace does not exist: nothing can exist in it, and nothing can be dry-run there. */
      namespaceMissing?: boolean;
    };

/** Everything about one object that needs no cluster call: target, sanitizing, modifiers, served version. */
function draftItem(o: {
  gr: string;
  obj: KubeObject;
  spec: RestoreSpec;
  backupName: string;
  restoreName: string;
  served: Map<string, ResourceInfo>;
  /** API group → the versions the cluster serves. */
  versionsOf: Map<string, string[]>;
  crdsRestored: Set<string>;
}): Draft {
  const { gr, obj, spec } = o;
  const targetNamespace = obj.metadata.namespace
    ? mapNamespace(obj.metadata.namespace, spec.namespaceMapping)
    : '';
  const name =
    gr === 'namespaces'
      ? mapNamespace(obj.metadata.name ?? '', spec.namespaceMapping)
      : (obj.metadata.name ?? '');
  const base: ItemBase = {
    groupResource: gr,
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    namespace: targetNamespace,
    name,
  };
  const prepared = prepareDesiredObject(obj, {
    groupResource: gr,
    spec,
    backupName: o.backupName,
    restoreName: o.restoreName,
    restoreStatus: restoresStatus(spec, gr),
  });
  if (prepared.desired === null) {
    return 'skipReason' in prepared
      ? { decided: { ...base, desired: null, live: null, skipReason: prepared.skipReason } }
      : { decided: { ...base, desired: null, live: null, invalidReason: prepared.invalidReason } };
  }
  const desiredObj = prepared.desired;
  const preferred = o.served.get(gr);
  if (!preferred) {
    // Not served by the cluster: fine when the backup brings its CRD (it is created in an
    // earlier tier, and apply waits for it); otherwise nothing can be created.
    if (o.crdsRestored.has(gr)) {
      return { decided: { ...base, desired: desiredObj, live: null }, desired: desiredObj };
    }
    return {
      decided: {
        ...base,
        desired: desiredObj,
        live: null,
        invalidReason: `the cluster does not serve ${gr} and the backup has no CustomResourceDefinition for it`,
      },
    };
  }
  const info = atObjectVersion(preferred, desiredObj.apiVersion);
  const versions = o.versionsOf.get(info.group) ?? [];
  if (!versions.includes(info.version)) {
    return {
      decided: {
        ...base,
        desired: desiredObj,
        live: null,
        invalidReason: `the cluster serves ${gr} at ${versions.join(', ') || 'no version'}, not at ${desiredObj.apiVersion}`,
      },
    };
  }
  return { base, desired: desiredObj, info };
}

/**
 * Read the live object of every draft that needs one (live-objects.ts: a LIST where a namespace
 * has many of a type). Cluster-scoped objects and the target namespaces first: objects in a
 * namespace that does not exist do not exist either, and are not read at all — a restore into
 * new namespaces, the usual case after a disaster, then costs the cluster nothing to plan.
 */
async function readLive(o: {
  kube: KubeClient;
  drafts: Draft[];
  namespacesInfo: ResourceInfo | undefined;
  concurrency: number;
}): Promise<void> {
  const pending = o.drafts.filter((d): d is Extract<Draft, { info: ResourceInfo }> => 'info' in d);
  const refOf = (d: (typeof pending)[number]): LiveRef => ({
    info: d.info,
    namespace: d.base.namespace,
    name: d.base.name,
  });
  const clusterScoped = pending.filter((d) => d.base.namespace === '');
  const namespaced = pending.filter((d) => d.base.namespace !== '');
  const targets = [...new Set(namespaced.map((d) => d.base.namespace))];
  const namespaceRefs: LiveRef[] = o.namespacesInfo
    ? targets.map((name) => ({ info: o.namespacesInfo as ResourceInfo, namespace: '', name }))
    : [];
  const first = await readLiveObjects({
    kube: o.kube,
    refs: [...clusterScoped.map(refOf), ...namespaceRefs],
    concurrency: o.concurrency,
  });
  for (const d of clusterScoped) d.live = first.get(liveKey(refOf(d)));
  // A namespace that could not be read counts as existing: its objects are then read one by
  // one, and each reports its own error.
  const missing = new Set(
    namespaceRefs
      .filter((r) => {
        const read = first.get(liveKey(r));
        return read !== undefined && 'object' in read && read.object === null;
      })
      .map((r) => r.name),
  );
  const toRead = namespaced.filter((d) => !missing.has(d.base.namespace));
  for (const d of namespaced) {
    if (missing.has(d.base.namespace)) {
      d.live = { object: null };
      d.namespaceMissing = true;
    }
  }
  const second = await readLiveObjects({ kube: o.kube, refs: toRead.map(refOf), concurrency: o.concurrency });
  for (const d of toRead) d.live = second.get(liveKey(refOf(d)));
}

/** The plan input of one draft, with the dry run where one can tell something. */
async function finishItem(o: {
  draft: Draft;
  kube: KubeClient;
  spec: RestoreSpec;
  dryRun: boolean;
  desired: Map<string, KubeObject>;
}): Promise<PlanInputItem> {
  const { draft } = o;
  if ('decided' in draft) {
    if (draft.desired) o.desired.set(itemKey(draft.decided), draft.desired);
    return draft.decided;
  }
  const { base, info } = draft;
  const read = draft.live ?? { error: 'not read' };
  if ('error' in read) {
    return {
      ...base,
      desired: draft.desired,
      live: null,
      invalidReason: `cannot read the live object: ${read.error}`,
    };
  }
  const live = read.object;
  o.desired.set(itemKey(base), draft.desired);
  // A create into a namespace that does not exist yet is refused by the dry run (the namespace
  // comes in an earlier tier), which tells nothing; the apiserver also holds each such request
  // 50 ms waiting for the namespace to appear (NamespaceLifecycle admission), so none is sent.
  const dryRunError =
    o.dryRun && !draft.namespaceMissing
      ? await dryRunFor({ kube: o.kube, info, desired: draft.desired, live, spec: o.spec })
      : undefined;
  return { ...base, desired: draft.desired, live, ...(dryRunError ? { dryRunError } : {}) };
}

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
