import { describe, expect, it } from 'vitest';
import { forgeHttpError, forgeNetworkError, kindOfStatus, scrub } from './forge-error.js';

const token = 'f00dfeedcafe1234567890';

describe('forge errors', () => {
  it('sorts HTTP statuses into what the reconciler does about them', () => {
    expect([401, 403, 404, 500, 503, 429, 422].map(kindOfStatus)).toEqual([
      'auth',
      'auth',
      'not-found',
      'unavailable',
      'unavailable',
      'unavailable',
      'rejected',
    ]);
  });

  it('names the call and the forge message, never the token', () => {
    const err = forgeHttpError({
      method: 'POST',
      path: '/repos/o/r/statuses/abc',
      status: 403,
      body: JSON.stringify({ message: `token ${token} does not have scope write:repository` }),
      secrets: [token],
    });
    expect(err.kind).toBe('auth');
    expect(err.message).toContain('POST /repos/o/r/statuses/abc: HTTP 403');
    expect(err.message).toContain('lacks the rights');
    expect(err.message).not.toContain(token);
    const net = forgeNetworkError({
      method: 'GET',
      path: '/x',
      cause: new Error(`connect to http://u:${token}@h failed`),
      secrets: [token],
    });
    expect(net.kind).toBe('unavailable');
    expect(net.message).not.toContain(token);
  });

  it('removes credentials from URLs', () => {
    expect(scrub('http://user:pw@host/x and https://tok@h2/', [])).toBe('http://host/x and https://h2/');
  });
});
