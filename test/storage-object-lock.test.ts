// S3 Object Lock on a StorageLocation, against the ground's S3 server (versitygw supports
// object lock on a bucket created with it, in its versioned posix backend): every object of a
// backup is written exactly once (one version each, no delete marker) and retained until the
// backup's expiration; `lifeboat backup delete` refuses before then saying when, leaves every
// version in place, and after then removes every version; a bucket without object lock is
// refused with a clear error before anything is written.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, HeadObjectCommand, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { configMap, createObjects } from './fixtures/seed.js';
import { groundKube } from './fixtures/backups.js';
import { ground, newBucket, newNamespace, tempDir, testS3Client, uniqueName } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'lifeboat.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lifeboat(args: string[]): Promise<Run> {
  const { s3 } = ground();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, '--kubeconfig', ground().kubeconfigPath, '--policies', policies, ...args],
      {
        cwd: root,
        env: {
          ...process.env,
          LIFEBOAT_S3_LOCK_ID: s3.accessKeyId,
          LIFEBOAT_S3_LOCK_SECRET: s3.secretAccessKey,
        },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

function locationDoc(name: string, bucket: string): string {
  const { s3 } = ground();
  return `apiVersion: lifeboat.dev/v1
kind: StorageLocation
metadata:
  name: ${name}
spec:
  provider: aws
  objectStorage:
    bucket: ${bucket}
  config:
    s3Url: ${s3.endpoint}
    region: ${s3.region}
    s3ForcePathStyle: true
  credential:
    fromEnv:
      accessKeyIdVar: LIFEBOAT_S3_LOCK_ID
      secretAccessKeyVar: LIFEBOAT_S3_LOCK_SECRET
  objectLock:
    mode: GOVERNANCE
`;
}

let policies: string;
let namespace: string;
let lockedBucket: string;

async function versions(bucket: string, prefix: string) {
  const out = await testS3Client().send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return {
    versions: (out.Versions ?? []).map((v) => ({ key: v.Key ?? '', id: v.VersionId ?? '' })),
    deleteMarkers: (out.DeleteMarkers ?? []).map((m) => m.Key ?? ''),
  };
}

const create = (name: string, location: string, ttl: string) =>
  lifeboat([
    '--location',
    location,
    '-o',
    'json',
    'backup',
    'create',
    name,
    '--include-namespaces',
    namespace,
    '--ttl',
    ttl,
  ]);

beforeAll(async () => {
  namespace = await newNamespace('lock');
  const kube = await groundKube();
  try {
    await createObjects(kube, [
      configMap({ namespace, name: 'settings' }),
      configMap({ namespace, name: 'flags' }),
    ]);
  } finally {
    kube.close();
  }
  lockedBucket = uniqueName('lock');
  await testS3Client().send(
    new CreateBucketCommand({ Bucket: lockedBucket, ObjectLockEnabledForBucket: true }),
  );
  const plainBucket = await newBucket('nolock');
  policies = await tempDir('lock-policies-');
  await mkdir(join(policies, 'locations'), { recursive: true });
  await writeFile(join(policies, 'locations', 'locked.yaml'), locationDoc('locked', lockedBucket));
  await writeFile(join(policies, 'locations', 'unlocked.yaml'), locationDoc('unlocked', plainBucket));
}, 120_000);

describe('StorageLocation objectLock', () => {
  it('writes every object of a backup once, retained until the expiration; delete says when it can', async () => {
    const name = uniqueName('locked');
    const run = await create(name, 'locked', '72h');
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    const created = JSON.parse(run.stdout) as { phase: string; expiration: string };
    expect(created.phase).toBe('Completed');

    // Retention is kept in whole seconds, rounded up so it never ends before the expiration.
    const lockedUntil = new Date(Math.ceil(Date.parse(created.expiration) / 1000) * 1000);
    const dir = `backups/${name}/`;
    const before = await versions(lockedBucket, dir);
    const keys = before.versions.map((v) => v.key).sort();
    expect(keys).toEqual(
      [`${name}-logs.gz`, `${name}-resource-list.json.gz`, `${name}.tar.gz`, 'velero-backup.json']
        .map((f) => dir + f)
        .sort(),
    );
    // Exactly one version of each: nothing was written twice, nothing deleted.
    expect(new Set(keys).size).toBe(keys.length);
    expect(before.deleteMarkers).toEqual([]);
    for (const key of keys) {
      const head = await testS3Client().send(new HeadObjectCommand({ Bucket: lockedBucket, Key: key }));
      expect({ key, mode: head.ObjectLockMode, until: head.ObjectLockRetainUntilDate?.getTime() }).toEqual({
        key,
        mode: 'GOVERNANCE',
        until: lockedUntil.getTime(),
      });
    }

    const del = await lifeboat(['--location', 'locked', 'backup', 'delete', name]);
    expect(del.code).not.toBe(0);
    expect(del.stderr).toContain(
      `backup ${name} in s3://${lockedBucket} is under object lock (GOVERNANCE) until ${lockedUntil.toISOString()}: it can be deleted after then`,
    );
    expect(await versions(lockedBucket, dir)).toEqual(before);
  }, 180_000);

  it('deletes every version of a backup once its retention has passed', async () => {
    const name = uniqueName('short');
    const run = await create(name, 'locked', '30s');
    expect(run.code).toBe(0);
    const created = JSON.parse(run.stdout) as { expiration: string };
    const dir = `backups/${name}/`;
    expect((await versions(lockedBucket, dir)).versions.length).toBe(4);
    // Retention ends at the expiration; wait it out (no timing assertion: only the order).
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(created.expiration) - Date.now()) + 2500));
    const del = await lifeboat(['--location', 'locked', 'backup', 'delete', name]);
    expect(del.stderr).toBe('');
    expect(del.code).toBe(0);
    expect(await versions(lockedBucket, dir)).toEqual({ versions: [], deleteMarkers: [] });
  }, 180_000);

  it('refuses a bucket without object lock before writing anything', async () => {
    const run = await create(uniqueName('nolock'), 'unlocked', '72h');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /bucket nolock-[0-9a-f]+ at http:\/\/127\.0\.0\.1:\d+ does not have Object Lock enabled/,
    );
  }, 120_000);
});
