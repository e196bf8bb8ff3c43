// Scheduled verification restores (a BackupSchedule's `verify` section) on the real ground: a
// pass backs the schedule up, restores that backup into a scratch namespace, finds every object
// of each kind there, deletes the scratch namespace and records the result in Git and in
// metrics; a pass before the next verify slot runs none; and a verification that cannot run (a
// namespace of the scratch name that lifeboat did not make) fails without touching it, is
// alert-able in metrics and tells the location's webhook.
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../src/reconcile/pass.js';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { silentLogger } from '../src/observe/logger.js';
import { createMetrics } from '../src/observe/metrics.js';
import { VERIFICATION_LABEL } from '../src/reconcile/verification.js';
import { createPolicyRepo, KubeHandle } from './fixtures/policy-repo.js';
import {
  configMap,
  createAll,
  infoFor,
  secret,
  secretValue,
  uniqueName,
} from './fixtures/restore-fixtures.js';
import { newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
const servers: Server[] = [];
afterEach(async () => {
  await kube.close();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function receiver(): Promise<{ url: string; bodies: Record<string, unknown>[] }> {
  const bodies: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(200).end();
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/token`, bodies };
}

describe('verification restores from a reconcile pass', () => {
  it('restores the latest backup into a scratch namespace, checks it, cleans up, and records the result', async () => {
    const client = await kube.get();
    const ns = await newNamespace('vsrc');
    await createAll(client, [
      configMap(ns, 'settings', { color: 'blue' }),
      configMap(ns, 'flags', { beta: 'on' }),
      secret(ns, 'db', { password: secretValue('verify-pw') }),
      {
        gr: 'serviceaccounts',
        obj: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'api', namespace: ns } },
      },
    ]);
    const hook = await receiver();
    const dataDir = await tempDir('verify-data-');
    const urlFile = join(dataDir, 'webhook-url');
    await writeFile(urlFile, `${hook.url}\n`);
    const schedule = uniqueName('verified');
    const prefix = `v${schedule.slice(-6)}-`;
    const scratch = `${prefix}${ns}`;
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
      'schedules/verified.yaml': stringify({
        apiVersion: 'lifeboat.dev/v1',
        kind: 'BackupSchedule',
        metadata: { name: schedule },
        spec: {
          schedule: '0 2 * * *',
          verify: { schedule: '0 4 * * *', namespacePrefix: prefix },
          template: { includedNamespaces: [ns] },
        },
      }),
    });
    const metrics = createMetrics({ defaultMetrics: false });
    const wcDir = join(await tempDir('verify-wc-'), 'wc');
    const wc = new WorkingCopy({ remoteUrl: repo.remote, dir: wcDir });
    let now = new Date();
    const pass = () =>
      reconcileOnce({
        wc,
        kube: kube.get,
        log: silentLogger(),
        localRoot: dataDir,
        metrics,
        clock: () => now,
      });
    const statusFile = join(wcDir, 'status', 'verifications', `${schedule}.yaml`);

    // Pass 1: the first backup, then the first verification at once.
    const first = await pass();
    const backupName = first.events.find((e) => e.action === 'backup')?.subject;
    expect(first.events.find((e) => e.action === 'backup')?.outcome).toBe('Completed');
    expect(first.events.find((e) => e.action === 'verify')).toEqual({
      action: 'verify',
      subject: schedule,
      outcome: `Passed (backup ${backupName})`,
    });
    const status = parse(await readFile(statusFile, 'utf8')) as {
      kind: string;
      lastRun: Record<string, unknown>;
      nextRun: string;
    };
    expect(status.kind).toBe('VerificationStatus');
    expect(status.lastRun).toMatchObject({
      phase: 'Passed',
      backup: backupName,
      restore: expect.stringMatching(new RegExp(`^${schedule}-verify-\\d{14}$`)),
      namespaces: { [ns]: scratch },
      restorePhase: 'Completed',
      cleanedUp: true,
    });
    expect(status.lastRun['kinds']).toEqual([
      { kind: 'v1/ConfigMap', backup: expect.any(Number), restored: expect.any(Number) },
      { kind: 'v1/Secret', backup: 1, restored: 1 },
      { kind: 'v1/ServiceAccount', backup: expect.any(Number), restored: expect.any(Number) },
    ]);
    for (const k of status.lastRun['kinds'] as { backup: number; restored: number }[]) {
      expect(k.restored).toBe(k.backup);
    }
    // The Secret's value reached neither the status nor the webhook.
    expect(await readFile(statusFile, 'utf8')).not.toContain(secretValue('verify-pw'));
    expect(hook.bodies).toEqual([]);
    let text = await metrics.registry.metrics();
    expect(text).toContain(`lifeboat_verifications_total{schedule="${schedule}",result="Passed"} 1`);
    expect(text).toContain(`lifeboat_verification_failing{schedule="${schedule}"} 0`);
    expect(text).toMatch(
      new RegExp(`lifeboat_verification_last_success_timestamp_seconds\\{schedule="${schedule}"\\} \\d+`),
    );
    // Cleaned up: the scratch namespace is gone or going.
    const nsInfo = await infoFor(client, 'namespaces');
    const left = await client.get(nsInfo, '', scratch);
    expect(left === null || left.metadata.deletionTimestamp !== undefined).toBe(true);

    // Pass 2, before the next verify slot: nothing runs, the record stays.
    const before = await readFile(statusFile, 'utf8');
    const second = await pass();
    expect(second.events.filter((e) => e.action === 'verify')).toEqual([]);
    expect(await readFile(statusFile, 'utf8')).toBe(before);

    // Pass 3, a day later: a namespace of the scratch name that lifeboat did not make is refused.
    await eventuallyGone(client, nsInfo, scratch);
    await client.create(nsInfo, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: scratch, labels: { owner: 'someone' } },
    });
    now = new Date(now.getTime() + 25 * 3_600_000);
    const third = await pass();
    expect(third.events.find((e) => e.action === 'verify')?.outcome).toMatch(/^Failed \(backup /);
    const failed = parse(await readFile(statusFile, 'utf8')) as { lastRun: Record<string, unknown> };
    expect(failed.lastRun).toMatchObject({ phase: 'Failed', cleanedUp: true });
    expect(failed.lastRun['reason']).toBe(
      `scratch namespace ${scratch} exists and was not made by a verification of schedule ${schedule} (no label ${VERIFICATION_LABEL}=${schedule}): nothing restored; delete it or change namespacePrefix`,
    );
    // Not touched: still there, still someone's.
    const theirs = await client.get(nsInfo, '', scratch);
    expect(theirs?.metadata.labels).toMatchObject({ owner: 'someone' });
    expect(theirs?.metadata.deletionTimestamp).toBeUndefined();
    text = await metrics.registry.metrics();
    expect(text).toContain(`lifeboat_verifications_total{schedule="${schedule}",result="Failed"} 1`);
    expect(text).toContain(`lifeboat_verification_failing{schedule="${schedule}"} 1`);
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0]).toMatchObject({
      lifeboat: { kind: 'VerificationFailed', subject: schedule, details: { schedule, location: 'primary' } },
    });
    await client.delete(nsInfo, '', scratch);
  }, 600_000);
});

describe('a verification of a backup without namespaced objects', () => {
  it('checks the archive instead of restoring (nothing cluster-scoped is touched) and passes', async () => {
    const dataDir = await tempDir('verify-cluster-data-');
    const schedule = uniqueName('cluster-only');
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': stringify({
        apiVersion: 'lifeboat.dev/v1',
        kind: 'StorageLocation',
        metadata: { name: 'primary' },
        spec: { provider: 'local', path: 'backups', default: true },
      }),
      'schedules/cluster.yaml': stringify({
        apiVersion: 'lifeboat.dev/v1',
        kind: 'BackupSchedule',
        metadata: { name: schedule },
        spec: {
          schedule: '0 2 * * *',
          verify: { schedule: '0 4 * * *', namespacePrefix: 'vc-' },
          template: {
            includedResources: ['clusterroles.rbac.authorization.k8s.io'],
            includeClusterResources: true,
          },
        },
      }),
    });
    const metrics = createMetrics({ defaultMetrics: false });
    const wcDir = join(await tempDir('verify-cluster-wc-'), 'wc');
    const wc = new WorkingCopy({ remoteUrl: repo.remote, dir: wcDir });
    const report = await reconcileOnce({
      wc,
      kube: kube.get,
      log: silentLogger(),
      localRoot: dataDir,
      metrics,
    });
    const backupName = report.events.find((e) => e.action === 'backup')?.subject;
    expect(report.events.find((e) => e.action === 'backup')?.outcome).toBe('Completed');
    expect(report.events.find((e) => e.action === 'verify')).toEqual({
      action: 'verify',
      subject: schedule,
      outcome: `Passed (backup ${backupName})`,
    });
    const status = parse(
      await readFile(join(wcDir, 'status', 'verifications', `${schedule}.yaml`), 'utf8'),
    ) as { lastRun: Record<string, unknown> };
    expect(status.lastRun).toMatchObject({ phase: 'Passed', check: 'archive', cleanedUp: true });
    // Every cluster role of the backup was read back from its archive.
    expect(status.lastRun['archiveItems']).toBeGreaterThan(0);
    expect(status.lastRun['namespaces']).toBeUndefined();
    expect(await metrics.registry.metrics()).toContain(
      `lifeboat_verifications_total{schedule="${schedule}",result="Passed"} 1`,
    );
  }, 600_000);
});

async function eventuallyGone(
  client: Awaited<ReturnType<KubeHandle['get']>>,
  nsInfo: Awaited<ReturnType<typeof infoFor>>,
  name: string,
): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if ((await client.get(nsInfo, '', name)) === null) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`namespace ${name} still exists after 2 minutes`);
}
