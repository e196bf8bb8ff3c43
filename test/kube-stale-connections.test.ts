// A keep-alive connection that the API server closed while idle (kube-apiserver closes them
// after 90 s; load balancers after their own idle time) must not fail the next write sent on
// it. In `npm run bench -- velero`, a restore that started about 90 s after the backup had used
// the client's 64 connections lost namespace creates to ECONNRESET and ended PartiallyFailed.
// The proxy here resets each pooled connection when its client next sends, without passing a
// byte on: the race of a server's idle close with the client's next request, every time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import { configMap, namespace } from './fixtures/seed.js';
import { resourceInfo } from './fixtures/backups.js';
import { startTcpProxy, type TcpProxy } from './fixtures/tcp-proxy.js';
import { ground, kubeconfigFor, uniqueName } from './ground/world.js';

const SOCKETS = 8;

// Over HTTP/2 (the default) the pooled connection is one, carrying all the streams; over
// HTTP/1.1 there are SOCKETS of them.
describe.each([
  { transport: 'HTTP/2', http2: true },
  { transport: 'HTTP/1.1', http2: false },
])('writes on connections the server closed while idle, over $transport', ({ http2 }) => {
  let proxy: TcpProxy;
  let kube: KubeClient;
  let direct: KubeClient;
  let configmaps: ResourceInfo;
  const ns = uniqueName(`stale-conn-${http2 ? 'h2' : 'h1'}`);

  beforeAll(async () => {
    const server = new URL(ground().apiserverUrl);
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port), scheme: 'https' });
    const kubeconfig = await kubeconfigFor(proxy.url);
    kube = await KubeClient.create({ kubeconfig, maxSockets: SOCKETS, http2 });
    direct = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    configmaps = await resourceInfo(direct, 'configmaps');
    await direct.createOnly(await resourceInfo(direct, 'namespaces'), namespace(ns));
  });
  afterAll(async () => {
    kube?.close();
    direct?.close();
    await proxy?.close();
  });

  it('creates every object once, on fresh connections, when the pooled ones are reset', async () => {
    // Open SOCKETS connections (as many requests at once as the client keeps connections).
    await Promise.all(Array.from({ length: SOCKETS }, () => kube.version()));
    proxy.resetOnNextSend();
    const names = Array.from({ length: SOCKETS }, (_, i) => `cm-${i}`);
    await Promise.all(
      names.map((name) =>
        kube.createOnly(
          configmaps,
          configMap({ namespace: ns, name, labels: { stale: 'conn' }, data: { i: name } }),
        ),
      ),
    );
    expect(proxy.resets()).toBeGreaterThan(0);
    const live = await direct.list(configmaps, { namespace: ns, labelSelector: 'stale=conn' });
    expect(live.items.map((o) => o.metadata.name).sort()).toEqual([...names].sort());
    expect(live.items.map((o) => (o as { data?: { i?: string } }).data?.i).sort()).toEqual([...names].sort());
  });
});
