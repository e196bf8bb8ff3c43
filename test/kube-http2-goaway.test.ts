// HTTP/2 against an API server that sends GOAWAY (ADR 0052): kube-apiserver's --goaway-chance
// ends a client's HTTP/2 connection after a random share of its answers, so that clients spread
// over the API servers behind a load balancer. The client must open a new connection and send
// the requests the old one refused again, and send nothing twice that reached the server: a
// create sent twice would come back 409 AlreadyExists. This test starts a ground of its own with
// the highest chance the API server allows (2 % of requests).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pLimit from 'p-limit';
import { KubeClient } from '../src/kube/client.js';
import { startGround, type Ground } from './ground/ground.js';
import { configMap, namespace } from './fixtures/seed.js';
import { resourceInfo } from './fixtures/backups.js';
import { startTcpProxy, type TcpProxy } from './fixtures/tcp-proxy.js';
import { kubeconfigFor } from './ground/world.js';

const CREATES = 1_000;

let ground: Ground;
let proxy: TcpProxy;
beforeAll(async () => {
  ground = await startGround({ apiserverArgs: ['--goaway-chance=0.02'] });
  const server = new URL(ground.info.apiserverUrl);
  // Passes the TLS bytes through and counts the connections the client opens.
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port), scheme: 'https' });
}, 300_000);
afterAll(async () => {
  await proxy?.close();
  await ground?.stop();
});

describe('HTTP/2 to an API server that sends GOAWAY', () => {
  it(`creates ${CREATES} objects, 64 at once, each once, over new connections as the old ones go away`, async () => {
    const kube = await KubeClient.create({
      kubeconfig: await kubeconfigFor(proxy.url, ground.info),
      http2: true,
    });
    try {
      const ns = 'goaway';
      await kube.createOnly(await resourceInfo(kube, 'namespaces'), namespace(ns));
      const configmaps = await resourceInfo(kube, 'configmaps');
      const before = proxy.connections();
      const limit = pLimit(64);
      const names = Array.from({ length: CREATES }, (_, i) => `cm-${i}`);
      await Promise.all(
        names.map((name) =>
          limit(() => kube.createOnly(configmaps, configMap({ namespace: ns, name, data: { name } }))),
        ),
      );
      const opened = proxy.connections() - before;
      // At 2 % per answer, 1,000 answers without a GOAWAY would happen about once in 10^9 runs.
      expect(opened, 'connections opened while creating').toBeGreaterThan(1);
      const live = await kube.list(configmaps, { namespace: ns });
      const made = live.items.map((o) => o.metadata.name ?? '').filter((n) => n.startsWith('cm-'));
      expect(made.sort()).toEqual(names.sort());
      for (const o of live.items.filter((i) => i.metadata.name?.startsWith('cm-')))
        expect(o.data).toEqual({ name: o.metadata.name });
    } finally {
      kube.close();
    }
  }, 300_000);
});
