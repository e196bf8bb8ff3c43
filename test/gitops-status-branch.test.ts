import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { createSandbox, git, remoteFile, remoteSha } from './gitops-fixture.js';
import type { Sandbox } from './gitops-fixture.js';

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

describe('status on a separate branch', () => {
  it('creates the status branch from main on the first change and leaves main untouched', async () => {
    const wc = new WorkingCopy({
      remoteUrl: sandbox.remote,
      dir: sandbox.workDir(),
      statusBranch: 'lifeboat-status',
    });
    const main = await wc.sync();
    expect(await remoteSha(sandbox, 'lifeboat-status')).toBeUndefined();

    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    const first = await wc.commitAndPush({ message: 'status' });
    expect(first).toMatchObject({ committed: true, branch: 'lifeboat-status' });
    expect((await git(sandbox.remote, ['rev-parse', 'lifeboat-status^'])).trim()).toBe(main);
    expect(await remoteSha(sandbox, 'main')).toBe(main);
    // The checkout still shows main.
    expect(await wc.head()).toBe(main);
    expect(await wc.readFile('status/nightly.yaml')).toBeUndefined();
    expect(await wc.readFile('status/nightly.yaml', { branch: 'lifeboat-status' })).toBe(
      'phase: Completed\n',
    );

    // Later commits build on the status branch, not on main.
    wc.writeFiles({ 'status/weekly.yaml': 'phase: New\n' });
    const second = await wc.commitAndPush({ message: 'status 2' });
    expect((await git(sandbox.remote, ['rev-parse', 'lifeboat-status^'])).trim()).toBe(
      first.committed ? first.sha : '',
    );
    expect(second.committed).toBe(true);
    expect(await remoteFile(sandbox, 'lifeboat-status', 'status/nightly.yaml')).toBe('phase: Completed\n');
    expect(await wc.listFiles('status/', { branch: 'lifeboat-status' })).toEqual([
      'status/nightly.yaml',
      'status/weekly.yaml',
    ]);
  });

  it('does not create the branch when there is nothing to record', async () => {
    const wc = new WorkingCopy({
      remoteUrl: sandbox.remote,
      dir: sandbox.workDir(),
      statusBranch: 'lifeboat-status',
    });
    await wc.sync();
    expect(await wc.commitAndPush({ message: 'status' })).toEqual({
      committed: false,
      branch: 'lifeboat-status',
    });
    expect(await remoteSha(sandbox, 'lifeboat-status')).toBeUndefined();
  });
});
