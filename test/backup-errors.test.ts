// Bad input fails before anything is written, with an error that names what is wrong: a
// missing bucket, rejected credentials, an unknown resource or an invalid selector in the
// filters, an API server that cannot be reached, a TTL that is not a duration. Afterwards the
// location holds nothing that could be taken for a backup.
import { createServer } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup } from '../src/backup/engine.js';
import { listBackups } from '../src/backup/catalog.js';
import type { BackupSpec } from '../src/backup/spec.js';
import { KubeClient } from '../src/kube/client.js';
import type { BackupStore } from '../src/storage/store.js';
import { ground, newBucket, newNamespace, tempDir, testS3Client, uniqueName } from './ground/world.js';
import { groundKube, localStore, s3Store } from './fixtures/backups.js';

let kube: KubeClient;
let namespace: string;

beforeAll(async () => {
  kube = await groundKube();
  namespace = await newNamespace('errors');
});
afterAll(() => kube?.close());

/** Every key in the location: none at all, since the failures happen before any write. */
async function keysIn(store: BackupStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of store.list('')) keys.push(o.key);
  return keys;
}

async function expectNothingStored(store: BackupStore): Promise<void> {
  expect(await keysIn(store)).toEqual([]);
  expect(await listBackups(store)).toEqual([]);
}

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

describe('a backup with bad input', () => {
  it('names a bucket that does not exist', async () => {
    const bucket = uniqueName('missing');
    const store = s3Store(bucket);
    await expect(
      runBackup({ name: uniqueName('b'), spec: { includedNamespaces: [namespace] } }, { kube, store }),
    ).rejects.toThrow(new RegExp(`bucket ${bucket} does not exist at ${ground().s3.endpoint}`));
  });

  it('says the credentials were rejected, without showing them', async () => {
    const bucket = await newBucket('creds');
    const wrongSecret = `wrong-${uniqueName('secret')}`;
    const store = s3Store(bucket, { secretAccessKey: wrongSecret });
    const failure = await runBackup(
      { name: uniqueName('b'), spec: { includedNamespaces: [namespace] } },
      { kube, store },
    ).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure?.message).toMatch(new RegExp(`credentials rejected by .* for bucket ${bucket}`));
    expect(failure?.message).not.toContain(wrongSecret);
    // Looked at with the right credentials: the bucket is empty.
    const listed = await testS3Client().send(new ListObjectsV2Command({ Bucket: bucket }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  it.each<{ what: string; spec: BackupSpec; error: RegExp }>([
    {
      what: 'an unknown resource',
      spec: { includedResources: ['configmaps', 'gizmos'] },
      error: /includedResources\[1\]: unknown resource "gizmos"/,
    },
    {
      what: 'an unknown excluded resource',
      spec: { excludedResources: ['deploymentz'] },
      error: /excludedResources\[0\]: unknown resource "deploymentz".*did you mean "deployments\.apps"/,
    },
    {
      what: 'an invalid label key',
      spec: { labelSelector: { matchLabels: { 'bad key!': 'x' } } },
      error: /labelSelector\.matchLabels.*bad key!/,
    },
    {
      what: 'an unknown selector operator',
      spec: {
        labelSelector: {
          matchExpressions: [{ key: 'app', operator: 'Like' as 'In', values: ['web'] }],
        },
      },
      error: /labelSelector\.matchExpressions\[0\]\.operator: must be one of In, NotIn/,
    },
    {
      what: 'an invalid namespace pattern',
      spec: { includedNamespaces: ['shop-{a,b}'] },
      error: /includedNamespaces\[0\]: invalid namespace "shop-\{a,b\}"/,
    },
    {
      what: 'a TTL that is not a duration',
      spec: { ttl: '3 days' },
      error: /spec\.ttl: invalid duration "3 days"/,
    },
  ])('rejects $what, naming the field', async ({ spec, error }) => {
    const store = await localStore('errors-');
    await expect(
      runBackup(
        { name: uniqueName('b'), spec: { includedNamespaces: [namespace], ...spec } },
        { kube, store },
      ),
    ).rejects.toThrow(error);
    await expectNothingStored(store);
  });

  it('names the API server it cannot reach', async () => {
    const port = await closedPort();
    const server = `https://127.0.0.1:${port}`;
    const kubeconfig = join(await tempDir('kubeconfig-'), 'config');
    await writeFile(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        `clusters: [{ name: gone, cluster: { server: '${server}', insecure-skip-tls-verify: true } }]`,
        'users: [{ name: u, user: { token: not-a-real-token } }]',
        'contexts: [{ name: gone, context: { cluster: gone, user: u } }]',
        'current-context: gone',
        '',
      ].join('\n'),
    );
    const unreachable = await KubeClient.create({ kubeconfig });
    const store = await localStore('errors-');
    try {
      await expect(
        runBackup({ name: uniqueName('b'), spec: {} }, { kube: unreachable, store }),
      ).rejects.toThrow(
        // Discovery sends its first requests together; whichever fails first is named.
        new RegExp(
          `cannot reach the Kubernetes API at ${server.replace(/\./g, '\\.')} \\(GET /apis?(/[^)]*)?\\): ECONNREFUSED`,
        ),
      );
    } finally {
      unreachable.close();
    }
    await expectNothingStored(store);
  });
});
