// A StorageLocation's restic repositories as the node agent is told of them: the bucket, prefix
// and endpoint of the location, its S3 keys' Secret and the password Secret the user named in
// spec.restic. References only — the values stay in their Secrets and are read on the node. A
// location without a password Secret has no restic repository: lifeboat never makes one up.
import type { StorageLocationSpec } from '../policy/types.js';
import type { RepositorySpec } from './pod-volume-types.js';

export class NoResticRepositoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoResticRepositoryError';
  }
}

/** The repository of `<prefix>/restic/<namespace>` minus the namespace, which each volume adds. */
export type LocationRepository = Omit<RepositorySpec, 'volumeNamespace'>;

export function locationRepository(
  location: { name: string; spec: StorageLocationSpec },
  /** The namespace lifeboat runs in: Secrets named without a namespace are there. */
  lifeboatNamespace: string,
): LocationRepository {
  const where = `storage location ${location.name}`;
  const { spec } = location;
  if (spec.provider !== 'aws') {
    throw new NoResticRepositoryError(
      `${where}: file-system volume copies need an S3 location (provider aws); restic cannot write to provider ${spec.provider}`,
    );
  }
  const password = spec.restic?.passwordSecretRef;
  if (!password) {
    throw new NoResticRepositoryError(
      `${where}: file-system volume copies need spec.restic.passwordSecretRef, the Secret key holding the restic repository password (lifeboat has no built-in password)`,
    );
  }
  const credential = spec.credential;
  if (credential && !('secretRef' in credential)) {
    throw new NoResticRepositoryError(
      `${where}: the node agent reads S3 keys only from spec.credential.secretRef (or its own default chain), not from ${'fromEnv' in credential ? 'spec.credential.fromEnv' : 'spec.credential.file'}`,
    );
  }
  const config = spec.config ?? {};
  return {
    bucket: spec.objectStorage.bucket,
    ...(spec.objectStorage.prefix ? { prefix: spec.objectStorage.prefix } : {}),
    ...(config.s3Url ? { s3Url: config.s3Url } : {}),
    ...(config.region ? { region: config.region } : {}),
    ...(config.s3ForcePathStyle !== undefined ? { s3ForcePathStyle: config.s3ForcePathStyle } : {}),
    ...(credential && 'secretRef' in credential
      ? {
          credentialsSecret: {
            namespace: credential.secretRef.namespace ?? lifeboatNamespace,
            name: credential.secretRef.name,
            key: credential.secretRef.key,
          },
        }
      : {}),
    passwordSecret: {
      namespace: password.namespace ?? lifeboatNamespace,
      name: password.name,
      key: password.key,
    },
  };
}
