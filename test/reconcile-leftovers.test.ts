// What a killed writer leaves behind, and the pass that cleans it up. A real `lifeboat backup
// create` process is killed with SIGKILL in the middle of its archive upload to the real S3
// server: its multipart upload stays (S3 keeps the parts until someone aborts them). The next
// reconcile pass past the grace period aborts it, cleans the half-written backup directory,
// and records both in status/cleanups.yaml and the commit's trailers; a pass after that has
// nothing to do and commits nothing.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import {
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type MultipartUpload,
} from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { configMap, createObjects, payload } from './fixtures/seed.js';
import { groundKube, s3Store } from './fixtures/backups.js';
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
// The compiled CLI, as users run it (global setup builds dist/ when stale).
const cli = join(root, 'bin', 'lifeboat.js');
const kube = new KubeHandle();
afterEach(() => kube.close());

async function uploadsUnder(bucket: string, prefix: string): Promise<MultipartUpload[]> {
  const out = await testS3Client().send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
  return out.Uploads ?? [];
}

async function partCount(bucket: string, u: MultipartUpload): Promise<number> {
  const out = await testS3Client().send(
    new ListPartsCommand({ Bucket: bucket, Key: u.Key ?? '', UploadId: u.UploadId ?? '' }),
  );
  return out.Parts?.length ?? 0;
}

/** A namespace holding ~56 MB of hard-to-compress ConfigMaps: an archive of several 5 MiB parts. */
async function bigNamespace(): Promise<string> {
  const ns = await newNamespace('big');
  const client = await groundKube();
  try {
    const objects = Array.from({ length: 80 }, (_, i) =>
      configMap({ namespace: ns, name: `blob-${i}`, data: { blob: payload(`${ns}/${i}`, 700_000) } }),
    );
    await createObjects(client, objects, { concurrency: 8 });
  } finally {
    client.close();
  }
  return ns;
}

/**
 * `lifeboat backup create` in a process of its own (node with tsx's loader, no wrapper process,
 * so the signal reaches the process that uploads), killed with SIGKILL as soon as its archive
 * upload has stored a part.
 */
async function killBackupMidUpload(opts: {
  name: string;
  namespace: string;
  bucket: string;
  prefix: string;
}): Promise<{ signal: string | null; upload: MultipartUpload }> {
  const { s3, kubeconfigPath } = ground();
  const storage = `s3://${opts.bucket}/${opts.prefix}?endpoint=${encodeURIComponent(s3.endpoint)}`;
  const child = spawn(
    process.execPath,
    [
      cli,
      'backup',
      'create',
      opts.name,
      '--include-namespaces',
      opts.namespace,
      '--kubeconfig',
      kubeconfigPath,
      '--storage',
      storage,
    ],
    {
      cwd: root,
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let running = true;
  void exited.then(() => (running = false));
  for (;;) {
    if (!running) {
      const { code } = await exited;
      throw new Error(
        `the backup ended (exit ${String(code)}) before it could be killed mid-upload: ${stderr}`,
      );
    }
    const [upload] = await uploadsUnder(opts.bucket, `${opts.prefix}/backups/${opts.name}/`);
    if (upload && (await partCount(opts.bucket, upload)) > 0) {
      child.kill('SIGKILL');
      const { signal } = await exited;
      return { signal, upload };
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('leftovers of killed writers', () => {
  it('a pass aborts the upload of a backup killed with SIGKILL, cleans half-written backups and records both', async () => {
    const ns = await bigNamespace();
    const bucket = await newBucket('leftover');
    const prefix = 'cluster-a';
    const killed = await killBackupMidUpload({ name: 'big-1', namespace: ns, bucket, prefix });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.upload.Key).toBe(`${prefix}/backups/big-1/big-1.tar.gz`);
    // What the kill left: the upload and its parts, invisible to a plain listing.
    expect((await uploadsUnder(bucket, `${prefix}/`)).map((u) => u.UploadId)).toEqual([
      killed.upload.UploadId,
    ]);

    // A backup directory a killed writer left without velero-backup.json (its resource list
    // written, the archive and metadata never): what `backup list` shows as Incomplete.
    await testS3Client().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: `${prefix}/backups/half-1/half-1-resource-list.json.gz`,
        Body: Buffer.from('not finished'),
      }),
    );

    const repo = await createPolicyRepo({
      'storage-locations/primary.yaml': s3Location('primary', { bucket, prefix, isDefault: true }),
    });
    // Before the grace period (one hour) nothing is touched: the writer may still be alive.
    const now = new FakeClock(new Date().toISOString());
    const early = await reconcilerFor(repo, {
      dataDir: await tempDir('leftover-data-'),
      kube,
      env: s3Env(),
      clock: now,
    });
    const quiet = await early.pass();
    expect(quiet.actions).toEqual([]);
    expect(await uploadsUnder(bucket, `${prefix}/`)).toHaveLength(1);

    now.advance(2 * HOUR);
    const report = await early.pass();
    expect(report.actions.map((a) => a.type).sort()).toEqual(['abort-upload', 'cleanup']);
    expect(report.events.filter((e) => e.error !== undefined)).toEqual([]);
    expect(await uploadsUnder(bucket, `${prefix}/`)).toEqual([]);
    const store = s3Store(bucket);
    const left: string[] = [];
    for await (const o of store.list(`${prefix}/backups/`)) left.push(o.key);
    expect(left).toEqual([]);

    const cleanups = await repo.yaml<{ cleanups: Record<string, unknown>[] }>('status/cleanups.yaml');
    expect(cleanups?.cleanups).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          location: 'primary',
          kind: 'upload',
          name: 'backups/big-1/big-1.tar.gz',
          uploadId: killed.upload.UploadId,
          bytes: expect.any(Number) as number,
          reason: expect.stringMatching(
            /^unfinished upload, no bytes since .*, longer than the grace period/,
          ) as string,
        }),
        expect.objectContaining({
          location: 'primary',
          kind: 'backup',
          name: 'half-1',
          reason: expect.stringMatching(/no velero-backup.json \(interrupted upload\)/) as string,
        }),
      ]),
    );
    expect(cleanups?.cleanups).toHaveLength(2);
    const bytes = cleanups?.cleanups.find((c) => c.kind === 'upload')?.bytes as number;
    expect(bytes).toBeGreaterThanOrEqual(5 * 1024 * 1024);
    const [commit] = await repo.commits();
    expect(commit?.sha).toBe(report.statusCommit);
    expect(commit?.trailers['Lifeboat-Action']).toEqual(expect.arrayContaining(['abort-upload', 'expire']));

    // Nothing left to clean: the next pass changes nothing and commits nothing.
    now.advance(HOUR);
    const after = await early.pass();
    expect(after.actions).toEqual([]);
    expect(after.statusCommit).toBeUndefined();
    expect((await repo.commits())[0]?.sha).toBe(report.statusCommit);
  }, 600_000);

  it('a put whose stream fails after some parts leaves no unfinished upload behind', async () => {
    const bucket = await newBucket('leftover');
    const store = s3Store(bucket);
    const part = Buffer.alloc(5 * 1024 * 1024, 7);
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 1;
        if (sent <= 3) this.push(part);
        else this.destroy(new Error('the producer failed'));
      },
    });
    await expect(store.put('backups/b/b.tar.gz', body)).rejects.toThrow();
    expect(await uploadsUnder(bucket, '')).toEqual([]);
  });
});
