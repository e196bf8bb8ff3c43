// `lifeboat run` as the Deployment runs it: a real process reconciling a real repository,
// serving /healthz, /readyz and /metrics, logging JSON without credentials, and stopping
// cleanly on SIGTERM after the pass in flight.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAll, configMap } from './fixtures/restore-fixtures.js';
import { createPolicyRepo, KubeHandle, s3Env, s3Location, scheduleDoc } from './fixtures/policy-repo.js';
import { ground, newBucket, newNamespace, tempDir } from './ground/world.js';

const kube = new KubeHandle();
afterEach(() => kube.close());

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

async function until<T>(fn: () => Promise<T | undefined>, what: string, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

describe('lifeboat run', () => {
  it('serves health, readiness and metrics, and stops cleanly on SIGTERM', async () => {
    const ns = await newNamespace('run');
    await createAll(await kube.get(), [configMap(ns, 'settings', { color: 'red' })]);
    const bucket = await newBucket('run');
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': s3Location('primary', { bucket, isDefault: true }),
      'schedules/nightly.yaml': scheduleDoc('nightly', { cron: '0 2 * * *', namespaces: [ns] }),
    });
    const dir = await tempDir('run-');
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        join(process.cwd(), 'bin/lifeboat.js'),
        'run',
        '--kubeconfig',
        ground().kubeconfigPath,
        '--repo',
        repo.remote,
        '--workdir',
        join(dir, 'checkout'),
        '--data-dir',
        dir,
        '--interval',
        '2s',
        '--metrics-port',
        String(port),
        '--leader-election',
        'bucket',
        '--log-level',
        'info',
      ],
      { env: { ...process.env, ...s3Env() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let logs = '';
    child.stderr.on('data', (d: Buffer) => (logs += d.toString()));
    child.stdout.on('data', (d: Buffer) => (logs += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const health = await until(async () => {
        const r = await fetch(`${base}/healthz`);
        return r.ok ? r.status : undefined;
      }, '/healthz');
      expect(health).toBe(200);
      // Ready once a pass has completed: the new schedule backs up at once.
      await until(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), '/readyz');
      const metrics = await until(async () => {
        const text = await (await fetch(`${base}/metrics`)).text();
        return /lifeboat_backups_total\{phase="Completed",schedule="nightly"\} 1/.test(text)
          ? text
          : undefined;
      }, 'a completed backup in /metrics');
      expect(metrics).toMatch(/lifeboat_backups_started_total\{schedule="nightly"\} 1/);
      expect(metrics).toMatch(/lifeboat_last_successful_backup_timestamp_seconds\{schedule="nightly"\} \d+/);
      expect(metrics).toMatch(/lifeboat_reconcile_duration_seconds_count \d+/);
      expect(metrics).toMatch(/lifeboat_backup_items_total\{schedule="nightly"\} [1-9]/);
      expect(metrics).toMatch(/lifeboat_git_push_retries_total 0/);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    // JSON log lines, and never the S3 secret.
    const lines = logs.split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.map((l) => (JSON.parse(l) as { msg?: string }).msg)).toContain('reconcile pass done');
    expect(logs).not.toContain(ground().s3.secretAccessKey);
  });
});
