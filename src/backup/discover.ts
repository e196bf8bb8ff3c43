// Discovery for backups and restores: the kube client fetches the raw documents, the pure
// rules in discovery-rules.ts decide what is listable and at which version.
import type { KubeClient } from '../kube/client.js';
import type { ResourceInfo } from '../kube/types.js';
import { buildDiscoveryFromGroupVersions, type DiscoveredApi } from './discovery-rules.js';

export interface Discovery extends DiscoveredApi {
  resources: ResourceInfo[];
}

export async function discover(kube: KubeClient): Promise<Discovery> {
  const api = buildDiscoveryFromGroupVersions(await kube.discover());
  const aggregated = new Set<string>();
  for (const g of api.groups) {
    for (const v of g.versions) if (v.aggregated) aggregated.add(`${g.group}/${v.version}`);
  }
  const resources = api.resources.map((r) =>
    aggregated.has(`${r.group}/${r.version}`) ? { ...r, aggregated: true } : r,
  );
  return { ...api, resources };
}

export async function discoverResources(kube: KubeClient): Promise<ResourceInfo[]> {
  return (await discover(kube)).resources;
}
