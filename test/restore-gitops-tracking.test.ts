// Objects an Argo CD Application or a Flux Kustomization tracks, backed up and restored on the
// real ground: the plan flags them (a controller may prune or overwrite them); with
// gitopsTracking: Strip the restored objects come back without the marks, other labels kept.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import {
  backupOf,
  configMap,
  createAll,
  deleteNamespaces,
  localWorld,
  read,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
const namespaces: string[] = [];
afterEach(async () => {
  if (world) await deleteNamespaces(world.kube, namespaces.splice(0));
  world?.close();
  world = undefined;
});

describe('GitOps tracking marks in a restore', () => {
  it('are flagged in the plan when kept, and removed from the restored objects with Strip', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('gitops');
    namespaces.push(ns);
    const argo = configMap(
      ns,
      'argo-tracked',
      { a: '1' },
      { 'argocd.argoproj.io/instance': 'shop', app: 'web' },
    );
    const flux = configMap(
      ns,
      'flux-tracked',
      { b: '2' },
      {
        'kustomize.toolkit.fluxcd.io/name': 'apps',
        'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      },
    );
    const plain = configMap(ns, 'untracked', { c: '3' }, { app: 'web' });
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      argo,
      flux,
      plain,
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns] });
    await deleteNamespaces(w.kube, [ns]);

    const kept = await planRestore(
      { name: uniqueName('r-keep'), spec: { backupName: backup.name } },
      w.deps(),
    );
    const item = (name: string) =>
      kept.plan.items.find((i) => i.groupResource === 'configmaps' && i.name === name);
    expect(item('argo-tracked')?.warnings?.join('\n')).toMatch(/tracked by Argo CD application shop/);
    expect(item('flux-tracked')?.warnings?.join('\n')).toMatch(
      /tracked by Flux Kustomization flux-system\/apps/,
    );
    expect(item('untracked')?.warnings ?? []).toEqual([]);

    const result = await applyRestore(
      { name: uniqueName('r-strip'), spec: { backupName: backup.name, gitopsTracking: 'Strip' } },
      w.deps(),
    );
    expect(result.phase).toBe('Completed');
    const argoNow = await read(w.kube, argo);
    expect(argoNow?.metadata.labels?.['argocd.argoproj.io/instance']).toBeUndefined();
    expect(argoNow?.metadata.labels?.app).toBe('web');
    const fluxNow = await read(w.kube, flux);
    expect(Object.keys(fluxNow?.metadata.labels ?? {}).filter((k) => k.includes('fluxcd'))).toEqual([]);
    expect(fluxNow?.data).toEqual({ b: '2' });
  });
});
