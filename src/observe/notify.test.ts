// Delivery to a real HTTP server on loopback: the body a Slack webhook reads, failures logged
// and counted without the URL, and never thrown.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { createWebhookNotifier, type NotificationEvent } from './notify.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function receiver(status: number): Promise<{ url: string; bodies: unknown[]; paths: string[] }> {
  const bodies: unknown[] = [];
  const paths: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      paths.push(req.url ?? '');
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(status).end('receiver says no');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  // Like a Slack webhook URL: the secret is in the path.
  return { url: `http://127.0.0.1:${port}/services/T0/B0/secret-token-123`, bodies, paths };
}

function capture(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'debug', destination }) };
}

const event: NotificationEvent = {
  kind: 'BackupFailed',
  subject: 'nightly-20261204020000',
  message: 'could not list secrets after retrying',
  details: { location: 'primary', schedule: 'nightly' },
  time: new Date('2026-12-04T02:00:05Z'),
};

describe('webhook notifications', () => {
  it('POSTs Slack-compatible text and the event as JSON, and counts the delivery', async () => {
    const r = await receiver(200);
    const metrics = createMetrics();
    const { log } = capture();
    const ok = await createWebhookNotifier({
      name: 'Secret lifeboat/alerts key url',
      url: r.url,
      log,
      metrics,
    }).notify(event);
    expect(ok).toBe(true);
    expect(r.paths).toEqual(['/services/T0/B0/secret-token-123']);
    expect(r.bodies).toEqual([
      {
        text: 'lifeboat: Backup failed: nightly-20261204020000: could not list secrets after retrying (location: primary, schedule: nightly)',
        lifeboat: {
          kind: 'BackupFailed',
          subject: 'nightly-20261204020000',
          message: 'could not list secrets after retrying',
          details: { location: 'primary', schedule: 'nightly' },
          time: '2026-12-04T02:00:05.000Z',
        },
      },
    ]);
    expect(await metrics.registry.metrics()).toContain(
      'lifeboat_notifications_total{kind="BackupFailed",result="delivered"} 1',
    );
  });

  it.each([
    ['a refusing receiver', async () => (await receiver(500)).url, 'HTTP 500'],
    [
      'nobody listening',
      async () => {
        const r = await receiver(200);
        await new Promise((res) => servers.pop()!.close(res));
        return r.url;
      },
      'ECONNREFUSED',
    ],
  ])('logs and counts %s without the URL, and does not throw', async (_what, urlOf, reason) => {
    const url = await urlOf();
    const metrics = createMetrics();
    const { lines, log } = capture();
    const ok = await createWebhookNotifier({
      name: 'Secret lifeboat/alerts key url',
      url,
      log,
      metrics,
    }).notify(event);
    expect(ok).toBe(false);
    const logged = lines.join('');
    expect(logged).toContain(`"reason":"${reason}"`);
    expect(logged).toContain('Secret lifeboat/alerts key url');
    expect(logged).not.toContain('secret-token-123');
    expect(await metrics.registry.metrics()).toContain(
      'lifeboat_notifications_total{kind="BackupFailed",result="failed"} 1',
    );
  });
});
