// The order in which a restore creates resources: Velero's restore resource priorities
// (pkg/cmd/server/config/config.go defaultRestorePriorities, and pkg/restore/restore.go
// getOrderedResources): high-priority resources first, in list order; then every other resource
// alphabetically; then the low-priority resources, in list order.
//
// Tiers: each prioritised resource is a tier of its own, because each exists for the next.
// Everything else is ONE tier: Velero's alphabetical middle part only makes the order
// predictable, it expresses no dependency, so an apply may create that tier's objects in any
// order or in parallel (the tier keeps them alphabetical for readable logs).

export interface Priorities {
  highPriorities: string[];
  lowPriorities: string[];
}

interface PriorityEntry {
  resource: string;
  reason: string;
}

/**
 * Velero's list, with lifeboat's deviations marked. Entries are full group-resources; Velero
 * writes some without a group and resolves them by discovery.
 */
const HIGH: PriorityEntry[] = [
  {
    resource: 'customresourcedefinitions.apiextensions.k8s.io',
    reason: 'custom resources need their definition',
  },
  { resource: 'namespaces', reason: 'every namespaced object needs its namespace' },
  {
    resource: 'storageclasses.storage.k8s.io',
    reason: 'volumes and claims are provisioned through their class',
  },
  {
    // Velero writes the singular `volumesnapshotclass…` and relies on discovery to resolve it.
    resource: 'volumesnapshotclasses.snapshot.storage.k8s.io',
    reason: 'volume snapshots are provisioned through their class',
  },
  {
    resource: 'volumesnapshotcontents.snapshot.storage.k8s.io',
    reason: 'they hold the handle of the snapshot in the storage provider',
  },
  {
    resource: 'volumesnapshots.snapshot.storage.k8s.io',
    reason: 'claims can use a volume snapshot as their data source',
  },
  // Velero's datauploads.velero.io (data mover) is left out: lifeboat moves no volume data.
  { resource: 'persistentvolumes', reason: 'claims bind to their volumes' },
  { resource: 'persistentvolumeclaims', reason: 'pods and controllers mount claims' },
  // lifeboat: RBAC before the workloads that run with it, and roles before their bindings, so a
  // restorer without the `bind` verb passes the RBAC escalation check.
  {
    resource: 'clusterroles.rbac.authorization.k8s.io',
    reason: 'cluster role bindings refer to cluster roles',
  },
  { resource: 'roles.rbac.authorization.k8s.io', reason: 'role bindings refer to roles' },
  {
    resource: 'serviceaccounts',
    reason: 'they go before secrets so that service-account token secrets are filled automatically',
  },
  {
    resource: 'clusterrolebindings.rbac.authorization.k8s.io',
    reason: 'workloads need their permissions when they start',
  },
  {
    resource: 'rolebindings.rbac.authorization.k8s.io',
    reason: 'workloads need their permissions when they start',
  },
  { resource: 'secrets', reason: 'pods and controllers mount secrets' },
  { resource: 'configmaps', reason: 'pods and controllers mount config maps' },
  // lifeboat: Velero restores limitranges here; they go last instead (see LOW).
  { resource: 'priorityclasses.scheduling.k8s.io', reason: 'pods refer to their priority class' },
  {
    resource: 'pods',
    reason: 'pods go before controllers so they are restored explicitly and adopted, not recreated',
  },
  {
    resource: 'replicasets.apps',
    reason: 'replica sets go before deployments so they are restored explicitly and adopted',
  },
  {
    resource: 'clusterclasses.cluster.x-k8s.io',
    reason: 'Cluster API clusters refer to their cluster class',
  },
  { resource: 'endpoints', reason: 'endpoints go before services so no new endpoints are created' },
  {
    resource: 'services',
    reason: 'services go before clusters so operators adopt them instead of creating new ones',
  },
];

const LOW: PriorityEntry[] = [
  {
    resource: 'clusterbootstraps.run.tanzu.vmware.com',
    reason: 'it can refer to any other kind, and must exist before its Cluster',
  },
  {
    resource: 'clusters.cluster.x-k8s.io',
    reason: 'Cluster API clusters go before ClusterResourceSets, or the controller panics',
  },
  {
    resource: 'clusterresourcesets.addons.cluster.x-k8s.io',
    reason: 'they go after Clusters and before their bindings',
  },
  {
    resource: 'apps.kappctrl.k14s.io',
    reason: 'it goes after workloads, or its controller creates new ones',
  },
  {
    resource: 'packageinstalls.packaging.carvel.dev',
    reason: 'it goes after workloads, or its controller creates new ones',
  },
  // lifeboat: defaults after the objects they would default. A LimitRange fills in resources of
  // the Pods created after it, the default IngressClass the class of new Ingresses; restored
  // earlier, they would change restored objects that had no such field in the backup.
  {
    resource: 'limitranges',
    reason: 'restored Pods keep the resources of the backup; Pods created later get the defaults',
  },
  {
    resource: 'ingressclasses.networking.k8s.io',
    reason: 'a default IngressClass would set ingressClassName on restored Ingresses that had none',
  },
  // lifeboat: admission last. A webhook whose service has no ready endpoints yet (its pods start
  // after the restore) refuses every request it matches, and a policy judges what it matches;
  // restored before the objects they gate, they would block or judge the restore itself.
  {
    resource: 'validatingadmissionpolicies.admissionregistration.k8s.io',
    reason: 'admission policies go after the objects they judge, and before their bindings',
  },
  {
    resource: 'validatingadmissionpolicybindings.admissionregistration.k8s.io',
    reason: 'a binding turns its policy on, after the objects it would judge',
  },
  {
    resource: 'mutatingadmissionpolicies.admissionregistration.k8s.io',
    reason: 'admission policies go after the objects they would change, and before their bindings',
  },
  {
    resource: 'mutatingadmissionpolicybindings.admissionregistration.k8s.io',
    reason: 'a binding turns its policy on, after the objects it would change',
  },
  {
    resource: 'mutatingwebhookconfigurations.admissionregistration.k8s.io',
    reason: 'webhooks go after the objects they gate: their backends are not ready during a restore',
  },
  {
    resource: 'validatingwebhookconfigurations.admissionregistration.k8s.io',
    reason: 'webhooks go after the objects they gate: their backends are not ready during a restore',
  },
];

export const DEFAULT_RESTORE_PRIORITIES: Priorities = {
  highPriorities: HIGH.map((e) => e.resource),
  lowPriorities: LOW.map((e) => e.resource),
};

/** Why each default priority is where it is, for plans and documentation. */
export const PRIORITY_REASONS: Readonly<Record<string, string>> = Object.fromEntries(
  [...HIGH, ...LOW].map((e) => [e.resource, e.reason]),
);

export class PrioritiesError extends Error {
  constructor(message: string) {
    super(`restore resource priorities: ${message}`);
    this.name = 'PrioritiesError';
  }
}

const SEPARATOR = '-';

/**
 * Velero's `--restore-resource-priorities` format (pkg/types/priorities.go): a comma-separated
 * list; entries before a `-` are high priorities, entries after it low priorities. Stricter
 * than Velero: empty entries and a second `-` are errors instead of silent oddities.
 */
export function parsePriorities(text: string): Priorities {
  const entries = text.split(',').map((e) => e.trim());
  if (entries.length === 1 && entries[0] === '') throw new PrioritiesError('the list is empty');
  const empty = entries.indexOf('');
  if (empty >= 0) throw new PrioritiesError(`entry ${empty + 1} is empty`);
  const separators = entries.flatMap((e, i) => (e === SEPARATOR ? [i] : []));
  if (separators.length > 1) throw new PrioritiesError(`'${SEPARATOR}' may appear only once`);
  const at = separators[0];
  if (at === undefined) return { highPriorities: entries, lowPriorities: [] };
  return { highPriorities: entries.slice(0, at), lowPriorities: entries.slice(at + 1) };
}

export function formatPriorities(p: Priorities): string {
  return p.lowPriorities.length === 0
    ? p.highPriorities.join(',')
    : [...p.highPriorities, SEPARATOR, ...p.lowPriorities].join(',');
}

/**
 * The tiers in which `groupResources` are restored: one tier per prioritised resource present,
 * one tier for all others (alphabetical), one per low-priority resource present. Empty tiers are
 * left out; every input resource appears exactly once.
 *
 * A priority entry names a group-resource (`replicasets.apps`) or, without a group, a resource
 * (`pods`); without discovery, an unqualified entry matches the core group first, then a
 * built-in `*.k8s.io`-style group, then the alphabetically first group with that resource.
 */
export function restoreTiers(
  groupResources: string[],
  priorities: Priorities = DEFAULT_RESTORE_PRIORITIES,
): string[][] {
  const remaining = new Set(groupResources);
  const take = (entry: string): string[] => {
    const match = resolveEntry(entry, remaining);
    if (match === undefined) return [];
    remaining.delete(match);
    return [match];
  };
  const high = priorities.highPriorities.map(take);
  const low = priorities.lowPriorities.map(take);
  const middle = [...remaining].sort();
  return [...high, middle, ...low].filter((tier) => tier.length > 0);
}

const BUILT_IN_SHORT_GROUPS = new Set(['apps', 'batch', 'autoscaling', 'policy']);

function resolveEntry(entry: string, available: Set<string>): string | undefined {
  if (available.has(entry)) return entry;
  if (entry.includes('.')) return undefined;
  const candidates = [...available].filter((gr) => gr.split('.')[0] === entry).sort();
  const builtIn = candidates.find((gr) => {
    const group = gr.slice(gr.indexOf('.') + 1);
    return group.endsWith('.k8s.io') || BUILT_IN_SHORT_GROUPS.has(group);
  });
  return builtIn ?? candidates[0];
}
