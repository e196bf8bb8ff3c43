// Turns a storage location (as a StorageLocation policy document describes it) into a
// BackupStore. Field names follow Velero's BackupStorageLocation, so a Velero user recognizes
// them: spec.provider, spec.objectStorage.{bucket,prefix}, spec.config.{region,s3Url,
// s3ForcePathStyle,profile} (velero-plugin-for-aws object_store.go), spec.accessMode.
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { LocalDirStore } from './local-store.js';
import type { S3Credentials, S3NetworkOptions, S3RequestObserver, S3StoreOptions } from './s3-store.js';
import type { BackupStore, PutOptions, StoredObject, UnfinishedUpload } from './store.js';

export interface StorageLocationConfig {
  /** The location's name (metadata.name), used in errors. */
  name: string;
  /** 'aws' for S3 and S3-compatible servers (Velero's AWS plugin); 'local' for a directory. */
  provider: 'aws' | 'local';
  /** objectStorage.bucket (aws). */
  bucket?: string;
  /** objectStorage.prefix: a folder inside the bucket (or directory) for everything lifeboat writes. */
  prefix?: string;
  /** The directory (local). */
  path?: string;
  /** Velero's config map; values may be strings, as in a BackupStorageLocation. */
  config?: {
    region?: string;
    s3Url?: string;
    s3ForcePathStyle?: boolean | string;
    profile?: string;
    insecureSkipTLSVerify?: boolean | string;
    serverSideEncryption?: string;
    kmsKeyId?: string;
    /** '' turns checksums off; absent: CRC32, as Velero's AWS plugin. */
    checksumAlgorithm?: string;
  };
  /** aws only: S3 Object Lock mode for the objects of completed backups (the bucket must have it). */
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE' };
  /** PEM bundle of CAs to trust for the endpoint (Velero's caCert, decoded; or caCertRef's content). */
  caCert?: string;
  /** Velero's accessMode; ReadOnly locations are read for restores and never written. */
  accessMode?: 'ReadWrite' | 'ReadOnly';
  /** Already resolved from wherever they are kept (a Secret, env); absent: the SDK's default chain. */
  credentials?: S3Credentials;
  /** local only: create the directory if it is missing (default: it must exist, like a bucket). */
  createIfMissing?: boolean;
  /** aws only: timeouts and retries (S3Store's defaults for what is not given). */
  network?: Partial<S3NetworkOptions>;
}

export class StorageLocationError extends Error {
  constructor(location: string, problem: string) {
    super(`storage location ${JSON.stringify(location)}: ${problem}`);
    this.name = 'StorageLocationError';
  }
}

/**
 * Builds the store; does no I/O (call `check()` to find out whether it is reachable).
 * `requests` hears the S3 client's retries and failures (metrics); ignored for local.
 */
export function openStore(
  location: StorageLocationConfig,
  opts: { requests?: S3RequestObserver } = {},
): BackupStore {
  const readOnly = location.accessMode === 'ReadOnly';
  if (location.provider === 'local') {
    if (!location.path) throw new StorageLocationError(location.name, 'path is required for provider local');
    const root = location.prefix ? join(location.path, location.prefix) : location.path;
    return new LocalDirStore({ root, readOnly, create: location.createIfMissing ?? false });
  }
  if (location.provider !== 'aws') {
    throw new StorageLocationError(
      location.name,
      `provider ${JSON.stringify(location.provider)} is not supported (use aws or local)`,
    );
  }
  if (!location.bucket) {
    throw new StorageLocationError(location.name, 'objectStorage.bucket is required for provider aws');
  }
  const config = location.config ?? {};
  // velero-plugin-for-aws ObjectStore.Init passes an empty region to S3-compatible servers
  // (s3Url set); the JS SDK needs one to sign, and such servers accept any, so use AWS's
  // default. Without s3Url Velero looks the bucket's region up; we leave it to the SDK's
  // chain (AWS_REGION, the shared config file).
  const region = config.region ?? (config.s3Url ? 'us-east-1' : undefined);
  return new LazyS3Store({
    bucket: location.bucket,
    prefix: location.prefix,
    endpoint: config.s3Url,
    region,
    forcePathStyle: parseBool(location.name, 'config.s3ForcePathStyle', config.s3ForcePathStyle),
    credentials: location.credentials,
    profile: config.profile,
    readOnly,
    ...(location.network ? { network: location.network } : {}),
    tls: {
      ...(location.caCert !== undefined ? { caCert: location.caCert } : {}),
      insecureSkipVerify: parseBool(
        location.name,
        'config.insecureSkipTLSVerify',
        config.insecureSkipTLSVerify,
      ),
    },
    ...writeOptions(location.name, config),
    ...(location.objectLock ? { objectLock: location.objectLock } : {}),
    ...(opts.requests ? { requests: opts.requests } : {}),
  });
}

const SSE_VALUES = ['AES256', 'aws:kms'] as const;
const CHECKSUMS = ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const;

/** What every write asks of the server: encryption at rest and an end-to-end checksum. */
function writeOptions(
  name: string,
  config: NonNullable<StorageLocationConfig['config']>,
): Pick<S3StoreOptions, 'serverSideEncryption' | 'checksumAlgorithm'> {
  const out: Pick<S3StoreOptions, 'serverSideEncryption' | 'checksumAlgorithm'> = {};
  const sse = config.serverSideEncryption;
  if (sse !== undefined && sse !== '') {
    if (!(SSE_VALUES as readonly string[]).includes(sse))
      throw new StorageLocationError(
        name,
        `config.serverSideEncryption must be AES256 or aws:kms, not ${JSON.stringify(sse)}`,
      );
    out.serverSideEncryption = {
      algorithm: sse as (typeof SSE_VALUES)[number],
      ...(config.kmsKeyId ? { kmsKeyId: config.kmsKeyId } : {}),
    };
  }
  if (config.kmsKeyId && sse !== 'aws:kms')
    throw new StorageLocationError(name, 'config.kmsKeyId needs config.serverSideEncryption: aws:kms');
  const checksum = config.checksumAlgorithm ?? 'CRC32';
  if (checksum !== '' && !(CHECKSUMS as readonly string[]).includes(checksum))
    throw new StorageLocationError(
      name,
      `config.checksumAlgorithm must be one of ${CHECKSUMS.join(', ')} or "" (off), not ${JSON.stringify(checksum)}`,
    );
  out.checksumAlgorithm = checksum === '' ? 'none' : (checksum as (typeof CHECKSUMS)[number]);
  return out;
}

/**
 * Velero reads config booleans with Go's strconv.ParseBool, skipping empty values
 * (velero-plugin-for-aws ObjectStore.Init); accept the same spellings.
 */
export function parseBool(location: string, field: string, value: boolean | string | undefined): boolean {
  if (value === undefined || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new StorageLocationError(location, `${field} must be true or false, not ${JSON.stringify(value)}`);
}

/**
 * An S3Store whose module, and the AWS SDK with it (~0.4 s of CPU to load), is loaded on first
 * use: commands and passes that never touch a bucket (validate, a local location) never pay it.
 */
export class LazyS3Store implements BackupStore {
  readonly describe: string;
  readonly readOnly: boolean;
  #store: Promise<BackupStore> | undefined;

  constructor(private readonly options: S3StoreOptions) {
    this.readOnly = options.readOnly ?? false;
    // As S3Store says it (a test compares the two).
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.describe = `s3://${options.bucket}${prefix ? `/${prefix}` : ''}`;
  }

  #load(): Promise<BackupStore> {
    this.#store ??= import('./s3-store.js').then(({ S3Store }) => new S3Store(this.options));
    return this.#store;
  }

  async put(key: string, body: Readable | Buffer | string, opts?: PutOptions): Promise<void> {
    return (await this.#load()).put(key, body, opts);
  }
  async get(key: string): Promise<Readable> {
    return (await this.#load()).get(key);
  }
  async exists(key: string): Promise<boolean> {
    return (await this.#load()).exists(key);
  }
  async *list(prefix: string): AsyncIterable<StoredObject> {
    yield* (await this.#load()).list(prefix);
  }
  async listPrefixes(prefix: string): Promise<string[]> {
    return (await this.#load()).listPrefixes(prefix);
  }
  async delete(keys: string[]): Promise<void> {
    return (await this.#load()).delete(keys);
  }
  async *listUnfinishedUploads(prefix: string): AsyncIterable<UnfinishedUpload> {
    yield* (await this.#load()).listUnfinishedUploads(prefix);
  }
  async abortUpload(upload: Pick<UnfinishedUpload, 'key' | 'id'>): Promise<void> {
    return (await this.#load()).abortUpload(upload);
  }
  async check(): Promise<void> {
    return (await this.#load()).check();
  }
  get objectLock(): { mode: 'GOVERNANCE' | 'COMPLIANCE' } | undefined {
    return this.options.objectLock;
  }
  async retain(key: string, until: Date): Promise<void> {
    return (await this.#load()).retain?.(key, until);
  }
  async retainedUntil(key: string): Promise<Date | undefined> {
    return (await this.#load()).retainedUntil?.(key);
  }
}
