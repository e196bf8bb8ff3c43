import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RepoPathError } from '../src/gitops/repo-paths.js';
import { REPACK_AFTER_BLOBS, WorkingCopy } from '../src/gitops/working-copy.js';
import { BOB, commitFiles, createSandbox, git, remoteFile, remoteSha } from './gitops-fixture.js';
import type { Sandbox } from './gitops-fixture.js';

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

function workingCopy(options: Partial<ConstructorParameters<typeof WorkingCopy>[0]> = {}): WorkingCopy {
  return new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir(), ...options });
}

describe('sync', () => {
  it('clones into a missing directory and checks out main', async () => {
    const wc = workingCopy();
    const head = await wc.sync();
    expect(head).toBe(await remoteSha(sandbox, 'main'));
    expect(await wc.head()).toBe(head);
    expect(await wc.readFile('policies/nightly.yaml')).toContain('name: nightly');
    expect(await wc.listFiles()).toEqual(['README.md', 'policies/nightly.yaml']);
    expect(await wc.listFiles('policies/')).toEqual(['policies/nightly.yaml']);
    expect(await wc.readFile('policies/missing.yaml')).toBeUndefined();
  });

  it('fetches new commits and discards anything local in the working tree', async () => {
    const wc = workingCopy();
    await wc.sync();
    const bob = await sandbox.clone('bob');
    const pushed = await commitFiles(
      bob,
      { 'policies/weekly.yaml': 'kind: BackupSchedule\n' },
      { message: 'weekly', as: BOB },
    );
    await git(bob, ['push', '--quiet', 'origin', 'main']);
    // Debris a crashed pass could leave behind.
    await writeFile(join(wc.dir, 'policies/nightly.yaml'), 'scribbled\n');
    await mkdir(join(wc.dir, 'status'), { recursive: true });
    await writeFile(join(wc.dir, 'status/stray.yaml'), 'stray\n');

    expect(await wc.sync()).toBe(pushed);
    expect(await wc.readFile('policies/weekly.yaml')).toBe('kind: BackupSchedule\n');
    expect(await wc.readFile('policies/nightly.yaml')).toContain('name: nightly');
    expect(await wc.readFile('status/stray.yaml')).toBeUndefined();
  });

  it('reports a remote without the configured branch as a config error', async () => {
    const wc = workingCopy({ branch: 'production' });
    await expect(wc.sync()).rejects.toMatchObject({ name: 'GitError', kind: 'config' });
  });
});

describe('writeFiles', () => {
  it.each([
    'policies/nightly.yaml',
    'README.md',
    'restores/x.yaml',
    'status/../policies/nightly.yaml',
    '../outside.yaml',
    '/etc/passwd',
    'status/.git/config',
    'status/',
    'plans',
  ])('refuses %s', async (path) => {
    const wc = workingCopy();
    await wc.sync();
    expect(() => wc.writeFiles({ 'status/ok.yaml': 'ok\n', [path]: 'x\n' })).toThrow(RepoPathError);
    // All or nothing: the valid path of the same call was not staged either.
    expect(wc.pendingPaths()).toEqual([]);
  });

  it('never changes files outside its trees, even when committing', async () => {
    const wc = workingCopy();
    const before = await wc.sync();
    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n', 'plans/x.md': '# plan\n' });
    const result = await wc.commitAndPush({ message: 'status: nightly' });
    expect(result.committed).toBe(true);
    const changed = await git(sandbox.remote, ['diff', '--name-only', before, 'refs/heads/main']);
    expect(changed.trim().split('\n').sort()).toEqual(['plans/x.md', 'status/nightly.yaml']);
  });
});

describe('commitAndPush', () => {
  it('commits only when the content changed', async () => {
    const wc = workingCopy();
    await wc.sync();
    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    const first = await wc.commitAndPush({ message: 'status: nightly completed' });
    expect(first).toMatchObject({ committed: true, branch: 'main', attempts: 1 });
    expect(await remoteSha(sandbox, 'main')).toBe(first.committed ? first.sha : '');

    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    expect(await wc.commitAndPush({ message: 'status: nightly completed' })).toEqual({
      committed: false,
      branch: 'main',
    });
    expect(await wc.commitAndPush({ message: 'nothing staged' })).toEqual({
      committed: false,
      branch: 'main',
    });
    expect(await git(sandbox.remote, ['rev-list', '--count', 'main'])).toBe('2\n');
  });

  it('appends trailers that git log reads back, under the configured identity', async () => {
    const wc = workingCopy({ author: { name: 'lifeboat-prod', email: 'backup@example.com' } });
    await wc.sync();
    wc.writeFiles({ 'status/backups/nightly-1.yaml': 'phase: Completed\n' });
    await wc.commitAndPush({
      message: 'backup nightly-1 completed',
      trailers: { 'Lifeboat-Action': 'backup', 'Lifeboat-Backup': ['nightly-1', 'nightly-2'] },
    });
    const log = await git(sandbox.remote, [
      'log',
      '-1',
      '--format=%an <%ae>|%cn <%ce>|%s|%(trailers:key=Lifeboat-Action,valueonly,separator=%x2C)|%(trailers:key=Lifeboat-Backup,valueonly,separator=%x2C)',
      'main',
    ]);
    expect(log.trim()).toBe(
      'lifeboat-prod <backup@example.com>|lifeboat-prod <backup@example.com>|backup nightly-1 completed|backup|nightly-1,nightly-2',
    );
  });

  it('uses "lifeboat <lifeboat@localhost>" by default', async () => {
    const wc = workingCopy();
    await wc.sync();
    wc.writeFiles({ 'status/a.yaml': 'a\n' });
    await wc.commitAndPush({ message: 'status' });
    expect(await git(sandbox.remote, ['log', '-1', '--format=%an <%ae>', 'main'])).toBe(
      'lifeboat <lifeboat@localhost>\n',
    );
  });

  it('deletes files staged as null and keeps the checkout in step', async () => {
    const wc = workingCopy();
    await wc.sync();
    wc.writeFiles({ 'status/a.yaml': 'a\n', 'status/b.yaml': 'b\n' });
    await wc.commitAndPush({ message: 'two' });
    wc.writeFiles({ 'status/a.yaml': null, 'status/never-existed.yaml': null });
    const result = await wc.commitAndPush({ message: 'drop a' });
    expect(result.committed).toBe(true);
    expect(await remoteFile(sandbox, 'main', 'status/a.yaml')).toBeUndefined();
    expect(await remoteFile(sandbox, 'main', 'status/b.yaml')).toBe('b\n');
    // The working tree shows the branch we committed to.
    expect(await wc.readFile('status/b.yaml')).toBe('b\n');
    expect(await wc.readFile('status/a.yaml')).toBeUndefined();
    expect(await wc.head()).toBe(result.committed ? result.sha : '');
  });

  it('packs the loose objects of a commit of many files, so the next read of the tree is cheap', async () => {
    const wc = workingCopy();
    await wc.sync();
    const loose = async () => Number(/^count: (\d+)$/m.exec(await git(wc.dir, ['count-objects', '-v']))?.[1]);

    // Below the threshold: Git's own gc --auto is left to deal with a few loose objects.
    wc.writeFiles({ 'status/few/a.yaml': 'a: 1\n', 'status/few/b.yaml': 'b: 2\n' });
    expect((await wc.commitAndPush({ message: 'status: two files' })).committed).toBe(true);
    expect(await loose()).toBeGreaterThan(0);

    const files: Record<string, string> = {};
    for (let i = 0; i < REPACK_AFTER_BLOBS; i++) files[`status/many/f${i}.yaml`] = `n: ${i}\n`;
    wc.writeFiles(files);
    expect((await wc.commitAndPush({ message: 'status: many files' })).committed).toBe(true);
    expect(await loose()).toBe(0);
    const read = await wc.readFiles('status/many/', { branch: 'main' });
    expect(Object.fromEntries(read)).toEqual(files);
    expect(await remoteFile(sandbox, 'main', 'status/many/f7.yaml')).toBe('n: 7\n');
  });

  it('merges main into a review branch it writes to again after a squash merge (mergeFrom), only when the content changed', async () => {
    const wc = workingCopy();
    await wc.sync();
    const opts = { branch: 'restore/x-replan', createFrom: 'main', mergeFrom: 'main' };
    wc.writeFiles({ 'plans/x.json': 'v1\n' });
    const first = await wc.commitAndPush({ message: 'plan v1', ...opts });
    const mainBefore = await remoteSha(sandbox, 'main');
    expect(await git(sandbox.remote, ['rev-list', '--parents', '-1', 'restore/x-replan'])).toBe(
      `${first.committed ? first.sha : ''} ${mainBefore ?? ''}\n`,
    );
    // A squash merge: main gets the same content in a commit of its own, and a status after it.
    wc.writeFiles({ 'plans/x.json': 'v1\n', 'status/x.yaml': 'phase: Stalled\n' });
    const squash = await wc.commitAndPush({ message: 'squash' });
    // The same plan again: it is on the branch, so nothing is committed, main not merged in.
    wc.writeFiles({ 'plans/x.json': 'v1\n' });
    expect(await wc.commitAndPush({ message: 'plan v1 again', ...opts })).toEqual({
      committed: false,
      branch: 'restore/x-replan',
    });
    // A new plan: a merge of the branch's tip and main's, with main's tree plus the change.
    wc.writeFiles({ 'plans/x.json': 'v2\n' });
    const second = await wc.commitAndPush({ message: 'plan v2', ...opts });
    expect(await git(sandbox.remote, ['rev-list', '--parents', '-1', 'restore/x-replan'])).toBe(
      `${second.committed ? second.sha : ''} ${first.committed ? first.sha : ''} ${squash.committed ? squash.sha : ''}\n`,
    );
    expect(await remoteFile(sandbox, 'restore/x-replan', 'plans/x.json')).toBe('v2\n');
    expect(await remoteFile(sandbox, 'restore/x-replan', 'status/x.yaml')).toBe('phase: Stalled\n');
    // Main is now contained: the next change is a plain commit on the branch.
    wc.writeFiles({ 'plans/x.json': 'v3\n' });
    const third = await wc.commitAndPush({ message: 'plan v3', ...opts });
    expect(await git(sandbox.remote, ['rev-list', '--parents', '-1', 'restore/x-replan'])).toBe(
      `${third.committed ? third.sha : ''} ${second.committed ? second.sha : ''}\n`,
    );
  });

  it('rejects malformed trailers before touching the repository', async () => {
    const wc = workingCopy();
    await wc.sync();
    wc.writeFiles({ 'status/a.yaml': 'a\n' });
    await expect(async () =>
      wc.commitAndPush({ message: 'x', trailers: { 'Lifeboat-Action': 'backup\nLifeboat-Restore: forged' } }),
    ).rejects.toThrow(/one non-empty line/);
    expect(await git(sandbox.remote, ['rev-list', '--count', 'main'])).toBe('1\n');
  });
});

describe('readFile', () => {
  it('refuses symlinks that lead out of the working copy', async () => {
    const bob = await sandbox.clone('bob');
    await git(bob, ['config', 'core.symlinks', 'true']);
    await writeFile(join(sandbox.root, 'secret.txt'), 'outside\n');
    await symlink(join(sandbox.root, 'secret.txt'), join(bob, 'link.yaml'));
    await git(bob, ['add', 'link.yaml']);
    await git(bob, ['commit', '--quiet', '-m', 'link']);
    await git(bob, ['push', '--quiet', 'origin', 'main']);
    const wc = workingCopy();
    await wc.sync();
    await expect(wc.readFile('link.yaml')).rejects.toThrow(/outside the working copy/);
    // From a branch, a symlink is not a file.
    expect(await wc.readFile('link.yaml', { branch: 'main' })).toBeUndefined();
  });
});

describe('readFiles', () => {
  it('reads every file under a prefix of a branch at once, as readFile reads each', async () => {
    const bob = await sandbox.clone('bob');
    await git(bob, ['config', 'core.symlinks', 'true']);
    const files: Record<string, string> = {
      'status/schedules/a.yaml': 'name: a\n',
      // Two files with the same content share one blob.
      'status/schedules/b.yaml': 'name: a\n',
      'status/backups/ünïcode — x.yaml': 'message: "naïve — ü"\n',
      'status/empty.yaml': '',
      'statusquo.yaml': 'not under status/\n',
    };
    await commitFiles(bob, files, { message: 'status', as: BOB });
    await symlink('a.yaml', join(bob, 'status/schedules/link.yaml'));
    await git(bob, ['add', 'status/schedules/link.yaml']);
    await git(bob, ['commit', '--quiet', '-m', 'link']);
    await git(bob, ['push', '--quiet', 'origin', 'main']);
    const wc = workingCopy();
    await wc.sync();

    const read = await wc.readFiles('status/', { branch: 'main' });
    const expected = Object.keys(files)
      .filter((f) => f.startsWith('status/'))
      .sort();
    expect([...read.keys()]).toEqual(expected);
    for (const path of expected) {
      expect(read.get(path)).toBe(files[path]);
      expect(read.get(path)).toBe(await wc.readFile(path, { branch: 'main' }));
    }
    await expect(wc.readFiles('status/', { branch: 'missing' })).rejects.toMatchObject({ name: 'GitError' });
  });
});
