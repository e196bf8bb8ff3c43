// What a backup leaves in the bucket, read the way Velero reads it — with plain gzip and tar,
// not lifeboat's reader: the four objects under backups/<name>/, the archive's entries
// (metadata/version, every item twice, as JSON objects), the velero.io/v1 Backup, and the
// resource list.
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { extract as tarExtract } from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../src/backup/engine.js';
import { discoverResources } from '../src/backup/discover.js';
import type { KubeClient } from '../src/kube/client.js';
import type { KubeObject, ResourceInfo } from '../src/kube/types.js';
import { groupResource } from '../src/kube/types.js';
import { newBucket, newNamespace, testS3Client, uniqueName } from './ground/world.js';
import { groundKube, s3Store } from './fixtures/backups.js';
import {
  configMap,
  createCustomType,
  createObjects,
  customObject,
  deployment,
  secret,
  service,
  type CustomType,
} from './fixtures/seed.js';

const TTL_HOURS = 36;

let kube: KubeClient;
let bucket: string;
let namespace: string;
let name: string;
let result: BackupResult;
let resources: ResourceInfo[];
const gadgets: CustomType = {
  group: `${uniqueName('layout')}.lifeboat.test`,
  kind: 'Gadget',
  plural: 'gadgets',
};

async function getObject(key: string): Promise<Buffer> {
  const out = await testS3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return Buffer.from(
    await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
  );
}

interface TarFile {
  name: string;
  type: string | null | undefined;
  mode: number | undefined;
  content: Buffer;
}

/** gzip, then tar: Velero's pkg/archive extractor does exactly this. */
async function untar(gz: Buffer): Promise<TarFile[]> {
  const files: TarFile[] = [];
  const ex = tarExtract();
  Readable.from([gunzipSync(gz)]).pipe(ex);
  for await (const entry of ex) {
    const chunks: Buffer[] = [];
    for await (const c of entry) chunks.push(c as Buffer);
    files.push({
      name: entry.header.name,
      type: entry.header.type,
      mode: entry.header.mode,
      content: Buffer.concat(chunks),
    });
  }
  return files;
}

beforeAll(async () => {
  kube = await groundKube();
  bucket = await newBucket('layout');
  namespace = await newNamespace('layout');
  await createCustomType(kube, gadgets);
  await createObjects(kube, [
    configMap({ namespace, name: 'settings' }),
    secret({ namespace, name: 'token' }),
    deployment({ namespace, name: 'web' }),
    service({ namespace, name: 'web' }),
    customObject(gadgets, { namespace, name: 'g1' }),
  ]);
  name = uniqueName('layout');
  result = await runBackup(
    { name, spec: { includedNamespaces: [namespace], ttl: `${TTL_HOURS}h` } },
    { kube, store: s3Store(bucket) },
  );
  resources = await discoverResources(kube);
});
afterAll(() => kube?.close());

describe("a backup in Velero's layout", () => {
  it('stores exactly the four objects Velero stores, under backups/<name>/', async () => {
    expect(result.phase).toBe('Completed');
    const listed = await testS3Client().send(new ListObjectsV2Command({ Bucket: bucket }));
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(
      [
        `backups/${name}/${name}.tar.gz`,
        `backups/${name}/${name}-logs.gz`,
        `backups/${name}/${name}-resource-list.json.gz`,
        `backups/${name}/velero-backup.json`,
      ].sort(),
    );
  });

  it('writes a gzip tar of regular files: metadata/version and every item twice', async () => {
    const gz = await getObject(`backups/${name}/${name}.tar.gz`);
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(createHash('sha256').update(gz).digest('hex')).toBe(result.sha256);
    const files = await untar(gz);
    for (const f of files) expect(f.type).toBe('file');

    const version = files.find((f) => f.name === 'metadata/version');
    expect(version?.content.toString('utf8').trim()).toBe('1.1.0');

    const byGroupResource = new Map(resources.map((r) => [groupResource(r), r]));
    const itemFiles = files.filter((f) => f.name !== 'metadata/version');
    const item =
      /^resources\/([^/]+)\/(?:([^/]+)-preferredversion\/)?(?:namespaces\/([^/]+)|cluster)\/([^/]+)\.json$/;
    const unversioned = new Map<string, Buffer>();
    const preferred = new Map<string, Buffer>();
    for (const f of itemFiles) {
      const m = item.exec(f.name);
      expect(m, `${f.name} is not an item path`).not.toBeNull();
      const [, gr = '', versionDir, ns, fileName = ''] = m ?? [];
      const info = byGroupResource.get(gr);
      expect(info, `${gr} is not a resource the cluster serves`).toBeDefined();
      const obj = JSON.parse(f.content.toString('utf8')) as KubeObject;
      // Each entry is a whole object, at the preferred version, named by its path.
      expect(obj.apiVersion).toBe(info?.group ? `${info.group}/${info.version}` : info?.version);
      expect(obj.kind).toBe(info?.kind);
      expect(obj.metadata.name).toBe(fileName);
      expect(obj.metadata.namespace).toBe(ns);
      expect(info?.namespaced).toBe(ns !== undefined);
      const scope = ns === undefined ? 'cluster' : `namespaces/${ns}`;
      if (versionDir === undefined) unversioned.set(`${gr}/${scope}/${fileName}`, f.content);
      else {
        expect(versionDir).toBe(info?.version);
        preferred.set(`${gr}/${scope}/${fileName}`, f.content);
      }
    }
    // Both copies of every item, byte for byte the same.
    expect([...preferred.keys()].sort()).toEqual([...unversioned.keys()].sort());
    for (const [k, content] of unversioned) expect(preferred.get(k)).toEqual(content);
    expect(itemFiles).toHaveLength(2 * result.totalItems);

    const keys = [...unversioned.keys()];
    for (const expected of [
      `configmaps/namespaces/${namespace}/settings`,
      `secrets/namespaces/${namespace}/token`,
      `deployments.apps/namespaces/${namespace}/web`,
      `services/namespaces/${namespace}/web`,
      `${gadgets.plural}.${gadgets.group}/namespaces/${namespace}/g1`,
      `namespaces/cluster/${namespace}`,
      `customresourcedefinitions.apiextensions.k8s.io/cluster/${gadgets.plural}.${gadgets.group}`,
    ]) {
      expect(keys).toContain(expected);
    }
  });

  it('stores a velero.io/v1 Backup with phase, times, expiration = start + ttl, and progress', async () => {
    const backup = JSON.parse((await getObject(`backups/${name}/velero-backup.json`)).toString('utf8'));
    expect(backup).toMatchObject({
      apiVersion: 'velero.io/v1',
      kind: 'Backup',
      metadata: { name, namespace: 'velero' },
      spec: { includedNamespaces: [namespace], ttl: `${TTL_HOURS}h0m0s` },
      status: {
        version: 1,
        formatVersion: '1.1.0',
        phase: 'Completed',
        progress: { totalItems: result.totalItems, itemsBackedUp: result.totalItems },
      },
    });
    const start = Date.parse(backup.status.startTimestamp);
    const completion = Date.parse(backup.status.completionTimestamp);
    expect(Number.isNaN(start)).toBe(false);
    expect(completion).toBeGreaterThanOrEqual(start);
    expect(Date.parse(backup.status.expiration)).toBe(start + TTL_HOURS * 3_600_000);
    expect(backup.status.errors ?? 0).toBe(0);
  });

  it('stores the resource list Velero shows: {"<apiVersion>/<Kind>": ["<ns>/<name>", ...]}', async () => {
    const list = JSON.parse(
      gunzipSync(await getObject(`backups/${name}/${name}-resource-list.json.gz`)).toString('utf8'),
    ) as Record<string, string[]>;
    expect(list['v1/ConfigMap']).toEqual(expect.arrayContaining([`${namespace}/settings`]));
    expect(list['v1/Secret']).toEqual([`${namespace}/token`]);
    expect(list['apps/v1/Deployment']).toEqual([`${namespace}/web`]);
    expect(list['v1/Service']).toEqual([`${namespace}/web`]);
    expect(list[`${gadgets.group}/v1/Gadget`]).toEqual([`${namespace}/g1`]);
    expect(list['v1/Namespace']).toEqual([namespace]);
    expect(list['apiextensions.k8s.io/v1/CustomResourceDefinition']).toEqual([
      `${gadgets.plural}.${gadgets.group}`,
    ]);
    const total = Object.values(list).reduce((n, names) => n + names.length, 0);
    expect(total).toBe(result.totalItems);
  });

  it('stores a gzip log of the run', async () => {
    const log = gunzipSync(await getObject(`backups/${name}/${name}-logs.gz`)).toString('utf8');
    expect(log).toMatch(/level=info msg="backup started"/);
    expect(log).toMatch(/level=info msg="backup Completed"/);
  });
});
