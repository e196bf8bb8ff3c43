// Proof under faults: `lifeboat backup create` killed with SIGKILL at random moments of its
// run (drawn uniformly between 0.3 and 1.3 times one measured uninterrupted run, as its first
// part is process start and discovery, which write nothing). Afterwards no backup
// that shows Completed fails `lifeboat backup verify`, and the next reconcile pass past the
// grace period cleans every leftover (unfinished multipart uploads, directories without
// velero-backup.json), leaving only complete backups. KILLS (default 20) sets the number.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { configMap, createObjects, payload } from './fixtures/seed.js';
import { groundKube } from './fixtures/backups.js';
import {
  createPolicyRepo,
  FakeClock,
  HOUR,
  KubeHandle,
  reconcilerFor,
  s3Env,
  s3Location,
} from './fixtures/policy-repo.js';
import { ground, newBucket, newNamespace, tempDir, testS3Client } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'lifeboat.js');
const KILLS = Number(process.env.KILLS ?? '20');
const kube = new KubeHandle();
afterEach(() => kube.close());

function run(
  args: string[],
  opts: { bucket: string; prefix: string; killAfterMs?: number },
): Promise<{ code: number | null; signal: string | null; stdout: string; ms: number }> {
  const { s3, kubeconfigPath } = ground();
  const storage = `s3://${opts.bucket}/${opts.prefix}?endpoint=${encodeURIComponent(s3.endpoint)}`;
  const started = Date.now();
  const child = spawn(
    process.execPath,
    [cli, '--kubeconfig', kubeconfigPath, '--storage', storage, ...args],
    {
      cwd: root,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  const timer =
    opts.killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, ms: Date.now() - started });
    });
  });
}

interface Report {
  backup: string;
  ok: boolean;
  phase?: string;
  problems: { object: string; problem: string }[];
}

describe('backup create killed with SIGKILL at random moments', () => {
  it(`leaves no Completed backup that fails verify, and the next pass cleans the rest (${KILLS} kills)`, async () => {
    const ns = await newNamespace('kill');
    const client = await groundKube();
    try {
      // ~30 MB of hard-to-compress data: an archive of several 5 MiB parts.
      const objects = Array.from({ length: 60 }, (_, i) =>
        configMap({ namespace: ns, name: `blob-${i}`, data: { blob: payload(`${ns}/${i}`, 500_000) } }),
      );
      await createObjects(client, objects, { concurrency: 8 });
    } finally {
      client.close();
    }
    const bucket = await newBucket('kill');
    const prefix = 'cluster';
    const target = { bucket, prefix };
    const create = (name: string, killAfterMs?: number) =>
      run(['backup', 'create', name, '--include-namespaces', ns], {
        ...target,
        ...(killAfterMs === undefined ? {} : { killAfterMs }),
      });

    const whole = await create('whole');
    expect(whole.code).toBe(0);
    const moments: number[] = [];
    const outcomes = { killed: 0, finished: 0 };
    for (let i = 0; i < KILLS; i++) {
      const at = Math.floor((0.3 + Math.random()) * whole.ms);
      moments.push(at);
      const r = await create(`kill-${i}`, at);
      if (r.signal === 'SIGKILL') outcomes.killed++;
      else outcomes.finished++;
    }

    const verify = await run(['-o', 'json', 'backup', 'verify', '--all'], target);
    const reports = JSON.parse(verify.stdout) as Report[];
    const completed = reports.filter((r) => r.phase === 'Completed');
    const incomplete = reports.filter((r) => r.phase === undefined);
    const uploadsBefore =
      (await testS3Client().send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` })))
        .Uploads?.length ?? 0;
    // The figures for the report (README, the lead's note).
    console.log(
      JSON.stringify({
        kills: KILLS,
        wholeRunMs: whole.ms,
        momentsMs: moments,
        ...outcomes,
        completed: completed.length,
        completedFailingVerify: completed.filter((r) => !r.ok).map((r) => r.backup),
        withoutMetadata: incomplete.length,
        otherPhases: reports.filter((r) => r.phase !== undefined && r.phase !== 'Completed').length,
        unfinishedUploads: uploadsBefore,
      }),
    );
    expect(completed.filter((r) => !r.ok)).toEqual([]);
    // Not vacuous: some runs got as far as writing (a leftover, or a finished backup).
    expect(outcomes.finished + incomplete.length + uploadsBefore).toBeGreaterThan(0);
    // The uninterrupted run at least is complete and verified.
    expect(completed.map((r) => r.backup)).toContain('whole');

    // The next pass past the grace period cleans every leftover.
    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': s3Location('primary', { bucket, prefix, isDefault: true }),
    });
    const now = new FakeClock(new Date(Date.now() + 2 * HOUR).toISOString());
    const reconciler = await reconcilerFor(repo, {
      dataDir: await tempDir('kill-data-'),
      kube,
      env: s3Env(),
      clock: now,
    });
    const pass = await reconciler.pass();
    expect(pass.events.filter((e) => e.error !== undefined)).toEqual([]);
    const after = JSON.parse(
      (await run(['-o', 'json', 'backup', 'verify', '--all'], target)).stdout,
    ) as Report[];
    expect(after.filter((r) => r.phase === undefined)).toEqual([]);
    expect(after.filter((r) => r.phase === 'Completed' && !r.ok)).toEqual([]);
    expect(
      (await testS3Client().send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}/` })))
        .Uploads ?? [],
    ).toEqual([]);
    console.log(
      JSON.stringify({ cleanedByPass: pass.actions.map((a) => a.type), leftAfterPass: after.length }),
    );
  }, 1_800_000);
});
