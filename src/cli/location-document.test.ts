import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLocationFile, loadLocationFile, locationDocumentOf } from './location-document.js';

const LOCATION = `apiVersion: lifeboat.dev/v1
kind: StorageLocation
metadata:
  name: offsite
spec:
  provider: aws
  objectStorage:
    bucket: backups
  config:
    s3Url: http://127.0.0.1:9000
    region: us-east-1
  credential:
    secretRef: { name: s3, key: cloud }
  restic:
    passwordSecretRef: { name: restic, key: password }
`;

describe('isLocationFile', () => {
  it('takes a .yaml or .yml path as a StorageLocation file, a directory or URL not', () => {
    expect(isLocationFile('loc.yaml')).toBe(true);
    expect(isLocationFile('/etc/lifeboat/Offsite.YML')).toBe(true);
    expect(isLocationFile('.lifeboat/backups')).toBe(false);
    expect(isLocationFile('s3://bucket/prefix.yaml')).toBe(false);
  });
});

describe('loadLocationFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'location-file-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  it('reads the one StorageLocation of the file, restic settings included', async () => {
    const file = join(dir, 'ok.yaml');
    await writeFile(file, LOCATION);
    const doc = await loadLocationFile(file);
    expect(doc.name).toBe('offsite');
    expect(doc.spec).toMatchObject({
      provider: 'aws',
      restic: { passwordSecretRef: { name: 'restic', key: 'password' } },
    });
    expect(await locationDocumentOf({ storage: file })).toEqual(doc);
  });

  it('names the file, line and field of an invalid document', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(
      file,
      LOCATION.replace(
        'passwordSecretRef: { name: restic, key: password }',
        'passwordSecretRef: { name: restic }',
      ),
    );
    const err = (await loadLocationFile(file).catch((e: unknown) => e)) as Error;
    expect(err.message).toContain(`--storage ${file} is not a valid StorageLocation:`);
    expect(err.message).toContain(
      `${file}:15:5: missing required field "key" (spec.restic.passwordSecretRef.key)`,
    );
  });

  it('refuses a file with more or other documents than one StorageLocation', async () => {
    const file = join(dir, 'two.yaml');
    await writeFile(file, `${LOCATION}---\n${LOCATION.replace('name: offsite', 'name: second')}`);
    await expect(loadLocationFile(file)).rejects.toThrow(
      `--storage ${file}: the file must hold exactly one StorageLocation document (it holds 2 document(s), 2 StorageLocation(s))`,
    );
  });

  it('says which file it cannot read', async () => {
    await expect(loadLocationFile(join(dir, 'missing.yaml'))).rejects.toThrow(
      `--storage ${join(dir, 'missing.yaml')}: cannot read it (ENOENT)`,
    );
  });

  it('gives nothing for a directory or URL, so the store opens as before', async () => {
    expect(await locationDocumentOf({ storage: 's3://b/p?endpoint=http://x' })).toBeUndefined();
    expect(await locationDocumentOf({})).toBeUndefined();
  });
});
