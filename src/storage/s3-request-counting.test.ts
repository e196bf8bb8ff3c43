// The S3 client's retries and final failures, counted by operation (countRequests): against a
// loopback HTTP server that resets connections or answers with a status code, so each case's
// attempts are known. The counters themselves are the reconciler's (observe/metrics.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, storageRequestCounters } from '../observe/metrics.js';
import { requestOutcome, S3Store } from './s3-store.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server that answers the n-th request (from 1) with `answer(n)`: a status, or 'reset'. */
async function server(answer: (n: number) => number | 'reset'): Promise<{ url: string; seen: () => number }> {
  let n = 0;
  const s = createServer((req, res) => {
    n += 1;
    const a = answer(n);
    req.resume();
    if (a === 'reset') req.socket.destroy();
    else res.writeHead(a, { 'content-length': '0' }).end();
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, seen: () => n };
}

function storeAt(url: string, metrics: ReturnType<typeof createMetrics>): S3Store {
  return new S3Store({
    bucket: 'b',
    endpoint: url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    network: { maxAttempts: 4, connectTimeoutMs: 2_000, responseTimeoutMs: 5_000 },
    requests: storageRequestCounters(metrics),
  });
}

async function count(metrics: ReturnType<typeof createMetrics>, name: string, operation: string) {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return m?.values.find((v) => v.labels.operation === operation)?.value ?? 0;
}

describe('S3 request counting', () => {
  it('counts every retry and one failure when every connection is reset', async () => {
    const srv = await server(() => 'reset');
    const metrics = createMetrics({ defaultMetrics: false });
    await expect(storeAt(srv.url, metrics).exists('a/x.json')).rejects.toThrow(
      /S3 endpoint http:\/\/127.0.0.1:\d+ .*while checking a\/x.json/,
    );
    expect(srv.seen()).toBe(4);
    expect(await count(metrics, 'lifeboat_storage_retries_total', 'HeadObject')).toBe(3);
    expect(await count(metrics, 'lifeboat_storage_request_failures_total', 'HeadObject')).toBe(1);
  }, 60_000);

  it('counts the retries of a request that succeeds in the end, and no failure', async () => {
    const srv = await server((n) => (n <= 2 ? 503 : 200));
    const metrics = createMetrics({ defaultMetrics: false });
    await storeAt(srv.url, metrics).check();
    expect(srv.seen()).toBe(3);
    expect(await count(metrics, 'lifeboat_storage_retries_total', 'HeadBucket')).toBe(2);
    expect(await count(metrics, 'lifeboat_storage_request_failures_total', 'HeadBucket')).toBe(0);
  }, 60_000);

  it('counts nothing for an answer S3 gives on purpose (404 on a missing key)', async () => {
    const srv = await server(() => 404);
    const metrics = createMetrics({ defaultMetrics: false });
    expect(await storeAt(srv.url, metrics).exists('a/missing.json')).toBe(false);
    expect(srv.seen()).toBe(1);
    expect(await count(metrics, 'lifeboat_storage_retries_total', 'HeadObject')).toBe(0);
    expect(await count(metrics, 'lifeboat_storage_request_failures_total', 'HeadObject')).toBe(0);
  });
});

describe('requestOutcome', () => {
  it.each([
    [
      'a reset after 4 tries',
      { code: 'ECONNRESET', $metadata: { attempts: 4 } },
      { retries: 3, fault: true },
    ],
    ['a 503 after 2 tries', { $metadata: { attempts: 2, httpStatusCode: 503 } }, { retries: 1, fault: true }],
    ['throttling', { $metadata: { attempts: 4, httpStatusCode: 429 } }, { retries: 3, fault: true }],
    ['a 403 at once', { $metadata: { attempts: 1, httpStatusCode: 403 } }, { retries: 0, fault: false }],
    ['an error without metadata', new Error('x'), { retries: 0, fault: true }],
  ])('%s', (_what, err, expected) => {
    expect(requestOutcome(err)).toEqual(expected);
  });
});
