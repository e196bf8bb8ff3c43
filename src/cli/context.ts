// Dependencies for one CLI invocation, built once here and passed down (no singletons).
import { KubeClient } from '../kube/client.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { readFile } from 'node:fs/promises';
import { KeyedStore } from '../crypto/keyed-store.js';
import { Keyring, parseKeyMaterial } from '../crypto/keyring.js';
import { openStore } from '../storage/open-store.js';
import type { BackupStore } from '../storage/store.js';
import { DEFAULT_STORAGE, parseStorageOption } from './storage-option.js';
import { loadPolicyRepo } from '../policy/load.js';
import { resolveStorageLocation } from '../policy/convert.js';
import { openLocation } from '../reconcile/locations.js';
import { UsageError } from './output.js';
import { parseDuration } from '../util/duration.js';
import type { ArchiveLimits } from '../archive/reader.js';

/**
 * `--storage` names a location directly; `--location NAME` looks it up among the
 * StorageLocation documents of the policy repository at `--policies` (credentials resolved
 * the way the reconciler does); otherwise $LIFEBOAT_STORAGE or the embedded default directory.
 */
async function resolveStore(opts: GlobalOptions, kube: () => Promise<KubeClient>): Promise<BackupStore> {
  if (opts.storage || !opts.location) {
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
  const dir = opts.policies ?? '.';
  const { documents } = await loadPolicyRepo({ dir });
  const loc = resolveStorageLocation(documents, opts.location);
  if (!loc)
    throw new UsageError(
      `--location ${opts.location}: no StorageLocation of that name in ${dir} (see --policies)`,
    );
  return (await openLocation(loc.name, loc.spec, { kube, localRoot: process.cwd() })).store;
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
    close() {
      void kube?.then((k) => k.close()).catch(() => undefined);
    },
  };
  return ctx;
}
