// A namespace backup under includeClusterResources "auto" takes the ClusterRoles its
// RoleBindings refer to: without them a restored binding into a fresh cluster grants nothing.
import { afterEach, describe, expect, it } from 'vitest';
import {
  backupOf,
  createAll,
  deleteAndWait,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
const cleanup: Seeded[] = [];
afterEach(async () => {
  for (const s of cleanup.splice(0))
    if (world && (await read(world.kube, s))) await deleteAndWait(world.kube, s);
  world?.close();
});

const RBAC = 'rbac.authorization.k8s.io';

describe('a namespace backup with a RoleBinding to a ClusterRole', () => {
  it('includes that ClusterRole, and no other', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('rbac');
    const role: Seeded = {
      gr: `clusterroles.${RBAC}`,
      obj: {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRole',
        metadata: { name: `${ns}-editor` },
        rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'] }],
      },
    };
    const unrelated: Seeded = {
      gr: `clusterroles.${RBAC}`,
      obj: {
        apiVersion: `${RBAC}/v1`,
        kind: 'ClusterRole',
        metadata: { name: `${ns}-unrelated` },
        rules: [],
      },
    };
    cleanup.push(role, unrelated);
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      role,
      unrelated,
      {
        gr: `rolebindings.${RBAC}`,
        obj: {
          apiVersion: `${RBAC}/v1`,
          kind: 'RoleBinding',
          metadata: { name: 'editors', namespace: ns },
          roleRef: { apiGroup: RBAC, kind: 'ClusterRole', name: `${ns}-editor` },
          subjects: [{ apiGroup: RBAC, kind: 'User', name: 'alice' }],
        },
      },
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    expect(backup.counts[`clusterroles.${RBAC}`]).toBe(1);
    expect(backup.counts[`rolebindings.${RBAC}`]).toBe(1);
  });
});
