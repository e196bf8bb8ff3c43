import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findApproval } from '../src/gitops/merge-info.js';
import { WorkingCopy } from '../src/gitops/working-copy.js';
import { ALICE, BOB, CAROL, commitFiles, createSandbox, git } from './gitops-fixture.js';
import type { Person, Sandbox } from './gitops-fixture.js';

const GITHUB: Person = { name: 'GitHub', email: 'noreply@github.com' };
const RESTORE = 'restores/shop-0412.yaml';

let sandbox: Sandbox;
let alice: string;
let carol: string;
let requestSha: string;

beforeEach(async () => {
  sandbox = await createSandbox();
  alice = await sandbox.clone('alice');
  carol = await sandbox.clone('carol');
  // Alice asks for a restore on a review branch; Bob amends it there.
  await git(alice, ['checkout', '--quiet', '-b', 'restore/shop-0412', 'origin/main']);
  requestSha = await commitFiles(
    alice,
    { [RESTORE]: 'kind: Restore\n' },
    { message: 'request restore shop-0412', as: ALICE, date: '2024-03-01T10:00:00Z' },
  );
  await commitFiles(
    alice,
    { [RESTORE]: 'kind: Restore\nspec: {}\n' },
    { message: 'tweak', as: BOB, date: '2024-03-01T10:30:00Z' },
  );
  await git(alice, ['push', '--quiet', 'origin', 'restore/shop-0412']);
  // Main moves on meanwhile, so a merge cannot be a fast-forward by accident.
  await commitFiles(
    carol,
    { 'policies/other.yaml': 'x: 1\n' },
    { message: 'other', as: CAROL, date: '2024-03-01T11:00:00Z' },
  );
  await git(carol, ['fetch', '--quiet', 'origin']);
  await git(carol, ['branch', '--quiet', 'restore/shop-0412', 'origin/restore/shop-0412']);
});

afterEach(async () => {
  await sandbox.cleanup();
});

async function syncedCopy(): Promise<WorkingCopy> {
  await git(carol, ['push', '--quiet', 'origin', 'main']);
  const wc = new WorkingCopy({ remoteUrl: sandbox.remote, dir: sandbox.workDir() });
  await wc.sync();
  return wc;
}

describe('findApproval', () => {
  it('names the merger and the requester of a --no-ff merge', async () => {
    await git(carol, ['merge', '--quiet', '--no-ff', '--no-edit', 'restore/shop-0412'], {
      as: CAROL,
      date: '2024-03-02T09:00:00Z',
    });
    const mergeSha = (await git(carol, ['rev-parse', 'HEAD'])).trim();
    const wc = await syncedCopy();

    expect(await findApproval(wc, { path: RESTORE })).toEqual({
      path: RESTORE,
      via: 'merge',
      mergeCommit: mergeSha,
      mergedBy: CAROL,
      mergedAt: new Date('2024-03-02T09:00:00Z'),
      requestCommit: requestSha,
      requestedBy: ALICE,
      requestedAt: new Date('2024-03-01T10:00:00Z'),
      branch: 'restore/shop-0412',
    });
  });

  it('takes the approver from the author of a forge web merge, not the forge committer', async () => {
    await git(
      carol,
      [
        'merge',
        '--quiet',
        '--no-ff',
        '-m',
        'Merge pull request #7 from acme/restore/shop-0412',
        'restore/shop-0412',
      ],
      { as: CAROL, committer: GITHUB, date: '2024-03-02T09:00:00Z' },
    );
    const approval = await findApproval(await syncedCopy(), { path: RESTORE });
    expect(approval).toMatchObject({
      via: 'merge',
      mergedBy: CAROL,
      requestedBy: ALICE,
      branch: 'restore/shop-0412',
    });
  });

  it('accepts a squash merge as "linear": requester = author, approver = committer', async () => {
    await git(carol, ['merge', '--quiet', '--squash', 'restore/shop-0412']);
    await git(carol, ['commit', '--quiet', '-m', 'restore shop-0412 (#7)'], {
      as: ALICE,
      committer: CAROL,
      date: '2024-03-01T10:00:00Z',
      committerDate: '2024-03-02T09:00:00Z',
    });
    const squashSha = (await git(carol, ['rev-parse', 'HEAD'])).trim();
    const approval = await findApproval(await syncedCopy(), { path: RESTORE });
    expect(approval).toEqual({
      path: RESTORE,
      via: 'linear',
      mergeCommit: squashSha,
      mergedBy: CAROL,
      mergedAt: new Date('2024-03-02T09:00:00Z'),
      requestCommit: squashSha,
      requestedBy: ALICE,
      requestedAt: new Date('2024-03-01T10:00:00Z'),
    });
  });

  it('finds nothing while the request sits on its review branch', async () => {
    const wc = await syncedCopy();
    expect(await findApproval(wc, { path: RESTORE })).toBeUndefined();
    // ...even though the branch itself contains the file.
    expect(await findApproval(wc, { path: RESTORE, branch: 'restore/shop-0412' })).toMatchObject({
      via: 'linear',
      requestedBy: ALICE,
    });
  });

  it('uses the latest arrival when a restore name is reused', async () => {
    await git(carol, ['merge', '--quiet', '--no-ff', '--no-edit', 'restore/shop-0412'], { as: CAROL });
    await commitFiles(carol, { [RESTORE]: null }, { message: 'done with it', as: CAROL });
    await git(carol, ['checkout', '--quiet', '-b', 'restore/again']);
    const again = await commitFiles(
      carol,
      { [RESTORE]: 'kind: Restore\n# again\n' },
      { message: 'again', as: BOB },
    );
    await git(carol, ['checkout', '--quiet', 'main']);
    await git(carol, ['merge', '--quiet', '--no-ff', '--no-edit', 'restore/again'], { as: ALICE });
    const approval = await findApproval(await syncedCopy(), { path: RESTORE });
    expect(approval).toMatchObject({
      via: 'merge',
      requestCommit: again,
      requestedBy: BOB,
      mergedBy: ALICE,
      branch: 'restore/again',
    });
  });
});
