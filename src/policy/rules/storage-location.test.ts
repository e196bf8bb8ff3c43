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
        credential: {
          fromEnv: { accessKeyIdVar: 'LIFEBOAT_S3_MINIO_ID', secretAccessKeyVar: 'LIFEBOAT_S3_MINIO_SECRET' },
        },
      }),
    ],
    [
      'a Secret reference',
      aws({ credential: { secretRef: { namespace: 'lifeboat', name: 'creds', key: 'cloud' } } }),
    ],
    ['a credentials file', aws({ credential: { file: '/etc/lifeboat/aws' } })],
    [
      'restic with a password Secret, a Secret for the keys and a weekly check',
      aws({
        credential: { secretRef: { name: 'creds', key: 'cloud' } },
        restic: {
          passwordSecretRef: { namespace: 'lifeboat', name: 'restic', key: 'repository-password' },
          verify: { schedule: '@weekly', readDataSubset: '5%' },
        },
      }),
    ],
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
      aws({
        credential: {
          fromEnv: { accessKeyIdVar: 'ACCESS-KEY', secretAccessKeyVar: 'AWS_SECRET_ACCESS_KEY' },
        },
      }),
      [
        'storage',
        'spec.credential.fromEnv.accessKeyIdVar',
        '"ACCESS-KEY" must be an environment variable name: letters, digits and \'_\', not starting with a digit',
      ],
    ],
    [
      "the reconciler's Git token",
      aws({
        config: { s3Url: 'https://attacker.example.com' },
        credential: {
          fromEnv: { accessKeyIdVar: 'LIFEBOAT_GIT_TOKEN', secretAccessKeyVar: 'AWS_SECRET_ACCESS_KEY' },
        },
      }),
      [
        'storage',
        'spec.credential.fromEnv.accessKeyIdVar',
        '"LIFEBOAT_GIT_TOKEN" is not a variable a StorageLocation may read: name AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN or a variable starting with LIFEBOAT_S3_ (the reconciler\'s other variables, such as its Git token, are never sent to a storage endpoint)',
      ],
    ],
    [
      'a session token from an unrelated variable',
      aws({
        credential: {
          fromEnv: {
            accessKeyIdVar: 'AWS_ACCESS_KEY_ID',
            secretAccessKeyVar: 'AWS_SECRET_ACCESS_KEY',
            sessionTokenVar: 'AWS_CONTAINER_AUTHORIZATION_TOKEN',
          },
        },
      }),
      [
        'storage',
        'spec.credential.fromEnv.sessionTokenVar',
        expect.stringContaining(
          '"AWS_CONTAINER_AUTHORIZATION_TOKEN" is not a variable a StorageLocation may read',
        ),
      ],
    ],
    [
      'the metadata endpoint',
      aws({ config: { s3Url: 'http://169.254.169.254/latest' } }),
      [
        'storage',
        'spec.config.s3Url',
        expect.stringContaining('169.254.169.254 is a link-local or cloud metadata address'),
      ],
    ],
    [
      'restic on a local directory',
      { provider: 'local', path: '/b', restic: { passwordSecretRef: { name: 'r', key: 'p' } } },
      ['storage', 'spec.restic', '"restic" is for provider aws; provider local takes only "path"'],
    ],
    [
      'a restic password key that is no Secret key',
      aws({ restic: { passwordSecretRef: { name: 'restic', key: '../password' } } }),
      [
        'storage',
        'spec.restic.passwordSecretRef.key',
        "Secret key \"../password\" must consist of letters, digits, '-', '_' and '.'",
      ],
    ],
    [
      'a restic check schedule that is not cron',
      aws({ restic: { passwordSecretRef: { name: 'restic', key: 'p' }, verify: { schedule: 'weekly' } } }),
      ['storage', 'spec.restic.verify.schedule', expect.stringContaining('"weekly" ')],
    ],
    [
      "restic with S3 keys from the reconciler's environment",
      aws({
        credential: {
          fromEnv: { accessKeyIdVar: 'AWS_ACCESS_KEY_ID', secretAccessKeyVar: 'AWS_SECRET_ACCESS_KEY' },
        },
        restic: { passwordSecretRef: { name: 'restic', key: 'p' } },
      }),
      [
        'storage',
        'spec.credential',
        expect.stringContaining('the node agent reads them only from credential.secretRef'),
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

describe('storageLocationIssues: TLS and encryption', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  const caCert = Buffer.from(pem).toString('base64');
  const withSeverity = (spec: StorageLocationFields) =>
    storageLocationIssues(spec).map((i) => [i.severity ?? 'error', i.path.join('.'), i.message]);

  it('accepts a base64 PEM caCert, a caCertRef, and SSE with a KMS key', () => {
    expect(
      withSeverity(aws({ objectStorage: { bucket: 'b', caCert }, config: { s3Url: 'https://s3:9000' } })),
    ).toEqual([]);
    expect(
      withSeverity(
        aws({ objectStorage: { bucket: 'b', caCertRef: { kind: 'ConfigMap', name: 'ca', key: 'ca.crt' } } }),
      ),
    ).toEqual([]);
    expect(
      withSeverity(aws({ config: { serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/backups' } })),
    ).toEqual([]);
  });

  it('rejects a caCert that is not base64 PEM, both caCert and caCertRef, and a bad reference', () => {
    expect(withSeverity(aws({ objectStorage: { bucket: 'b', caCert: pem } }))).toEqual([
      ['error', 'spec.objectStorage.caCert', 'caCert must be base64-encoded PEM (base64 -w0 ca.crt)'],
    ]);
    expect(
      withSeverity(aws({ objectStorage: { bucket: 'b', caCert: Buffer.from('hello').toString('base64') } })),
    ).toEqual([
      [
        'error',
        'spec.objectStorage.caCert',
        'caCert must be base64-encoded PEM: the decoded text holds no "-----BEGIN CERTIFICATE-----"',
      ],
    ]);
    expect(
      withSeverity(
        aws({ objectStorage: { bucket: 'b', caCert, caCertRef: { name: 'Ca_', key: 'ca.crt' } } }),
      ).map(([s, p]) => [s, p]),
    ).toEqual([
      ['error', 'spec.objectStorage.caCertRef'],
      ['error', 'spec.objectStorage.caCertRef.name'],
    ]);
  });

  it('warns about insecureSkipTLSVerify and about a CA for an http endpoint', () => {
    expect(withSeverity(aws({ config: { s3Url: 'https://s3:9000', insecureSkipTLSVerify: true } }))).toEqual([
      [
        'warning',
        'spec.config.insecureSkipTLSVerify',
        "the endpoint's TLS certificate is not verified: anyone on the network path can read and change backups (give the CA in objectStorage.caCert or caCertRef instead)",
      ],
    ]);
    expect(
      withSeverity(aws({ objectStorage: { bucket: 'b', caCert }, config: { s3Url: 'http://s3:9000' } })),
    ).toEqual([
      ['warning', 'spec.objectStorage.caCert', 'the CA certificate is unused: s3Url is http, not https'],
    ]);
  });

  it('rejects kmsKeyId without aws:kms', () => {
    expect(withSeverity(aws({ config: { serverSideEncryption: 'AES256', kmsKeyId: 'k' } }))).toEqual([
      ['error', 'spec.config.kmsKeyId', 'kmsKeyId needs serverSideEncryption: aws:kms'],
    ]);
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

  it.each([
    'http://169.254.169.254/',
    'http://169.254.170.2:80', // ECS task credentials
    'http://0xa9fea9fe/', // 169.254.169.254 in hex: URL normalizes it
    'http://[fe80::1]:9000',
    'http://[fd00:ec2::254]',
    'http://[::ffff:169.254.169.254]/',
    'http://metadata.google.internal/',
    'http://METADATA.google.internal./',
    'http://100.100.100.200/',
  ])('refuses the link-local or metadata endpoint %j unless allowed', (url) => {
    expect(s3UrlError(url)?.message).toMatch(
      /link-local or cloud metadata address.*--allow-link-local-endpoints/,
    );
    expect(s3UrlError(url, { allowLinkLocalEndpoints: true })).toBeUndefined();
  });

  it.each([
    'http://127.0.0.1:9000',
    'http://[::1]:9000',
    'http://169.255.0.1',
    'https://metadata.example.com',
  ])('accepts %j', (url) => {
    expect(s3UrlError(url)).toBeUndefined();
  });
});
