// The S3 client's request observer counting into the metrics, in a module of its own: a pass
// imports it whether or not it serves metrics, and observe/metrics.ts loads prom-client (about
// 0.1 s of CPU) that `reconcile --once` never needs.
import type { Metrics } from './metrics.js';

/**
 * The S3 client's request observer (storage/s3-store.ts S3RequestObserver) counting into these
 * metrics; storage/ stays free of prom-client.
 */
export function storageRequestCounters(m: Pick<Metrics, 'storageRetries' | 'storageFailures'>): {
  retried(operation: string, retries: number): void;
  failed(operation: string): void;
} {
  return {
    retried: (operation, retries) => m.storageRetries.inc({ operation }, retries),
    failed: (operation) => m.storageFailures.inc({ operation }),
  };
}
