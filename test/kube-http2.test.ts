// How KubeClient reaches the API server (ADR 0052): its requests in flight are streams of one
// HTTP/2 connection, not one TLS connection each; with http2: false, or behind a server that
// offers only HTTP/1.1 in the TLS handshake (a proxy, a load balancer), they go over HTTP/1.1.
import { createServer, request as httpsRequest, type Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KubeClient } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import { configMap, namespace } from './fixtures/seed.js';
import { resourceInfo } from './fixtures/backups.js';
import { startTcpProxy, type TcpProxy } from './fixtures/tcp-proxy.js';
import { apiserverCertificate, ground, kubeconfigFor, uniqueName } from './ground/world.js';

const AT_ONCE = 64;

/** AT_ONCE ConfigMaps created at once through `kube`, then read back by `direct`. */
async function createAtOnce(kube: KubeClient, direct: KubeClient, configmaps: ResourceInfo, ns: string) {
  const names = Array.from({ length: AT_ONCE }, (_, i) => `cm-${i}`);
  await Promise.all(
    names.map((name) => kube.createOnly(configmaps, configMap({ namespace: ns, name, data: { i: name } }))),
  );
  const live = await direct.list(configmaps, { namespace: ns });
  return { names, live: live.items.map((o) => o.metadata.name).filter((n) => n?.startsWith('cm-')) };
}

let direct: KubeClient;
let configmaps: ResourceInfo;

beforeAll(async () => {
  direct = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
  configmaps = await resourceInfo(direct, 'configmaps');
});
afterAll(() => direct?.close());

async function newNamespace(): Promise<string> {
  const ns = uniqueName('kube-http2');
  await direct.createOnly(await resourceInfo(direct, 'namespaces'), namespace(ns));
  return ns;
}

describe('requests to an API server that speaks HTTP/2', () => {
  let proxy: TcpProxy;
  beforeAll(async () => {
    const server = new URL(ground().apiserverUrl);
    // Passes the TLS bytes through, so the client and the API server agree on HTTP/2 as they
    // would directly; it counts the connections.
    proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port), scheme: 'https' });
  });
  afterAll(() => proxy?.close());

  it.each([
    ['over one connection by default', undefined, '', (n: number) => n === 1] as const,
    ['over a connection each with http2: false', false, '', (n: number) => n > 1] as const,
    [
      'over a connection each with DISABLE_HTTP2 set, as for kubectl',
      undefined,
      '1',
      (n: number) => n > 1,
    ] as const,
  ])(`go, ${AT_ONCE} at once, %s`, async (_how, http2, disable, opened) => {
    const kubeconfig = await kubeconfigFor(proxy.url);
    vi.stubEnv('DISABLE_HTTP2', disable);
    const kube = await KubeClient.create(http2 === undefined ? { kubeconfig } : { kubeconfig, http2 });
    vi.unstubAllEnvs();
    try {
      const ns = await newNamespace();
      const before = proxy.connections();
      const { names, live } = await createAtOnce(kube, direct, configmaps, ns);
      expect(live.sort()).toEqual(names.sort());
      const n = proxy.connections() - before;
      expect(opened(n), `${n} connections opened`).toBe(true);
    } finally {
      kube.close();
    }
  });
});

describe('requests through a proxy that offers only HTTP/1.1', () => {
  let proxy: Server;
  let url: string;
  const versions: string[] = [];
  beforeAll(async () => {
    // A TLS-terminating reverse proxy with the API server's own certificate (so the kubeconfig's
    // CA trusts it) and no ALPN, as an HTTP/1.1-only load balancer; it forwards every request
    // to the real API server.
    const { cert, key } = await apiserverCertificate();
    const target = new URL(ground().apiserverUrl);
    proxy = createServer({ cert, key }, (req, res) => {
      versions.push(req.httpVersion);
      const upstream = httpsRequest(
        {
          host: target.hostname,
          port: target.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
          ca: cert,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const address = proxy.address();
    url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(() => new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve())));

  it('go over HTTP/1.1, and every one is answered', async () => {
    const kube = await KubeClient.create({ kubeconfig: await kubeconfigFor(url) });
    try {
      const ns = await newNamespace();
      const { names, live } = await createAtOnce(kube, direct, configmaps, ns);
      expect(live.sort()).toEqual(names.sort());
      expect(await kube.get(configmaps, ns, 'cm-0')).toMatchObject({ data: { i: 'cm-0' } });
      expect(versions.length).toBeGreaterThanOrEqual(AT_ONCE + 1);
      expect(new Set(versions)).toEqual(new Set(['1.1']));
    } finally {
      kube.close();
    }
  });
});
