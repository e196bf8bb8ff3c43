// Dependencies for one CLI invocation, built once here and passed down (no singletons).
import { KubeClient } from '../kube/client.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { openStore } from '../storage/open-store.js';
import type { BackupStore } from '../storage/store.js';
import { DEFAULT_STORAGE, parseStorageOption } from './storage-option.js';

export interface GlobalOptions {
  kubeconfig?: string;
  context?: string;
  storage?: string;
  logLevel?: string;
}

export interface CliContext {
  log: Logger;
  kube(): Promise<KubeClient>;
  store(): BackupStore;
  close(): void;
}

export function createCliContext(opts: GlobalOptions): CliContext {
  const log = createLogger({ level: opts.logLevel ?? process.env.LIFEBOAT_LOG_LEVEL ?? 'warn' });
  let kube: Promise<KubeClient> | undefined;
  let store: BackupStore | undefined;
  return {
    log,
    kube() {
      kube ??= KubeClient.create({
        ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
        ...(opts.context ? { context: opts.context } : {}),
      });
      return kube;
    },
    store() {
      store ??= openStore(
        parseStorageOption(opts.storage ?? process.env.LIFEBOAT_STORAGE ?? DEFAULT_STORAGE),
      );
      return store;
    },
    close() {
      void kube?.then((k) => k.close()).catch(() => undefined);
    },
  };
}
