// Dependencies for one CLI invocation, built once here and passed down (no singletons).
import { KubeClient } from '../kube/client.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { openStore } from '../storage/open-store.js';
import type { BackupStore } from '../storage/store.js';
import { DEFAULT_STORAGE, parseStorageOption } from './storage-option.js';
import { loadPolicyRepo } from '../policy/load.js';
import { resolveStorageLocation } from '../policy/convert.js';
import { openLocation } from '../reconcile/locations.js';
import { UsageError } from './output.js';

/**
 * `--storage` names a location directly; `--location NAME` looks it up among the
 * StorageLocation documents of the policy repository at `--policies` (credentials resolved
 * the way the reconciler does); otherwise $LIFEBOAT_STORAGE or the embedded default directory.
 */
async function resolveStore(opts: GlobalOptions, kube: () => Promise<KubeClient>): Promise<BackupStore> {
  if (opts.storage || !opts.location) {
    return openStore(parseStorageOption(opts.storage ?? process.env.LIFEBOAT_STORAGE ?? DEFAULT_STORAGE));
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
}

export interface CliContext {
  log: Logger;
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
    kube() {
      kube ??= KubeClient.create({
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
        ...(opts.context ? { context: opts.context } : {}),
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
