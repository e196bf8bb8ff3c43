// What a network failure talking to an S3 endpoint was, in words, once the SDK's retries are
// spent. The SDK names a reset connection (ECONNRESET, "socket hang up") and a broken pipe a
// "TimeoutError" as well as a real timeout (@smithy/node-http-handler renames them so its retry
// strategy treats them alike), so the kind is read from Node's error code, not the error's name:
// an operator looks for a crashed proxy or server after a reset, for a wrong host or port after
// a refusal, for DNS after a lookup failure, and for the endpoint's scheme or certificate after a
// TLS failure — not for a slow server. Pure; messages carry the endpoint (without credentials,
// s3-store.ts safeEndpoint), the operation and the object, never a secret.

export type NetworkFailureKind = 'reset' | 'refused' | 'dns' | 'unreachable' | 'tls' | 'timeout';

export interface NetworkFailure {
  name?: string;
  code?: string;
  message?: string;
  /** Tries the SDK made in all ($metadata.attempts). */
  attempts?: number;
}

const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/** The kind of network failure, or undefined when the error is not one. */
export function networkFailureKind(e: NetworkFailure): NetworkFailureKind | undefined {
  const code = e.code ?? '';
  const message = e.message ?? '';
  if (RESET.has(code) || /socket hang up/i.test(message)) return 'reset';
  if (code === 'ECONNREFUSED') return 'refused';
  if (DNS.has(code)) return 'dns';
  if (UNREACHABLE.has(code)) return 'unreachable';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO') return 'tls';
  if (code === 'ETIMEDOUT' || e.name === 'TimeoutError') return 'timeout';
  return undefined;
}

/** The SDK's own prefix on its handler's messages says nothing to an operator. */
function detail(e: NetworkFailure): string {
  const message = (e.message ?? '').replace(/^@smithy\/node-http-handler - (\[ERROR\] )?/, '');
  const code = e.code && !message.includes(e.code) ? `${e.code}: ` : '';
  return `${code}${message}`.trim() || (e.code ?? e.name ?? 'no detail');
}

function tries(attempts: number | undefined): string {
  return attempts ? `${attempts} attempt(s)` : '';
}

/**
 * "S3 endpoint http://s3:9000 reset the connection (2 attempt(s): socket hang up) while
 * writing backups/b/b.tar.gz"; undefined when the error is not a network failure.
 */
export function describeNetworkFailure(
  e: NetworkFailure,
  where: { endpoint: string; action: string },
): string | undefined {
  const kind = networkFailureKind(e);
  if (kind === undefined) return undefined;
  const said = [tries(e.attempts), detail(e)].filter(Boolean).join(': ');
  const { endpoint, action } = where;
  switch (kind) {
    case 'reset':
      return `S3 endpoint ${endpoint} closed the connection before it answered (reset; ${said}) while ${action}: the server or a proxy in between dropped it`;
    case 'refused':
      return `cannot reach S3 endpoint ${endpoint} (ECONNREFUSED): the connection was refused, so nothing listens at that host and port (${said}) while ${action}`;
    case 'dns':
      return `cannot reach S3 endpoint ${endpoint} (${e.code ?? 'DNS'}): its host name did not resolve (${said}) while ${action}`;
    case 'unreachable':
      return `cannot reach S3 endpoint ${endpoint} (${e.code ?? 'unreachable'}): no network route to it (${said}) while ${action}`;
    case 'tls':
      return `the TLS connection to S3 endpoint ${endpoint} failed (${said}) while ${action}: check that it speaks https at that port (an http endpoint needs an http:// s3Url)`;
    case 'timeout':
      return `S3 endpoint ${endpoint} did not answer in time (${said}) while ${action}`;
  }
}
