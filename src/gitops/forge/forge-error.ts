// Errors of forge HTTP calls, sorted the way the reconciler reacts to them (after Flux's
// stalled / waiting / generic): a token without rights or a missing repository needs a person;
// a forge that is down or answers 5xx is retried on the next pass. Messages never carry the
// token: they are built from the method, the path and the forge's own message, and scrubbed.

export type ForgeErrorKind = 'auth' | 'not-found' | 'unavailable' | 'rejected';

export class ForgeError extends Error {
  constructor(
    readonly kind: ForgeErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ForgeError';
  }
}

export function kindOfStatus(status: number): ForgeErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'not-found';
  if (status >= 500 || status === 429) return 'unavailable';
  return 'rejected';
}

const HINT: Record<ForgeErrorKind, string> = {
  auth: 'the forge token is missing, wrong or lacks the rights for this (it needs read and write on the repository)',
  'not-found': 'not found (or the token cannot see it)',
  unavailable: 'the forge is unavailable; retried on the next pass',
  rejected: 'the forge refused the request',
};

/** Removes every occurrence of the secrets (and of credentials in URLs) from a text. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text.replace(/(\/\/)[^/@\s:]+(:[^/@\s]*)?@/g, '$1');
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('***');
  return out;
}

export function forgeHttpError(opts: {
  method: string;
  path: string;
  status: number;
  body: string;
  secrets: readonly string[];
}): ForgeError {
  const kind = kindOfStatus(opts.status);
  let detail = '';
  try {
    const parsed = JSON.parse(opts.body) as { message?: unknown };
    if (typeof parsed.message === 'string') detail = parsed.message;
  } catch {
    detail = opts.body.slice(0, 200);
  }
  const message = `${opts.method} ${opts.path}: HTTP ${opts.status}: ${HINT[kind]}${detail ? ` (${detail.trim()})` : ''}`;
  return new ForgeError(kind, scrub(message, opts.secrets), opts.status);
}

/** A network failure (refused, reset, timeout) as an unavailable forge, without the token. */
export function forgeNetworkError(opts: {
  method: string;
  path: string;
  cause: unknown;
  secrets: readonly string[];
}): ForgeError {
  const c = opts.cause as { message?: string; cause?: { code?: string; message?: string } };
  const reason = c.cause?.code ?? c.cause?.message ?? c.message ?? String(opts.cause);
  return new ForgeError(
    'unavailable',
    scrub(`${opts.method} ${opts.path}: ${HINT.unavailable} (${reason})`, opts.secrets),
  );
}
