// StorageLocation documents → open stores. Credentials are looked up here, at the last
// moment, from where the document says they are (environment, a file, a Kubernetes Secret);
// they never pass through Git, status or logs.
import { lookup } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { KubeClient } from '../kube/client.js';
import { credentialEnvNameError, endpointHostError, isLinkLocalAddress } from '../policy/rules/endpoints.js';
import type {
  AwsStorageLocationSpec,
  EncryptionKeySource,
  StorageCredential,
  StorageEncryption,
  StorageLocationSpec,
} from '../policy/types.js';
import { KeyedStore } from '../crypto/keyed-store.js';
import { KeyError, Keyring, parseKeyMaterial, type NamedKey } from '../crypto/keyring.js';
import { openStore, type StorageLocationConfig } from '../storage/open-store.js';
import type { S3RequestObserver } from '../storage/s3-store.js';
import type { BackupStore } from '../storage/store.js';
import type { S3Credentials } from '../storage/s3-store.js';

export interface OpenLocation {
  name: string;
  readOnly: boolean;
  store: BackupStore;
  /** notifications.webhook, read: the URL, or why it could not be read (never fatal). */
  webhook?: { name: string; url?: string; error?: string };
}

export class CredentialError extends Error {
  constructor(location: string, problem: string) {
    super(`storage location ${location}: credentials: ${problem}`);
    this.name = 'CredentialError';
  }
}

/** The [default] (or named) profile of an AWS shared credentials file. */
export function parseSharedCredentials(text: string, profile = 'default'): S3Credentials | undefined {
  let current = '';
  const values: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = (section[1] ?? '').replace(/^profile\s+/, '').trim();
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0 && current === profile) values[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  const accessKeyId = values.aws_access_key_id;
  const secretAccessKey = values.aws_secret_access_key;
  if (!accessKeyId || !secretAccessKey) return undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(values.aws_session_token ? { sessionToken: values.aws_session_token } : {}),
  };
}

async function resolveCredentials(
  name: string,
  credential: StorageCredential,
  deps: { kube?: () => Promise<KubeClient>; env: NodeJS.ProcessEnv; namespace: string },
): Promise<S3Credentials> {
  if ('fromEnv' in credential) {
    const { accessKeyIdVar, secretAccessKeyVar, sessionTokenVar } = credential.fromEnv;
    // Checked again here, whatever loaded the document: never read a variable outside the rule.
    for (const variable of [accessKeyIdVar, secretAccessKeyVar, sessionTokenVar]) {
      const error = variable === undefined ? undefined : credentialEnvNameError(variable);
      if (error) throw new CredentialError(name, `${variable} ${error}`);
    }
    const accessKeyId = deps.env[accessKeyIdVar];
    const secretAccessKey = deps.env[secretAccessKeyVar];
    if (!accessKeyId || !secretAccessKey) {
      throw new CredentialError(
        name,
        `environment variables ${accessKeyIdVar} and ${secretAccessKeyVar} must both be set`,
      );
    }
    const sessionToken = sessionTokenVar ? deps.env[sessionTokenVar] : undefined;
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
  }
  if ('file' in credential) {
    let text: string;
    try {
      text = await readFile(credential.file, 'utf8');
    } catch (err) {
      throw new CredentialError(
        name,
        `cannot read ${credential.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
      );
    }
    const creds = parseSharedCredentials(text);
    if (!creds)
      throw new CredentialError(
        name,
        `${credential.file} has no [default] aws_access_key_id/aws_secret_access_key`,
      );
    return creds;
  }
  const ref = credential.secretRef;
  if (!deps.kube) throw new CredentialError(name, 'secretRef needs access to the cluster');
  const kube = await deps.kube();
  const secret = await kube.get(
    {
      group: '',
      version: 'v1',
      resource: 'secrets',
      kind: 'Secret',
      namespaced: true,
      verbs: [],
      shortNames: [],
      singularName: 'secret',
      preferredVersion: 'v1',
    },
    ref.namespace ?? deps.namespace,
    ref.name,
  );
  const data = (secret?.data as Record<string, string> | undefined)?.[ref.key];
  if (!data)
    throw new CredentialError(
      name,
      `Secret ${ref.namespace ?? deps.namespace}/${ref.name} has no key ${ref.key}`,
    );
  const creds = parseSharedCredentials(Buffer.from(data, 'base64').toString('utf8'));
  if (!creds)
    throw new CredentialError(
      name,
      `key ${ref.key} of Secret ${ref.name} is not an AWS shared credentials file`,
    );
  return creds;
}

const CONFIG_MAP_RESOURCE = {
  group: '',
  version: 'v1',
  resource: 'configmaps',
  kind: 'ConfigMap',
  namespaced: true,
  verbs: [],
  shortNames: [],
  singularName: 'configmap',
  preferredVersion: 'v1',
};
const SECRET_RESOURCE = {
  ...CONFIG_MAP_RESOURCE,
  resource: 'secrets',
  kind: 'Secret',
  singularName: 'secret',
};

/**
 * The PEM bundle the location trusts: Velero's caCert is base64 in the document; caCertRef
 * names a Secret or ConfigMap key holding plain PEM, read here when the location is opened.
 */
async function resolveCaCert(
  name: string,
  objectStorage: AwsStorageLocationSpec['objectStorage'],
  deps: { kube?: () => Promise<KubeClient>; namespace: string },
): Promise<string | undefined> {
  if (objectStorage.caCert !== undefined) return Buffer.from(objectStorage.caCert, 'base64').toString('utf8');
  const ref = objectStorage.caCertRef;
  if (!ref) return undefined;
  const kind = ref.kind ?? 'Secret';
  const namespace = ref.namespace ?? deps.namespace;
  const where = `${kind} ${namespace}/${ref.name}`;
  const fail = (problem: string) =>
    new Error(`storage location ${name}: objectStorage.caCertRef: ${problem}`);
  if (!deps.kube) throw fail(`reading ${where} needs access to the cluster`);
  const kube = await deps.kube();
  const obj = await kube.get(kind === 'Secret' ? SECRET_RESOURCE : CONFIG_MAP_RESOURCE, namespace, ref.name);
  if (!obj) throw fail(`${where} does not exist`);
  let pem: string | undefined;
  if (kind === 'Secret') {
    const data = (obj.data as Record<string, string> | undefined)?.[ref.key];
    pem = data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8');
  } else {
    pem = (obj.data as Record<string, string> | undefined)?.[ref.key];
  }
  if (pem === undefined) throw fail(`${where} has no key ${ref.key}`);
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw fail(`key ${ref.key} of ${where} holds no PEM certificate`);
  return pem;
}

/**
 * The endpoint's host, by name and by every address it resolves to, must not be link-local or
 * a metadata service: a name of the author's choosing may point there (the policy rules check
 * only what is written). Between this lookup and the S3 client's own, DNS may still change.
 */
async function checkEndpoint(name: string, s3Url: string | undefined): Promise<void> {
  if (s3Url === undefined) return;
  const host = new URL(s3Url).hostname;
  const refused = (why: string) =>
    new Error(
      `storage location ${name}: ${why}; the reconciler refuses it unless run with --allow-link-local-endpoints`,
    );
  if (endpointHostError(host))
    throw refused(`the endpoint host ${host} is a link-local or cloud metadata address`);
  const bare = host.replace(/^\[|\]$/g, '');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(bare, { all: true, verbatim: true });
  } catch {
    return; // unresolvable: the S3 client reports it
  }
  const bad = addresses.find((a) => isLinkLocalAddress(a.address));
  if (bad) throw refused(`the endpoint host ${host} resolves to the link-local address ${bad.address}`);
}

export async function openLocation(
  name: string,
  spec: StorageLocationSpec,
  deps: {
    kube?: () => Promise<KubeClient>;
    env?: NodeJS.ProcessEnv;
    localRoot: string;
    namespace?: string;
    allowLinkLocalEndpoints?: boolean;
    /** Hears the S3 client's retries and failures (the reconciler's metrics). */
    storageRequests?: S3RequestObserver;
  },
): Promise<OpenLocation> {
  const readOnly = spec.accessMode === 'ReadOnly';
  let config: StorageLocationConfig;
  if (spec.provider === 'local') {
    // Relative paths resolve against the reconciler's data directory, never inside the policy
    // checkout (which is reset to the remote on every pass).
    const path = isAbsolute(spec.path) ? spec.path : resolve(deps.localRoot, spec.path);
    config = { name, provider: 'local', path, accessMode: spec.accessMode, createIfMissing: !readOnly };
  } else {
    if (deps.allowLinkLocalEndpoints !== true) await checkEndpoint(name, spec.config?.s3Url);
    const credentials = spec.credential
      ? await resolveCredentials(name, spec.credential, {
          ...(deps.kube ? { kube: deps.kube } : {}),
          env: deps.env ?? process.env,
          namespace: deps.namespace ?? 'lifeboat',
        })
      : undefined;
    const caCert = await resolveCaCert(name, spec.objectStorage, {
      ...(deps.kube ? { kube: deps.kube } : {}),
      namespace: deps.namespace ?? 'lifeboat',
    });
    config = {
      name,
      provider: 'aws',
      ...(caCert !== undefined ? { caCert } : {}),
      ...(spec.objectLock ? { objectLock: spec.objectLock } : {}),
      bucket: spec.objectStorage.bucket,
      ...(spec.objectStorage.prefix ? { prefix: spec.objectStorage.prefix } : {}),
      ...(spec.config ? { config: spec.config } : {}),
      accessMode: spec.accessMode,
      ...(credentials ? { credentials } : {}),
    };
  }
  const secrets = { ...(deps.kube ? { kube: deps.kube } : {}), namespace: deps.namespace ?? 'lifeboat' };
  const plain = openStore(config, { requests: deps.storageRequests });
  const store = spec.encryption
    ? new KeyedStore(plain, await resolveKeyring(name, spec.encryption, secrets))
    : plain;
  const webhook = spec.notifications
    ? await resolveWebhook(name, spec.notifications.webhook, secrets)
    : undefined;
  return { name, readOnly, store, ...(webhook ? { webhook } : {}) };
}

/** A webhook whose URL cannot be read is reported at each notification, and fails nothing. */
async function resolveWebhook(
  location: string,
  source: EncryptionKeySource,
  deps: { kube?: () => Promise<KubeClient>; namespace: string },
): Promise<{ name: string; url?: string; error?: string }> {
  const name = sourceName(source, deps.namespace);
  try {
    const url = (await readSecretSource(location, 'notifications.webhook', source, deps))
      .toString('utf8')
      .trim();
    if (!/^https?:\/\//.test(url)) return { name, error: `${name} does not hold an http(s) URL` };
    return { name, url };
  } catch (err) {
    return { name, error: err instanceof Error ? err.message : String(err) };
  }
}

function sourceName(source: EncryptionKeySource, namespace: string): string {
  if ('file' in source) return `file ${source.file}`;
  const ref = source.secretRef;
  return `Secret ${ref.namespace ?? namespace}/${ref.name} key ${ref.key}`;
}

/** The bytes a Secret key or file holds; errors name where, never what. */
async function readSecretSource(
  location: string,
  what: string,
  source: EncryptionKeySource,
  deps: { kube?: () => Promise<KubeClient>; namespace: string },
): Promise<Buffer> {
  const name = sourceName(source, deps.namespace);
  const fail = (problem: string) => new KeyError(`storage location ${location}: ${what} ${name}: ${problem}`);
  if ('file' in source) {
    try {
      return await readFile(source.file);
    } catch (err) {
      throw fail(`cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  const ref = source.secretRef;
  if (!deps.kube) throw fail('needs access to the cluster');
  const secret = await (await deps.kube()).get(SECRET_RESOURCE, ref.namespace ?? deps.namespace, ref.name);
  if (!secret) throw fail('no such Secret');
  const data = (secret.data as Record<string, string> | undefined)?.[ref.key];
  if (!data) throw fail('the Secret has no such key');
  return Buffer.from(data, 'base64');
}

/** The location's encryption keys, read now from their Secrets or files (never Git). */
async function resolveKeyring(
  location: string,
  encryption: StorageEncryption,
  deps: { kube?: () => Promise<KubeClient>; namespace: string },
): Promise<Keyring> {
  const read = async (source: EncryptionKeySource): Promise<NamedKey> => {
    const name = sourceName(source, deps.namespace);
    const material = await readSecretSource(location, 'encryption key', source, deps);
    return { name, key: parseKeyMaterial(`storage location ${location}: encryption key ${name}`, material) };
  };
  return new Keyring({
    ...(encryption.key ? { active: await read(encryption.key) } : {}),
    retired: await Promise.all((encryption.retiredKeys ?? []).map(read)),
  });
}
