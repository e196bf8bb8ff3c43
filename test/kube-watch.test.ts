// KubeClient.watch against the real API server: the events of the objects a label selects, in
// order; from a list's revision nothing older is replayed; the server's end of a watch and the
// caller's abort both end it; a watch the server refuses fails with its status.
import { describe, expect, it } from 'vitest';
import { KubeApiError, KubeClient } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import type { WatchEvent } from '../src/kube/watch-stream.js';
import { ground, newNamespace } from './ground/world.js';
import { until } from './fixtures/pods.js';

const CONFIG_MAP: ResourceInfo = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
  shortNames: [],
  singularName: 'configmap',
  preferredVersion: 'v1',
};

const configMap = (namespace: string, name: string, labels: Record<string, string>, value = '1') => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, labels },
  data: { value },
});

const seen = (events: WatchEvent[]) => events.map((e) => `${e.type} ${e.object.metadata.name ?? ''}`);

describe('KubeClient.watch', () => {
  it('sends the events of the selected objects in order, until aborted', async () => {
    const kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    const namespace = await newNamespace('watch');
    try {
      await kube.create(CONFIG_MAP, configMap(namespace, 'before', { app: 'x' }));
      const events: WatchEvent[] = [];
      const controller = new AbortController();
      const watching = kube.watch(
        CONFIG_MAP,
        { namespace, labelSelector: 'app=x', signal: controller.signal },
        (e) => events.push(e),
      );
      // Without a revision the objects there are now come first, as ADDED.
      await until(() => Promise.resolve(events.length > 0 ? true : undefined), 'the first event', 60_000);
      await kube.create(CONFIG_MAP, configMap(namespace, 'other', { app: 'y' }));
      await kube.create(CONFIG_MAP, configMap(namespace, 'a', { app: 'x' }));
      await kube.mergePatch(
        CONFIG_MAP,
        { namespace, name: 'a' },
        { data: { value: '2' } },
        { fieldManager: 'test' },
      );
      await kube.delete(CONFIG_MAP, namespace, 'a');
      await until(() => Promise.resolve(events.length >= 4 ? true : undefined), 'four events', 60_000);
      controller.abort();
      await watching;
      expect(seen(events)).toEqual(['ADDED before', 'ADDED a', 'MODIFIED a', 'DELETED a']);
      expect((events[2]?.object.data as { value?: string }).value).toBe('2');
    } finally {
      kube.close();
    }
  }, 120_000);

  it("starts after a list's revision, and ends by itself when the server ends the watch", async () => {
    const kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    const namespace = await newNamespace('watch');
    try {
      // Only this test's ConfigMaps: the cluster's root CA ConfigMap may land in the new
      // namespace after the list.
      const labelSelector = 'app=watched';
      await kube.create(CONFIG_MAP, configMap(namespace, 'listed', { app: 'watched' }));
      const { resourceVersion } = await kube.list(CONFIG_MAP, { namespace, labelSelector });
      await kube.create(CONFIG_MAP, configMap(namespace, 'later', { app: 'watched' }));
      const events: WatchEvent[] = [];
      // The server ends this watch after a second; the call then resolves.
      await kube.watch(CONFIG_MAP, { namespace, labelSelector, resourceVersion, timeoutSeconds: 1 }, (e) =>
        events.push(e),
      );
      expect(seen(events)).toEqual(['ADDED later']);
    } finally {
      kube.close();
    }
  }, 120_000);

  it('fails with the API server’s answer when it refuses the watch', async () => {
    const kube = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    const namespace = await newNamespace('watch');
    try {
      const missing: ResourceInfo = { ...CONFIG_MAP, group: 'nothing.example.com', resource: 'things' };
      const err = await kube
        .watch(missing, { namespace, timeoutSeconds: 30 }, () => undefined)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(err).toBeInstanceOf(KubeApiError);
      expect((err as KubeApiError).status).toBe(404);
      expect((err as KubeApiError).message).toContain('WATCH /apis/nothing.example.com/v1/namespaces/');
    } finally {
      kube.close();
    }
  }, 120_000);
});
