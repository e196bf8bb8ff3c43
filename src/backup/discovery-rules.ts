// From raw discovery documents to the resources a backup lists.
//
// Rules (vmware-tanzu/velero pkg/discovery/helper.go Refresh, on client-go's
// discovery.ServerPreferredResources):
//   - A resource is listed at its group's preferred version. If that version does not serve it
//     (or its discovery failed), the first version in the server's order that does is used.
//   - Subresources (`pods/log`, `deployments/scale`) are dropped.
//   - Only resources supporting list, get, create and delete are kept (filterByVerbs): what a
//     backup cannot list or a restore cannot create is useless to both.
//   - The `extensions` group goes last (sortResources), so its old copies of apps and
//     networking resources never win over the current ones.
// Every version of every group is recorded too, with the resources it serves and whether an
// aggregated API server serves it: Velero's multi-version archives (EnableAPIGroupVersions)
// write each object at every served version.
import type { ResourceInfo } from '../kube/types.js';

/** `GET /api` (metav1.APIVersions). */
export interface RawApiVersions {
  kind?: string;
  versions: string[];
}

export interface RawGroupVersionForDiscovery {
  groupVersion: string;
  version: string;
}

/** One entry of `GET /apis` (metav1.APIGroup). */
export interface RawApiGroup {
  name: string;
  versions: RawGroupVersionForDiscovery[];
  preferredVersion?: RawGroupVersionForDiscovery;
}

/** `GET /apis` (metav1.APIGroupList). */
export interface RawApiGroupList {
  kind?: string;
  groups: RawApiGroup[];
}

/** One entry of an APIResourceList (metav1.APIResource). */
export interface RawApiResource {
  name: string;
  singularName?: string;
  namespaced: boolean;
  kind: string;
  verbs?: string[];
  shortNames?: string[];
  group?: string;
  version?: string;
  categories?: string[];
}

/**
 * `GET /api/v1` or `GET /apis/<group>/<version>` (metav1.APIResourceList), plus whether the
 * group-version is served by an aggregated API server (an APIService with spec.service set).
 */
export interface RawApiResourceList {
  kind?: string;
  groupVersion: string;
  resources: RawApiResource[];
  aggregated?: boolean;
}

export interface RawDiscovery {
  /** `GET /api`. */
  core: RawApiVersions;
  /** `GET /apis`. */
  groups: RawApiGroupList;
  /** One per group-version fetched; a group-version whose fetch failed is simply absent. */
  resourceLists: RawApiResourceList[];
}

export interface ApiVersionInfo {
  version: string;
  /** Served by an aggregated API server rather than kube-apiserver itself. */
  aggregated: boolean;
  /** False when its resource list was not supplied (its discovery failed). */
  available: boolean;
  /** Plural names of the resources kept at this version (same verb and subresource rules). */
  resources: string[];
}

export interface ApiGroupInfo {
  group: string; // '' for core
  preferredVersion: string;
  /** In the server's priority order. */
  versions: ApiVersionInfo[];
}

export interface DiscoveredApi {
  /** One per group-resource, in listing order: core first, then the server's group order, `extensions` last. */
  resources: ResourceInfo[];
  groups: ApiGroupInfo[];
  /** Group-versions the server announced but whose resource lists are missing. */
  unavailableGroupVersions: string[];
}

export class DiscoveryError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`discovery data ${field}: ${message}`);
    this.name = 'DiscoveryError';
  }
}

/** The verbs a resource must support to be backed up and restored (helper.go filterByVerbs). */
export const REQUIRED_VERBS = ['list', 'get', 'create', 'delete'] as const;

/** Whether a resource-list entry is a top-level resource we can back up and restore. */
export function isBackupable(resource: Pick<RawApiResource, 'name' | 'verbs'>): boolean {
  if (resource.name.includes('/')) return false;
  const verbs = new Set(resource.verbs ?? []);
  return REQUIRED_VERBS.every((verb) => verbs.has(verb));
}

/** `apps/v1` → { group: 'apps', version: 'v1' }; `v1` → the core group. */
export function parseGroupVersion(groupVersion: string, field: string): { group: string; version: string } {
  const parts = groupVersion.split('/');
  const [first, second] = parts;
  if (parts.length === 1 && first) return { group: '', version: first };
  if (parts.length === 2 && first && second) return { group: first, version: second };
  throw new DiscoveryError(
    field,
    `invalid groupVersion ${JSON.stringify(groupVersion)} (expected "v1" or "group/version")`,
  );
}

/**
 * The flattened form the kube client produces (src/kube/client.ts RawGroupVersion): one entry
 * per group-version in server order, the preferred one flagged, failures marked `unavailable`.
 */
export interface FlatGroupVersion {
  group: string;
  version: string;
  preferred: boolean;
  resources: RawApiResource[];
  aggregated?: boolean;
  /** Set when the group-version could not be discovered; its resources are then ignored. */
  unavailable?: string;
}

/** One group with its versions in server order; a version without `resources` failed discovery. */
interface NormalizedGroup {
  group: string;
  preferredVersion: string;
  versions: { version: string; resources?: RawApiResource[]; aggregated: boolean }[];
}

function normalizeRaw(raw: RawDiscovery): NormalizedGroup[] {
  const lists = new Map<string, RawApiResourceList>();
  raw.resourceLists.forEach((list, index) => {
    parseGroupVersion(list.groupVersion, `resourceLists[${index}].groupVersion`);
    lists.set(list.groupVersion, list);
  });
  const used = new Set<string>();
  const versionsOf = (group: string, versions: string[]): NormalizedGroup['versions'] =>
    versions.map((version) => {
      const groupVersion = group ? `${group}/${version}` : version;
      const list = lists.get(groupVersion);
      if (list) used.add(groupVersion);
      return { version, resources: list?.resources, aggregated: list?.aggregated ?? false };
    });

  const groups: NormalizedGroup[] = [];
  // client-go ServerGroups: the legacy group's versions come from /api, the first preferred.
  const coreVersions = raw.core.versions.filter((version) => version !== '');
  if (coreVersions[0]) {
    groups.push({ group: '', preferredVersion: coreVersions[0], versions: versionsOf('', coreVersions) });
  }
  raw.groups.groups.forEach((group, index) => {
    const field = `groups.groups[${index}]`;
    if (!group.name) throw new DiscoveryError(`${field}.name`, 'is empty');
    const versions = group.versions.map((entry) => entry.version);
    const preferred = group.preferredVersion?.version ?? versions[0];
    if (!preferred)
      throw new DiscoveryError(`${field}.versions`, `group ${group.name} announces no versions`);
    if (!versions.includes(preferred)) {
      throw new DiscoveryError(
        `${field}.preferredVersion`,
        `${preferred} is not one of the versions of ${group.name}`,
      );
    }
    groups.push({
      group: group.name,
      preferredVersion: preferred,
      versions: versionsOf(group.name, versions),
    });
  });
  raw.resourceLists.forEach((list, index) => {
    if (!used.has(list.groupVersion)) {
      throw new DiscoveryError(
        `resourceLists[${index}].groupVersion`,
        `${list.groupVersion} is not announced by /api or /apis`,
      );
    }
  });
  return groups;
}

function normalizeFlat(entries: readonly FlatGroupVersion[]): NormalizedGroup[] {
  const byGroup = new Map<string, NormalizedGroup>();
  entries.forEach((entry, index) => {
    if (!entry.version) throw new DiscoveryError(`[${index}].version`, 'is empty');
    let group = byGroup.get(entry.group);
    if (!group) {
      group = { group: entry.group, preferredVersion: '', versions: [] };
      byGroup.set(entry.group, group);
    }
    if (entry.preferred && !group.preferredVersion) group.preferredVersion = entry.version;
    group.versions.push({
      version: entry.version,
      resources: entry.unavailable === undefined ? entry.resources : undefined,
      aggregated: entry.aggregated ?? false,
    });
  });
  const groups = [...byGroup.values()];
  for (const group of groups) group.preferredVersion ||= group.versions[0]?.version ?? '';
  // The core group comes first, as in client-go ServerGroups.
  return groups.sort((a, b) => Number(a.group !== '') - Number(b.group !== ''));
}

function toResourceInfo(resource: RawApiResource, group: string, version: string): ResourceInfo {
  return {
    group,
    version,
    resource: resource.name,
    kind: resource.kind,
    namespaced: resource.namespaced,
    verbs: [...(resource.verbs ?? [])],
    shortNames: [...(resource.shortNames ?? [])],
    // Older and aggregated servers may omit singularName; the RESTMapper then uses the kind.
    singularName: resource.singularName || resource.kind.toLowerCase(),
    // The version this resource is listed at: the preferred one whenever it serves the resource.
    preferredVersion: version,
  };
}

function applyRules(normalized: NormalizedGroup[]): DiscoveredApi {
  // Velero sortResources: extensions last, everything else in server order (stable sort).
  const ordered = [...normalized].sort(
    (a, b) => Number(a.group === 'extensions') - Number(b.group === 'extensions'),
  );
  const resources: ResourceInfo[] = [];
  const groups: ApiGroupInfo[] = [];
  const unavailable: string[] = [];

  for (const group of ordered) {
    const chosen = new Map<string, ResourceInfo>();
    const preferredFirst = [
      ...group.versions.filter((v) => v.version === group.preferredVersion),
      ...group.versions.filter((v) => v.version !== group.preferredVersion),
    ];
    // ServerPreferredResources: the preferred version wins, else the first version serving it.
    for (const { version, resources: listed } of preferredFirst) {
      for (const resource of (listed ?? []).filter(isBackupable)) {
        if (!chosen.has(resource.name))
          chosen.set(resource.name, toResourceInfo(resource, group.group, version));
      }
    }
    const versions = group.versions.map(({ version, resources: listed, aggregated }) => {
      if (!listed) unavailable.push(group.group ? `${group.group}/${version}` : version);
      return {
        version,
        aggregated,
        available: listed !== undefined,
        resources: (listed ?? []).filter(isBackupable).map((resource) => resource.name),
      };
    });
    groups.push({ group: group.group, preferredVersion: group.preferredVersion, versions });
    // Map order is insertion order: preferred version first, each list in the server's order.
    resources.push(...chosen.values());
  }
  return { resources, groups, unavailableGroupVersions: unavailable.sort() };
}

/** Turn the raw discovery documents into the resources to back up and the groups' versions. */
export function buildDiscovery(raw: RawDiscovery): DiscoveredApi {
  return applyRules(normalizeRaw(raw));
}

/** The same, from the kube client's flattened group-version list. */
export function buildDiscoveryFromGroupVersions(entries: readonly FlatGroupVersion[]): DiscoveredApi {
  return applyRules(normalizeFlat(entries));
}
