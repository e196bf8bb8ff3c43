// Webhook notifications: a failed or partially failed backup, a failed verification, a stale
// restore plan. One POST of JSON that a Slack incoming webhook reads (`text`) and any other
// receiver can take apart (`lifeboat`). Delivery never decides anything: a receiver that is
// down, slow or refusing is logged and counted, and the backup or pass goes on.
//
// The URL is a secret (Slack's carries its token in the path): it is never logged, never put
// in an error, and the receiver's answer is reduced to its status code.
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

export type NotificationKind =
  'BackupFailed' | 'BackupPartiallyFailed' | 'VerificationFailed' | 'RestorePlanStale';

export interface NotificationEvent {
  kind: NotificationKind;
  /** The backup, verification or restore it is about. */
  subject: string;
  /** What happened, in a sentence (already free of Secret values, like every status message). */
  message: string;
  /** The storage location, the schedule, … */
  details?: Record<string, string>;
  time: Date;
}

export interface Notifier {
  /** Resolves whatever happens; true when the receiver accepted it. */
  notify(event: NotificationEvent): Promise<boolean>;
}

const TITLES: Record<NotificationKind, string> = {
  BackupFailed: 'Backup failed',
  BackupPartiallyFailed: 'Backup partially failed',
  VerificationFailed: 'Verification restore failed',
  RestorePlanStale: 'Approved restore plan is stale; nothing was applied',
};

/** The JSON body: Slack's `text`, and the event for other receivers. */
export function notificationBody(event: NotificationEvent): Record<string, unknown> {
  const details = Object.entries(event.details ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join(', ');
  return {
    text: `lifeboat: ${TITLES[event.kind]}: ${event.subject}: ${event.message}${details ? ` (${details})` : ''}`,
    lifeboat: {
      kind: event.kind,
      subject: event.subject,
      message: event.message,
      details: event.details ?? {},
      time: event.time.toISOString(),
    },
  };
}

export interface WebhookOptions {
  /** How errors name the webhook: where its URL is (`Secret lifeboat/alerts key url`), never the URL. */
  name: string;
  url: string;
  log: Logger;
  metrics?: Metrics;
  /** Per delivery; 10 s by default. */
  timeoutMs?: number;
}

export function createWebhookNotifier(opts: WebhookOptions): Notifier {
  return {
    async notify(event) {
      let failure: string | undefined;
      try {
        const res = await fetch(opts.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(notificationBody(event)),
          signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
          redirect: 'error',
        });
        // The body is drained, not read into an error: it is the receiver's, of any size.
        await res.body?.cancel();
        if (!res.ok) failure = `HTTP ${res.status}`;
      } catch (err) {
        failure = deliveryError(err);
      }
      opts.metrics?.notificationsTotal.inc({ kind: event.kind, result: failure ? 'failed' : 'delivered' });
      if (failure) {
        opts.log.warn(
          { webhook: opts.name, kind: event.kind, subject: event.subject, reason: failure },
          'notification not delivered (the backup or restore is not affected)',
        );
        return false;
      }
      return true;
    },
  };
}

/** Why a delivery failed, without the URL (fetch's messages and causes may carry it). */
function deliveryError(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'timed out';
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return err instanceof Error ? err.name : 'error';
}
