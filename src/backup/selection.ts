// What a backup lists and keeps, from its spec and the discovered resources, with Velero's
// semantics (filters.ts) and the "auto" rule for cluster-scoped objects (cluster-scope.ts).
//
// Listing happens in phases so that dependencies are known before they are needed:
//   1. namespaced types — they decide which cluster-scoped objects "auto" pulls in;
//   2. ClusterRoleBindings — they decide which ClusterRoles are pulled in;
//   3. every other cluster-scoped type.
import type { KubeObject, ResourceInfo } from '../kube/types.js';
import { groupResource } from '../kube/types.js';
import type { BackupSpec } from './spec.js';
import { compileFilter, type ResourceFilter } from './filters.js';
import { createClusterDependencyCollector, type ClusterDependencyCollector } from './cluster-scope.js';

export interface ListTarget {
  info: ResourceInfo;
  /** List these namespaces one by one; undefined lists across all namespaces. */
  namespaces?: string[];
  phase: 1 | 2 | 3;
  /** Every object of the type (subject to object filters) or only dependencies of included objects. */
  mode: 'all' | 'dependencies';
}

export interface BackupSelection {
  types: ListTarget[];
  /** A label selector the server can apply (only when there is exactly one). */
  serverLabelSelector?: string;
  /** Whether to keep a listed object. Must be called in phase order (see above). */
  keepObject(info: ResourceInfo, obj: KubeObject): boolean;
  warnings: string[];
  filter: ResourceFilter;
}

const CLUSTER_ROLE_BINDINGS = 'clusterrolebindings.rbac.authorization.k8s.io';
const NAMESPACES = 'namespaces';

/**
 * Namespaces ordered so that listing them one after another yields "<ns>/<name>" in sorted
 * order, as one list across all namespaces does (etcd key order): by "<ns>/", not "<ns>" —
 * "app-1/x" sorts before "app/x". The resource list relies on it (resource-list.ts).
 */
export function inListOrder(namespaces: string[] | undefined): string[] | undefined {
  if (!namespaces) return undefined;
  return [...namespaces].sort((a, b) => {
    const [x, y] = [`${a}/`, `${b}/`];
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** Up to this many namespaces are always listed one by one: a few calls per type at most. */
export const PER_NAMESPACE_MAX = 3;
/** Beyond PER_NAMESPACE_MAX, one by one only while the selection is under this share of the cluster. */
export const PER_NAMESPACE_MAX_SHARE = 0.1;

/**
 * Whether to list a literal list of namespaces one by one (a LIST per type and namespace) or
 * across all namespaces, dropping the others on the client (keepObject checks the namespace
 * anyway). Each LIST costs a round trip and the API server's per-request work whether the
 * namespace holds anything or not — 100 namespaces × 40 types are 4,000 calls, 3.4× slower
 * than one LIST per type of the whole cluster in the backup benchmark — while listing across
 * namespaces costs the objects of the namespaces not wanted. So: one by one for a few
 * namespaces, or while they are a small share of the cluster's namespaces (when known).
 */
export function listsNamespacesOneByOne(selected: number, clusterNamespaces?: number): boolean {
  if (selected <= PER_NAMESPACE_MAX) return true;
  if (clusterNamespaces === undefined) return false;
  return selected <= clusterNamespaces * PER_NAMESPACE_MAX_SHARE;
}

export interface SelectOptions {
  /** How many namespaces the cluster has, if known: it decides how literal namespaces are listed. */
  clusterNamespaces?: number;
}

export function selectResources(
  spec: BackupSpec,
  resources: ResourceInfo[],
  opts: SelectOptions = {},
): BackupSelection {
  const filter = compileFilter(spec, resources, { purpose: 'backup' });
  const collector: ClusterDependencyCollector = createClusterDependencyCollector({ filter });
  const literal = filter.listNamespaces();
  const namespaces =
    literal && listsNamespacesOneByOne(literal.length, opts.clusterNamespaces)
      ? inListOrder(literal)
      : undefined;
  const types: ListTarget[] = [];
  for (const info of resources) {
    const gr = groupResource(info);
    if (info.namespaced) {
      if (filter.includesResource(info))
        types.push({ info, ...(namespaces ? { namespaces } : {}), phase: 1, mode: 'all' });
      continue;
    }
    const phase = gr === CLUSTER_ROLE_BINDINGS ? 2 : 3;
    if (gr === NAMESPACES) {
      // Namespace objects follow Velero's own rule (nsTracker), whatever the cluster-scope mode.
      if (!filter.excludesResource(info)) types.push({ info, phase, mode: 'dependencies' });
    } else if (filter.includesResource(info)) {
      types.push({ info, phase, mode: 'all' });
    } else if (!filter.excludesResource(info)) {
      types.push({ info, phase, mode: 'dependencies' });
    }
  }
  const modes = new Map(types.map((t) => [groupResource(t.info), t.mode]));
  const selectors = filter.listSelectors();
  const single = selectors.length === 1 ? selectors[0] : undefined;

  // keepObject is asked about every listed object, a page of one type at a time: the type's
  // name is made once per page, not once per object.
  let lastInfo: ResourceInfo | undefined;
  let lastGr = '';
  return {
    types,
    filter,
    ...(single ? { serverLabelSelector: single } : {}),
    warnings: [],
    keepObject(info, obj) {
      if (info !== lastInfo) {
        lastInfo = info;
        lastGr = groupResource(info);
      }
      const gr = lastGr;
      if (info.namespaced) {
        if (!filter.includesNamespace(obj.metadata.namespace ?? '') || !filter.includesObject(obj))
          return false;
        collector.add(obj, gr);
        return true;
      }
      if (gr === NAMESPACES) return collector.includesNamespaceObject(obj);
      if (gr === CLUSTER_ROLE_BINDINGS) collector.addClusterRoleBinding(obj);
      if (modes.get(gr) === 'all') {
        if (!filter.includesObject(obj)) return false;
        // Cluster-scoped custom resources pull in their CRD like namespaced ones.
        collector.add(obj, gr);
        return true;
      }
      return collector.has(gr, obj.metadata.name ?? '') && filter.includesDependency(obj, info);
    },
  };
}
