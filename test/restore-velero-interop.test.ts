// Backups written by Velero itself restore: its velero-backup.json (no lifeboat annotations,
// so no checksum), `metadata/version`, every item unversioned and under
// `<v>-preferredversion/`, and — with EnableAPIGroupVersions — other served versions under
// `<v>/`. The restore takes the source's preferred version when the cluster serves it (Velero
// pkg/restore/prioritize_group_version.go). Archives from before version directories existed
// hold only the unversioned copy, at whatever version the source preferred then.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  comparable,
  configMap,
  createAll,
  CRD_RESOURCE,
  deployment,
  localWorld,
  read,
  ref,
  secret,
  uniqueName,
  widgetCrd,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';
import {
  asServed,
  putBackup,
  tarGz,
  veleroArchiveFiles,
  veleroBackupJson,
  type VeleroItem,
} from './fixtures/velero-archives.js';

let world: RestoreWorld;
let group: string;
let crd: Seeded;
beforeEach(async () => {
  world = await localWorld();
  group = `${uniqueName('g')}.velero.test`;
  // The target cluster serves both versions; v1 is the storage and preferred version.
  crd = widgetCrd(group, ['v1', 'v1beta1']);
  await createAll(world.kube, [crd]);
});
afterEach(() => world.close());

const widgetAt = (version: string, ns: string, name: string, spec: object): KubeObject => ({
  apiVersion: `${group}/${version}`,
  kind: 'Widget',
  metadata: { name, namespace: ns },
  spec,
});
const namespace = (name: string): KubeObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

async function storeVeleroBackup(o: {
  items: VeleroItem[];
  ns: string;
  formatVersion: string | null;
}): Promise<string> {
  const name = uniqueName('velero-nightly');
  const archive = await tarGz(veleroArchiveFiles(o.items, o.formatVersion));
  const backupJson = veleroBackupJson({
    name,
    includedNamespaces: [o.ns],
    totalItems: o.items.length,
    ...(o.formatVersion ? { formatVersion: o.formatVersion } : {}),
  });
  await putBackup(world.store, { name, archive, backupJson });
  return name;
}

describe('a backup written by Velero', () => {
  it('restores the preferred version and ignores the other version directories', async () => {
    const ns = uniqueName('velero');
    const settings = configMap(ns, 'settings', { color: 'blue' });
    const creds = secret(ns, 'creds', { password: 'hunter2-but-longer' });
    const web = deployment(ns, 'web');
    const items: VeleroItem[] = [
      {
        groupResource: 'namespaces',
        object: asServed(namespace(ns), { status: { phase: 'Active' } }),
        placement: 'preferred',
      },
      { groupResource: 'configmaps', object: asServed(settings.obj), placement: 'preferred' },
      { groupResource: 'secrets', object: asServed(creds.obj), placement: 'preferred' },
      {
        groupResource: 'deployments.apps',
        object: asServed(web.obj, { status: { replicas: 2 } }),
        placement: 'preferred',
      },
      // The CRD itself, as Velero backs it up with its custom resources.
      {
        groupResource: CRD_RESOURCE,
        object: asServed(crd.obj, { status: { acceptedNames: {} } }),
        placement: 'preferred',
      },
      // One custom object, in both versions the source served; their contents tell them apart.
      {
        groupResource: `widgets.${group}`,
        object: asServed(widgetAt('v1', ns, 'gizmo', { writtenAt: 'v1' })),
        placement: 'preferred',
      },
      {
        groupResource: `widgets.${group}`,
        object: asServed(widgetAt('v1beta1', ns, 'gizmo', { writtenAt: 'v1beta1' })),
        placement: 'other',
      },
    ];
    const backupName = await storeVeleroBackup({ items, ns, formatVersion: '1.1.0' });

    const name = uniqueName('from-velero');
    const { plan } = await planRestore({ name, spec: { backupName } }, world.deps());
    expect(plan.backupSha256).toBe('');
    // One plan item per object, not per version directory.
    expect(plan.items.filter((i) => i.groupResource === `widgets.${group}`)).toEqual([
      expect.objectContaining({ name: 'gizmo', apiVersion: `${group}/v1`, action: 'create' }),
    ]);
    // The CRD is already installed as the backup has it.
    expect(plan.items.find((i) => i.groupResource === CRD_RESOURCE)?.action).toBe('unchanged');

    const result = await applyRestore({ name, spec: { backupName } }, world.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');
    const gizmo = await read(world.kube, { gr: `widgets.${group}`, obj: widgetAt('v1', ns, 'gizmo', {}) });
    expect(gizmo?.spec).toEqual({ writtenAt: 'v1' });
    for (const s of [settings, creds, web]) {
      const live = await read(world.kube, s);
      expect(live, ref(s)).not.toBeNull();
      expect(comparable(live as KubeObject, s.gr).metadata.labels).toEqual(s.obj.metadata.labels);
    }
    expect((await read(world.kube, settings))?.data).toEqual({ color: 'blue' });
    expect((await read(world.kube, creds))?.data).toEqual(creds.obj.data);
    expect((await read(world.kube, web))?.spec).toMatchObject({
      replicas: 2,
      selector: { matchLabels: { app: 'web' } },
    });
  });

  it('restores an old archive with only unversioned directories', async () => {
    const ns = uniqueName('velero-old');
    const settings = configMap(ns, 'settings', { color: 'green' });
    const web = deployment(ns, 'web');
    // The source cluster preferred v1beta1 of the custom resource when this was written.
    const items: VeleroItem[] = [
      { groupResource: 'namespaces', object: asServed(namespace(ns)), placement: 'unversioned' },
      { groupResource: 'configmaps', object: asServed(settings.obj), placement: 'unversioned' },
      { groupResource: 'deployments.apps', object: asServed(web.obj), placement: 'unversioned' },
      {
        groupResource: `widgets.${group}`,
        object: asServed(widgetAt('v1beta1', ns, 'gizmo', { writtenAt: 'v1beta1' })),
        placement: 'unversioned',
      },
    ];
    const backupName = await storeVeleroBackup({ items, ns, formatVersion: null });

    const name = uniqueName('from-old-velero');
    const { plan } = await planRestore({ name, spec: { backupName } }, world.deps());
    expect(plan.items.map((i) => [i.groupResource, i.name, i.action])).toEqual([
      ['namespaces', ns, 'create'],
      ['configmaps', 'settings', 'create'],
      ['deployments.apps', 'web', 'create'],
      [`widgets.${group}`, 'gizmo', 'create'],
    ]);
    const result = await applyRestore({ name, spec: { backupName } }, world.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');
    expect((await read(world.kube, settings))?.data).toEqual({ color: 'green' });
    expect(await read(world.kube, web)).not.toBeNull();
    const gizmo = await read(world.kube, { gr: `widgets.${group}`, obj: widgetAt('v1', ns, 'gizmo', {}) });
    expect(gizmo?.spec).toEqual({ writtenAt: 'v1beta1' });

    // Planning again: everything is there as the backup has it.
    const again = await planRestore({ name: uniqueName('again'), spec: { backupName } }, world.deps());
    expect(again.plan.items.map((i) => [i.name, i.action])).toEqual([
      [ns, 'unchanged'],
      ['settings', 'unchanged'],
      ['web', 'unchanged'],
      ['gizmo', 'unchanged'],
    ]);
  });
});
