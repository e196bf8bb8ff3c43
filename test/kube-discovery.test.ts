// Discovery in the aggregated form (two documents, src/kube/aggregated-discovery.ts) gives what
// the legacy documents give one group version at a time, on the real API server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, type RawGroupVersion } from '../src/kube/client.js';
import { AGGREGATED_DISCOVERY_ACCEPT } from '../src/kube/aggregated-discovery.js';
import { ground } from './ground/world.js';

let kube: KubeClient;
beforeAll(async () => {
  kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
});
afterAll(() => kube.close());

/** What lifeboat reads of discovery, in a stable order. */
function comparable(gvs: RawGroupVersion[]) {
  return gvs
    .map((gv) => ({
      gv: `${gv.group}/${gv.version}`,
      preferred: gv.preferred,
      aggregated: gv.aggregated,
      unavailable: gv.unavailable,
      resources: gv.resources
        .map((r) => ({
          name: r.name,
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: [...r.verbs].sort(),
          ...(r.name.includes('/') ? {} : { singularName: r.singularName, shortNames: r.shortNames ?? [] }),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => a.gv.localeCompare(b.gv));
}

describe('discovery', () => {
  it('is served in the aggregated form, and reads the same as the legacy documents', async () => {
    const doc = await kube.request<{ kind?: string }>({
      method: 'GET',
      path: '/apis',
      accept: AGGREGATED_DISCOVERY_ACCEPT,
    });
    expect(doc.kind).toBe('APIGroupDiscoveryList');
    const aggregated = comparable(await kube.discover());
    const legacy = comparable(await kube.discover({ aggregatedForm: false }));
    expect(aggregated.length).toBeGreaterThan(10);
    expect(aggregated).toEqual(legacy);
  });
});
