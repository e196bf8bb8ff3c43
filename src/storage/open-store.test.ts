import { describe, expect, it } from 'vitest';
import { LocalDirStore } from './local-store.js';
import { LazyS3Store, openStore, parseBool, StorageLocationError } from './open-store.js';
import type { StorageLocationConfig } from './open-store.js';
import { S3Store } from './s3-store.js';

describe('openStore', () => {
  it.each<[string, StorageLocationConfig, { type: unknown; describe: string; readOnly: boolean }]>([
    [
      'an S3 bucket with a prefix',
      {
        name: 'primary',
        provider: 'aws',
        bucket: 'backups',
        prefix: 'cluster-a',
        config: { region: 'eu-west-1' },
      },
      { type: LazyS3Store, describe: 's3://backups/cluster-a', readOnly: false },
    ],
    [
      'an S3-compatible server, read-only, prefix with slashes',
      {
        name: 'dr',
        provider: 'aws',
        bucket: 'velero',
        prefix: '/a/b/',
        config: { s3Url: 'http://minio:9000', s3ForcePathStyle: 'true' },
        accessMode: 'ReadOnly',
      },
      { type: LazyS3Store, describe: 's3://velero/a/b', readOnly: true },
    ],
    [
      'a bucket root',
      { name: 'root', provider: 'aws', bucket: 'b', config: { region: 'us-east-1' } },
      { type: LazyS3Store, describe: 's3://b', readOnly: false },
    ],
    [
      'a local directory with a prefix',
      { name: 'disk', provider: 'local', path: '/var/backups', prefix: 'cluster-a' },
      { type: LocalDirStore, describe: 'file:///var/backups/cluster-a', readOnly: false },
    ],
  ])('opens %s', (_label, location, want) => {
    const store = openStore(location);
    expect(store).toBeInstanceOf(want.type);
    expect(store.describe).toBe(want.describe);
    expect(store.readOnly).toBe(want.readOnly);
  });

  it.each([undefined, '', 'a', '/a/b/', 'a//b', '//'])(
    'describes an S3 location with prefix %j as S3Store does, before loading it',
    (prefix) => {
      const options = { bucket: 'b', region: 'us-east-1', ...(prefix === undefined ? {} : { prefix }) };
      expect(new LazyS3Store(options).describe).toBe(new S3Store(options).describe);
    },
  );

  it('never puts credentials into describe', () => {
    const store = openStore({
      name: 'p',
      provider: 'aws',
      bucket: 'b',
      config: { s3Url: 'http://user:hunter2@minio:9000', region: 'x' },
      credentials: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret' },
    });
    expect(store.describe).not.toMatch(/hunter2|very-secret|AKIAEXAMPLE/);
  });

  it.each<[string, StorageLocationConfig, string]>([
    [
      'aws without a bucket',
      { name: 'primary', provider: 'aws' },
      'storage location "primary": objectStorage.bucket is required for provider aws',
    ],
    [
      'local without a path',
      { name: 'disk', provider: 'local' },
      'storage location "disk": path is required',
    ],
    [
      'an unknown provider',
      { name: 'x', provider: 'gcp' as 'aws', bucket: 'b' },
      'storage location "x": provider "gcp" is not supported',
    ],
    [
      'a non-boolean s3ForcePathStyle',
      { name: 'm', provider: 'aws', bucket: 'b', config: { s3Url: 'http://m', s3ForcePathStyle: 'yes' } },
      'storage location "m": config.s3ForcePathStyle must be true or false, not "yes"',
    ],
  ])('rejects %s', (_label, location, message) => {
    expect(() => openStore(location)).toThrow(StorageLocationError);
    expect(() => openStore(location)).toThrow(message);
  });
});

describe('parseBool (Go strconv.ParseBool spellings)', () => {
  it.each<[boolean | string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    [true, true],
    [false, false],
    ['true', true],
    ['True', true],
    ['TRUE', true],
    ['t', true],
    ['1', true],
    ['false', false],
    ['F', false],
    ['0', false],
  ])('%j → %s', (value, want) => {
    expect(parseBool('loc', 'config.x', value)).toBe(want);
  });

  it.each(['yes', 'on', 'tRuE', ' true'])('rejects %j', (value) => {
    expect(() => parseBool('loc', 'config.x', value)).toThrow('config.x must be true or false');
  });
});
