import { describe, expect, it } from 'vitest';
import { RepoPathError, branchGlob, checkBranchName, checkOwnedPath, checkRepoPath } from './repo-paths.js';

describe('checkRepoPath', () => {
  it.each(['README.md', 'restores/x.yaml', 'a/b/c.d', '.lifeboat.yaml'])('accepts %s', (path) => {
    expect(checkRepoPath(path)).toBe(path);
  });

  it.each([
    ['', /must not be empty/],
    ['/etc/passwd', /relative/],
    ['status\\x', /"\/" as separator/],
    ['status//x', /empty, "\." or "\.\."/],
    ['status/./x', /empty, "\." or "\.\."/],
    ['status/../x', /empty, "\." or "\.\."/],
    ['status/', /empty/],
    ['.git/config', /\.git/],
    ['status/.GIT/x', /\.git/],
    ['status/a\nb', /control characters/],
  ])('rejects %j', (path, error) => {
    expect(() => checkRepoPath(path)).toThrow(error);
  });
});

describe('checkOwnedPath', () => {
  it.each(['status/a.yaml', 'status/backups/x.yaml', 'plans/x.md'])('accepts %s', (path) => {
    expect(checkOwnedPath(path)).toBe(path);
  });

  it.each(['policies/a.yaml', 'statusx/a', 'status', 'plans', 'README.md', 'restores/x.yaml'])(
    'rejects %s',
    (path) => {
      expect(() => checkOwnedPath(path)).toThrow(RepoPathError);
      expect(() => checkOwnedPath(path)).toThrow(/only writes under status\/, plans\//);
    },
  );

  it('honours other prefixes', () => {
    expect(checkOwnedPath('results/x', ['results/'])).toBe('results/x');
    expect(() => checkOwnedPath('status/x', ['results/'])).toThrow(RepoPathError);
  });
});

describe('checkBranchName', () => {
  it.each(['main', 'restore/shop-0412', 'restore/team/db_1', 'lifeboat-status'])('accepts %s', (name) => {
    expect(checkBranchName(name)).toBe(name);
  });

  it.each([
    '',
    'HEAD',
    '-x',
    '--upload-pack=x',
    'a b',
    'a..b',
    'a//b',
    'a@{1}',
    'a~1',
    'a^',
    'a:b',
    'a*',
    '/a',
    'a/',
    'a.',
    'a.lock',
    'a/.b',
    'tab\there',
  ])('rejects %j', (name) => {
    expect(() => checkBranchName(name)).toThrow(/branch name/);
  });
});

describe('branchGlob', () => {
  it.each([
    ['restore/*', 'restore/x', true],
    ['restore/*', 'restore/team/x', true],
    ['restore/*', 'restore', false],
    ['restore/*', 'xrestore/x', false],
    ['restore/?', 'restore/a', true],
    ['restore/?', 'restore/ab', false],
    ['lifeboat-status', 'lifeboat-status', true],
    ['a.b', 'axb', false],
  ])('%s matches %s: %s', (pattern, name, expected) => {
    expect(branchGlob(pattern).test(name)).toBe(expected);
  });
});
