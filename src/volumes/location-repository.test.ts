import { describe, expect, it } from 'vitest';
import type { StorageLocationSpec } from '../policy/types.js';
import { locationRepository } from './location-repository.js';

const s3 = (extra: Partial<Extract<StorageLocationSpec, { provider: 'aws' }>> = {}): StorageLocationSpec => ({
  provider: 'aws',
  accessMode: 'ReadWrite',
  default: true,
  objectStorage: { bucket: 'backups', prefix: 'prod' },
  config: { s3Url: 'http://minio:9000', region: 'eu-1', s3ForcePathStyle: true },
  credential: { secretRef: { name: 'cloud-credentials', key: 'cloud' } },
  restic: { passwordSecretRef: { name: 'restic', key: 'repository-password' } },
  ...extra,
});

describe('locationRepository', () => {
  it('names the bucket, the endpoint and both Secrets, defaulting their namespace to lifeboat’s', () => {
    expect(locationRepository({ name: 'primary', spec: s3() }, 'lifeboat')).toEqual({
      bucket: 'backups',
      prefix: 'prod',
      s3Url: 'http://minio:9000',
      region: 'eu-1',
      s3ForcePathStyle: true,
      credentialsSecret: { namespace: 'lifeboat', name: 'cloud-credentials', key: 'cloud' },
      passwordSecret: { namespace: 'lifeboat', name: 'restic', key: 'repository-password' },
    });
  });

  it('has no default password: a location without spec.restic says what to set', () => {
    const { restic: _, ...spec } = s3() as Extract<StorageLocationSpec, { provider: 'aws' }>;
    expect(() => locationRepository({ name: 'primary', spec }, 'lifeboat')).toThrow(
      'storage location primary: file-system volume copies need spec.restic.passwordSecretRef, the Secret key holding the restic repository password (lifeboat has no built-in password)',
    );
  });

  it('refuses S3 keys the node agent cannot read and local directories', () => {
    expect(() =>
      locationRepository(
        {
          name: 'p',
          spec: s3({ credential: { fromEnv: { accessKeyIdVar: 'A', secretAccessKeyVar: 'B' } } }),
        },
        'lifeboat',
      ),
    ).toThrow('not from spec.credential.fromEnv');
    expect(() =>
      locationRepository(
        { name: 'local', spec: { provider: 'local', path: '/b', accessMode: 'ReadWrite', default: false } },
        'lifeboat',
      ),
    ).toThrow('storage location local: file-system volume copies need an S3 location');
  });

  it('leaves S3 keys to the agent’s default chain when the location names none', () => {
    const { credential: _, ...spec } = s3() as Extract<StorageLocationSpec, { provider: 'aws' }>;
    expect(locationRepository({ name: 'p', spec }, 'ops').credentialsSecret).toBeUndefined();
  });
});
