import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chmod } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PushRetryEvent } from '../src/gitops/push-retry.js';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { BOB, commitFiles, createSandbox, git, remoteFile, remoteSha } from './gitops-fixture.js';
import type { Sandbox } from './gitops-fixture.js';

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await createSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

function workingCopy(retries: PushRetryEvent[]): WorkingCopy {
  return new WorkingCopy({
    remoteUrl: sandbox.remote,
    dir: sandbox.workDir(),
    pushRetry: { baseDelayMs: 1, maxDelayMs: 2 },
    onPushRetry: (event) => retries.push(event),
  });
}

describe('a person pushes while the reconciler is committing', () => {
  it('rebuilds our commit on top of theirs: both land, theirs untouched, nothing forced', async () => {
    const retries: PushRetryEvent[] = [];
    const wc = workingCopy(retries);
    await wc.sync();

    // Bob pushes after our last fetch and before our push.
    const bob = await sandbox.clone('bob');
    const bobsCommit = await commitFiles(
      bob,
      { 'policies/weekly.yaml': 'kind: BackupSchedule\n' },
      { message: 'add weekly', as: BOB },
    );
    await git(bob, ['push', '--quiet', 'origin', 'main']);
    const bobsTree = (await git(bob, ['rev-parse', 'HEAD^{tree}'])).trim();

    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    const result = await wc.commitAndPush({ message: 'status', trailers: { 'Lifeboat-Action': 'backup' } });

    expect(result).toMatchObject({ committed: true, attempts: 2 });
    const tip = await remoteSha(sandbox, 'main');
    expect(tip).toBe(result.committed ? result.sha : '');
    // Our commit's only parent is Bob's commit, which is unchanged (same sha, same tree).
    expect((await git(sandbox.remote, ['rev-parse', `${tip}^@`])).trim()).toBe(bobsCommit);
    expect((await git(sandbox.remote, ['rev-parse', `${bobsCommit}^{tree}`])).trim()).toBe(bobsTree);
    expect(await remoteFile(sandbox, 'main', 'policies/weekly.yaml')).toBe('kind: BackupSchedule\n');
    expect(await remoteFile(sandbox, 'main', 'status/nightly.yaml')).toBe('phase: Completed\n');
    // The retry was reported for metrics.
    expect(retries).toHaveLength(1);
    expect(retries[0]).toMatchObject({ branch: 'main', attempt: 1 });
    expect(wc.pushRetries).toBe(1);
  });

  it('keeps our version of a status file a person edited by hand, and all their other changes', async () => {
    const wc = workingCopy([]);
    await wc.sync();
    wc.writeFiles({ 'status/nightly.yaml': 'phase: InProgress\n' });
    await wc.commitAndPush({ message: 'status: in progress' });

    const bob = await sandbox.clone('bob');
    await commitFiles(
      bob,
      {
        'status/nightly.yaml': 'phase: hand-edited\n',
        'policies/nightly.yaml': 'kind: BackupSchedule # bob\n',
      },
      { message: 'fiddle with status', as: BOB },
    );
    await git(bob, ['push', '--quiet', 'origin', 'main']);

    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    const result = await wc.commitAndPush({ message: 'status: completed' });
    expect(result).toMatchObject({ committed: true, attempts: 2 });
    expect(await remoteFile(sandbox, 'main', 'status/nightly.yaml')).toBe('phase: Completed\n');
    expect(await remoteFile(sandbox, 'main', 'policies/nightly.yaml')).toBe('kind: BackupSchedule # bob\n');
    // Our commit touches only the path we wrote.
    const changed = await git(sandbox.remote, ['diff', '--name-only', 'main^', 'main']);
    expect(changed.trim()).toBe('status/nightly.yaml');
  });

  it('makes no commit when the person already pushed the same content', async () => {
    const wc = workingCopy([]);
    await wc.sync();
    const bob = await sandbox.clone('bob');
    const bobsCommit = await commitFiles(
      bob,
      { 'status/nightly.yaml': 'phase: Completed\n' },
      { message: 'same', as: BOB },
    );
    await git(bob, ['push', '--quiet', 'origin', 'main']);

    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    expect(await wc.commitAndPush({ message: 'status' })).toEqual({ committed: false, branch: 'main' });
    expect(await remoteSha(sandbox, 'main')).toBe(bobsCommit);
  });

  it('does not retry a push the server refuses for another reason', async () => {
    const retries: PushRetryEvent[] = [];
    const wc = workingCopy(retries);
    await wc.sync();
    const hook = join(sandbox.remote, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "main is protected" >&2\nexit 1\n');
    await chmod(hook, 0o755);
    const before = await remoteSha(sandbox, 'main');

    wc.writeFiles({ 'status/nightly.yaml': 'phase: Completed\n' });
    await expect(wc.commitAndPush({ message: 'status' })).rejects.toMatchObject({
      name: 'GitError',
      kind: 'config',
      operation: 'push main',
    });
    expect(retries).toEqual([]);
    expect(await remoteSha(sandbox, 'main')).toBe(before);
  });
});
