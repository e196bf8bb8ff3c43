// The one place simple-git is constructed (after renovate's `createSimpleGit()` in
// lib/util/git/index.ts). Every Git process lifeboat starts gets the same environment:
// English messages for error classification, no prompts that would hang a headless
// reconciler, and a fixed commit identity.
import { simpleGit } from 'simple-git';
import type { SimpleGit } from 'simple-git';

export interface GitIdentity {
  name: string;
  email: string;
}

export const DEFAULT_IDENTITY: GitIdentity = { name: 'lifeboat', email: 'lifeboat@localhost' };

/** Default inactivity timeout: a Git process silent for this long is killed ("unreachable"). */
export const DEFAULT_GIT_TIMEOUT_MS = 300_000;

export interface CreateGitOptions {
  /** Extra environment, e.g. GIT_SSH_COMMAND with a key file, HTTPS_PROXY. Wins over ours. */
  env?: Readonly<Record<string, string>>;
  /** Author and committer of every commit made through this instance. */
  identity?: GitIdentity;
  timeoutMs?: number;
}

// simple-git 4 guards these variables: inherited ones are dropped, explicit ones must be
// listed in `allowEnvironment`. We mirror its rule so we know which keys to allow.
const GUARDED_PLAIN_KEYS = new Set(['editor', 'pager', 'prefix', 'ssh_askpass', 'visual']);

function isGuardedKey(key: string): boolean {
  const k = key.toLowerCase().trim();
  return k.startsWith('git_') || GUARDED_PLAIN_KEYS.has(k);
}

/** Parse "Name <email>" (the form Git prints and operators write in config). */
export function parseIdentity(text: string): GitIdentity {
  const match = /^\s*([^<>\n]+?)\s*<([^<>\s]+)>\s*$/.exec(text);
  if (!match?.[1] || !match[2]) {
    throw new Error(`invalid Git identity ${JSON.stringify(text)}: expected "Name <email>"`);
  }
  return { name: match[1], email: match[2] };
}

function checkIdentity(identity: GitIdentity): void {
  const bad = (s: string) => s.trim() === '' || /[<>\n]/.test(s);
  if (bad(identity.name) || bad(identity.email)) {
    throw new Error(
      `invalid Git identity ${JSON.stringify(identity)}: name and email must be non-empty, without "<", ">" or newlines`,
    );
  }
}

/** Git's SSH must never ask a question: without BatchMode an unknown host key blocks forever. */
export function withBatchMode(sshCommand: string): string {
  return /BatchMode\s*=?\s*yes/i.test(sshCommand) ? sshCommand : `${sshCommand} -o BatchMode=yes`;
}

/**
 * The environment for every Git process: the inherited one minus variables simple-git would
 * refuse, plus ours. Pure, so it is unit-tested.
 */
export function gitEnvironment(options: {
  inherited: Readonly<Record<string, string | undefined>>;
  env?: Readonly<Record<string, string>>;
  identity?: GitIdentity;
}): Record<string, string> {
  const identity = options.identity ?? DEFAULT_IDENTITY;
  checkIdentity(identity);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.inherited)) {
    if (value !== undefined && !isGuardedKey(key)) out[key] = value;
  }
  Object.assign(out, {
    // simple-git parses Git's English output; C.UTF-8 keeps non-ASCII file names intact.
    LANG: 'C.UTF-8',
    LC_ALL: 'C.UTF-8',
    // Never prompt for a user name or password: fail, and let git-errors.ts call it "auth".
    GIT_TERMINAL_PROMPT: '0',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
    GIT_AUTHOR_NAME: identity.name,
    GIT_AUTHOR_EMAIL: identity.email,
    GIT_COMMITTER_NAME: identity.name,
    GIT_COMMITTER_EMAIL: identity.email,
  });
  Object.assign(out, options.env ?? {});
  out.GIT_SSH_COMMAND = withBatchMode(out.GIT_SSH_COMMAND ?? 'ssh');
  return out;
}

/** Create a simple-git instance rooted at `dir` (which must exist). */
export function createGit(dir: string, options: CreateGitOptions = {}): SimpleGit {
  const env = gitEnvironment({ inherited: process.env, env: options.env, identity: options.identity });
  return simpleGit({
    baseDir: dir,
    allowEnvironment: Object.keys(env).filter(isGuardedKey),
    // We set GIT_SSH_COMMAND ourselves (BatchMode); simple-git blocks it unless told. The
    // GIT_CONFIG_* variables are ours too (working-copy.ts: the token as a per-process header);
    // inherited ones were dropped above.
    unsafe: { allowUnsafeSshCommand: true, allowUnsafeConfigEnvCount: 'GIT_CONFIG_COUNT' in env },
    timeout: { block: options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS },
    // quotePath=false: file names come back verbatim. gpgSign=false: an operator's global
    // signing config must not make the reconciler's commits wait for a passphrase.
    config: ['core.quotePath=false', 'commit.gpgSign=false'],
    // simple-git only fails a command that wrote to stderr; a non-zero exit must always fail.
    errors: (error, result) => {
      if (error) return error;
      if (result.exitCode === 0) return undefined;
      const stderr = Buffer.concat(result.stdErr).toString('utf8').trim();
      return Buffer.from(stderr || `git exited with code ${result.exitCode}`);
    },
  }).env(env);
}
