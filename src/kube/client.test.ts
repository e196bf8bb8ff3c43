import { describe, expect, it } from 'vitest';
import { isTransientKubeError, KubeApiError, KubeUnreachableError } from './client.js';

const api = (status: number) => new KubeApiError(status, String(status), `HTTP ${status}`);
const socket = (code: string) => Object.assign(new Error(code), { code });

describe('which Kubernetes API failures are tried again', () => {
  it.each<[string, unknown, boolean]>([
    [
      'a refused connection (API server restarting)',
      new KubeUnreachableError('https://k', socket('ECONNREFUSED')),
      true,
    ],
    ['a reset connection', new KubeUnreachableError('https://k', socket('ECONNRESET')), true],
    ['429 Too Many Requests', api(429), true],
    ['500 (etcd leader changed)', api(500), true],
    ['503 (not ready)', api(503), true],
    ['504 (too large resource version)', api(504), true],
    ['403 Forbidden', api(403), false],
    ['404 Not Found', api(404), false],
    ['410 Gone (a compacted revision: the backup starts again instead)', api(410), false],
    ['422 Invalid', api(422), false],
    ['anything else', new Error('bug'), false],
  ])('%s: %s', (_label, err, transient) => {
    expect(isTransientKubeError(err)).toBe(transient);
  });

  it('names the server, the request and the socket error', () => {
    const err = new KubeUnreachableError('https://k:6443', socket('ECONNREFUSED'), 'GET /api/v1/namespaces');
    expect(err.message).toBe(
      'cannot reach the Kubernetes API at https://k:6443 (GET /api/v1/namespaces): ECONNREFUSED',
    );
    expect(err.code).toBe('ECONNREFUSED');
  });
});
