// A StorageLocation on an S3 server with a certificate of a private CA (a self-signed MinIO or
// Ceph): `lifeboat backup create --location` works when the location gives the CA (caCert, or
// caCertRef to a ConfigMap), fails with an error that says what to do when it does not, and
// works with insecureSkipTLSVerify, which `lifeboat validate` reports as a warning.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMap, createObjects } from './fixtures/seed.js';
import { groundKube } from './fixtures/backups.js';
import { makeTestCa, startS3Server, type TestCa, type TestS3Server } from './ground/s3-server.js';
import { ground, newNamespace, tempDir, uniqueName } from './ground/world.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = join(root, 'bin', 'lifeboat.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lifeboat(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd: root, env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

function httpsAnswers(endpoint: string, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(endpoint, { ca, method: 'GET' }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) > 0);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

let ca: TestCa;
let s3: TestS3Server;
let namespace: string;
let bucket: string;
let policies: string;
let env: Record<string, string>;

function location(
  name: string,
  objectStorage: Record<string, unknown>,
  config: Record<string, unknown> = {},
) {
  const os = Object.entries({ bucket, ...objectStorage })
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  const cfg = Object.entries({ s3Url: s3.endpoint, region: s3.region, s3ForcePathStyle: true, ...config })
    .map(([k, v]) => `    ${k}: ${JSON.stringify(v)}`)
    .join('\n');
  return `apiVersion: lifeboat.dev/v1
kind: StorageLocation
metadata:
  name: ${name}
spec:
  provider: aws
  objectStorage:
    prefix: ${name}
${os}
  config:
${cfg}
  credential:
    fromEnv:
      accessKeyIdVar: LIFEBOAT_S3_TLS_ID
      secretAccessKeyVar: LIFEBOAT_S3_TLS_SECRET
`;
}

beforeAll(async () => {
  const dir = await tempDir('tls-s3-');
  ca = await makeTestCa(join(dir, 'ca'));
  s3 = await startS3Server({
    dir: join(dir, 's3'),
    tls: { certPath: ca.certPath, keyPath: ca.keyPath },
    probe: (endpoint) => httpsAnswers(endpoint, ca.caPem),
  });
  env = { LIFEBOAT_S3_TLS_ID: s3.accessKeyId, LIFEBOAT_S3_TLS_SECRET: s3.secretAccessKey };
  bucket = uniqueName('tls');
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestHandler: { httpsAgent: { ca: ca.caPem } },
  });
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  client.destroy();

  namespace = await newNamespace('tls');
  const kube = await groundKube();
  try {
    await createObjects(kube, [
      configMap({ namespace, name: 'settings' }),
      // The CA as a cluster would hold it, for caCertRef.
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { namespace, name: 's3-ca' },
        data: { 'ca.crt': ca.caPem },
      },
    ]);
  } finally {
    kube.close();
  }

  policies = await tempDir('tls-policies-');
  await mkdir(join(policies, 'locations'), { recursive: true });
  const docs = {
    'with-ca': location('with-ca', { caCert: Buffer.from(ca.caPem).toString('base64') }),
    'with-ca-ref': location('with-ca-ref', {
      caCertRef: { kind: 'ConfigMap', namespace, name: 's3-ca', key: 'ca.crt' },
    }),
    'without-ca': location('without-ca', {}),
    'skip-verify': location('skip-verify', {}, { insecureSkipTLSVerify: true }),
  };
  for (const [name, text] of Object.entries(docs))
    await writeFile(join(policies, 'locations', `${name}.yaml`), text);
}, 180_000);

afterAll(async () => {
  await s3?.stop();
});

const create = (loc: string, name: string) =>
  lifeboat(
    [
      '--kubeconfig',
      ground().kubeconfigPath,
      '--policies',
      policies,
      '--location',
      loc,
      '-o',
      'json',
      'backup',
      'create',
      name,
      '--include-namespaces',
      namespace,
    ],
    env,
  );

async function objectBytes(key: string): Promise<Buffer> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestHandler: { httpsAgent: { ca: ca.caPem } },
  });
  try {
    const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
  } finally {
    client.destroy();
  }
}

async function storedKeys(prefix: string): Promise<string[]> {
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestHandler: { httpsAgent: { ca: ca.caPem } },
  });
  try {
    const out = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
    return (out.Contents ?? []).map((o) => o.Key ?? '');
  } finally {
    client.destroy();
  }
}

describe('StorageLocation TLS options against an S3 server with a private CA', () => {
  it('backs up with objectStorage.caCert', async () => {
    const name = uniqueName('ca');
    const run = await create('with-ca', name);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name, phase: 'Completed' });
    expect(await storedKeys(`with-ca/backups/${name}/`)).toContain(
      `with-ca/backups/${name}/velero-backup.json`,
    );
  }, 180_000);

  it('backs up with objectStorage.caCertRef to a ConfigMap key', async () => {
    const name = uniqueName('ref');
    const run = await create('with-ca-ref', name);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name, phase: 'Completed' });
  }, 180_000);

  it('fails without the CA, saying the certificate is not trusted and where to give the CA', async () => {
    const name = uniqueName('noca');
    const run = await create('without-ca', name);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`the TLS certificate of S3 endpoint ${s3.endpoint} is not trusted`);
    expect(run.stderr).toContain('objectStorage.caCert or caCertRef');
    expect(await storedKeys(`without-ca/`)).toEqual([]);
  }, 180_000);

  it('--storage s3:// takes the CA and the encryption key from files (caCertFile, encryptionKeyFile)', async () => {
    const dir = await tempDir('tls-cli-');
    const caFile = join(dir, 'ca.pem');
    await writeFile(caFile, ca.caPem);
    const keyFile = join(dir, 'backup.key');
    await writeFile(keyFile, `${randomBytes(32).toString('base64')}\n`);
    const base = `s3://${bucket}/cli?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&caCertFile=${encodeURIComponent(caFile)}`;
    const withKey = `${base}&encryptionKeyFile=${encodeURIComponent(keyFile)}`;
    const creds = { AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey };
    const cli = (storage: string, args: string[]) =>
      lifeboat(['--kubeconfig', ground().kubeconfigPath, '--storage', storage, '-o', 'json', ...args], creds);
    const name = uniqueName('cli');
    const run = await cli(withKey, ['backup', 'create', name, '--include-namespaces', namespace]);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name, phase: 'Completed' });
    // Encrypted in the bucket: the archive is no gzip stream.
    const archive = await objectBytes(`cli/backups/${name}/${name}.tar.gz`);
    expect(archive.subarray(0, 2).equals(Buffer.from([0x1f, 0x8b]))).toBe(false);
    // Read back with the key; refused without it, naming the backup.
    const verified = await cli(withKey, ['backup', 'verify', name]);
    expect(verified.code, `${verified.stdout}${verified.stderr}`).toBe(0);
    const noKey = await cli(base, ['backup', 'verify', name]);
    expect(noKey.code).not.toBe(0);
    expect(`${noKey.stdout}${noKey.stderr}`).toMatch(
      new RegExp(`${name}[\\s\\S]*encrypt|encrypt[\\s\\S]*${name}`),
    );
    // A CA file that cannot be read is a usage error naming the option and the file.
    const missing = await cli(
      `s3://${bucket}/cli?endpoint=${encodeURIComponent(s3.endpoint)}&caCertFile=${join(dir, 'nope.pem')}`,
      ['backup', 'list'],
    );
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(
      `--storage: caCertFile ${join(dir, 'nope.pem')}: cannot read it (ENOENT)`,
    );
  }, 180_000);

  it('backs up with insecureSkipTLSVerify, and validate warns about it', async () => {
    const name = uniqueName('skip');
    const run = await create('skip-verify', name);
    expect(run.stderr).not.toMatch(/^error:/m);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ name, phase: 'Completed' });

    const validate = await lifeboat(['validate', policies]);
    expect(validate.code).toBe(0);
    expect(`${validate.stdout}${validate.stderr}`).toMatch(
      /skip-verify\.yaml:\d+:\d+: warning: .*TLS certificate is not verified/,
    );
  }, 180_000);
});
