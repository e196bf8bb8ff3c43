// Velero resource modifiers on a real restore: a JSON patch, a JSON merge patch and a strategic
// merge patch, each chosen by different conditions (group-resource glob, name regex,
// namespaces, label selector, matches). Objects no rule selects are restored as backed up.
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore, RestoreSpecError } from '../src/restore/engine.js';
import type { RestoreSpec } from '../src/restore/spec.js';
import type { KubeObject } from '../src/kube/types.js';
import {
  backupOf,
  configMap,
  createAll,
  deleteNamespaces,
  deployment,
  localWorld,
  read,
  ref,
  uniqueName,
  type RestoreWorld,
  type Seeded,
} from './fixtures/restore-fixtures.js';

let world: RestoreWorld | undefined;
afterEach(() => world?.close());

interface Container {
  name: string;
  image: string;
  env?: unknown[];
  ports?: unknown[];
}
const containersOf = (d: KubeObject | null): Container[] =>
  (d?.spec as { template: { spec: { containers: Container[] } } }).template.spec.containers;

describe('resource modifiers', () => {
  it('patch exactly the objects their conditions select, with each kind of patch', async () => {
    world = await localWorld();
    const w = world;
    const ns = uniqueName('mod');
    const otherNs = uniqueName('mod-other');
    const appConfig = configMap(ns, 'app-config', { color: 'blue' }, { tier: 'frontend' });
    const appConfigElsewhere = configMap(otherNs, 'app-config', { color: 'blue' }, { tier: 'frontend' });
    const dbConfig = configMap(ns, 'db-config', { pool: '10', deprecated: 'yes' }, { tier: 'backend' });
    const plain = configMap(ns, 'other', { color: 'blue' });
    const web = deployment(ns, 'web', 'registry.example/shop/web:1.0');
    const worker = deployment(ns, 'worker', 'registry.example/shop/worker:1.0');
    const webService: Seeded = {
      gr: 'services',
      obj: {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web', namespace: ns },
        spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
    };
    const objects = [appConfig, appConfigElsewhere, dbConfig, plain, web, worker, webService];
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } },
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: otherNs } } },
      ...objects,
    ]);
    const backup = await backupOf(w, { includedNamespaces: [ns, otherNs] });
    await deleteNamespaces(w.kube, [ns, otherNs]);

    const spec: RestoreSpec = {
      backupName: backup.name,
      resourceModifiers: {
        version: 'v1',
        resourceModifierRules: [
          {
            // JSON patch; group-resource, name regex and namespaces.
            conditions: { groupResource: 'configmaps', resourceNameRegex: '^app-', namespaces: [ns] },
            patches: [
              { operation: 'replace', path: '/data/color', value: 'green' },
              { operation: 'add', path: '/data/patched-by', value: 'json-patch' },
            ],
          },
          {
            // JSON merge patch; label selector. null deletes a key.
            conditions: { groupResource: 'configmaps', labelSelector: { matchLabels: { tier: 'backend' } } },
            mergePatches: [{ patchData: '{"data":{"pool":"50","deprecated":null}}' }],
          },
          {
            // Strategic merge patch; `matches` on a field value. Containers merge by name.
            conditions: {
              groupResource: 'deployments.apps',
              matches: [
                { path: '/spec/template/spec/containers/0/image', value: 'registry.example/shop/web:1.0' },
              ],
            },
            strategicPatches: [
              {
                patchData: [
                  'spec:',
                  '  template:',
                  '    spec:',
                  '      containers:',
                  '      - name: web',
                  '        image: registry.example/shop/web:2.0',
                ].join('\n'),
              },
            ],
          },
          {
            // `*` is a glob that stops at dots: core `services` match, `deployments.apps` not.
            conditions: { groupResource: '*', resourceNameRegex: '^web$' },
            mergePatches: [{ patchData: 'metadata:\n  labels:\n    matched-by: star\n' }],
          },
        ],
      },
    };

    const name = uniqueName('mods');
    const { plan } = await planRestore({ name, spec }, w.deps());
    const planned = (s: Seeded) =>
      plan.items.find(
        (i) =>
          i.groupResource === s.gr &&
          i.namespace === s.obj.metadata.namespace &&
          i.name === s.obj.metadata.name,
      );
    // The plan shows the objects as the modifiers leave them.
    expect(planned(appConfig)?.changes).toContainEqual({ path: 'data.color', op: 'add', after: 'green' });
    expect(planned(dbConfig)?.changes).not.toContainEqual(
      expect.objectContaining({ path: 'data.deprecated' }),
    );

    const result = await applyRestore({ name, spec }, w.deps());
    expect(result.items.filter((i) => i.result === 'failed')).toEqual([]);
    expect(result.phase).toBe('Completed');
    for (const s of objects) expect(await read(w.kube, s), ref(s)).not.toBeNull();

    expect((await read(w.kube, appConfig))?.data).toEqual({ color: 'green', 'patched-by': 'json-patch' });
    // Not in the rule's namespaces; not matching its name regex.
    expect((await read(w.kube, appConfigElsewhere))?.data).toEqual({ color: 'blue' });
    expect((await read(w.kube, plain))?.data).toEqual({ color: 'blue' });
    expect((await read(w.kube, dbConfig))?.data).toEqual({ pool: '50' });

    const webContainers = containersOf(await read(w.kube, web));
    expect(webContainers).toHaveLength(1);
    expect(webContainers[0]).toMatchObject({
      name: 'web',
      image: 'registry.example/shop/web:2.0',
      // Merged by name: the rest of the container is kept.
      env: [{ name: 'MODE', value: 'production' }],
      ports: [expect.objectContaining({ containerPort: 8080, name: 'http' })],
    });
    expect(containersOf(await read(w.kube, worker))[0]?.image).toBe('registry.example/shop/worker:1.0');

    expect((await read(w.kube, webService))?.metadata.labels?.['matched-by']).toBe('star');
    expect((await read(w.kube, web))?.metadata.labels?.['matched-by']).toBeUndefined();
  });

  it('refuse an invalid document before anything is read or written, naming each field', async () => {
    world = await localWorld();
    const spec: RestoreSpec = {
      backupName: 'does-not-matter',
      namespaceMapping: { shop: 'Shop Copy' },
      resourceModifiers: {
        version: 'v1',
        resourceModifierRules: [
          { conditions: { groupResource: '' }, mergePatches: [{ patchData: '{}' }] },
          { conditions: { groupResource: 'configmaps', resourceNameRegex: '(' }, patches: [] },
        ],
      },
    };
    const error = await planRestore({ name: uniqueName('bad-spec'), spec }, world.deps()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RestoreSpecError);
    expect((error as RestoreSpecError).problems).toEqual([
      'namespaceMapping.shop: target "Shop Copy" is not a valid namespace name',
      'resourceModifiers.resourceModifierRules[0].conditions.groupResource: must not be empty',
      'resourceModifiers.resourceModifierRules[1].conditions.resourceNameRegex: invalid regular expression',
      'resourceModifiers.resourceModifierRules[1]: no patches, mergePatches or strategicPatches',
    ]);
    const applied = await applyRestore({ name: uniqueName('bad-spec'), spec }, world.deps()).catch(
      (e: unknown) => e,
    );
    expect(applied).toBeInstanceOf(RestoreSpecError);
  });
});
