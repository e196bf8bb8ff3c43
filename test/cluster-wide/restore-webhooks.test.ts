// Admission webhooks and aggregated APIs in a restore. A webhook whose Service is not ready
// refuses what it matches, so webhook configurations are restored after the objects they gate;
// and the plan warns about every webhook or APIService whose Service the restore does not bring
// and the cluster does not have ready. In test/cluster-wide/: a broken APIService makes every
// backup and namespace deletion in the cluster wait or fail while it exists.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../../src/restore/engine.js';
import {
  backupOf,
  createAll,
  deleteAndWait,
  deleteNamespaces,
  localWorld,
  read,
  uniqueName,
  widget,
  widgetCrd,
  type RestoreWorld,
  type Seeded,
} from '../fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
const cleanup: Seeded[] = [];
afterEach(async () => {
  for (const s of cleanup.splice(0))
    if (world && (await read(world.kube, s))) await deleteAndWait(world.kube, s);
  world?.close();
});

const VWC = 'validatingwebhookconfigurations.admissionregistration.k8s.io';
const API_SERVICES = 'apiservices.apiregistration.k8s.io';

function labelled(s: Seeded, label: string): Seeded {
  s.obj.metadata.labels = { ...s.obj.metadata.labels, 'restore-test': label };
  return s;
}

describe('a restore with admission webhooks and aggregated APIs', () => {
  it('creates what a webhook gates before the webhook, and warns about Services without backends', async () => {
    world = await localWorld();
    const w = world;
    const id = uniqueName('hook');
    const ns = `${id}-app`;
    const backends = `${id}-backends`;
    const group = `${id}.restore.test`;
    const aggregatedGroup = `${id}.aggregated.test`;
    const crd = labelled(widgetCrd(group), id);
    const webhook = labelled(
      {
        gr: VWC,
        obj: {
          apiVersion: 'admissionregistration.k8s.io/v1',
          kind: 'ValidatingWebhookConfiguration',
          metadata: { name: id },
          webhooks: [
            {
              name: `guard.${group}`,
              // Its Service is in the restored namespace but was never in the backup.
              clientConfig: { service: { namespace: ns, name: 'guard', port: 443 } },
              rules: [
                { apiGroups: [group], apiVersions: ['*'], operations: ['CREATE'], resources: ['widgets'] },
              ],
              failurePolicy: 'Fail',
              sideEffects: 'None',
              admissionReviewVersions: ['v1'],
            },
          ],
        },
      },
      id,
    );
    const apiService = labelled(
      {
        gr: API_SERVICES,
        obj: {
          apiVersion: 'apiregistration.k8s.io/v1',
          kind: 'APIService',
          metadata: { name: `v1.${aggregatedGroup}` },
          spec: {
            group: aggregatedGroup,
            version: 'v1',
            groupPriorityMinimum: 1000,
            versionPriority: 15,
            insecureSkipTLSVerify: true,
            // A Service that exists, outside the backup, with no pods behind it.
            service: { namespace: backends, name: 'metrics', port: 443 },
          },
        },
      },
      id,
    );
    const namespace = (name: string) =>
      labelled({ gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } }, id);
    const backendNs = namespace(backends);
    const metricsService: Seeded = {
      gr: 'services',
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'metrics', namespace: backends },
        spec: { selector: { app: 'metrics' }, ports: [{ port: 443 }] },
      },
    };
    const blue = labelled(widget({ group, ns, name: 'blue', spec: { size: 1 } }), id);
    cleanup.push(apiService, webhook, backendNs, crd);
    await createAll(w.kube, [crd, namespace(ns), blue, backendNs, metricsService, webhook, apiService]);

    const backup = await backupOf(w, {
      includedNamespaces: [ns],
      includeClusterResources: true,
      labelSelector: { matchLabels: { 'restore-test': id } },
      // The APIService is live and broken while the backup runs; accept that, by name.
      unavailableApiGroups: 'Warn',
    });
    expect(backup.warnings).toEqual([expect.stringContaining(`${aggregatedGroup}/v1 is unavailable`)]);
    expect(backup.counts[VWC]).toBe(1);
    expect(backup.counts[API_SERVICES]).toBe(1);
    // An APIService without a backend stalls namespace deletion: it goes first.
    await deleteAndWait(w.kube, apiService);
    await deleteAndWait(w.kube, webhook);
    await deleteNamespaces(w.kube, [ns]);

    const spec = { backupName: backup.name };
    const { plan } = await planRestore({ name: uniqueName('hook'), spec }, w.deps());
    const item = (gr: string) => plan.items.find((i) => i.groupResource === gr);
    const tierOf = (gr: string) => item(gr)?.tier ?? -1;
    expect(tierOf(VWC)).toBeGreaterThan(tierOf(`widgets.${group}`));
    expect(item(VWC)?.warnings).toEqual([
      expect.stringMatching(new RegExp(`webhook guard\\.${group} calls Service ${ns}/guard, which neither`)),
    ]);
    expect(item(API_SERVICES)?.warnings).toEqual([
      expect.stringMatching(
        new RegExp(`Service ${backends}/metrics, .*no ready endpoints.*namespace deletion`),
      ),
    ]);

    // One item at a time, in plan order: the webhook would block the widget if it came first.
    const result = await applyRestore({ name: uniqueName('hook'), spec }, w.deps({ concurrency: 1 }));
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(await read(w.kube, blue)).not.toBeNull();
    expect(await read(w.kube, webhook)).not.toBeNull();
    // Namespace deletion needs every API group; the APIService goes first.
    await deleteAndWait(w.kube, apiService);
    await deleteNamespaces(w.kube, [ns]);
  });
});
