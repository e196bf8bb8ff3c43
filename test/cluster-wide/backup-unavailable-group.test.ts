// A backup while an aggregated API is broken (its APIService points at a Service with no
// endpoints): discovery cannot read the group, nothing of it can be listed, and the backup says
// so — PartiallyFailed with an error naming the group-version, or, when the spec chooses
// `unavailableApiGroups: Warn`, Completed with a warning naming it. In test/cluster-wide/: while
// the broken APIService exists, every backup and namespace deletion in the cluster is affected.
import { afterEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/engine.js';
import { discover } from '../../src/backup/discover.js';
import {
  configMap,
  createAll,
  deleteAndWait,
  eventually,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from '../fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
const cleanup: Seeded[] = [];
afterEach(async () => {
  // The APIService first: namespace deletion waits for every API group to answer.
  for (const s of cleanup.splice(0))
    if (world && (await read(world.kube, s))) await deleteAndWait(world.kube, s);
  world?.close();
});

describe('a backup while an aggregated API is unavailable', () => {
  it('ends PartiallyFailed naming the group, or Completed with a named warning when the spec says Warn', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('unavail');
    const group = `${uniqueName('g')}.unavailable.test`;
    const namespace: Seeded = {
      gr: 'namespaces',
      obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
    };
    const apiService: Seeded = {
      gr: 'apiservices.apiregistration.k8s.io',
      obj: {
        apiVersion: 'apiregistration.k8s.io/v1',
        kind: 'APIService',
        metadata: { name: `v1.${group}` },
        spec: {
          group,
          version: 'v1',
          groupPriorityMinimum: 1000,
          versionPriority: 15,
          insecureSkipTLSVerify: true,
          service: { namespace: ns, name: 'backend', port: 443 },
        },
      },
    };
    cleanup.push(apiService, namespace);
    await createAll(w.kube, [
      namespace,
      configMap(ns, 'settings', { color: 'blue' }),
      {
        gr: 'services',
        obj: {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'backend', namespace: ns },
          spec: { selector: { app: 'backend' }, ports: [{ port: 443 }] },
        },
      },
      apiService,
    ]);
    await eventually(
      async () =>
        (await discover(w.kube)).unavailableGroupVersions.includes(`${group}/v1`) ? true : undefined,
      `${group}/v1 to be announced and unavailable`,
    );

    const failed = await runBackup(
      { name: uniqueName('b'), spec: { includedNamespaces: [ns] } },
      { kube: w.kube, store: w.store },
    );
    expect(failed.phase).toBe('PartiallyFailed');
    expect(failed.errors).toEqual([
      { resource: `${group}/v1`, message: expect.stringContaining(`${group}/v1 is unavailable`) },
    ]);
    expect(failed.metadata.status.errors).toBe(1);
    expect(failed.counts.configmaps).toBeGreaterThan(0);

    const warned = await runBackup(
      { name: uniqueName('b'), spec: { includedNamespaces: [ns], unavailableApiGroups: 'Warn' } },
      { kube: w.kube, store: w.store },
    );
    expect(warned.phase).toBe('Completed');
    expect(warned.errors).toEqual([]);
    expect(warned.warnings).toEqual([expect.stringContaining(`${group}/v1 is unavailable`)]);
    expect(warned.metadata.status.warnings).toBe(1);
  });
});
