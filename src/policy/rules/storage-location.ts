// A StorageLocation's provider-specific fields. The schema allows every field for every
// provider (so editors can complete them); which ones a provider takes is checked here.
import { issue, warning } from '../issue.js';
import type { Issue } from '../issue.js';
import type { AwsLocationConfig, CaCertRef, StorageCredential, StorageRestic } from '../types.js';
import { cronScheduleError } from './schedule.js';
import { credentialEnvNameError, endpointHostError } from './endpoints.js';
import { dns1123LabelError, dns1123SubdomainError, envVarNameError, secretKeyError } from './k8s-names.js';

/** What a reconciler's flags relax in these rules. */
export interface StorageLocationRuleOptions {
  /** --allow-link-local-endpoints: accept s3Url on link-local and metadata addresses. */
  allowLinkLocalEndpoints?: boolean;
}

/** The spec as the schema admits it, before the provider narrows it. */
export interface StorageLocationFields {
  provider: 'aws' | 'local';
  objectStorage?: { bucket: string; prefix?: string; caCert?: string; caCertRef?: CaCertRef };
  path?: string;
  config?: AwsLocationConfig;
  credential?: StorageCredential;
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE' };
  restic?: StorageRestic;
}

const AWS_ONLY = ['objectStorage', 'config', 'credential', 'objectLock', 'restic'] as const;

export function storageLocationIssues(
  spec: StorageLocationFields,
  options: StorageLocationRuleOptions = {},
): Issue[] {
  return spec.provider === 'aws' ? awsIssues(spec, options) : localIssues(spec);
}

function localIssues(spec: StorageLocationFields): Issue[] {
  const issues: Issue[] = [];
  if (spec.path === undefined)
    issues.push(
      issue('storage', ['spec', 'path'], 'provider local needs "path", the backup directory', 'key'),
    );
  for (const field of AWS_ONLY) {
    if (spec[field] !== undefined) {
      issues.push(
        issue(
          'storage',
          ['spec', field],
          `"${field}" is for provider aws; provider local takes only "path"`,
          'key',
        ),
      );
    }
  }
  return issues;
}

function awsIssues(spec: StorageLocationFields, options: StorageLocationRuleOptions): Issue[] {
  const issues: Issue[] = [];
  if (spec.path !== undefined)
    issues.push(
      issue(
        'storage',
        ['spec', 'path'],
        '"path" is for provider local; provider aws uses "objectStorage"',
        'key',
      ),
    );
  if (!spec.objectStorage) {
    issues.push(
      issue(
        'storage',
        ['spec', 'objectStorage'],
        'provider aws needs "objectStorage" with the bucket',
        'key',
      ),
    );
  } else {
    // Velero trims slashes and refuses a bucket that still holds one
    // (velero pkg/persistence/object_store.go, NewObjectBackupStore).
    if (spec.objectStorage.bucket.replace(/^\/+|\/+$/g, '').includes('/')) {
      issues.push(
        issue(
          'storage',
          ['spec', 'objectStorage', 'bucket'],
          'the bucket name must not contain "/": put the rest in "prefix"',
        ),
      );
    }
  }
  const s3Url = spec.config?.s3Url;
  if (s3Url !== undefined) {
    const error = s3UrlError(s3Url, options);
    if (error)
      issues.push(
        issue(error.credential ? 'inline-credential' : 'storage', ['spec', 'config', 's3Url'], error.message),
      );
  }
  if (spec.credential) issues.push(...credentialIssues(spec.credential));
  if (spec.restic) issues.push(...resticIssues(spec.restic, spec.credential));
  issues.push(...tlsIssues(spec), ...encryptionIssues(spec.config ?? {}));
  return issues;
}

/**
 * The restic section: a Secret the agent can read, a cron schedule, and S3 keys the node agent
 * can reach — it runs on the nodes, so environment variables or a file of the reconciler's
 * machine are not its own (a Secret, or the agent's default chain when no credential is named).
 */
function resticIssues(restic: StorageRestic, credential: StorageCredential | undefined): Issue[] {
  const issues: Issue[] = [];
  const ref = ['spec', 'restic', 'passwordSecretRef'];
  const { name, namespace, key } = restic.passwordSecretRef;
  const nameError = dns1123SubdomainError(name);
  if (nameError) issues.push(issue('storage', [...ref, 'name'], `Secret name "${name}" ${nameError}`));
  const namespaceError = namespace === undefined ? undefined : dns1123LabelError(namespace);
  if (namespaceError)
    issues.push(issue('namespace', [...ref, 'namespace'], `namespace "${namespace}" ${namespaceError}`));
  const keyError = secretKeyError(key);
  if (keyError) issues.push(issue('storage', [...ref, 'key'], `Secret key "${key}" ${keyError}`));
  if (restic.verify) {
    const cronError = cronScheduleError(restic.verify.schedule, 'UTC');
    if (cronError)
      issues.push(
        issue(
          'storage',
          ['spec', 'restic', 'verify', 'schedule'],
          `"${restic.verify.schedule}" ${cronError}`,
        ),
      );
  }
  if (credential && !('secretRef' in credential)) {
    issues.push(
      issue(
        'storage',
        ['spec', 'credential'],
        'restic needs the S3 keys on the nodes: the node agent reads them only from credential.secretRef (or its own default chain when credential is omitted)',
        'key',
      ),
    );
  }
  return issues;
}

function tlsIssues(spec: StorageLocationFields): Issue[] {
  const issues: Issue[] = [];
  const { caCert, caCertRef } = spec.objectStorage ?? {};
  const at = ['spec', 'objectStorage'];
  if (caCert !== undefined && caCertRef !== undefined) {
    issues.push(issue('storage', [...at, 'caCertRef'], 'set "caCert" or "caCertRef", not both', 'key'));
  }
  if (caCert !== undefined) {
    const error = caCertError(caCert);
    if (error) issues.push(issue('storage', [...at, 'caCert'], error));
  }
  if (caCertRef !== undefined) {
    const ref = [...at, 'caCertRef'];
    const kind = caCertRef.kind ?? 'Secret';
    const nameError = dns1123SubdomainError(caCertRef.name);
    if (nameError)
      issues.push(issue('storage', [...ref, 'name'], `${kind} name "${caCertRef.name}" ${nameError}`));
    const namespaceError =
      caCertRef.namespace === undefined ? undefined : dns1123LabelError(caCertRef.namespace);
    if (namespaceError)
      issues.push(
        issue('namespace', [...ref, 'namespace'], `namespace "${caCertRef.namespace}" ${namespaceError}`),
      );
    // ConfigMap keys follow the same rule as Secret keys.
    const keyError = secretKeyError(caCertRef.key);
    if (keyError)
      issues.push(issue('storage', [...ref, 'key'], `${kind} key "${caCertRef.key}" ${keyError}`));
  }
  const s3Url = spec.config?.s3Url;
  const tlsSettings = caCert !== undefined || caCertRef !== undefined;
  if (tlsSettings && s3Url !== undefined && s3Url.startsWith('http:')) {
    issues.push(
      warning(
        'storage',
        [...at, caCert !== undefined ? 'caCert' : 'caCertRef'],
        'the CA certificate is unused: s3Url is http, not https',
      ),
    );
  }
  if (spec.config?.insecureSkipTLSVerify === true) {
    issues.push(
      warning(
        'storage',
        ['spec', 'config', 'insecureSkipTLSVerify'],
        "the endpoint's TLS certificate is not verified: anyone on the network path can read and change backups (give the CA in objectStorage.caCert or caCertRef instead)",
      ),
    );
  }
  return issues;
}

/** Velero's caCert: base64 of one or more PEM certificates. */
export function caCertError(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/\s]+={0,2}\s*$/.test(value))
    return 'caCert must be base64-encoded PEM (base64 -w0 ca.crt)';
  const pem = Buffer.from(value, 'base64').toString('utf8');
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    return 'caCert must be base64-encoded PEM: the decoded text holds no "-----BEGIN CERTIFICATE-----"';
  return undefined;
}

function encryptionIssues(config: AwsLocationConfig): Issue[] {
  if (config.kmsKeyId !== undefined && config.serverSideEncryption !== 'aws:kms') {
    return [
      issue('storage', ['spec', 'config', 'kmsKeyId'], 'kmsKeyId needs serverSideEncryption: aws:kms', 'key'),
    ];
  }
  return [];
}

/** The endpoint must be an http(s) URL without user info: credentials never live in Git. */
export function s3UrlError(
  value: string,
  options: StorageLocationRuleOptions = {},
): { message: string; credential?: boolean } | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return {
      message: 's3Url must be a URL such as "https://s3.example.com" or "http://minio.minio.svc:9000"',
    };
  }
  if (url.username !== '' || url.password !== '') {
    return { message: 's3Url must not contain credentials; use spec.credential', credential: true };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { message: `s3Url must use http or https, not ${url.protocol.slice(0, -1)}` };
  }
  const hostError = options.allowLinkLocalEndpoints ? undefined : endpointHostError(url.hostname);
  if (hostError) return { message: hostError };
  return undefined;
}

export function credentialIssues(credential: StorageCredential): Issue[] {
  const base = ['spec', 'credential'];
  const issues: Issue[] = [];
  if ('fromEnv' in credential) {
    for (const [field, name] of Object.entries(credential.fromEnv)) {
      const error = envVarNameError(name) ?? credentialEnvNameError(name);
      if (error) issues.push(issue('storage', [...base, 'fromEnv', field], `"${name}" ${error}`));
    }
  }
  if ('secretRef' in credential) {
    const { namespace, name, key } = credential.secretRef;
    const at = [...base, 'secretRef'];
    const nameError = dns1123SubdomainError(name);
    if (nameError) issues.push(issue('storage', [...at, 'name'], `Secret name "${name}" ${nameError}`));
    const namespaceError = namespace === undefined ? undefined : dns1123LabelError(namespace);
    if (namespaceError)
      issues.push(issue('namespace', [...at, 'namespace'], `namespace "${namespace}" ${namespaceError}`));
    const keyError = secretKeyError(key);
    if (keyError) issues.push(issue('storage', [...at, 'key'], `Secret key "${key}" ${keyError}`));
  }
  return issues;
}
