// Proof that the test ground is real: a kube-apiserver with etcd and a controller-manager,
// an S3 server that checks credentials, and Git remotes — talked to with the same client
// libraries the product uses.
import { describe, expect, it } from 'vitest';
import {
  AppsV1Api,
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  VersionApi,
} from '@kubernetes/client-node';
import {
  CreateMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { simpleGit } from 'simple-git';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  kubeConfig,
  newBucket,
  newGitRemote,
  newNamespace,
  tempDir,
  testS3Client,
  uniqueName,
} from './ground/world.js';

const versions = JSON.parse(readFileSync(new URL('./ground/versions.json', import.meta.url), 'utf8')) as {
  kube: string;
};

async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('the Kubernetes API server', () => {
  it('reports the version it was built as and serves the default namespace', async () => {
    const kc = kubeConfig();
    const version = kc.makeApiClient(VersionApi);
    expect((await version.getCode()).gitVersion).toBe(versions.kube);
    const nss = await kc.makeApiClient(CoreV1Api).listNamespace();
    expect(nss.items.map((n) => n.metadata?.name)).toContain('default');
  });

  it('creates and reads back a Namespace, a ConfigMap, a CRD and a custom object', async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await newNamespace('proof');
    await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'settings' }, data: { color: 'blue' } },
    });
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'settings' });
    expect(cm.data).toEqual({ color: 'blue' });

    const group = `${uniqueName('g')}.lifeboat.test`;
    const ext = kc.makeApiClient(ApiextensionsV1Api);
    await ext.createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${group}` },
        spec: {
          group,
          scope: 'Namespaced',
          names: { plural: 'widgets', singular: 'widget', kind: 'Widget' },
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: { openAPIV3Schema: { type: 'object', x_kubernetes_preserve_unknown_fields: true } },
            },
          ],
        },
      },
    });
    await eventually(async () => {
      const crd = await ext.readCustomResourceDefinition({ name: `widgets.${group}` });
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')
        ? true
        : undefined;
    }, 'the CRD to be established');
    const custom = kc.makeApiClient(CustomObjectsApi);
    await eventually(
      () =>
        custom
          .createNamespacedCustomObject({
            group,
            version: 'v1',
            namespace: ns,
            plural: 'widgets',
            body: { apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
          })
          .then(() => true)
          .catch(() => undefined),
      'the custom resource endpoint',
    );
    const w = (await custom.getNamespacedCustomObject({
      group,
      version: 'v1',
      namespace: ns,
      plural: 'widgets',
      name: 'w1',
    })) as { spec: { size: number } };
    expect(w.spec.size).toBe(3);
  });

  it('lists with limit/continue and at an exact resourceVersion', async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const ns = await newNamespace('paging');
    for (let i = 0; i < 7; i++) {
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${i}` } } });
    }
    const first = await core.listNamespacedConfigMap({ namespace: ns, limit: 3 });
    expect(first.items).toHaveLength(3);
    const rv = first.metadata?.resourceVersion ?? '';
    const names = first.items.map((c) => c.metadata?.name);
    let token = first.metadata?._continue;
    while (token) {
      const page = await core.listNamespacedConfigMap({ namespace: ns, limit: 3, _continue: token });
      names.push(...page.items.map((c) => c.metadata?.name));
      token = page.metadata?._continue;
    }
    expect(names.filter((n) => n?.startsWith('cm-'))).toHaveLength(7);

    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'cm-0' });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm-late' } } });
    // At the earlier revision the deleted object is still there and the late one is not.
    const atRv = await core.listNamespacedConfigMap({
      namespace: ns,
      resourceVersion: rv,
      resourceVersionMatch: 'Exact',
    });
    const atNames = atRv.items.map((c) => c.metadata?.name);
    expect(atNames).toContain('cm-0');
    expect(atNames).not.toContain('cm-late');
  });

  it('runs the controller-manager: namespaces finish deleting, Deployments get ReplicaSets', async () => {
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const ns = await newNamespace('ctrl');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'registry.invalid/web:1' }] },
          },
        },
      },
    });
    const rs = await eventually(async () => {
      const l = await apps.listNamespacedReplicaSet({ namespace: ns });
      return l.items.length > 0 ? l.items : undefined;
    }, 'a ReplicaSet for the Deployment');
    expect(rs[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('Deployment');

    await core.deleteNamespace({ name: ns });
    await eventually(
      () =>
        core
          .readNamespace({ name: ns })
          .then(() => undefined)
          .catch(() => true),
      'the namespace to be gone',
    );
  });
});

describe('the S3 server', () => {
  it('puts, gets, lists and deletes objects, including a multipart upload', async () => {
    const s3 = testS3Client();
    const Bucket = await newBucket('proof');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'a/one.txt', Body: 'one' }));
    const got = await s3.send(new GetObjectCommand({ Bucket, Key: 'a/one.txt' }));
    expect(await got.Body?.transformToString()).toBe('one');

    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'a/big.bin' }));
    const part = Buffer.alloc(5 * 1024 * 1024, 7);
    const parts = [];
    for (const PartNumber of [1, 2]) {
      const r = await s3.send(
        new UploadPartCommand({ Bucket, Key: 'a/big.bin', UploadId, PartNumber, Body: part }),
      );
      parts.push({ ETag: r.ETag, PartNumber });
    }
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'a/big.bin',
        UploadId,
        MultipartUpload: { Parts: parts },
      }),
    );
    const list = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'a/' }));
    expect(list.Contents?.map((o) => [o.Key, o.Size])).toEqual([
      ['a/big.bin', 10 * 1024 * 1024],
      ['a/one.txt', 3],
    ]);
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'a/one.txt' }));
    const after = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'a/' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['a/big.bin']);
  });

  it('rejects a wrong secret key', async () => {
    const Bucket = await newBucket('proof');
    const bad = testS3Client({ secretAccessKey: 'not-the-secret' });
    await expect(bad.send(new ListObjectsV2Command({ Bucket }))).rejects.toMatchObject({
      name: expect.stringMatching(/SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/),
    });
  });
});

describe('Git remotes', () => {
  it('clones, commits, pushes and pulls against a bare remote', async () => {
    const remote = await newGitRemote();
    const a = await tempDir('clone-a-');
    const b = await tempDir('clone-b-');
    const identity = ['-c', 'user.name=Test', '-c', 'user.email=test@example.com'];
    await simpleGit().clone(remote, a);
    await writeFile(join(a, 'README.md'), 'hello\n');
    const gitA = simpleGit(a, { config: identity.filter((_, i) => i % 2 === 1) });
    await gitA.add('README.md').commit('first').push('origin', 'HEAD:main');
    await simpleGit().clone(remote, b);
    const gitB = simpleGit(b, { config: identity.filter((_, i) => i % 2 === 1) });
    await writeFile(join(b, 'second.txt'), 'two\n');
    await gitB.add('second.txt').commit('second').push('origin', 'HEAD:main');
    await gitA.pull('origin', 'main');
    const log = await gitA.log();
    expect(log.all.map((c) => c.message)).toEqual(['second', 'first']);
  });
});
