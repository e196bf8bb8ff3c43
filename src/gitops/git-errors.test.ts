import { describe, expect, it } from 'vitest';
import {
  GitError,
  classifyGitOutput,
  isPushRace,
  sanitizeText,
  sanitizeUrl,
  translateGitError,
} from './git-errors.js';
import type { GitErrorKind } from './git-errors.js';

describe('sanitizeUrl', () => {
  it.each([
    ['https://user:token@github.com/acme/policies.git', 'https://github.com/acme/policies.git'],
    ['https://ghp_abc123@github.com/acme/policies.git', 'https://github.com/acme/policies.git'],
    ['https://user:p@ss@host.example/repo.git', 'https://host.example/repo.git'],
    ['http://x-access-token:abc@127.0.0.1:8080/r.git', 'http://127.0.0.1:8080/r.git'],
    ['ssh://git@host.example:2222/repo.git', 'ssh://host.example:2222/repo.git'],
    ['https://github.com/acme/policies.git', 'https://github.com/acme/policies.git'],
    ['git@github.com:acme/policies.git', 'git@github.com:acme/policies.git'],
    ['/srv/git/policies.git', '/srv/git/policies.git'],
  ])('%s → %s', (input, expected) => {
    expect(sanitizeUrl(input)).toBe(expected);
  });
});

describe('sanitizeText', () => {
  it('removes userinfo from every URL in a message', () => {
    expect(
      sanitizeText(
        "fatal: unable to access 'https://bot:tok3n@git.example/a.git/': and https://tok3n@b.example/x",
      ),
    ).toBe("fatal: unable to access 'https://git.example/a.git/': and https://b.example/x");
  });

  it('removes the remote URL credentials wherever they appear, raw or decoded', () => {
    const remote = 'https://lifeboat-bot:s3cr%2Ft@git.example/a.git';
    expect(sanitizeText('password s3cr/t and s3cr%2Ft for lifeboat-bot', remote)).toBe(
      'password *** and *** for ***',
    );
  });

  it('leaves text alone when the remote has no credentials', () => {
    expect(sanitizeText('nothing to hide', '/srv/git/a.git')).toBe('nothing to hide');
  });
});

describe('classifyGitOutput', () => {
  it.each<[string, GitErrorKind]>([
    ["fatal: Authentication failed for 'https://git.example/a.git/'", 'auth'],
    ["fatal: could not read Username for 'https://git.example': terminal prompts disabled", 'auth'],
    ['git@git.example: Permission denied (publickey).', 'auth'],
    ["fatal: unable to access 'https://git.example/a.git/': The requested URL returned error: 403", 'auth'],
    ['fatal: unable to access ...: Could not resolve host: git.example', 'unreachable'],
    ['fatal: unable to access ...: Failed to connect to 127.0.0.1 port 1', 'unreachable'],
    ["fatal: '/srv/x.git' does not appear to be a git repository", 'unreachable'],
    ["fatal: repository '/srv/x.git' does not exist", 'unreachable'],
    [
      "remote: Repository not found.\nfatal: repository 'https://github.com/a/b.git/' not found",
      'unreachable',
    ],
    ['The requested URL returned error: 502', 'unreachable'],
    ['block timeout reached', 'unreachable'],
    ['Host key verification failed.', 'config'],
    [' ! [remote rejected] abc -> main (pre-receive hook declined)', 'config'],
    ["fatal: destination path '.' already exists and is not an empty directory.", 'config'],
    ["fatal: couldn't find remote ref refs/heads/nope", 'config'],
    ['CONFLICT (content): Merge conflict in status/a.yaml', 'conflict'],
    [' ! [rejected]        abc -> main (fetch first)\nerror: failed to push some refs', 'contended'],
    [' ! [rejected]        abc -> main (non-fast-forward)', 'contended'],
    ['fatal: something nobody expected', 'unknown'],
  ])('%j → %s', (text, kind) => {
    expect(classifyGitOutput(text)).toBe(kind);
  });
});

describe('isPushRace', () => {
  it('recognises only non-fast-forward rejections', () => {
    expect(isPushRace(new Error(' ! [rejected]        abc -> main (fetch first)'))).toBe(true);
    expect(isPushRace('error: cannot lock ref refs/heads/main: is at abc but expected def')).toBe(true);
    expect(isPushRace(new Error(' ! [remote rejected] abc -> main (pre-receive hook declined)'))).toBe(false);
  });
});

describe('translateGitError', () => {
  it('keeps a sanitized summary and drops the raw error', () => {
    const raw = new Error(
      "Cloning into '.'...\nhint: try this\nfatal: unable to access 'https://bot:tok3nvalue@git.example/a.git/': Could not resolve host: git.example",
    );
    const err = translateGitError(raw, {
      operation: 'clone',
      remoteUrl: 'https://bot:tok3nvalue@git.example/a.git',
    });
    expect(err).toBeInstanceOf(GitError);
    expect(err.kind).toBe('unreachable');
    expect(err.retryable).toBe(true);
    expect(err.detail).toBe(
      "fatal: unable to access 'https://git.example/a.git/': Could not resolve host: git.example",
    );
    expect(err.message).toBe(
      `git clone failed (unreachable): ${err.detail} — the Git server or repository could not be reached (will retry)`,
    );
    expect(err.cause).toBeUndefined();
    expect(JSON.stringify(err)).not.toContain('tok3nvalue');
  });

  it('passes a GitError through unchanged', () => {
    const original = new GitError({ kind: 'conflict', operation: 'push', detail: 'x' });
    expect(translateGitError(original, { operation: 'other' })).toBe(original);
    expect(original.retryable).toBe(false);
  });
});
