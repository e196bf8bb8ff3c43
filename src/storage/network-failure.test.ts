// How an S3 network failure is worded: a table for the pure wording, and real loopback sockets
// (a server that resets, one that never answers, a closed port, an http server spoken to with
// https) for what the SDK really throws and S3Store says.
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { describeNetworkFailure, networkFailureKind } from './network-failure.js';
import { S3Store } from './s3-store.js';

const where = { endpoint: 'http://s3.local:9000', action: 'writing backups/b/b.tar.gz' };

describe('describeNetworkFailure', () => {
  it.each([
    {
      e: { name: 'TimeoutError', code: 'ECONNRESET', message: 'socket hang up', attempts: 4 },
      text: 'S3 endpoint http://s3.local:9000 closed the connection before it answered (reset; 4 attempt(s): ECONNRESET: socket hang up) while writing backups/b/b.tar.gz: the server or a proxy in between dropped it',
    },
    {
      e: { name: 'TimeoutError', code: 'EPIPE', message: 'write EPIPE', attempts: 2 },
      text: 'S3 endpoint http://s3.local:9000 closed the connection before it answered (reset; 2 attempt(s): write EPIPE) while writing backups/b/b.tar.gz: the server or a proxy in between dropped it',
    },
    {
      e: { name: 'Error', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9000', attempts: 4 },
      text: 'cannot reach S3 endpoint http://s3.local:9000 (ECONNREFUSED): the connection was refused, so nothing listens at that host and port (4 attempt(s): connect ECONNREFUSED 127.0.0.1:9000) while writing backups/b/b.tar.gz',
    },
    {
      e: { name: 'Error', code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND s3.local' },
      text: 'cannot reach S3 endpoint http://s3.local:9000 (ENOTFOUND): its host name did not resolve (getaddrinfo ENOTFOUND s3.local) while writing backups/b/b.tar.gz',
    },
    {
      e: { name: 'Error', code: 'EHOSTUNREACH', message: 'connect EHOSTUNREACH 10.0.0.9:9000', attempts: 1 },
      text: 'cannot reach S3 endpoint http://s3.local:9000 (EHOSTUNREACH): no network route to it (1 attempt(s): connect EHOSTUNREACH 10.0.0.9:9000) while writing backups/b/b.tar.gz',
    },
    {
      e: {
        name: 'Error',
        code: 'ERR_SSL_WRONG_VERSION_NUMBER',
        message: 'wrong version number',
        attempts: 1,
      },
      text: 'the TLS connection to S3 endpoint http://s3.local:9000 failed (1 attempt(s): ERR_SSL_WRONG_VERSION_NUMBER: wrong version number) while writing backups/b/b.tar.gz: check that it speaks https at that port (an http endpoint needs an http:// s3Url)',
    },
    {
      e: {
        name: 'TimeoutError',
        message:
          '@smithy/node-http-handler - [ERROR] Request timed out after 5000 ms (requestTimeout), closing the connection.',
        attempts: 4,
      },
      text: 'S3 endpoint http://s3.local:9000 did not answer in time (4 attempt(s): Request timed out after 5000 ms (requestTimeout), closing the connection.) while writing backups/b/b.tar.gz',
    },
  ])('$e.code $e.name', ({ e, text }) => {
    expect(describeNetworkFailure(e, where)).toBe(text);
  });

  it('says nothing of an error that is not a network failure', () => {
    expect(describeNetworkFailure({ name: 'NoSuchKey', message: 'not found' }, where)).toBeUndefined();
    expect(networkFailureKind({ name: 'AccessDenied' })).toBeUndefined();
  });
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function listen(server: Server | HttpServer): Promise<number> {
  closers.push(() => new Promise((r) => server.close(() => r())));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

function storeAt(endpoint: string, network: { maxAttempts: number; responseTimeoutMs?: number }): S3Store {
  return new S3Store({
    bucket: 'b',
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-never-shown' },
    network: { connectTimeoutMs: 5_000, responseTimeoutMs: 30_000, ...network },
  });
}

/** The message S3Store throws for an existsobject call. */
async function failure(store: S3Store): Promise<string> {
  const err = await store.exists('backups/b/velero-backup.json').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  const message = (err as Error).message;
  expect(message).not.toContain('secret-never-shown');
  return message;
}

describe('S3Store names real network failures for what they are', () => {
  it('a server that resets every connection: reset, not a timeout', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    const port = await listen(server);
    const message = await failure(storeAt(`http://127.0.0.1:${port}`, { maxAttempts: 2 }));
    expect(message).toMatch(
      new RegExp(
        `^S3 endpoint http://127\\.0\\.0\\.1:${port} closed the connection before it answered \\(reset; 2 attempt\\(s\\): read ECONNRESET\\) while .*backups/b/velero-backup\\.json`,
      ),
    );
    expect(message).not.toContain('in time');
  });

  it('a server that closes without an answer (socket hang up): reset', async () => {
    const server = createServer((socket) => {
      socket.once('data', () => socket.end());
    });
    const port = await listen(server);
    const message = await failure(storeAt(`http://127.0.0.1:${port}`, { maxAttempts: 1 }));
    expect(message).toMatch(
      /closed the connection before it answered \(reset; 1 attempt\(s\): .*socket hang up/,
    );
  });

  it('a closed port: refused', async () => {
    const server = createServer();
    const port = await listen(server);
    await closers.pop()?.();
    const message = await failure(storeAt(`http://127.0.0.1:${port}`, { maxAttempts: 1 }));
    expect(message).toMatch(
      new RegExp(
        `^cannot reach S3 endpoint http://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\): the connection was refused`,
      ),
    );
  });

  it('a server that never answers: a timeout', async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
    });
    const port = await listen(server);
    closers.unshift(() => {
      for (const s of sockets) s.destroy();
      return Promise.resolve();
    });
    const message = await failure(
      storeAt(`http://127.0.0.1:${port}`, { maxAttempts: 1, responseTimeoutMs: 300 }),
    );
    expect(message).toMatch(
      new RegExp(
        `^S3 endpoint http://127\\.0\\.0\\.1:${port} did not answer in time \\(1 attempt\\(s\\): .+\\) while `,
      ),
    );
  });

  it('https spoken to an http server: a TLS failure', async () => {
    const server = createHttpServer((_req, res) => res.writeHead(200).end());
    const port = await listen(server);
    const message = await failure(storeAt(`https://127.0.0.1:${port}`, { maxAttempts: 1 }));
    expect(message).toMatch(
      new RegExp(
        `^the TLS connection to S3 endpoint https://127\\.0\\.0\\.1:${port} failed \\(1 attempt\\(s\\): .+\\) while `,
      ),
    );
  });
});
