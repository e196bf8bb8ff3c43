import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { ALICE, commitFiles, createSandbox, git, remoteFile, remoteSha } from './gitops-fixture.js';
import type { Sandbox } from './gitops-fixture.js';

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
  const alice = await sandbox.clone('alice');
  for (const name of ['shop-0412', 'team/db-0413']) {
    await git(alice, ['checkout', '--quiet', '-b', `restore/${name}`, 'origin/main']);
    const file = `restores/${name.replace('/', '-')}.yaml`;
    await commitFiles(
      alice,
      { [file]: `kind: Restore\nmetadata: { name: ${name} }\n` },
      { message: `request ${name}` },
    );
    await git(alice, ['push', '--quiet', 'origin', `restore/${name}`]);
  }
  await git(alice, ['checkout', '--quiet', '-b', 'feature/unrelated', 'origin/main']);
  await git(alice, ['push', '--quiet', 'origin', 'feature/unrelated'], { as: ALICE });
});

afterEach(async () => {
  await sandbox.cleanup();
});

describe('review branches', () => {
  it('lists restore/* branches with their commits, nested names included', async () => {
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    expect(await wc.remoteBranches()).toEqual([
      { name: 'restore/shop-0412', sha: await remoteSha(sandbox, 'restore/shop-0412') },
      { name: 'restore/team/db-0413', sha: await remoteSha(sandbox, 'restore/team/db-0413') },
    ]);
    expect((await wc.remoteBranches('feature/*')).map((b) => b.name)).toEqual(['feature/unrelated']);
  });

  it('forgets branches deleted on the remote at the next sync', async () => {
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    await git(sandbox.remote, ['branch', '-D', 'restore/shop-0412']);
    await wc.sync();
    expect((await wc.remoteBranches()).map((b) => b.name)).toEqual(['restore/team/db-0413']);
  });

  it('checks out a review branch, commits a plan to it, and leaves main alone', async () => {
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    const mainBefore = await remoteSha(sandbox, 'main');

    const branchHead = await wc.checkoutBranch('restore/shop-0412');
    expect(await wc.head()).toBe(branchHead);
    expect(await wc.readFile('restores/shop-0412.yaml')).toContain('name: shop-0412');
    expect(await wc.listFiles('restores/')).toEqual(['restores/shop-0412.yaml']);

    wc.writeFiles({ 'plans/shop-0412.md': '# Plan\n3 create\n', 'plans/shop-0412.json': '{"create":3}\n' });
    const result = await wc.commitAndPush({
      branch: 'restore/shop-0412',
      message: 'plan restore shop-0412',
      trailers: { 'Lifeboat-Action': 'plan-restore', 'Lifeboat-Restore': 'shop-0412' },
    });
    expect(result).toMatchObject({ committed: true, branch: 'restore/shop-0412' });
    expect(await remoteFile(sandbox, 'restore/shop-0412', 'plans/shop-0412.md')).toBe('# Plan\n3 create\n');
    expect((await git(sandbox.remote, ['rev-parse', 'restore/shop-0412^'])).trim()).toBe(branchHead);
    expect(await remoteSha(sandbox, 'main')).toBe(mainBefore);
    expect(await wc.readFile('plans/shop-0412.md')).toBe('# Plan\n3 create\n');

    // sync() returns to main, where the plan does not exist.
    await wc.sync();
    expect(await wc.readFile('plans/shop-0412.md')).toBeUndefined();
    expect(await wc.readFile('plans/shop-0412.md', { branch: 'restore/shop-0412' })).toBe(
      '# Plan\n3 create\n',
    );
    expect(await wc.listFiles('plans/', { branch: 'restore/shop-0412' })).toEqual([
      'plans/shop-0412.json',
      'plans/shop-0412.md',
    ]);
  });

  it('commits to a review branch without checking it out', async () => {
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    wc.writeFiles({ 'plans/db-0413.md': '# Plan\n' });
    await wc.commitAndPush({ branch: 'restore/team/db-0413', message: 'plan' });
    expect(await remoteFile(sandbox, 'restore/team/db-0413', 'plans/db-0413.md')).toBe('# Plan\n');
    expect(await remoteFile(sandbox, 'restore/team/db-0413', 'restores/team-db-0413.yaml')).toContain(
      'db-0413',
    );
  });

  it('reports a missing branch as a config error', async () => {
    const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
    await wc.sync();
    await expect(wc.checkoutBranch('restore/gone')).rejects.toMatchObject({
      name: 'GitError',
      kind: 'config',
    });
    wc.writeFiles({ 'plans/gone.md': '# Plan\n' });
    await expect(wc.commitAndPush({ branch: 'restore/gone', message: 'plan' })).rejects.toMatchObject({
      kind: 'config',
      message: expect.stringContaining('the remote has no branch "restore/gone"'),
    });
    await expect(wc.checkoutBranch('--upload-pack=evil')).rejects.toThrow(/must not start with "-"/);
  });
});
