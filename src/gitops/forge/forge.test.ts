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
