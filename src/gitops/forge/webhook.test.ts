import { describe, expect, it } from 'vitest';
import { DeliveryLog, judgeWebhook, signBody, signatureMatches } from './webhook.js';

const secret = 'a-webhook-secret-of-some-length';
const body = Buffer.from('{"ref":"refs/heads/restore/x"}');
const signed = (headers: Record<string, string>, b = body) => ({
  headers: { 'x-gitea-signature': signBody(secret, b), ...headers },
  body: b,
});

describe('webhook verification', () => {
  it('accepts a signed push and pull_request once, in Gitea and GitHub header forms', () => {
    const deliveries = new DeliveryLog();
    expect(
      judgeWebhook(signed({ 'x-gitea-event': 'push', 'x-gitea-delivery': 'd1' }), { secret, deliveries }),
    ).toEqual({
      outcome: 'accepted',
      event: 'push',
    });
    const github = {
      headers: {
        'x-hub-signature-256': `sha256=${signBody(secret, body)}`,
        'x-github-event': 'pull_request',
        'x-github-delivery': 'd2',
      },
      body,
    };
    expect(judgeWebhook(github, { secret, deliveries }).outcome).toBe('accepted');
  });

  it('refuses unsigned, wrongly signed and replayed requests', () => {
    const deliveries = new DeliveryLog();
    const headers = { 'x-gitea-event': 'push', 'x-gitea-delivery': 'd1' };
    expect(judgeWebhook({ headers, body }, { secret, deliveries }).outcome).toBe('unsigned');
    const forged = {
      headers: { ...headers, 'x-gitea-signature': signBody('another-secret-entirely', body) },
      body,
    };
    expect(judgeWebhook(forged, { secret, deliveries }).outcome).toBe('bad-signature');
    const tampered = { headers: signed(headers).headers, body: Buffer.from('{"ref":"refs/heads/main"}') };
    expect(judgeWebhook(tampered, { secret, deliveries }).outcome).toBe('bad-signature');
    expect(judgeWebhook(signed(headers), { secret, deliveries }).outcome).toBe('accepted');
    expect(judgeWebhook(signed(headers), { secret, deliveries }).outcome).toBe('replayed');
  });

  it('ignores other events, and wants a delivery id', () => {
    const deliveries = new DeliveryLog();
    expect(
      judgeWebhook(signed({ 'x-gitea-event': 'issues', 'x-gitea-delivery': 'd9' }), { secret, deliveries })
        .outcome,
    ).toBe('ignored-event');
    expect(judgeWebhook(signed({ 'x-gitea-event': 'push' }), { secret, deliveries }).outcome).toBe(
      'bad-request',
    );
  });

  it('rejects malformed signatures without throwing', () => {
    expect(signatureMatches(secret, body, 'zz')).toBe(false);
    expect(signatureMatches(secret, body, 'sha256=')).toBe(false);
    expect(signatureMatches(secret, body, undefined)).toBe(false);
  });

  it('forgets the oldest deliveries beyond its capacity', () => {
    const log = new DeliveryLog(2);
    expect([log.firstTime('a'), log.firstTime('b'), log.firstTime('c')]).toEqual([true, true, true]);
    expect(log.firstTime('c')).toBe(false);
    expect(log.firstTime('a')).toBe(true);
  });
});
