// Dependencies for one CLI invocation, built once here and passed down (no singletons).
import { KubeClient } from '../kube/client.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { readFile } from 'node:fs/promises';
import { KeyedStore } from '../crypto/keyed-store.js';
import { Keyring, parseKeyMaterial } from '../crypto/keyring.js';
import { openStore } from '../storage/open-store.js';
import type { BackupStore } from '../storage/store.js';
import { DEFAULT_STORAGE, parseStorageOption } from './storage-option.js';
import { openLocation } from '../reconcile/locations.js';
import {
  locationRepository,
  NoResticRepositoryError,
  type LocationRepository,
} from '../volumes/location-repository.js';
import { locationDocumentOf } from './location-document.js';
import { UsageError } from './output.js';
import { parseDuration } from '../util/duration.js';
import type { ArchiveLimits } from '../archive/reader.js';

/**
 * `--storage` names a location directly: a directory, an s3:// URL, or a file holding one
 * StorageLocation document; `--location NAME` looks it up among the StorageLocation documents of
 * the policy repository at `--policies`. Documents have their credentials resolved the way the
 * reconciler does. Otherwise $LIFEBOAT_STORAGE or the embedded default directory.
 */
async function resolveStore(opts: GlobalOptions, kube: () => Promise<KubeClient>): Promise<BackupStore> {
  const doc = await locationDocumentOf(locationOptions(opts));
  if (doc) {
    const namespace = agentNamespaceOf(opts);
    return (await openLocation(doc.name, doc.spec, { kube, localRoot: process.cwd(), namespace })).store;
  }
  const timeout = requestTimeoutOf(opts);
  const { files, ...location } = parseStorageOption(
    opts.storage ?? process.env.LIFEBOAT_STORAGE ?? DEFAULT_STORAGE,
  );
  const store = openStore({
    ...location,
    ...(files?.caCert ? { caCert: await readOptionFile('caCertFile', files.caCert, 'utf8') } : {}),
    ...(timeout ? { network: { idleTimeoutMs: timeout, responseTimeoutMs: timeout } } : {}),
  });
  if (!files?.encryptionKey) return store;
  // The same keyed store a StorageLocation's encryption.key gives (reconcile/locations.ts).
  const name = `file ${files.encryptionKey}`;
  const key = parseKeyMaterial(
    `--storage: encryption key ${name}`,
    await readOptionFile('encryptionKeyFile', files.encryptionKey),
  );
  return new KeyedStore(store, new Keyring({ active: { name, key }, retired: [] }));
}

/** --storage wins over --location; $LIFEBOAT_STORAGE stands in for --storage when neither is given. */
function locationOptions(opts: GlobalOptions): { storage?: string; location?: string; policies?: string } {
  const storage = opts.storage ?? (opts.location === undefined ? process.env.LIFEBOAT_STORAGE : undefined);
  return {
    ...(storage !== undefined ? { storage } : {}),
    ...(opts.location !== undefined ? { location: opts.location } : {}),
    ...(opts.policies !== undefined ? { policies: opts.policies } : {}),
  };
}

/** lifeboat's namespace: its node agents' work, and Secrets a location names without one. */
export const DEFAULT_AGENT_NAMESPACE = 'lifeboat';

function agentNamespaceOf(opts: GlobalOptions): string {
  return opts.agentNamespace ?? DEFAULT_AGENT_NAMESPACE;
}

/**
 * The restic repository of file-system volume copies, as the reconciler gives it (pass.ts):
 * from the location document's spec.restic, with the PodVolumeBackups and PodVolumeRestores made
 * in the agents' namespace. None for a directory or URL, or a location without spec.restic.
 */
async function resolveFsRepository(opts: GlobalOptions): Promise<FsRepository | undefined> {
  const doc = await locationDocumentOf(locationOptions(opts));
  // A local location with spec.restic is refused by locationRepository, saying why.
  if (!doc || !('restic' in doc.spec) || !doc.spec.restic) return undefined;
  const namespace = agentNamespaceOf(opts);
  try {
    return { repository: locationRepository(doc, namespace), namespace };
  } catch (err) {
    // The user asked for copies (spec.restic) that cannot be made: say so before any backup.
    if (err instanceof NoResticRepositoryError) throw new UsageError(err.message);
    throw err;
  }
}

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  storage?: string;
  /** A StorageLocation of the policy repository at `policies`. */
  location?: string;
  policies?: string;
  logLevel?: string;
  maxItemBytes?: string;
  maxArchiveBytes?: string;
  maxArchiveEntries?: string;
  allowMissingChecksum?: boolean;
  requestTimeout?: string;
  /** --agent-namespace: where the node agents take work (default lifeboat). */
  agentNamespace?: string;
}

/** Where file-system volume copies go, and the namespace of the agents' work objects. */
export interface FsRepository {
  repository: LocationRepository;
  namespace: string;
}

/** A file an option names; the error names the option and the file, never what it holds. */
async function readOptionFile(option: string, path: string): Promise<Buffer>;
async function readOptionFile(option: string, path: string, encoding: 'utf8'): Promise<string>;
async function readOptionFile(option: string, path: string, encoding?: 'utf8'): Promise<Buffer | string> {
  try {
    return encoding ? await readFile(path, encoding) : await readFile(path);
  } catch (err) {
    throw new UsageError(
      `--storage: ${option} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
}

/** --request-timeout in milliseconds, or undefined for the clients' defaults. */
function requestTimeoutOf(opts: GlobalOptions): number | undefined {
  if (opts.requestTimeout === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(opts.requestTimeout);
  } catch (err) {
    throw new UsageError(`--request-timeout: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (ms <= 0) throw new UsageError('--request-timeout must be longer than 0s');
  return ms;
}

/** The archive limits the flags set; the reader's defaults for the rest. */
export function archiveLimitsOf(opts: GlobalOptions): Partial<ArchiveLimits> {
  const limits: Partial<ArchiveLimits> = {};
  const flags = [
    ['--max-item-bytes', opts.maxItemBytes, 'maxEntryBytes'],
    ['--max-archive-bytes', opts.maxArchiveBytes, 'maxTotalBytes'],
    ['--max-archive-entries', opts.maxArchiveEntries, 'maxEntries'],
  ] as const;
  for (const [flag, value, field] of flags) {
    if (value === undefined) continue;
    if (!/^[1-9][0-9]*$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new UsageError(`${flag} must be a positive whole number, not ${JSON.stringify(value)}`);
    }
    limits[field] = Number(value);
  }
  return limits;
}

export interface CliContext {
  log: Logger;
  /** Bounds on reading a backup archive (--max-item-bytes and the like). */
  archiveLimits: Partial<ArchiveLimits>;
  /** --allow-missing-checksum: restore lifeboat backups without their checksum, unverified. */
  allowMissingChecksum: boolean;
  kube(): Promise<KubeClient>;
  store(): Promise<BackupStore>;
  /** The location's restic repository (spec.restic), when the command names a location document. */
  fsRepository(): Promise<FsRepository | undefined>;
  close(): void;
}

export function createCliContext(opts: GlobalOptions): CliContext {
  const log = createLogger({ level: opts.logLevel ?? process.env.LIFEBOAT_LOG_LEVEL ?? 'warn' });
  let kube: Promise<KubeClient> | undefined;
  let store: Promise<BackupStore> | undefined;
  const ctx: CliContext = {
    log,
    archiveLimits: archiveLimitsOf(opts),
    allowMissingChecksum: opts.allowMissingChecksum ?? false,
    kube() {
      const timeout = requestTimeoutOf(opts);
      kube ??= KubeClient.create({
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
        ...(opts.context ? { context: opts.context } : {}),
        ...(timeout ? { network: { idleTimeoutMs: timeout, responseTimeoutMs: timeout } } : {}),
      });
      return kube;
    },
    store() {
      store ??= resolveStore(opts, () => ctx.kube());
      return store;
    },
    fsRepository() {
      return resolveFsRepository(opts);
    },
    close() {
      void kube?.then((k) => k.close()).catch(() => undefined);
    },
  };
  return ctx;
}
