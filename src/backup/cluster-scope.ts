// Cluster-scoped objects a backup needs because of the objects it includes.
//
// When a backup is limited to some namespaces and includeClusterResources is "auto", Velero
// lists no cluster-scoped types directly, but its backup item actions pull in what the
// included objects depend on. We mirror these, and nothing else:
//   - PersistentVolumeClaim → its PersistentVolume, when the claim is Bound and names a volume
//     (pkg/backup/actions/backup_pv_action.go PVCAction).
//   - ServiceAccount → every ClusterRoleBinding with that account as a subject, and the
//     ClusterRole each such binding refers to (pkg/backup/actions/service_account_action.go).
//   - RoleBinding → the ClusterRole it refers to (roleRef kind ClusterRole): a namespace's
//     permissions are often granted through a shared ClusterRole, and without it the restored
//     binding grants nothing (issue 18).
//   - A custom resource → its CustomResourceDefinition, named `<plural>.<group>`; Velero does
//     this after the items are written, and only when the CRD type is neither included nor
//     excluded by the filters (pkg/backup/backup.go backupCRD and its caller).
//   - An included object's namespace → the Namespace object (item_collector.go nsTracker).
// Each candidate is kept only if the filter allows the type as a dependency (Velero's
// ShouldExclude, via ResourceFilter.excludesResource). Dependencies can overlap objects the
// backup lists directly (for example in a full-cluster backup): the caller de-duplicates by
// key, as Velero's BackedUpItems map does. The backup must still check each fetched object
// with ResourceFilter.includesDependency (exclude label, deletion) before writing it.
//
// The collector is incremental: objects stream through `add` and only small keys are kept.
import { groupResource, type KubeObject } from '../kube/types.js';
import type { ResourceFilter, ResourceScope } from './filters.js';

export interface ClusterDependency {
  /** Canonical `resource.group` of the cluster-scoped object. */
  groupResource: string;
  name: string;
  /** Why it is needed, for the backup log. */
  reason: string;
}

export interface ClusterDependencyCollector {
  /** Record an object the backup includes (namespaced, or cluster-scoped custom resources). */
  add(obj: KubeObject, groupResource: string): void;
  /** Record a ClusterRoleBinding of the cluster (they may arrive before or after the accounts). */
  addClusterRoleBinding(binding: KubeObject): void;
  /** The cluster-scoped objects to include, sorted by type and name. */
  dependencies(): ClusterDependency[];
  has(groupResource: string, name: string): boolean;
  /** Namespaces holding at least one included object. */
  namespacesWithItems(): ReadonlySet<string>;
  /** Velero's decision for one Namespace object from the cluster's namespace list. */
  includesNamespaceObject(namespace: KubeObject): boolean;
}

export interface ClusterDependencyOptions {
  filter: ResourceFilter;
  /**
   * Names of the CustomResourceDefinitions in the cluster (`<plural>.<group>`). Without them,
   * every resource of a non-core group yields a CRD candidate and the backup must tolerate
   * NotFound when fetching it, as Velero does.
   */
  customResourceDefinitions?: Iterable<string>;
  clusterRoleBindings?: Iterable<KubeObject>;
}

export const PERSISTENT_VOLUMES: ResourceScope = {
  group: '',
  resource: 'persistentvolumes',
  namespaced: false,
};
export const CLUSTER_ROLE_BINDINGS: ResourceScope = {
  group: 'rbac.authorization.k8s.io',
  resource: 'clusterrolebindings',
  namespaced: false,
};
export const CLUSTER_ROLES: ResourceScope = {
  group: 'rbac.authorization.k8s.io',
  resource: 'clusterroles',
  namespaced: false,
};
export const CUSTOM_RESOURCE_DEFINITIONS: ResourceScope = {
  group: 'apiextensions.k8s.io',
  resource: 'customresourcedefinitions',
  namespaced: false,
};
const NAMESPACES: ResourceScope = { group: '', resource: 'namespaces', namespaced: false };

interface BindingSummary {
  name: string;
  clusterRole: string | undefined;
  /** `namespace/name` of each ServiceAccount subject. */
  serviceAccounts: Set<string>;
}

function summarizeBinding(binding: KubeObject): BindingSummary | undefined {
  const name = binding.metadata.name;
  if (!name) return undefined;
  const roleRef = binding.roleRef as { kind?: unknown; name?: unknown } | undefined;
  const clusterRole =
    roleRef?.kind === 'ClusterRole' && typeof roleRef.name === 'string' ? roleRef.name : undefined;
  const serviceAccounts = new Set<string>();
  const subjects: unknown = binding.subjects;
  if (Array.isArray(subjects)) {
    for (const subject of subjects as { kind?: unknown; namespace?: unknown; name?: unknown }[]) {
      // rbac ClusterRoleBinding.ServiceAccountSubjects: kind ServiceAccount in that namespace.
      if (
        subject.kind === 'ServiceAccount' &&
        typeof subject.namespace === 'string' &&
        typeof subject.name === 'string'
      ) {
        serviceAccounts.add(`${subject.namespace}/${subject.name}`);
      }
    }
  }
  return { name, clusterRole, serviceAccounts };
}

/** The volume a PersistentVolumeClaim is bound to, if it is bound (PVCAction.Execute). */
export function boundVolumeName(claim: KubeObject): string | undefined {
  const spec = claim.spec as { volumeName?: unknown } | undefined;
  const status = claim.status as { phase?: unknown } | undefined;
  if (status?.phase !== 'Bound') return undefined;
  return typeof spec?.volumeName === 'string' && spec.volumeName !== '' ? spec.volumeName : undefined;
}

function splitGroupResource(key: string): { resource: string; group: string } {
  const dot = key.indexOf('.');
  return dot < 0 ? { resource: key, group: '' } : { resource: key.slice(0, dot), group: key.slice(dot + 1) };
}

export function createClusterDependencyCollector(
  options: ClusterDependencyOptions,
): ClusterDependencyCollector {
  const { filter } = options;
  const found = new Map<string, ClusterDependency>();
  const namespaces = new Set<string>();
  const serviceAccounts = new Set<string>();
  const bindings: BindingSummary[] = [];
  const knownCrds = options.customResourceDefinitions
    ? new Set(options.customResourceDefinitions)
    : undefined;
  const seenGroupResources = new Set<string>();

  // The filter is fixed, so whether each dependency type is allowed is decided once.
  const allowsPersistentVolumes = !filter.excludesResource(PERSISTENT_VOLUMES);
  const allowsBindings = !filter.excludesResource(CLUSTER_ROLE_BINDINGS);
  const allowsRoles = !filter.excludesResource(CLUSTER_ROLES);
  const allowsNamespaces = filter.includesResource(NAMESPACES);
  const allowsCrds =
    !filter.excludesResource(CUSTOM_RESOURCE_DEFINITIONS) &&
    !filter.includesResource(CUSTOM_RESOURCE_DEFINITIONS);

  function record(scope: ResourceScope, name: string, reason: string): void {
    const type = groupResource(scope);
    const key = `${type}/${name}`;
    if (!found.has(key)) found.set(key, { groupResource: type, name, reason });
  }

  function bindAccount(binding: BindingSummary, account: string): void {
    if (allowsBindings)
      record(CLUSTER_ROLE_BINDINGS, binding.name, `has ServiceAccount ${account} as a subject`);
    if (allowsRoles && binding.clusterRole) {
      record(
        CLUSTER_ROLES,
        binding.clusterRole,
        `role of ClusterRoleBinding ${binding.name} (ServiceAccount ${account})`,
      );
    }
  }

  function addClusterRoleBinding(object: KubeObject): void {
    const binding = summarizeBinding(object);
    if (!binding || binding.serviceAccounts.size === 0) return;
    bindings.push(binding);
    for (const account of binding.serviceAccounts) {
      if (serviceAccounts.has(account)) bindAccount(binding, account);
    }
  }

  function addCustomResourceDefinition(type: string): void {
    if (!allowsCrds || seenGroupResources.has(type)) return;
    seenGroupResources.add(type);
    const { group } = splitGroupResource(type);
    if (group === '' || (knownCrds && !knownCrds.has(type))) return;
    record(CUSTOM_RESOURCE_DEFINITIONS, type, `definition of included custom resource ${type}`);
  }

  function add(obj: KubeObject, type: string): void {
    const { namespace, name } = obj.metadata;
    // Recorded once per namespace, not per object: building the key costs two strings.
    if (namespace && !namespaces.has(namespace)) {
      namespaces.add(namespace);
      if (allowsNamespaces) record(NAMESPACES, namespace, 'namespace of included objects');
    }
    addCustomResourceDefinition(type);
    if (!namespace || !name) return;
    if (type === 'persistentvolumeclaims') {
      const volume = boundVolumeName(obj);
      if (volume && allowsPersistentVolumes) {
        record(PERSISTENT_VOLUMES, volume, `bound to PersistentVolumeClaim ${namespace}/${name}`);
      }
    } else if (type === 'rolebindings.rbac.authorization.k8s.io') {
      const roleRef = obj.roleRef as { kind?: unknown; name?: unknown } | undefined;
      if (allowsRoles && roleRef?.kind === 'ClusterRole' && typeof roleRef.name === 'string') {
        record(CLUSTER_ROLES, roleRef.name, `role of RoleBinding ${namespace}/${name}`);
      }
    } else if (type === 'serviceaccounts') {
      const account = `${namespace}/${name}`;
      serviceAccounts.add(account);
      for (const binding of bindings) {
        if (binding.serviceAccounts.has(account)) bindAccount(binding, account);
      }
    }
  }

  for (const binding of options.clusterRoleBindings ?? []) addClusterRoleBinding(binding);

  return {
    add,
    addClusterRoleBinding,
    dependencies(): ClusterDependency[] {
      return [...found.values()].sort(
        (a, b) => compare(a.groupResource, b.groupResource) || compare(a.name, b.name),
      );
    },
    has(type: string, name: string): boolean {
      return found.has(`${type}/${name}`);
    },
    namespacesWithItems(): ReadonlySet<string> {
      return namespaces;
    },
    includesNamespaceObject(namespace: KubeObject): boolean {
      return filter.includesNamespaceObject(namespace, {
        hasIncludedItems: namespaces.has(namespace.metadata.name ?? ''),
      });
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
