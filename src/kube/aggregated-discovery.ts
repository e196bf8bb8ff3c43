// Aggregated discovery (apidiscovery.k8s.io/v2, GA in Kubernetes 1.30): `/api` and `/apis`
// answer with every group, version and resource at once when asked for an APIGroupDiscoveryList,
// two requests where one discovery document per group version took ~25 on a bare cluster.
// This turns the two lists into the per-group-version form the rest of lifeboat reads
// (RawGroupVersion, as the legacy documents give it).
import type { RawApiResource, RawGroupVersion } from './client.js';

/** The Accept header that asks for the aggregated form, with the legacy form as the fallback. */
export const AGGREGATED_DISCOVERY_ACCEPT =
  'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json';

interface DiscoveryResource {
  resource?: string;
  responseKind?: { kind?: string };
  scope?: string;
  singularResource?: string;
  verbs?: string[];
  shortNames?: string[];
  subresources?: { subresource?: string; responseKind?: { kind?: string }; verbs?: string[] }[];
}

interface DiscoveryGroupList {
  kind?: string;
  items?: {
    metadata?: { name?: string };
    versions?: { version?: string; resources?: DiscoveryResource[]; freshness?: string }[];
  }[];
}

/** Whether an answer to `/api` or `/apis` is in the aggregated form. */
export function isAggregatedDiscovery(doc: unknown): doc is DiscoveryGroupList {
  return (doc as DiscoveryGroupList | null)?.kind === 'APIGroupDiscoveryList';
}

export interface AggregatedGroupVersions {
  groupVersions: Omit<RawGroupVersion, 'aggregated'>[];
  /** Group versions whose documents the API server could not refresh (`freshness: Stale`). */
  stale: string[];
}

/**
 * The group versions of the core list (`/api`) and the group list (`/apis`), in the order the
 * API server gives them; each group's first version is its preferred one. Subresources become
 * `resource/subresource` entries, as in the legacy documents.
 */
export function groupVersionsOfAggregated(
  core: DiscoveryGroupList,
  groups: DiscoveryGroupList,
): AggregatedGroupVersions {
  const out: AggregatedGroupVersions = { groupVersions: [], stale: [] };
  for (const [list, isCore] of [
    [core, true],
    [groups, false],
  ] as const) {
    for (const item of list.items ?? []) {
      const group = isCore ? '' : (item.metadata?.name ?? '');
      (item.versions ?? []).forEach((v, i) => {
        const version = v.version ?? '';
        if (v.freshness === 'Stale') out.stale.push(group === '' ? version : `${group}/${version}`);
        out.groupVersions.push({
          group,
          version,
          preferred: i === 0,
          resources: (v.resources ?? []).flatMap(resourceEntries),
        });
      });
    }
  }
  return out;
}

function resourceEntries(r: DiscoveryResource): RawApiResource[] {
  const name = r.resource ?? '';
  const namespaced = r.scope === 'Namespaced';
  const main: RawApiResource = {
    name,
    singularName: r.singularResource ?? '',
    namespaced,
    kind: r.responseKind?.kind ?? '',
    verbs: r.verbs ?? [],
    ...(r.shortNames ? { shortNames: r.shortNames } : {}),
  };
  return [
    main,
    ...(r.subresources ?? []).map((s) => ({
      name: `${name}/${s.subresource ?? ''}`,
      singularName: '',
      namespaced,
      kind: s.responseKind?.kind ?? '',
      verbs: s.verbs ?? [],
    })),
  ];
}
