// Client-side encryption against the real ground and S3 server: a location whose key is in a
// Secret writes backups whose archive, resource list and log are ciphertext (a scan of the
// bucket finds no value of the seeded Secret), whose velero-backup.json stays plain (listing and
// deletion work without the key), and which restore with the key, after a rotation with the old
// key retired, and never without it, with the wrong one, or from a tampered archive.
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { applyRestore, planRestore } from '../src/restore/engine.js';
import { runBackup } from '../src/backup/engine.js';
import {
  deleteBackup,
  getBackup,
  listBackups,
  readBackupLog,
  readResourceList,
} from '../src/backup/catalog.js';
import { openLocation } from '../src/reconcile/locations.js';
import { backupLayout } from '../src/storage/layout.js';
import { readSmallObject, type BackupStore } from '../src/storage/store.js';
import type { StorageLocationSpec } from '../src/policy/types.js';
import {
  ANNOTATION_ENCRYPTION,
  ANNOTATION_ENCRYPTION_KEY,
  LABEL_ENCRYPTED,
} from '../src/crypto/backup-encryption.js';
import { MAGIC } from '../src/crypto/chunked-aead.js';
import {
  b64,
  configMap,
  createAll,
  deleteNamespaces,
  read,
  s3World,
  secret,
  secretValue,
  uniqueName,
  type RestoreWorld,
} from './fixtures/restore-fixtures.js';
import { ground } from './ground/world.js';

let world: (RestoreWorld & { bucket: string }) | undefined;
const namespaces: string[] = [];
afterEach(async () => {
  if (world) await deleteNamespaces(world.kube, namespaces.splice(0));
  world?.close();
  world = undefined;
});

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A StorageLocation on the world's bucket whose keys are keys of Secret `secretName`. */
function locationSpec(
  w: RestoreWorld & { bucket: string },
  encryption: StorageLocationSpec['encryption'],
): StorageLocationSpec {
  return {
    provider: 'aws',
    accessMode: 'ReadWrite',
    default: false,
    objectStorage: { bucket: w.bucket },
    config: { s3Url: ground().s3.endpoint, region: ground().s3.region, s3ForcePathStyle: true },
    credential: {
      fromEnv: {
        accessKeyIdVar: 'LIFEBOAT_S3_ACCESS_KEY_ID',
        secretAccessKeyVar: 'LIFEBOAT_S3_SECRET_ACCESS_KEY',
      },
    },
    ...(encryption ? { encryption } : {}),
  };
}

async function open(
  w: RestoreWorld & { bucket: string },
  keyNamespace: string,
  encryption: StorageLocationSpec['encryption'],
): Promise<BackupStore> {
  const loc = await openLocation('primary', locationSpec(w, encryption), {
    kube: () => Promise.resolve(w.kube),
    env: {
      LIFEBOAT_S3_ACCESS_KEY_ID: ground().s3.accessKeyId,
      LIFEBOAT_S3_SECRET_ACCESS_KEY: ground().s3.secretAccessKey,
    },
    localRoot: '/nonexistent',
    namespace: keyNamespace,
    allowLinkLocalEndpoints: true,
  });
  return loc.store;
}

const keyRef = (name: string, key: string) => ({ secretRef: { name, key } });

describe('client-side encryption on the real S3 server', () => {
  it('backs up as ciphertext, restores with the key (also after rotation), and refuses without it', async () => {
    world = await s3World();
    const w = world;
    const keys = uniqueName('lb-keys');
    const app = uniqueName('enc-app');
    namespaces.push(keys, app);
    // The KEKs, as a user would make them: openssl rand -base64 32.
    const kek2025 = randomBytes(32).toString('base64');
    const kek2026 = randomBytes(32).toString('base64');
    const password = secretValue('password');
    const token = secretValue('token');
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: keys } } },
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } } },
      secret(keys, 'backup-kek', {
        '2025': kek2025,
        '2026': kek2026,
        wrong: randomBytes(32).toString('hex'),
      }),
      secret(app, 'db', { password, token }),
      configMap(app, 'settings', { mode: 'prod' }),
    ]);

    const encrypted = await open(w, keys, { key: keyRef('backup-kek', '2025') });
    const name = uniqueName('enc');
    const result = await runBackup(
      { name, spec: { includedNamespaces: [app] } },
      { kube: w.kube, store: encrypted },
    );
    expect(result.phase).toBe('Completed');
    expect(result.counts.secrets).toBe(1);

    // velero-backup.json is plain and says what is encrypted, and with which key.
    const plain = w.store;
    const meta = await getBackup(plain, name);
    expect(meta.status.phase).toBe('Completed');
    expect(meta.metadata.labels?.[LABEL_ENCRYPTED]).toBe('true');
    expect(meta.metadata.annotations?.[ANNOTATION_ENCRYPTION]).toBe('aes-256-gcm-chunked-v1');
    expect(meta.metadata.annotations?.[ANNOTATION_ENCRYPTION_KEY]).toBe(`Secret ${keys}/backup-kek key 2025`);

    // The scan: every object of the bucket, as stored and (where it is gzip) decompressed,
    // holds neither the Secret's values nor their base64; the three data files are ciphertext.
    const needles = [password, token, b64(password), b64(token), kek2025, kek2026];
    let scanned = 0;
    for await (const o of plain.list('')) {
      const bytes = await readAll(await plain.get(o.key));
      const views = [bytes];
      if (bytes[0] === 0x1f && bytes[1] === 0x8b) views.push(gunzipSync(bytes));
      for (const view of views)
        for (const n of needles) expect(view.includes(Buffer.from(n)), `${o.key} holds ${n}`).toBe(false);
      scanned++;
    }
    expect(scanned).toBeGreaterThanOrEqual(4);
    for (const key of [backupLayout.archive(name), backupLayout.resourceList(name), backupLayout.log(name)]) {
      const head = (await readSmallObject(plain, key)).subarray(0, MAGIC.length);
      expect(head.equals(MAGIC), `${key} starts with the encryption header`).toBe(true);
    }

    // With the key: the resource list, the log, and a restore of the lost namespace.
    expect((await readResourceList(encrypted, name))['v1/Secret']).toEqual([`${app}/db`]);
    expect(await readBackupLog(encrypted, name)).toContain('backup Completed');
    await deleteNamespaces(w.kube, [app]);
    const restored = await applyRestore(
      { name: uniqueName('r-enc'), spec: { backupName: name } },
      { kube: w.kube, store: encrypted },
    );
    expect(restored.phase).toBe('Completed');
    const db = await read(w.kube, secret(app, 'db', {}));
    expect((db?.data as Record<string, string> | undefined)?.password).toBe(b64(password));

    // Without keys, and with the wrong key: a clear error naming key and backup, nothing applied.
    await deleteNamespaces(w.kube, [app]);
    await expect(
      planRestore(
        { name: uniqueName('r-nokey'), spec: { backupName: name } },
        { kube: w.kube, store: plain },
      ),
    ).rejects.toThrow(
      new RegExp(
        `backup ${name} is encrypted with key "Secret ${keys}/backup-kek key 2025" \\(fingerprint [0-9a-f]{16}\\), and this location has no encryption keys`,
      ),
    );
    const wrong = await open(w, keys, { key: keyRef('backup-kek', 'wrong') });
    await expect(
      applyRestore(
        { name: uniqueName('r-wrong'), spec: { backupName: name } },
        { kube: w.kube, store: wrong },
      ),
    ).rejects.toThrow(
      new RegExp(
        `backup ${name} is encrypted with key "Secret ${keys}/backup-kek key 2025".*which this location does not have`,
      ),
    );
    await expect(readBackupLog(plain, name)).rejects.toThrow(/has no encryption keys/);
    expect(await read(w.kube, secret(app, 'db', {}))).toBeNull();

    // Rotation: 2026 encrypts new backups, 2025 (retired) still opens the old one.
    const rotated = await open(w, keys, {
      key: keyRef('backup-kek', '2026'),
      retiredKeys: [keyRef('backup-kek', '2025')],
    });
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } } },
    ]);
    const again = await applyRestore(
      { name: uniqueName('r-rot'), spec: { backupName: name } },
      { kube: w.kube, store: rotated },
    );
    expect(again.phase).toBe('Completed');
    expect(
      ((await read(w.kube, secret(app, 'db', {})))?.data as Record<string, string> | undefined)?.token,
    ).toBe(b64(token));
    const newer = await runBackup(
      { name: uniqueName('enc-new'), spec: { includedNamespaces: [app] } },
      { kube: w.kube, store: rotated },
    );
    expect(newer.metadata.metadata.annotations?.[ANNOTATION_ENCRYPTION_KEY]).toBe(
      `Secret ${keys}/backup-kek key 2026`,
    );

    // Listing and deletion (expiry) need no key.
    const listed = await listBackups(plain);
    expect(listed.find((e) => e.name === name)?.backup?.status.phase).toBe('Completed');
    expect(await deleteBackup(plain, newer.name)).toBe(4);
  });

  it('a truncated or bit-flipped encrypted archive fails the restore, naming the object, before anything is applied', async () => {
    world = await s3World();
    const w = world;
    const keys = uniqueName('lb-keys');
    const app = uniqueName('enc-bad');
    namespaces.push(keys, app);
    await createAll(w.kube, [
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: keys } } },
      { gr: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: app } } },
      secret(keys, 'kek', { current: randomBytes(32).toString('base64') }),
      // Enough objects for an archive of several 64 KiB chunks.
      ...Array.from({ length: 80 }, (_, i) =>
        configMap(app, `cm-${i}`, { blob: randomBytes(3000).toString('hex') }),
      ),
    ]);
    const store = await open(w, keys, { key: keyRef('kek', 'current') });
    const name = uniqueName('enc');
    expect(
      (await runBackup({ name, spec: { includedNamespaces: [app] } }, { kube: w.kube, store })).phase,
    ).toBe('Completed');
    await deleteNamespaces(w.kube, [app]);
    const archiveKey = backupLayout.archive(name);
    const original = await readAll(await w.store.get(archiveKey));
    expect(original.length).toBeGreaterThan(3 * 65_536);

    const cases: [string, Buffer, RegExp][] = [
      [
        'truncated at a chunk boundary',
        original.subarray(0, 48 + 2 * (65_536 + 16)),
        /truncated: chunk 1 is the last one present/,
      ],
      [
        'truncated inside a chunk',
        original.subarray(0, original.length - 100),
        /failed authentication: the file is truncated/,
      ],
      [
        'a bit flipped',
        Buffer.from(original).fill(original[70_000]! ^ 4, 70_000, 70_001),
        /chunk 1 failed authentication/,
      ],
    ];
    for (const [what, bytes, message] of cases) {
      await w.store.put(archiveKey, bytes);
      const err = await applyRestore(
        { name: uniqueName('r-bad'), spec: { backupName: name } },
        { kube: w.kube, store },
      ).then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(err?.message, what).toMatch(message);
      expect(err?.message, what).toContain(`s3://${w.bucket}/${archiveKey}`);
      expect(await read(w.kube, configMap(app, 'cm-0', {})), what).toBeNull();
    }
  });
});
