import { describe, expect, it } from 'vitest';
import { approvers, type Review } from './forge.js';

describe('approvers', () => {
  it('counts each user once by their last deciding review, without stale or dismissed ones', () => {
    const reviews: Review[] = [
      { user: 'bob', state: 'approved', stale: false },
      { user: 'carol', state: 'approved', stale: false },
      { user: 'carol', state: 'changes-requested', stale: false },
      { user: 'dave', state: 'approved', stale: true },
      { user: 'erin', state: 'approved', stale: false },
      { user: 'erin', state: 'commented', stale: false },
    ];
    expect(approvers(reviews)).toEqual(['bob', 'erin']);
  });
});

describe('forgeRepoOf', () => {
  it('takes owner/name from the flag or the repository URL', async () => {
    const { forgeRepoOf } = await import('./from-flags.js');
    expect(forgeRepoOf({}, 'https://git.example.com/platform/policies.git')).toEqual({
      owner: 'platform',
      repo: 'policies',
    });
    expect(forgeRepoOf({}, 'git@git.example.com:platform/policies.git')).toEqual({
      owner: 'platform',
      repo: 'policies',
    });
    expect(forgeRepoOf({ forgeRepo: 'a/b' }, 'x')).toEqual({ owner: 'a', repo: 'b' });
    expect(() => forgeRepoOf({ forgeRepo: 'nope' }, 'x')).toThrow('not owner/name');
  });
});
