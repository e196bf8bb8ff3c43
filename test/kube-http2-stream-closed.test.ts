// An HTTP/2 stream that ends with no answer is a failed request, never an answer of status 0.
// Node ends a stream closed with NO_ERROR before its answer came (an RST_STREAM from a server or
// proxy, or a connection torn down under it) as if it were complete; in a CI run of
// kube-stale-connections a create came back as "HTTP 0" that way instead of being sent again.
// Here an HTTP/2 reverse proxy in front of the real API server closes one chosen request's stream
// with NO_ERROR instead of passing it on; every other request goes through to the API server.
import {
  connect as http2Connect,
  constants,
  createSecureServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, KubeUnreachableError } from '../src/kube/client.js';
import type { ResourceInfo } from '../src/kube/types.js';
import { configMap, namespace } from './fixtures/seed.js';
import { resourceInfo } from './fixtures/backups.js';
import { apiserverCertificate, ground, kubeconfigFor, uniqueName } from './ground/world.js';

interface ClosingProxy {
  url: string;
  /** Close the next request whose method is `method` with NO_ERROR, unanswered and not passed on. */
  closeNext(method: string): void;
  /** Requests passed on to the API server, as "METHOD path". */
  passed: string[];
  close(): Promise<void>;
}

async function startClosingProxy(): Promise<ClosingProxy> {
  const { cert, key } = await apiserverCertificate();
  const upstream: ClientHttp2Session = http2Connect(ground().apiserverUrl, { ca: cert });
  const passed: string[] = [];
  let closeMethod: string | undefined;
  const server: Http2SecureServer = createSecureServer({ cert, key });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    const method = String(headers[constants.HTTP2_HEADER_METHOD]);
    if (method === closeMethod) {
      closeMethod = undefined;
      stream.close(constants.NGHTTP2_NO_ERROR);
      return;
    }
    passed.push(`${method} ${String(headers[constants.HTTP2_HEADER_PATH])}`);
    const forwarded = { ...headers };
    delete forwarded[constants.HTTP2_HEADER_AUTHORITY];
    const out = upstream.request(forwarded);
    out.on('response', (answer) => {
      const { [constants.HTTP2_HEADER_STATUS]: status, ...rest } = answer;
      stream.respond({ ...rest, [constants.HTTP2_HEADER_STATUS]: status });
      out.pipe(stream);
    });
    out.on('error', () => stream.close(constants.NGHTTP2_INTERNAL_ERROR));
    stream.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`,
    closeNext: (method) => (closeMethod = method),
    passed,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('an HTTP/2 stream closed with no answer', () => {
  let proxy: ClosingProxy;
  let direct: KubeClient;
  let configmaps: ResourceInfo;
  const ns = uniqueName('h2-closed');

  beforeAll(async () => {
    proxy = await startClosingProxy();
    direct = await KubeClient.create({ kubeconfig: ground().kubeconfigPath });
    configmaps = await resourceInfo(direct, 'configmaps');
    await direct.createOnly(await resourceInfo(direct, 'namespaces'), namespace(ns));
  });
  afterAll(async () => {
    direct?.close();
    await proxy?.close();
  });

  it('is sent again when the connection has answered nothing since, and the object is created once', async () => {
    const kube = await KubeClient.create({ kubeconfig: await kubeconfigFor(proxy.url) });
    try {
      await kube.version(); // the connection has answered before
      proxy.closeNext('POST');
      await kube.createOnly(configmaps, configMap({ namespace: ns, name: 'sent-again', data: { k: 'v' } }));
      const posts = proxy.passed.filter((r) => r.startsWith('POST '));
      expect(posts).toEqual([`POST /api/v1/namespaces/${ns}/configmaps`]);
      expect(await direct.get(configmaps, ns, 'sent-again')).toMatchObject({ data: { k: 'v' } });
    } finally {
      kube.close();
    }
  });

  it('fails naming the request when it cannot tell the request was unread, and nothing is created', async () => {
    // A new connection that has answered nothing yet: a stream closed there may have been read.
    const kube = await KubeClient.create({ kubeconfig: await kubeconfigFor(proxy.url) });
    try {
      proxy.closeNext('POST');
      const failed = await kube
        .createOnly(configmaps, configMap({ namespace: ns, name: 'not-sent-again', data: { k: 'v' } }))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(failed).toBeInstanceOf(KubeUnreachableError);
      expect(String((failed as Error).message)).toContain(`POST /api/v1/namespaces/${ns}/configmaps`);
      expect((failed as Error & { cause: Error }).cause.message).toMatch(/stream closed with no answer/);
      expect(await direct.get(configmaps, ns, 'not-sent-again')).toBeNull();
    } finally {
      kube.close();
    }
  });
});
