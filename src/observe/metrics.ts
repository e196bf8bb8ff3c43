// Prometheus metrics (prom-client). One registry per process, created in the entry point and
// passed down — no global default registry, so tests can make their own.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  backupsTotal: Counter<'phase' | 'schedule'>;
  backupsStarted: Counter<'schedule'>;
  backupDuration: Histogram<'phase'>;
  backupItems: Counter<'schedule'>;
  backupBytes: Counter<'schedule'>;
  lastSuccessfulBackup: Gauge<'schedule'>;
  restoresStarted: Counter;
  restoresTotal: Counter<'phase'>;
  restoreDuration: Histogram<'phase'>;
  restoreItems: Counter<'result'>;
  reconcileDuration: Histogram;
  reconcileErrors: Counter<'stage'>;
  gitPushRetries: Counter;
  backupsExpired: Counter<'reason'>;
  /** Webhook deliveries (observe/notify.ts), delivered or failed: failures never fail a backup. */
  notificationsTotal: Counter<'kind' | 'result'>;
  forgeErrors: Counter<'operation'>;
  webhookRequests: Counter<'outcome'>;
  /** Verification restores (reconcile/verification-run.ts), by schedule and result (Passed, Failed). */
  verificationsTotal: Counter<'schedule' | 'result'>;
  /** 1 while a schedule's last verification failed: the alert-able one. */
  verificationFailing: Gauge<'schedule'>;
  lastSuccessfulVerification: Gauge<'schedule'>;
  /** Volumes of a schedule's last verification restore, by result (passed, failed). */
  verificationVolumes: Gauge<'schedule' | 'result'>;
  /** Bytes of the file-system copy of a pod volume running now (node agent): done and total. */
  podVolumeBackupBytes: Gauge<'namespace' | 'pod' | 'volume' | 'kind'>;
  /** `restic check` of a location's repositories (spec.restic.verify), by namespace and result. */
  resticChecks: Counter<'location' | 'namespace' | 'result'>;
  resticCheckLastSuccess: Gauge<'location' | 'namespace'>;
  /** S3 requests sent again by the client's retries (storage/s3-store.ts), by operation. */
  storageRetries: Counter<'operation'>;
  /** S3 requests that failed for good (network error, timeout, 5xx after the last try), by operation. */
  storageFailures: Counter<'operation'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'lifeboat_process_' });
  const registers = [registry];
  const seconds = [0.5, 1, 5, 15, 60, 300, 900, 3600];
  return {
    registry,
    backupsStarted: new Counter({
      name: 'lifeboat_backups_started_total',
      help: 'Backups started',
      labelNames: ['schedule'],
      registers,
    }),
    backupsTotal: new Counter({
      name: 'lifeboat_backups_total',
      help: 'Backups finished, by phase (Completed, PartiallyFailed, Failed)',
      labelNames: ['phase', 'schedule'],
      registers,
    }),
    backupDuration: new Histogram({
      name: 'lifeboat_backup_duration_seconds',
      help: 'Backup duration',
      labelNames: ['phase'],
      buckets: seconds,
      registers,
    }),
    backupItems: new Counter({
      name: 'lifeboat_backup_items_total',
      help: 'Objects written to backups',
      labelNames: ['schedule'],
      registers,
    }),
    backupBytes: new Counter({
      name: 'lifeboat_backup_bytes_total',
      help: 'Archive bytes written',
      labelNames: ['schedule'],
      registers,
    }),
    lastSuccessfulBackup: new Gauge({
      name: 'lifeboat_last_successful_backup_timestamp_seconds',
      help: 'Completion time of the last Completed backup, per schedule',
      labelNames: ['schedule'],
      registers,
    }),
    restoresStarted: new Counter({
      name: 'lifeboat_restores_started_total',
      help: 'Restores started',
      registers,
    }),
    restoresTotal: new Counter({
      name: 'lifeboat_restores_total',
      help: 'Restores finished, by phase',
      labelNames: ['phase'],
      registers,
    }),
    restoreDuration: new Histogram({
      name: 'lifeboat_restore_duration_seconds',
      help: 'Restore duration',
      labelNames: ['phase'],
      buckets: seconds,
      registers,
    }),
    restoreItems: new Counter({
      name: 'lifeboat_restore_items_total',
      help: 'Restored objects, by result (created, updated, skipped, failed)',
      labelNames: ['result'],
      registers,
    }),
    reconcileDuration: new Histogram({
      name: 'lifeboat_reconcile_duration_seconds',
      help: 'Duration of one reconcile pass',
      buckets: seconds,
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'lifeboat_reconcile_errors_total',
      help: 'Reconcile pass errors, by stage (pull, validate, observe, act, status)',
      labelNames: ['stage'],
      registers,
    }),
    gitPushRetries: new Counter({
      name: 'lifeboat_git_push_retries_total',
      help: 'Git push retries',
      registers,
    }),
    backupsExpired: new Counter({
      name: 'lifeboat_backups_expired_total',
      help: 'Backups deleted by expiry, by reason (ttl, retention, leftover)',
      labelNames: ['reason'],
      registers,
    }),
    notificationsTotal: new Counter({
      name: 'lifeboat_notifications_total',
      help: 'Webhook notifications, by event kind and result (delivered, failed)',
      labelNames: ['kind', 'result'],
      registers,
    }),
    forgeErrors: new Counter({
      name: 'lifeboat_forge_errors_total',
      help: 'Failed forge calls (pull requests, comments, statuses), by operation; retried on the next pass',
      labelNames: ['operation'],
      registers,
    }),
    webhookRequests: new Counter({
      name: 'lifeboat_webhook_requests_total',
      help: 'Forge webhook requests, by outcome (accepted, unsigned, bad-signature, replayed, ...)',
      labelNames: ['outcome'],
      registers,
    }),
    verificationsTotal: new Counter({
      name: 'lifeboat_verifications_total',
      help: "Verification restores of a schedule's latest backup, by result (Passed, Failed)",
      labelNames: ['schedule', 'result'],
      registers,
    }),
    verificationFailing: new Gauge({
      name: 'lifeboat_verification_failing',
      help: '1 while the last verification restore of a schedule failed, else 0 (alert on it)',
      labelNames: ['schedule'],
      registers,
    }),
    lastSuccessfulVerification: new Gauge({
      name: 'lifeboat_verification_last_success_timestamp_seconds',
      help: 'Completion time of the last passed verification restore, per schedule',
      labelNames: ['schedule'],
      registers,
    }),
    verificationVolumes: new Gauge({
      name: 'lifeboat_verification_volumes',
      help: "Volumes checked by the last verification restore of a schedule (files, bytes and restic's read-back; CSI claims bound), by result (passed, failed)",
      labelNames: ['schedule', 'result'],
      registers,
    }),
    podVolumeBackupBytes: new Gauge({
      name: 'lifeboat_pod_volume_backup_bytes',
      help: 'File-system copies of pod volumes in a running backup: bytes done and total (kind), as the node agent reports them',
      labelNames: ['namespace', 'pod', 'volume', 'kind'],
      registers,
    }),
    resticChecks: new Counter({
      name: 'lifeboat_restic_check_total',
      help: 'restic check runs of the restic repositories (spec.restic.verify), by location, namespace and result (Passed, Failed)',
      labelNames: ['location', 'namespace', 'result'],
      registers,
    }),
    resticCheckLastSuccess: new Gauge({
      name: 'lifeboat_restic_check_last_success_timestamp_seconds',
      help: 'When restic check last passed on a repository (alert when it grows old)',
      labelNames: ['location', 'namespace'],
      registers,
    }),
    storageRetries: new Counter({
      name: 'lifeboat_storage_retries_total',
      help: 'S3 requests sent again after a reset, a timeout, a 5xx or throttling, by operation (PutObject, UploadPart, GetObject, ...)',
      labelNames: ['operation'],
      registers,
    }),
    storageFailures: new Counter({
      name: 'lifeboat_storage_request_failures_total',
      help: 'S3 requests that failed after their last try without an S3 answer (network error, timeout, 5xx), by operation',
      labelNames: ['operation'],
      registers,
    }),
  };
}

export { storageRequestCounters } from './storage-counters.js';
