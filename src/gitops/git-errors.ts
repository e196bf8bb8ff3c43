// Git failures sorted by who has to act, after renovate's `lib/util/git/error.ts` (host
// failures vs. user-fixable configuration) and Flux's source-controller error kinds (retry
// later vs. stalled until a person changes something). Messages are sanitized: a remote URL
// may carry `user:token@`, and Git echoes URLs into its errors.

/**
 * - `auth`: the server rejected our credentials. A host problem from the reconciler's point
 *   of view: tokens are rotated by whoever mounts the Secret, so we retry later.
 * - `unreachable`: the server or repository could not be reached (DNS, TCP, TLS, timeouts,
 *   a path that is not a repository). Retry later.
 * - `contended`: our push lost the race against other writers on every attempt. Retry later.
 * - `conflict`: the repository is in a state we will not resolve ourselves. Needs a person.
 * - `config`: our configuration or the server's rules block us (missing branch, protected
 *   branch, bad identity, non-empty target directory). Needs a person.
 * - `unknown`: anything else; retried with back-off, like Flux's generic errors.
 */
export type GitErrorKind = 'auth' | 'unreachable' | 'contended' | 'conflict' | 'config' | 'unknown';

const RETRYABLE: ReadonlySet<GitErrorKind> = new Set(['auth', 'unreachable', 'contended', 'unknown']);

const HINTS: Record<GitErrorKind, string> = {
  auth: 'the Git server rejected the credentials; check the token or SSH key (will retry)',
  unreachable: 'the Git server or repository could not be reached (will retry)',
  contended: 'other writers kept moving the branch while we pushed (will retry)',
  conflict: 'the repository needs a person to resolve this',
  config: 'check the lifeboat Git settings and the server rules for this branch',
  unknown: 'unexpected Git failure (will retry)',
};

export class GitError extends Error {
  readonly kind: GitErrorKind;
  /** What we were doing, e.g. "fetch", "push restore/x". */
  readonly operation: string;
  /** Sanitized first lines of Git's own output, for logs. */
  readonly detail: string;

  constructor(options: { kind: GitErrorKind; operation: string; detail: string }) {
    const detail = options.detail.trim();
    super(
      `git ${options.operation} failed (${options.kind}): ${detail || 'no output'} — ${HINTS[options.kind]}`,
    );
    this.name = 'GitError';
    this.kind = options.kind;
    this.operation = options.operation;
    this.detail = detail;
  }

  /** True when retrying later may succeed without a person changing anything. */
  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

// `scheme://userinfo@` — the userinfo ends at the last `@` before the first `/` (RFC 3986).
const URL_USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/]*@/i;
const TEXT_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/'"`<>]*@/gi;

/**
 * Remove any `user:password@` (or bare token) from a URL. SCP-like SSH addresses
 * (`git@host:org/repo`) carry no secret and are returned unchanged.
 */
export function sanitizeUrl(url: string): string {
  return url.replace(URL_USERINFO, '$1');
}

/**
 * Remove credentials from free text: userinfo of every URL in it and, when the remote URL is
 * known, any literal occurrence of its user or password (raw or percent-decoded), since Git
 * sometimes prints them outside a URL.
 */
export function sanitizeText(text: string, remoteUrl?: string): string {
  let out = text.replace(TEXT_USERINFO, '$1');
  for (const secret of credentialParts(remoteUrl)) {
    out = out.split(secret).join('***');
  }
  return out;
}

function credentialParts(remoteUrl: string | undefined): string[] {
  const match = remoteUrl ? /^[a-z][a-z0-9+.-]*:\/\/([^/]*)@/i.exec(remoteUrl) : null;
  if (!match?.[1]) return [];
  const parts = new Set<string>();
  for (const raw of match[1].split(':')) {
    // Very short parts ("x", "git") would mangle unrelated text and are no secret.
    if (raw.length < 4) continue;
    parts.add(raw);
    try {
      parts.add(decodeURIComponent(raw));
    } catch {
      // Not valid percent-encoding: the raw form is all Git can have printed.
    }
  }
  return [...parts];
}

interface Rule {
  kind: GitErrorKind;
  patterns: readonly (string | RegExp)[];
}

// Order matters: the first matching rule wins. Patterns are Git's own English messages
// (we force LANG=C.UTF-8 in git-factory.ts so they are stable).
const RULES: readonly Rule[] = [
  {
    kind: 'auth',
    patterns: [
      'Authentication failed',
      'Invalid username or password',
      'could not read Username',
      'could not read Password',
      'terminal prompts disabled',
      'Permission denied (publickey',
      'HTTP Basic: Access denied',
      'The requested URL returned error: 401',
      'The requested URL returned error: 403',
    ],
  },
  {
    kind: 'config',
    patterns: [
      'Host key verification failed',
      'hook declined',
      'denying non-fast-forward',
      'remote rejected',
      "couldn't find remote ref",
      'not found in upstream',
      'already exists and is not an empty directory',
      'Please tell me who you are',
      'empty ident name',
      'invalid reference',
      'not a valid branch name',
      'is not a valid ref name',
      'does not match any',
      'not a git repository (or any',
    ],
  },
  {
    kind: 'conflict',
    patterns: ['CONFLICT (', 'could not apply', 'Merge conflict', 'needs merge', 'unmerged files'],
  },
  {
    kind: 'unreachable',
    patterns: [
      'Could not resolve host',
      'Failed to connect to',
      'Connection refused',
      'Connection timed out',
      'Operation timed out',
      'Connection reset',
      'The remote end hung up unexpectedly',
      'early EOF',
      'gnutls_handshake',
      'SSL certificate problem',
      'The requested URL returned error: 5',
      'does not appear to be a git repository',
      'Could not read from remote repository',
      /repository '.*' (not found|does not exist)/i,
      'Repository not found',
      'unable to access',
      'block timeout reached',
    ],
  },
];

/** True when a push was refused only because the remote branch moved: fetch and try again. */
export function isPushRace(err: unknown): boolean {
  const text = messageOf(err);
  return (
    /\[rejected\][^\n]*\((fetch first|non-fast-forward|stale info)\)/.test(text) ||
    text.includes('Updates were rejected because the remote contains work') ||
    text.includes('Updates were rejected because the tip of your current branch is behind') ||
    /cannot lock ref/.test(text)
  );
}

/** Sort a Git failure into a kind from its (English) output. Pure; used by translateGitError. */
export function classifyGitOutput(text: string): GitErrorKind {
  if (isPushRace(text)) return 'contended';
  for (const rule of RULES) {
    for (const pattern of rule.patterns) {
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) return rule.kind;
    }
  }
  return 'unknown';
}

/**
 * Turn whatever simple-git threw into a GitError with a sanitized message. The original
 * error is deliberately NOT kept as `cause`: loggers serialize causes, and the raw message
 * may contain the credentials we just removed.
 */
export function translateGitError(
  err: unknown,
  context: { operation: string; remoteUrl?: string },
): GitError {
  if (err instanceof GitError) return err;
  const text = messageOf(err);
  return new GitError({
    kind: classifyGitOutput(text),
    operation: sanitizeText(context.operation, context.remoteUrl),
    detail: summarize(sanitizeText(text, context.remoteUrl)),
  });
}

function messageOf(err: unknown): string {
  if (typeof err === 'string') return err;
  if (err instanceof Error) return err.message;
  return String(err);
}

// Keep the lines that explain the failure; drop Git's "hint:" advice and progress chatter.
function summarize(text: string): string {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('hint:') && !line.startsWith('Cloning into'));
  const joined = lines.slice(0, 6).join(' | ');
  return joined.length > 600 ? `${joined.slice(0, 600)}…` : joined;
}
