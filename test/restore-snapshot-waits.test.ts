// ObjectWaits (src/restore/snapshot-waits.ts) against the real apiserver: many objects waited
// for at once, each settled on its own (ready, gone, late), with looks shared per namespace.
// ConfigMaps stand in for the claims and snapshots a restore waits for: the waits only read
// objects, and a ConfigMap's readiness is ours to set.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { ObjectWaits, type WaitOutcome } from '../src/restore/snapshot-waits.js';
import { groundKube } from './fixtures/backups.js';
import { deleteNamespaces } from './fixtures/restore-fixtures.js';
import { until } from './fixtures/pods.js';
import { newNamespace } from './ground/world.js';

const CONFIGMAPS: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: ['get', 'list', 'create', 'delete', 'patch'],
  shortNames: [],
  singularName: 'configmap',
  preferredVersion: 'v1',
};

let kube: KubeClient;
const namespaces: string[] = [];

beforeAll(async () => {
  kube = await groundKube();
});
afterAll(async () => {
  await deleteNamespaces(kube, namespaces);
  kube?.close();
});

const ready = (cm: KubeObject): boolean => (cm.data as Record<string, string> | undefined)?.ready === 'yes';

async function configMap(namespace: string, name: string, isReady = false): Promise<void> {
  await kube.create(CONFIGMAPS, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace },
    data: { ready: isReady ? 'yes' : 'no' },
  });
}

async function makeReady(namespace: string, name: string): Promise<void> {
  await kube.mergePatch(
    CONFIGMAPS,
    { namespace, name },
    { data: { ready: 'yes' } },
    { fieldManager: 'test' },
  );
}

describe('waiting for many objects at once', () => {
  it('settles each object on its own: ready as soon as it is, gone, or late at its own deadline', async () => {
    const a = await newNamespace('waits-a');
    const b = await newNamespace('waits-b');
    namespaces.push(a, b);
    for (const name of ['one', 'two', 'three']) await configMap(a, name);
    await configMap(b, 'early', true);
    await configMap(b, 'never');

    const lists: string[] = [];
    const list = kube.list.bind(kube);
    const counted = Object.create(kube) as KubeClient;
    counted.list = (info, opts) => {
      lists.push(opts?.namespace ?? '');
      return list(info, opts);
    };
    let pauses = 0;
    const pollDelay = (): number => {
      pauses++;
      return 100;
    };
    const waits = new ObjectWaits({ kube: counted, info: CONFIGMAPS, ready, pollDelay });
    const far = Date.now() + 120_000;
    const settled = new Map<string, WaitOutcome & { at: number }>();
    const track = (ns: string, name: string, deadline: number) =>
      waits.wait(ns, name, deadline).then((o) => settled.set(`${ns}/${name}`, { ...o, at: Date.now() }));
    const all = Promise.all([
      track(a, 'one', far),
      track(a, 'two', far),
      track(a, 'three', far),
      track(b, 'early', far),
      track(b, 'absent', far),
      track(b, 'never', Date.now() + 1_500),
    ]);

    // The ready one and the missing one are settled by the first look; the others still wait.
    await until(
      () => Promise.resolve((settled.has(`${b}/early`) && settled.has(`${b}/absent`)) || undefined),
      'settled',
    );
    expect(settled.get(`${b}/early`)?.state).toBe('ready');
    expect(settled.get(`${b}/absent`)?.state).toBe('gone');
    expect(settled.has(`${a}/one`)).toBe(false);

    await makeReady(a, 'two');
    await until(() => Promise.resolve(settled.has(`${a}/two`) || undefined), 'settled');
    expect(settled.get(`${a}/two`)?.state).toBe('ready');
    expect(settled.has(`${a}/one`)).toBe(false);
    expect(settled.has(`${a}/three`)).toBe(false);

    // A waiter added while others wait is looked at too.
    await configMap(a, 'late');
    const lateWait = waits.wait(a, 'late', far);
    await makeReady(a, 'late');
    expect((await lateWait).state).toBe('ready');

    await until(() => Promise.resolve(settled.has(`${b}/never`) || undefined), 'settled');
    expect(settled.get(`${b}/never`)?.state).toBe('timeout');

    await makeReady(a, 'one');
    await kube.delete(CONFIGMAPS, a, 'three');
    await all;
    expect(settled.get(`${a}/one`)?.state).toBe('ready');
    expect(settled.get(`${a}/three`)?.state).toBe('gone');
    const readyOne = settled.get(`${a}/one`);
    expect(readyOne?.state === 'ready' && readyOne.object.metadata.name).toBe('one');

    // One list per namespace per look, however many objects wait there: three or four objects
    // waited in `a` at once, yet it was listed at most once per look (a pause follows each look
    // that leaves someone waiting), and only the namespaces with waiters were listed.
    const looksAtA = lists.filter((n) => n === a).length;
    expect(looksAtA).toBeGreaterThan(1);
    expect(looksAtA).toBeLessThanOrEqual(pauses + 1);
    expect(lists.filter((n) => n === b).length).toBeLessThanOrEqual(pauses + 1);
    expect(lists.every((n) => n === a || n === b)).toBe(true);
  });

  it('fails the waiters of a namespace it cannot look at, naming the error', async () => {
    const missing: ResourceInfo = { ...CONFIGMAPS, group: 'no.such.group', resource: 'nothings' };
    const waits = new ObjectWaits({ kube, info: missing, ready, pollDelay: () => 100 });
    await expect(waits.wait('default', 'x', Date.now() + 10_000)).rejects.toThrow(/nothings/);
  });
});
