// A backup location in an S3 bucket (AWS or any S3-compatible server). The only module that
// imports the AWS SDK: SDK errors are translated here into StoreErrors that say what is wrong
// in the operator's terms (which bucket, which endpoint), and never carry credentials.
import {
  AbortMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  GetObjectLockConfigurationCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { failProducer, feedFrom } from './feed.js';
import { guardStalls } from './stall-guard.js';
import { describeNetworkFailure } from './network-failure.js';
import { resumingDownload } from './resume-download.js';
import { assertValidKey, assertValidPrefix } from './keys.js';
import { ObjectLockedError, ReadOnlyStoreError, StoreError, StoreNotFoundError } from './store.js';
import type { BackupStore, PutOptions, StoredObject, UnfinishedUpload } from './store.js';

// The SDK warns on every process start that its releases after January 2027 will need
// Node 22. The version is pinned in package-lock.json for Node 20, so the warning is noise in
// every CLI invocation; a user who sets the variable to something else still sees it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StoreOptions {
  bucket: string;
  /** Key prefix inside the bucket (Velero's objectStorage.prefix); '' or absent for the root. */
  prefix?: string;
  /** For S3-compatible servers (Velero's config.s3Url); absent for AWS itself. */
  endpoint?: string;
  /** Absent: the SDK resolves it from AWS_REGION or the shared config file. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most S3-compatible servers need. */
  forcePathStyle?: boolean;
  /** Absent: the SDK's default chain (env vars, shared files, web identity, instance role). */
  credentials?: S3Credentials;
  /** A profile of the shared config/credentials files (like AWS_PROFILE). */
  profile?: string;
  readOnly?: boolean;
  /**
   * Multipart upload tuning. One upload holds up to queueSize parts in flight plus the one
   * being gathered, and briefly a copy of that one while lib-storage joins its chunks: about
   * partSize × (queueSize + 2) at worst.
   */
  multipart?: { partSize?: number; queueSize?: number };
  /** Timeouts and retries of each request; DEFAULT_S3_NETWORK for what is not given. */
  network?: Partial<S3NetworkOptions>;
  /** How the endpoint's TLS certificate is checked; absent: against Node's CA store. */
  tls?: S3TlsOptions;
  /** Encryption at rest the server applies to every object written (x-amz-server-side-encryption). */
  serverSideEncryption?: { algorithm: 'AES256' | 'aws:kms'; kmsKeyId?: string };
  /**
   * The checksum sent with every write, which the server checks before it stores the bytes
   * (x-amz-checksum-*); 'none' sends none, for servers that reject them. Absent: CRC32.
   */
  checksumAlgorithm?: 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256' | 'none';
  /**
   * S3 Object Lock (the bucket must have it enabled): puts with `retainUntil` are retained in
   * this mode, and delete() removes every version of a key, which is what frees it in a
   * versioned bucket (a plain delete there only hides it behind a delete marker).
   */
  objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE' };
  /** Told of each request's retries and final failures (the reconciler counts them in metrics). */
  requests?: S3RequestObserver;
}

/**
 * Hears how each S3 request went, by operation (the SDK's command without "Command":
 * PutObject, UploadPart, GetObject, ...). Kept to plain callbacks so storage/ needs nothing
 * of observe/; the entry point wires them to counters.
 */
export interface S3RequestObserver {
  /** The request was sent again `retries` times (after a reset, a timeout, a 5xx, throttling). */
  retried(operation: string, retries: number): void;
  /**
   * The request failed for good without an answer from S3 to act on: a network error, a
   * timeout or a 5xx/throttling after its last try. A 4xx answer (a missing key, a lock) is
   * not counted: it is S3's answer, not a fault.
   */
  failed(operation: string): void;
}

export interface S3TlsOptions {
  /** PEM bundle of the CAs to trust instead of Node's store (a private or self-signed CA). */
  caCert?: string;
  /** Accept any certificate: for tests and emergencies; the policy rules warn about it. */
  insecureSkipVerify?: boolean;
}

/** Node's codes for a certificate it does not trust (tls.TLSSocket authorizationError). */
const TLS_TRUST_ERRORS = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * How long a request may wait on the S3 server, and how often the SDK tries it. The SDK waits
 * for ever by default: a frozen server (or a connection a firewall silently dropped) held a
 * backup's upload, and the backup, for good.
 */
export interface S3NetworkOptions {
  /** Establishing the TCP (and TLS) connection. */
  connectTimeoutMs: number;
  /** From sending the request to the response's headers. */
  responseTimeoutMs: number;
  /** No byte of a download for this long while its reader waits for one. */
  idleTimeoutMs: number;
  /** Tries of one request in all, with the SDK's standard backoff between them. */
  maxAttempts: number;
}

export const DEFAULT_S3_NETWORK: S3NetworkOptions = {
  connectTimeoutMs: 10_000,
  // CompleteMultipartUpload of a large archive can take S3 a while before it answers.
  responseTimeoutMs: 120_000,
  idleTimeoutMs: 60_000,
  maxAttempts: 4,
};

/**
 * S3's smallest part, the default of the Go SDK's upload manager that Velero's AWS plugin uses:
 * an upload holds ~20 MB at worst rather than ~32 MB with 8 MB parts, and 10,000 parts still
 * allow archives of 50 GB.
 */
const DEFAULT_PART_SIZE = 5 * 1024 * 1024;
const DEFAULT_QUEUE_SIZE = 2;
/** DeleteObjects takes at most 1000 keys per request. */
const DELETE_BATCH = 1000;

const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
]);

/** Added to every PutObject and CreateMultipartUpload. */
interface WriteParams {
  ServerSideEncryption?: 'AES256' | 'aws:kms';
  SSEKMSKeyId?: string;
  ChecksumAlgorithm?: 'CRC32' | 'CRC32C' | 'SHA1' | 'SHA256';
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

export class S3Store implements BackupStore {
  readonly describe: string;
  readonly readOnly: boolean;
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  /** Where the bucket lives, for errors: the endpoint without userinfo or query. */
  private readonly endpointText: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly network: S3NetworkOptions;
  /** Added to every PutObject and CreateMultipartUpload: encryption at rest and the checksum. */
  private readonly writeParams: WriteParams;
  readonly objectLock?: { mode: 'GOVERNANCE' | 'COMPLIANCE' };
  private readonly requests: S3RequestObserver | undefined;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = normalizePrefix(opts.prefix);
    this.readOnly = opts.readOnly ?? false;
    this.describe = `s3://${this.bucket}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
    this.endpointText = opts.endpoint
      ? safeEndpoint(opts.endpoint)
      : `AWS S3${opts.region ? ` (${opts.region})` : ''}`;
    this.partSize = opts.multipart?.partSize ?? DEFAULT_PART_SIZE;
    this.queueSize = opts.multipart?.queueSize ?? DEFAULT_QUEUE_SIZE;
    const network = { ...DEFAULT_S3_NETWORK, ...definedOnly(opts.network ?? {}) };
    this.network = network;
    this.writeParams = writeParamsOf(opts);
    if (opts.objectLock) this.objectLock = opts.objectLock;
    this.client = new S3Client(clientConfig(opts, network));
    this.requests = opts.requests;
    if (opts.requests) countRequests(this.client, opts.requests);
  }

  async put(key: string, body: Readable | Buffer | string, opts: PutOptions = {}): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `put ${key}`);
    assertValidKey(key, this.describe);
    const target = {
      Bucket: this.bucket,
      Key: this.prefix + key,
      ContentType: opts.contentType,
      ...this.writeParams,
      ...(this.objectLock && opts.retainUntil
        ? { ObjectLockMode: this.objectLock.mode, ObjectLockRetainUntilDate: opts.retainUntil }
        : {}),
    };
    try {
      if (body instanceof Readable) {
        // Multipart for streams of unknown length; lib-storage aborts the upload on failure.
        const upload = new Upload({
          client: this.client,
          params: { ...target, Body: feedFrom(body) },
          partSize: this.partSize,
          queueSize: this.queueSize,
          leavePartsOnError: false,
        });
        await upload.done();
      } else {
        const bytes = typeof body === 'string' ? Buffer.from(body) : body;
        await this.client.send(new PutObjectCommand({ ...target, Body: bytes, ContentLength: bytes.length }));
      }
    } catch (err) {
      const failure = this.translate(err, `writing ${key}`);
      failProducer(body, failure);
      if (body instanceof Readable) await this.abortLeftUploads(key);
      throw failure;
    }
  }

  /**
   * lib-storage aborts its multipart upload when a part or the body fails, but when that abort
   * request fails too (the fault that broke the upload often breaks it) the parts stay and cost
   * storage. One more try here; what still remains, the reconcile pass sweeps up later
   * (reconcile/leftovers.ts). Only this key: no one else writes it (names are new per run).
   */
  private async abortLeftUploads(key: string): Promise<void> {
    try {
      for await (const u of this.listUnfinishedUploads(key)) {
        if (u.key === key) await this.abortUpload(u);
      }
    } catch {
      // Best effort: the put's own error is the one to report.
    }
  }

  async *listUnfinishedUploads(prefix: string): AsyncIterable<UnfinishedUpload> {
    assertValidPrefix(prefix, this.describe);
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            KeyMarker: keyMarker,
            UploadIdMarker: uploadIdMarker,
          }),
        );
      } catch (err) {
        throw this.translate(err, `listing unfinished uploads under ${prefix || '/'}`);
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        const key = u.Key.slice(this.prefix.length);
        const parts = await this.partsOf(key, u.UploadId);
        const newest = [u.Initiated, parts.newest].filter((d): d is Date => d instanceof Date);
        const lastActivity = newest.sort((a, b) => b.getTime() - a.getTime())[0];
        yield {
          key,
          id: u.UploadId,
          ...(u.Initiated ? { initiated: u.Initiated } : {}),
          ...(lastActivity ? { lastActivity } : {}),
          size: parts.size,
        };
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      uploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  /** The bytes an upload holds and when its newest part arrived. */
  private async partsOf(key: string, uploadId: string): Promise<{ size: number; newest?: Date }> {
    let size = 0;
    let newest: Date | undefined;
    let marker: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(
          new ListPartsCommand({
            Bucket: this.bucket,
            Key: this.prefix + key,
            UploadId: uploadId,
            PartNumberMarker: marker,
          }),
        );
      } catch (err) {
        // Completed or aborted since it was listed: nothing left of it.
        if ((err as SdkError).name === 'NoSuchUpload') return { size: 0 };
        throw this.translate(err, `listing the parts of an unfinished upload of ${key}`);
      }
      for (const p of page.Parts ?? []) {
        size += p.Size ?? 0;
        if (p.LastModified && (!newest || p.LastModified > newest)) newest = p.LastModified;
      }
      marker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined;
    } while (marker !== undefined);
    return newest ? { size, newest } : { size };
  }

  async abortUpload(upload: Pick<UnfinishedUpload, 'key' | 'id'>): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `abort an upload of ${upload.key}`);
    assertValidKey(upload.key, this.describe);
    try {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.prefix + upload.key,
          UploadId: upload.id,
        }),
      );
    } catch (err) {
      if ((err as SdkError).name === 'NoSuchUpload') return;
      throw this.translate(err, `aborting an unfinished upload of ${upload.key}`);
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key, this.describe);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      // In Node the SDK's streaming body is an http.IncomingMessage, a Readable.
      if (!(out.Body instanceof Readable))
        throw new StoreError(`${this.describe}: ${key} has no readable body`);
      const idle = this.network.idleTimeoutMs;
      const etag = out.ETag;
      // A body cut part-way goes on with a ranged GET of the same version (its ETag), as long
      // as resumes gain bytes (at most maxAttempts - 1 in a row without); resume-download.ts
      // says why.
      const body = resumingDownload({
        first: out.Body,
        reopen: (offset) => this.getRange(key, offset, etag),
        maxResumes: this.network.maxAttempts - 1,
        onResume: () => this.requests?.retried('GetObject', 1),
      });
      return guardStalls(
        body,
        idle,
        () =>
          new StoreError(`S3 endpoint ${this.endpointText} sent no data for ${idle} ms while reading ${key}`),
      );
    } catch (err) {
      if (err instanceof StoreError) throw err;
      if ((err as SdkError).name === 'NoSuchKey') throw new StoreNotFoundError(key, this.describe);
      throw this.translate(err, `reading ${key}`);
    }
  }

  /** The bytes of `key` from `offset` on, only while its ETag is still `etag`. */
  private async getRange(key: string, offset: number, etag: string | undefined): Promise<Readable> {
    let out;
    try {
      out = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Range: `bytes=${offset}-`,
          ...(etag ? { IfMatch: etag } : {}),
        }),
      );
    } catch (err) {
      if ((err as SdkError).$metadata?.httpStatusCode === 412)
        throw new StoreError(
          `${this.describe}: ${key} changed while it was being read (its ETag is no longer ${etag})`,
        );
      throw this.translate(err, `reading ${key} again from byte ${offset} after the connection was cut`);
    }
    if (!(out.Body instanceof Readable))
      throw new StoreError(`${this.describe}: ${key} has no readable body`);
    return out.Body;
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key, this.describe);
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return true;
    } catch (err) {
      // HEAD responses have no body, so a missing key is a bare 404 ('NotFound'); so is a
      // missing bucket, which check() tells apart.
      if (isNotFound(err)) return false;
      throw this.translate(err, `checking ${key}`);
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    assertValidPrefix(prefix, this.describe);
    let token: string | undefined;
    do {
      const page = await this.listPage({ prefix, token, delimiter: undefined });
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const stored: StoredObject = { key: o.Key.slice(this.prefix.length), size: o.Size ?? 0 };
        if (o.LastModified) stored.lastModified = o.LastModified;
        yield stored;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    assertValidPrefix(prefix, this.describe);
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.listPage({ prefix, token, delimiter: '/' });
      for (const p of page.CommonPrefixes ?? []) {
        if (p.Prefix) prefixes.push(p.Prefix.slice(this.prefix.length));
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return prefixes;
  }

  async retain(key: string, until: Date): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `retain ${key}`);
    assertValidKey(key, this.describe);
    if (!this.objectLock) return;
    try {
      await this.client.send(
        new PutObjectRetentionCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Retention: { Mode: this.objectLock.mode, RetainUntilDate: until },
        }),
      );
    } catch (err) {
      throw this.translate(err, `setting the object lock retention of ${key}`);
    }
  }

  async retainedUntil(key: string): Promise<Date | undefined> {
    assertValidKey(key, this.describe);
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      const until = out.ObjectLockRetainUntilDate;
      return until && until.getTime() > Date.now() ? until : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.translate(err, `reading the object lock retention of ${key}`);
    }
  }

  async delete(keys: string[]): Promise<void> {
    if (this.readOnly) throw new ReadOnlyStoreError(this.describe, `delete ${keys.length} object(s)`);
    for (const key of keys) assertValidKey(key, this.describe);
    if (this.objectLock) return this.deleteVersions(keys);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      let failed: { Key?: string; Code?: string }[];
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: batch.map((k) => ({ Key: this.prefix + k })), Quiet: true },
          }),
        );
        failed = out.Errors ?? [];
      } catch (err) {
        throw this.translate(err, `deleting ${batch.length} object(s)`);
      }
      if (failed.length > 0) {
        const sample = failed
          .slice(0, 3)
          .map((f) => `${(f.Key ?? '?').slice(this.prefix.length)} (${f.Code ?? 'unknown error'})`)
          .join(', ');
        throw new StoreError(`${this.describe}: could not delete ${failed.length} object(s): ${sample}`);
      }
    }
  }

  /** Every version and delete marker of exactly these keys (full keys, with the prefix). */
  private async versionsOf(keys: string[]): Promise<{ Key: string; VersionId: string }[]> {
    const wanted = new Set(keys.map((k) => this.prefix + k));
    const versions: { Key: string; VersionId: string }[] = [];
    // Keys of one call share a directory (a backup's); list each distinct parent once.
    const parents = new Set([...wanted].map((k) => k.slice(0, k.lastIndexOf('/') + 1)));
    for (const parent of parents) {
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      do {
        let page;
        try {
          page = await this.client.send(
            new ListObjectVersionsCommand({
              Bucket: this.bucket,
              Prefix: parent,
              KeyMarker: keyMarker,
              VersionIdMarker: versionMarker,
            }),
          );
        } catch (err) {
          throw this.translate(
            err,
            `listing object versions under ${parent.slice(this.prefix.length) || '/'}`,
          );
        }
        for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
          if (v.Key && v.VersionId && wanted.has(v.Key))
            versions.push({ Key: v.Key, VersionId: v.VersionId });
        }
        const more = page.IsTruncated === true;
        keyMarker = more ? page.NextKeyMarker : undefined;
        versionMarker = more ? page.NextVersionIdMarker : undefined;
      } while (keyMarker !== undefined);
    }
    return versions;
  }

  /**
   * Object lock: every version of each key (and its delete markers), so the key is gone rather
   * than hidden. Versions the lock still retains are refused by the server; they are reported
   * together, with the latest date they are retained until, and nothing else is hidden.
   */
  private async deleteVersions(keys: string[]): Promise<void> {
    const versions = await this.versionsOf(keys);
    const locked = new Set<string>();
    const other: string[] = [];
    for (let i = 0; i < versions.length; i += DELETE_BATCH) {
      const batch = versions.slice(i, i + DELETE_BATCH);
      let failed: { Key?: string; Code?: string }[];
      try {
        const out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch, Quiet: true } }),
        );
        failed = out.Errors ?? [];
      } catch (err) {
        throw this.translate(err, `deleting ${batch.length} object version(s)`);
      }
      for (const f of failed) {
        const key = (f.Key ?? '?').slice(this.prefix.length);
        // S3 answers AccessDenied for a retained version; some servers say so in the code.
        if (f.Code === 'AccessDenied' || /lock|retention|worm/i.test(f.Code ?? '')) locked.add(key);
        else other.push(`${key} (${f.Code ?? 'unknown error'})`);
      }
    }
    if (other.length > 0)
      throw new StoreError(
        `${this.describe}: could not delete ${other.length} object version(s): ${other.slice(0, 3).join(', ')}`,
      );
    if (locked.size > 0) {
      const dates = await Promise.all([...locked].map((k) => this.retainedUntil(k).catch(() => undefined)));
      const until = dates
        .filter((d): d is Date => d !== undefined)
        .sort((a, b) => b.getTime() - a.getTime())[0];
      throw new ObjectLockedError([...locked], until, this.describe);
    }
  }

  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // HeadBucket has no body either: 404 is the only sign of a missing bucket.
      if (isNotFound(err)) throw this.bucketMissing(err);
      throw this.translate(err, 'checking the bucket');
    }
    if (this.objectLock) await this.checkObjectLock();
  }

  /** A location that asks for object lock on a bucket without it would write unprotected backups. */
  private async checkObjectLock(): Promise<void> {
    let enabled = false;
    try {
      const out = await this.client.send(new GetObjectLockConfigurationCommand({ Bucket: this.bucket }));
      enabled = out.ObjectLockConfiguration?.ObjectLockEnabled === 'Enabled';
    } catch (err) {
      const name = (err as SdkError).name ?? '';
      if (!/ObjectLockConfigurationNotFound/.test(name))
        throw this.translate(err, "reading the bucket's object lock configuration");
    }
    if (!enabled)
      throw new StoreError(
        `bucket ${this.bucket} at ${this.endpointText} does not have Object Lock enabled, which the location's objectLock needs ` +
          '(it can only be enabled when the bucket is created, or on AWS later with PutObjectLockConfiguration)',
      );
  }

  private async listPage(opts: { prefix: string; token: string | undefined; delimiter: string | undefined }) {
    try {
      return await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + opts.prefix,
          Delimiter: opts.delimiter,
          ContinuationToken: opts.token,
        }),
      );
    } catch (err) {
      throw this.translate(err, `listing ${opts.prefix || '/'}`);
    }
  }

  private bucketMissing(cause: unknown): StoreError {
    return new StoreError(`bucket ${this.bucket} does not exist at ${this.endpointText}`, { cause });
  }

  /** SDK error → StoreError. Messages name bucket, endpoint and operation, never credentials. */
  private translate(err: unknown, action: string): StoreError {
    const e = (err ?? {}) as SdkError;
    const name = e.name ?? '';
    const status = e.$metadata?.httpStatusCode;
    if (name === 'NoSuchBucket') return this.bucketMissing(err);
    if (CREDENTIAL_ERRORS.has(name) || status === 403) {
      const reason = CREDENTIAL_ERRORS.has(name) ? name : 'HTTP 403 Forbidden';
      return new StoreError(
        `credentials rejected by ${this.endpointText} for bucket ${this.bucket} (${reason}) while ${action}`,
        { cause: err },
      );
    }
    if (e.code && TLS_TRUST_ERRORS.has(e.code)) {
      return new StoreError(
        `the TLS certificate of S3 endpoint ${this.endpointText} is not trusted (${e.code}) while ${action}: ` +
          'give the CA that signed it in objectStorage.caCert or caCertRef',
        { cause: err },
      );
    }
    // A reset, a refusal, DNS, TLS and a real timeout, each worded for what it is (network-failure.ts).
    const attempts = (e.$metadata as { attempts?: number } | undefined)?.attempts;
    const network = describeNetworkFailure(
      // An Error's message is not enumerable: named, not spread.
      {
        ...(e.name !== undefined ? { name: e.name } : {}),
        ...(e.code !== undefined ? { code: e.code } : {}),
        ...(e.message !== undefined ? { message: e.message } : {}),
        ...(attempts !== undefined ? { attempts } : {}),
      },
      { endpoint: this.endpointText, action },
    );
    if (network !== undefined) return new StoreError(network, { cause: err });
    if (name === 'CredentialsProviderError') {
      return new StoreError(
        `${this.describe}: no S3 credentials found (give credentials, a profile, or AWS_* environment variables) while ${action}`,
        { cause: err },
      );
    }
    if (err instanceof StoreError) return err;
    const detail = [name, e.message].filter((s) => s && s !== 'UnknownError').join(': ');
    return new StoreError(`${this.describe}: ${action} failed: ${detail || 'unknown error'}`, { cause: err });
  }
}

function clientConfig(opts: S3StoreOptions, network: S3NetworkOptions): S3ClientConfig {
  const config: S3ClientConfig = {
    forcePathStyle: opts.forcePathStyle ?? false,
    maxAttempts: network.maxAttempts,
    // The SDK's NodeHttpHandler options. requestTimeout runs until the response's headers
    // (thrown only with throwOnRequestTimeout): it also ends an upload that stalls. Its
    // socketTimeout is off: it would count a reader's backpressure on a download as silence,
    // and cut a restore that is busy parsing; get() guards downloads itself (stall-guard.ts).
    requestHandler: {
      connectionTimeout: network.connectTimeoutMs,
      requestTimeout: network.responseTimeoutMs,
      throwOnRequestTimeout: true,
      socketTimeout: 0,
      // Options of the https.Agent the handler makes (ignored for http endpoints).
      httpsAgent: {
        ...(opts.tls?.caCert !== undefined ? { ca: opts.tls.caCert } : {}),
        ...(opts.tls?.insecureSkipVerify === true ? { rejectUnauthorized: false } : {}),
      },
    },
  };
  // 'none': no checksum unless the operation requires one (DeleteObjects does).
  if (opts.checksumAlgorithm === 'none') config.requestChecksumCalculation = 'WHEN_REQUIRED';
  if (opts.endpoint) config.endpoint = opts.endpoint;
  if (opts.region) config.region = opts.region;
  if (opts.credentials) config.credentials = { ...opts.credentials };
  else if (opts.profile) config.profile = opts.profile;
  return config;
}

/**
 * A middleware in the initialize step, outside the SDK's retry middleware, so it sees each
 * request once with the attempts it took in the end ($metadata.attempts, which the retry
 * middleware sets on the output and on the error it gives up with). lib-storage's uploads
 * send their parts through the same client, so their retries are counted too.
 */
export function countRequests(client: S3Client, observer: S3RequestObserver): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = (context.commandName ?? 'unknown').replace(/Command$/, '');
      try {
        const out = await next(args);
        const attempts = (out.output as { $metadata?: { attempts?: number } }).$metadata?.attempts;
        if (attempts !== undefined && attempts > 1) observer.retried(operation, attempts - 1);
        return out;
      } catch (err) {
        const outcome = requestOutcome(err);
        if (outcome.retries > 0) observer.retried(operation, outcome.retries);
        if (outcome.fault) observer.failed(operation);
        throw err;
      }
    },
    { step: 'initialize', name: 'lifeboatRequestCounter', override: true },
  );
}

/** Of a request's final error: how often it was retried, and whether it was a fault (no 4xx answer). */
export function requestOutcome(err: unknown): { retries: number; fault: boolean } {
  const e = (err ?? {}) as SdkError & { $metadata?: { attempts?: number } };
  const attempts = e.$metadata?.attempts ?? 1;
  const status = e.$metadata?.httpStatusCode;
  const fault = status === undefined || status >= 500 || status === 429;
  return { retries: Math.max(0, attempts - 1), fault };
}

function writeParamsOf(opts: S3StoreOptions): WriteParams {
  const checksum = opts.checksumAlgorithm ?? 'CRC32';
  return {
    ...(opts.serverSideEncryption ? { ServerSideEncryption: opts.serverSideEncryption.algorithm } : {}),
    ...(opts.serverSideEncryption?.kmsKeyId ? { SSEKMSKeyId: opts.serverSideEncryption.kmsKeyId } : {}),
    ...(checksum !== 'none' ? { ChecksumAlgorithm: checksum } : {}),
  };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function isNotFound(err: unknown): boolean {
  const e = err as SdkError;
  return e.name === 'NotFound' || e.name === 'NoSuchKey' || e.$metadata?.httpStatusCode === 404;
}

/** 'a/b/' and '/a/b' both mean the folder a/b: keys become 'a/b/<key>'. */
function normalizePrefix(prefix: string | undefined): string {
  const trimmed = (prefix ?? '').replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** The endpoint as it is safe to print: userinfo and query (possible secrets) removed. */
function safeEndpoint(endpoint: string): string {
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return '(invalid endpoint URL)';
  }
}
