// The forge's webhook on `lifeboat run`: a push or pull-request event starts a reconcile pass at
// once instead of at the next interval (polling stays as the fallback, so a lost delivery costs
// only time). Every request must carry an HMAC-SHA256 of its body under the shared secret
// (Gitea's X-Gitea-Signature, or GitHub's X-Hub-Signature-256 form) and a delivery id not seen
// before; anything else is refused and counted. The body is only verified, never trusted for
// what to do: the pass reads Git itself.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export type WebhookOutcome =
  'accepted' | 'ignored-event' | 'unsigned' | 'bad-signature' | 'replayed' | 'too-large' | 'bad-request';

export const WEBHOOK_PATH = '/webhook';
/** Push payloads of many commits are large; a bound keeps a flood from holding memory. */
export const MAX_WEBHOOK_BODY = 5 * 1024 * 1024;
const EVENTS = new Set(['push', 'pull_request']);

/** The signature a body must carry: hex HMAC-SHA256 under the secret. */
export function signBody(secret: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Whether the signature header (hex, optionally `sha256=`-prefixed) matches the body. */
export function signatureMatches(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const given = header.startsWith('sha256=') ? header.slice(7) : header;
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  const want = Buffer.from(signBody(secret, body), 'hex');
  return timingSafeEqual(want, Buffer.from(given.toLowerCase(), 'hex'));
}

/** Delivery ids seen recently, oldest dropped first: memory stays bounded. */
export class DeliveryLog {
  readonly #seen = new Set<string>();
  constructor(private readonly capacity = 10_000) {}
  /** True the first time an id is offered, false for a replay. */
  firstTime(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > this.capacity) {
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return true;
  }
}

export interface WebhookRequest {
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** The decision on one request, without I/O (the HTTP handler below reads and answers). */
export function judgeWebhook(
  req: WebhookRequest,
  opts: { secret: string; deliveries: DeliveryLog },
): { outcome: WebhookOutcome; event?: string } {
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const signature = header('x-gitea-signature') ?? header('x-hub-signature-256');
  if (!signature) return { outcome: 'unsigned' };
  if (!signatureMatches(opts.secret, req.body, signature)) return { outcome: 'bad-signature' };
  const delivery = header('x-gitea-delivery') ?? header('x-github-delivery');
  if (!delivery) return { outcome: 'bad-request' };
  if (!opts.deliveries.firstTime(delivery)) return { outcome: 'replayed' };
  const event = header('x-gitea-event') ?? header('x-github-event') ?? '';
  return EVENTS.has(event) ? { outcome: 'accepted', event } : { outcome: 'ignored-event', event };
}

const STATUS: Record<WebhookOutcome, number> = {
  accepted: 202,
  'ignored-event': 202,
  unsigned: 401,
  'bad-signature': 401,
  replayed: 409,
  'too-large': 413,
  'bad-request': 400,
};

/**
 * An HTTP handler for POST /webhook: reads at most MAX_WEBHOOK_BODY bytes, judges, answers,
 * and calls onAccepted for push and pull-request events.
 */
export function webhookHandler(opts: {
  secret: string;
  onAccepted: (event: string) => void;
  onOutcome?: (outcome: WebhookOutcome) => void;
  deliveries?: DeliveryLog;
}): (req: IncomingMessage, res: ServerResponse) => void {
  if (opts.secret.length < 16) throw new Error('the webhook secret must be at least 16 characters');
  const deliveries = opts.deliveries ?? new DeliveryLog();
  return (req, res) => {
    const finish = (outcome: WebhookOutcome): void => {
      opts.onOutcome?.(outcome);
      res.writeHead(STATUS[outcome], { 'content-type': 'text/plain' }).end(`${outcome}\n`);
    };
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_WEBHOOK_BODY) {
        done = true;
        finish('too-large');
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      const verdict = judgeWebhook(
        { headers: req.headers, body: Buffer.concat(chunks) },
        {
          secret: opts.secret,
          deliveries,
        },
      );
      finish(verdict.outcome);
      if (verdict.outcome === 'accepted' && verdict.event) opts.onAccepted(verdict.event);
    });
    req.on('error', () => {
      if (!done) finish('bad-request');
      done = true;
    });
  };
}
