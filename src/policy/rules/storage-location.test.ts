import { describe, expect, it } from 'vitest';
import type { StorageLocationFields } from './storage-location.js';
import { s3UrlError, storageLocationIssues } from './storage-location.js';

const aws = (fields: Partial<StorageLocationFields>): StorageLocationFields => ({
  provider: 'aws',
  objectStorage: { bucket: 'backups' },
  ...fields,
});

const summary = (spec: StorageLocationFields) =>
  storageLocationIssues(spec).map((i) => [i.code, i.path.join('.'), i.message]);

describe('storageLocationIssues', () => {
  it.each<[string, StorageLocationFields]>([
    ['a local directory', { provider: 'local', path: '.lifeboat/backups' }],
    ['a bucket with a prefix', aws({ objectStorage: { bucket: 'b', prefix: '/cluster-1/' } })],
    [
      'MinIO with env credentials',
      aws({
        config: { s3Url: 'http://minio:9000' },
        credential: { fromEnv: { accessKeyIdVar: 'A', secretAccessKeyVar: 'B' } },
      }),
    ],
    [
      'a Secret reference',
      aws({ credential: { secretRef: { namespace: 'lifeboat', name: 'creds', key: 'cloud' } } }),
    ],
    ['a credentials file', aws({ credential: { file: '/etc/lifeboat/aws' } })],
  ])('accepts %s', (_title, spec) => {
    expect(summary(spec)).toEqual([]);
  });

  it.each<[string, StorageLocationFields, string[]]>([
    [
      'local without path',
      { provider: 'local' },
      ['storage', 'spec.path', 'provider local needs "path", the backup directory'],
    ],
    [
      'local with credential',
      { provider: 'local', path: '/b', credential: { file: '/x' } },
      ['storage', 'spec.credential', '"credential" is for provider aws; provider local takes only "path"'],
    ],
    [
      'aws with path',
      aws({ path: '/b' }),
      ['storage', 'spec.path', '"path" is for provider local; provider aws uses "objectStorage"'],
    ],
    [
      'a prefix in the bucket name (Velero refuses it)',
      aws({ objectStorage: { bucket: 'backups/cluster-1' } }),
      [
        'storage',
        'spec.objectStorage.bucket',
        'the bucket name must not contain "/": put the rest in "prefix"',
      ],
    ],
    [
      'an s3Url that is no URL',
      aws({ config: { s3Url: 'minio:9000:x' } }),
      ['storage', 'spec.config.s3Url', 's3Url must use http or https, not minio'],
    ],
    [
      'an s3Url with credentials',
      aws({ config: { s3Url: 'https://key:secret@s3.example.com' } }),
      ['inline-credential', 'spec.config.s3Url', 's3Url must not contain credentials; use spec.credential'],
    ],
    [
      'a bad environment variable name',
      aws({ credential: { fromEnv: { accessKeyIdVar: 'ACCESS-KEY', secretAccessKeyVar: 'S' } } }),
      [
        'storage',
        'spec.credential.fromEnv.accessKeyIdVar',
        '"ACCESS-KEY" must be an environment variable name: letters, digits and \'_\', not starting with a digit',
      ],
    ],
    [
      'a bad Secret key',
      aws({ credential: { secretRef: { name: 'creds', key: 'a/b' } } }),
      [
        'storage',
        'spec.credential.secretRef.key',
        "Secret key \"a/b\" must consist of letters, digits, '-', '_' and '.'",
      ],
    ],
    [
      'a bad Secret namespace',
      aws({ credential: { secretRef: { namespace: 'Lifeboat', name: 'creds', key: 'cloud' } } }),
      [
        'namespace',
        'spec.credential.secretRef.namespace',
        'namespace "Lifeboat" must be a DNS-1123 label: lower-case letters, digits and \'-\', starting and ending with a letter or digit',
      ],
    ],
  ])('rejects %s', (_title, spec, expected) => {
    expect(summary(spec)).toEqual([expected]);
  });
});

describe('s3UrlError', () => {
  it.each([
    ['https://s3.eu-central-1.amazonaws.com', undefined],
    ['http://10.0.0.5:9000', undefined],
    ['not a url', 's3Url must be a URL such as "https://s3.example.com" or "http://minio.minio.svc:9000"'],
    ['ftp://files.example.com', 's3Url must use http or https, not ftp'],
  ])('%j', (url, message) => {
    expect(s3UrlError(url)?.message).toBe(message);
  });
});
