// Path rules for the policy repository. The reconciler owns a few top-level trees and never
// writes anywhere else, so a bug or a crafted name can never touch a file a person wrote.

/** The trees the reconciler writes. Everything else in the repository belongs to people. */
export const RECONCILER_PREFIXES: readonly string[] = ['status/', 'plans/'];

export class RepoPathError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`repository path ${JSON.stringify(path)}: ${reason}`);
    this.name = 'RepoPathError';
  }
}

/**
 * Check a repository-relative path ("status/nightly.yaml"): forward slashes, no ".", "..",
 * empty segments, absolute paths or `.git`. Returns it unchanged so calls can be inlined.
 */
export function checkRepoPath(path: string): string {
  if (path === '') throw new RepoPathError(path, 'must not be empty');
  if (path.startsWith('/')) throw new RepoPathError(path, 'must be relative to the repository root');
  if (path.includes('\\')) throw new RepoPathError(path, 'must use "/" as separator');
  if (hasControlCharacter(path)) throw new RepoPathError(path, 'must not contain control characters');
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') {
      throw new RepoPathError(path, 'must not contain empty, "." or ".." segments');
    }
    if (segment.toLowerCase() === '.git') throw new RepoPathError(path, 'must not point into .git');
  }
  return path;
}

/** Check that the reconciler may write `path`: valid, and inside one of its own trees. */
export function checkOwnedPath(path: string, prefixes: readonly string[] = RECONCILER_PREFIXES): string {
  checkRepoPath(path);
  if (!prefixes.some((prefix) => path.startsWith(prefix) && path.length > prefix.length)) {
    throw new RepoPathError(path, `the reconciler only writes under ${prefixes.join(', ')}`);
  }
  return path;
}

/**
 * Match a branch name against a glob where `*` matches any run of characters, "/" included
 * (so "restore/*" also matches "restore/team/x"), and `?` matches one character.
 */
export function branchGlob(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((ch) => {
      if (ch === '*') return '.*';
      if (ch === '?') return '.';
      return ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * Check a branch name against the rules of git-check-ref-format(1) that matter to us, so a
 * name can never be taken for an option or a revision expression.
 */
export function checkBranchName(name: string): string {
  const bad = (reason: string) => new Error(`branch name ${JSON.stringify(name)}: ${reason}`);
  if (name === '' || name === 'HEAD') throw bad('must be a branch name');
  if (name.startsWith('-')) throw bad('must not start with "-"');
  if (/[\s~^:?*[\\]/.test(name) || hasControlCharacter(name)) {
    throw bad('must not contain spaces, control characters or any of ~^:?*[\\');
  }
  if (name.includes('..') || name.includes('//') || name.includes('@{')) {
    throw bad('must not contain "..", "//" or "@{"');
  }
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock')) {
    throw bad('must not start or end with "/", or end with "." or ".lock"');
  }
  if (name.split('/').some((part) => part.startsWith('.'))) throw bad('no component may start with "."');
  return name;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}
