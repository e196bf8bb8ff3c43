// A PodVolumeBackup's / PodVolumeRestore's repository reference → what restic needs, read from
// the Secrets it names. Errors name the Secret and key, never a value.
import type { KubeClient } from '../kube/client.js';
import { parseSharedCredentials } from '../reconcile/locations.js';
import { SECRET, type RepositorySpec, type SecretKeyRef } from './pod-volume-types.js';
import { s3RepositoryUrl, type ResticRepository } from './restic.js';

export class RepositorySecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositorySecretError';
  }
}

async function secretValue(kube: KubeClient, ref: SecretKeyRef, what: string): Promise<string> {
  const where = `Secret ${ref.namespace}/${ref.name}`;
  const secret = await kube.get(SECRET, ref.namespace, ref.name);
  if (!secret) throw new RepositorySecretError(`${what}: ${where} does not exist`);
  const data = (secret.data as Record<string, string> | undefined)?.[ref.key];
  if (data === undefined || data === '')
    throw new RepositorySecretError(`${what}: ${where} has no key ${ref.key}`);
  return Buffer.from(data, 'base64').toString('utf8');
}

export async function resolveRepository(kube: KubeClient, spec: RepositorySpec): Promise<ResticRepository> {
  if (!spec.passwordSecret?.name || !spec.passwordSecret.key) {
    throw new RepositorySecretError(
      'the restic repository password: no Secret named (spec.repository.passwordSecret); lifeboat has no default password',
    );
  }
  // A trailing newline (`kubectl create secret --from-file`) is not part of the password.
  const password = (await secretValue(kube, spec.passwordSecret, 'the restic repository password')).replace(
    /\r?\n$/,
    '',
  );
  let s3: ResticRepository['s3'];
  if (spec.credentialsSecret) {
    const text = await secretValue(kube, spec.credentialsSecret, 'the storage credentials');
    const creds = parseSharedCredentials(text);
    if (!creds) {
      throw new RepositorySecretError(
        `the storage credentials: key ${spec.credentialsSecret.key} of Secret ${spec.credentialsSecret.namespace}/${spec.credentialsSecret.name} is not an AWS shared credentials file`,
      );
    }
    s3 = { ...creds, ...(spec.region ? { region: spec.region } : {}) };
  }
  return {
    url: s3RepositoryUrl({
      bucket: spec.bucket,
      namespace: spec.volumeNamespace,
      ...(spec.prefix ? { prefix: spec.prefix } : {}),
      ...(spec.s3Url ? { s3Url: spec.s3Url } : {}),
    }),
    password,
    ...(s3 ? { s3 } : {}),
    pathStyle: spec.s3ForcePathStyle ?? spec.s3Url !== undefined,
  };
}
