// An isolated world per test: its own namespace(s), its own bucket, its own Git remote,
// all on the real servers started by global-setup.ts.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { GroundInfo } from './context.js';
import './vitest-context.js';

const run = promisify(execFile);

export function ground(): GroundInfo {
  const g = inject('ground');
  if (!g)
    throw new Error('the test ground is not running: integration tests need test/ground/global-setup.ts');
  return g;
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(ground().kubeconfigPath);
  return kc;
}

/** A raw S3 client for test assertions (the product's own S3 code lives in src/storage). */
export function testS3Client(overrides: { secretAccessKey?: string } = {}): S3Client {
  const { s3 } = ground();
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: {
      accessKeyId: s3.accessKeyId,
      secretAccessKey: overrides.secretAccessKey ?? s3.secretAccessKey,
    },
  });
}

/** A fresh, empty bucket of this test's own. */
export async function newBucket(prefix = 'lb'): Promise<string> {
  const bucket = uniqueName(prefix);
  await testS3Client().send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** A fresh namespace of this test's own. */
export async function newNamespace(prefix = 'ns'): Promise<string> {
  const name = uniqueName(prefix);
  const core = kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

/**
 * A copy of a ground's kubeconfig whose server is `url` (a proxy in front of the API server);
 * the ground of this test run unless another is given.
 */
export async function kubeconfigFor(
  url: string,
  from: Pick<GroundInfo, 'kubeconfigPath' | 'apiserverUrl'> = ground(),
): Promise<string> {
  const path = join(await tempDir('kubeconfig-'), 'config');
  const original = await readFile(from.kubeconfigPath, 'utf8');
  await writeFile(path, original.replace(from.apiserverUrl, url));
  return path;
}

/**
 * The API server's own certificate and key, for a TLS proxy in front of it that the ground's
 * kubeconfig (whose CA is that certificate) trusts as it trusts the API server.
 */
export async function apiserverCertificate(): Promise<{ cert: Buffer; key: Buffer }> {
  const certs = join(dirname(ground().kubeconfigPath), 'certs');
  const [cert, key] = await Promise.all([
    readFile(join(certs, 'apiserver.crt')),
    readFile(join(certs, 'apiserver.key')),
  ]);
  return { cert, key };
}

/** A temporary directory of this test's own. */
export async function tempDir(prefix = 'lifeboat-'): Promise<string> {
  return mkdtemp(join(ground().workDir, prefix));
}

/** A fresh bare Git repository to use as a remote (a path usable as a Git URL). */
export async function newGitRemote(): Promise<string> {
  const dir = await tempDir('remote-');
  const path = join(dir, 'policies.git');
  await run('git', ['init', '--bare', '--initial-branch=main', path]);
  return path;
}
