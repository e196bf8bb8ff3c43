import { describe, expect, it } from 'vitest';
import { mergedBranchFromSubject } from './merge-info.js';

describe('mergedBranchFromSubject', () => {
  it.each([
    ["Merge branch 'restore/shop-0412'", 'restore/shop-0412'],
    ["Merge branch 'restore/shop-0412' into main", 'restore/shop-0412'],
    ["Merge branch 'restore/shop-0412' into 'main'", 'restore/shop-0412'],
    ["Merge remote-tracking branch 'origin/restore/x'", 'restore/x'],
    ['Merge pull request #12 from acme/restore/team/db-9', 'restore/team/db-9'],
    ["Merge pull request 'Restore shop' (#4) from restore/shop into main", 'restore/shop'],
    ['Merged in restore/shop (pull request #3)', 'restore/shop'],
    ['restore shop-0412 (#7)', undefined],
    ['Merge tag v1.0', undefined],
  ])('%j → %s', (subject, branch) => {
    expect(mergedBranchFromSubject(subject)).toBe(branch);
  });
});
