// A reconcile pass whose backup fails tells the location's webhook (a real HTTP server on
// loopback; its URL read from a file, as from a mounted Secret), and a webhook that refuses
// changes nothing about the pass: it is counted and the backup is reported as before.
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../src/reconcile/pass.js';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { silentLogger } from '../src/observe/logger.js';
import { createMetrics } from '../src/observe/metrics.js';
import { createPolicyRepo, KubeHandle } from './fixtures/policy-repo.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
const servers: Server[] = [];
afterEach(async () => {
  await kube.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function receiver(status: number): Promise<{ url: string; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(status).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-token`, bodies };
}

async function passWithWebhook(status: number) {
  const hook = await receiver(status);
  const dataDir = await tempDir('notify-data-');
  const urlFile = join(dataDir, 'webhook-url');
  await writeFile(urlFile, `${hook.url}\n`);
  const ns = await newNamespace('notify');
  const repo = await createPolicyRepo({
    'storage-locations/primary.yaml': stringify({
      apiVersion: 'lifeboat.dev/v1',
      kind: 'StorageLocation',
      metadata: { name: 'primary' },
      spec: {
        provider: 'local',
        path: 'backups',
        default: true,
        notifications: { webhook: { file: urlFile } },
      },
    }),
    // A resource the cluster does not serve: the backup fails before writing anything.
    'backups/broken.yaml': stringify({
      apiVersion: 'lifeboat.dev/v1',
      kind: 'Backup',
      metadata: { name: 'broken' },
      spec: { includedNamespaces: [ns], includedResources: ['gizmos.nosuch.example'] },
    }),
  });
  const metrics = createMetrics();
  const wc = new WorkingCopy({ remoteUrl: repo.remote, dir: join(await tempDir('notify-wc-'), 'wc') });
  const report = await reconcileOnce({
    wc,
    kube: kube.get,
    log: silentLogger(),
    localRoot: dataDir,
    metrics,
  });
  return { hook, report, metrics: await metrics.registry.metrics() };
}

describe('notifications from a reconcile pass', () => {
  it('POST the failed backup to the location webhook', async () => {
    const { hook, report, metrics } = await passWithWebhook(200);
    const failed = report.events.find((e) => e.outcome === 'Failed');
    expect(failed?.error).toMatch(/gizmos/);
    expect(hook.bodies).toHaveLength(1);
    const body = hook.bodies[0] as { text: string; lifeboat: { kind: string; subject: string } };
    expect(body.lifeboat.kind).toBe('BackupFailed');
    expect(body.lifeboat.subject).toBe(failed?.subject);
    expect(body.text).toMatch(/^lifeboat: Backup failed: .*gizmos.*\(location: primary\)$/);
    expect(metrics).toContain('lifeboat_notifications_total{kind="BackupFailed",result="delivered"} 1');
  });

  it('a webhook that refuses is counted, and the pass reports the backup as before', async () => {
    const { hook, report, metrics } = await passWithWebhook(503);
    expect(hook.bodies).toHaveLength(1);
    expect(report.events.find((e) => e.outcome === 'Failed')?.error).toMatch(/gizmos/);
    expect(metrics).toContain('lifeboat_notifications_total{kind="BackupFailed",result="failed"} 1');
  });
});
