// `lifeboat backup verify` against backups in the ground's S3 bucket, damaged the ways a
// bucket gets damaged: a bit flipped in the archive, a truncated archive, a missing object, a
// resource list that does not match the archive. Each is reported naming the object, with
// exit code 6; an intact backup verifies with exit code 0.
import { execFile } from 'node:child_process';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { configMap, createObjects } from './fixtures/seed.js';
import { groundKube } from './fixtures/backups.js';
import { ground, newBucket, newNamespace, testS3Client, uniqueName } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'lifeboat.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let bucket: string;
let namespace: string;

function lifeboat(args: string[]): Promise<Run> {
  const { s3 } = ground();
  const storage = `s3://${bucket}/cluster?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, '--kubeconfig', ground().kubeconfigPath, '--storage', storage, ...args],
      {
        cwd: root,
        env: { ...process.env, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey },
        maxBuffer: 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

interface Report {
  backup: string;
  ok: boolean;
  items: number;
  problems: { object: string; problem: string }[];
}

async function backup(): Promise<string> {
  const name = uniqueName('vfy');
  const run = await lifeboat(['-o', 'json', 'backup', 'create', name, '--include-namespaces', namespace]);
  expect(run.stderr).not.toMatch(/^error:/m);
  expect(run.code).toBe(0);
  return name;
}

const key = (name: string, file: string) => `cluster/backups/${name}/${file}`;

async function read(k: string): Promise<Buffer> {
  const out = await testS3Client().send(new GetObjectCommand({ Bucket: bucket, Key: k }));
  return Buffer.from(await out.Body!.transformToByteArray());
}
async function write(k: string, body: Buffer): Promise<void> {
  await testS3Client().send(new PutObjectCommand({ Bucket: bucket, Key: k, Body: body }));
}

async function verify(name: string): Promise<{ run: Run; report: Report }> {
  const run = await lifeboat(['-o', 'json', 'backup', 'verify', name]);
  return { run, report: JSON.parse(run.stdout) as Report };
}

beforeAll(async () => {
  bucket = await newBucket('verify');
  namespace = await newNamespace('verify');
  const kube = await groundKube();
  try {
    await createObjects(kube, [
      configMap({ namespace, name: 'settings', data: { a: '1' } }),
      configMap({ namespace, name: 'flags', data: { b: '2' } }),
    ]);
  } finally {
    kube.close();
  }
}, 120_000);

describe('lifeboat backup verify', () => {
  it('verifies an intact backup: exit 0, every item counted', async () => {
    const name = await backup();
    const { run, report } = await verify(name);
    expect(run.code).toBe(0);
    // Two ConfigMaps, kube-root-ca.crt, the default ServiceAccount, the Namespace.
    expect(report).toEqual({ backup: name, ok: true, phase: 'Completed', items: 5, problems: [] });
    const text = await lifeboat(['backup', 'verify', name]);
    expect(text.stdout).toBe(`${name}: OK (5 items)\n`);
  }, 180_000);

  it('reports a bit flipped in the archive, naming the archive', async () => {
    const name = await backup();
    const archive = key(name, `${name}.tar.gz`);
    const bytes = await read(archive);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    await write(archive, bytes);
    const { run, report } = await verify(name);
    expect(run.code).toBe(6);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.object)).toEqual([`backups/${name}/${name}.tar.gz`]);
    expect(report.problems[0]?.problem).toMatch(/archive/);
  }, 180_000);

  it('reports a truncated archive', async () => {
    const name = await backup();
    const archive = key(name, `${name}.tar.gz`);
    const bytes = await read(archive);
    await write(archive, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const { run, report } = await verify(name);
    expect(run.code).toBe(6);
    expect(report.problems.map((p) => p.object)).toEqual([`backups/${name}/${name}.tar.gz`]);
  }, 180_000);

  it('reports a missing object as missing', async () => {
    const name = await backup();
    await testS3Client().send(
      new DeleteObjectCommand({ Bucket: bucket, Key: key(name, `${name}-resource-list.json.gz`) }),
    );
    const { run, report } = await verify(name);
    expect(run.code).toBe(6);
    expect(report.problems).toEqual([
      { object: `backups/${name}/${name}-resource-list.json.gz`, problem: 'missing' },
    ]);
  }, 180_000);

  it('reports a resource list that does not match the archive, naming the kind', async () => {
    const name = await backup();
    const listKey = key(name, `${name}-resource-list.json.gz`);
    const list = JSON.parse(gunzipSync(await read(listKey)).toString('utf8')) as Record<string, string[]>;
    list['v1/ConfigMap'] = (list['v1/ConfigMap'] ?? []).filter((n) => n !== `${namespace}/flags`);
    await write(listKey, gzipSync(JSON.stringify(list)));
    const { run, report } = await verify(name);
    expect(run.code).toBe(6);
    expect(report.problems).toEqual([
      {
        object: `backups/${name}/${name}-resource-list.json.gz`,
        problem: 'v1/ConfigMap: the resource list names 2 object(s), the archive holds 3',
      },
    ]);
  }, 180_000);

  it('--all reports every backup and fails when one is damaged', async () => {
    const run = await lifeboat(['-o', 'json', 'backup', 'verify', '--all']);
    expect(run.code).toBe(6);
    const reports = JSON.parse(run.stdout) as Report[];
    expect(reports.length).toBeGreaterThanOrEqual(5);
    expect(reports.filter((r) => r.ok).length).toBeGreaterThanOrEqual(1);
    expect(reports.filter((r) => !r.ok).length).toBeGreaterThanOrEqual(4);
  }, 180_000);
});
