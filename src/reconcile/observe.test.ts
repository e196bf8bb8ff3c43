import { describe, expect, it } from 'vitest';
import { lastChangeLookup, policyHistory, type FileChange } from './observe.js';

describe('lastChangeLookup', () => {
  // Newest first, as `git log` lists it.
  const history: FileChange[] = [
    { sha: 'c3', files: ['schedules/a.yaml'] },
    { sha: 'c2', files: ['schedules/b.yaml', 'locations/primary.yaml'] },
    { sha: 'c1', files: ['schedules/a.yaml', 'schedules/b.yaml', 'schedules/c.yaml'] },
  ];
  const lastChange = lastChangeLookup(history);

  it("names the newest commit that changed a file, not the file's first commit", () => {
    expect(lastChange(['schedules/a.yaml'])).toBe('c3');
    expect(lastChange(['schedules/b.yaml'])).toBe('c2');
    expect(lastChange(['schedules/c.yaml'])).toBe('c1');
  });

  it('names the newest commit that changed any of several files, whatever their order', () => {
    expect(lastChange(['schedules/c.yaml', 'locations/primary.yaml'])).toBe('c2');
    expect(lastChange(['locations/primary.yaml', 'schedules/c.yaml'])).toBe('c2');
    expect(lastChange(['schedules/c.yaml', 'schedules/a.yaml'])).toBe('c3');
  });

  it('names no commit for files the history never changed, or for none', () => {
    expect(lastChange(['README.md'])).toBeUndefined();
    expect(lastChange([])).toBeUndefined();
    expect(lastChangeLookup([])(['schedules/a.yaml'])).toBeUndefined();
  });
});

describe('policyHistory', () => {
  it('keeps the commits that changed the policy files, with those files only, newest first', () => {
    // Every commit that changed a person's files, as one `git log` lists them.
    const log: FileChange[] = [
      { sha: 'c4', files: ['README.md'] },
      { sha: 'c3', files: ['README.md', 'schedules/a.yaml'] },
      { sha: 'c2', files: ['schedules/gone.yaml', 'schedules/b.yaml'] },
      { sha: 'c1', files: ['schedules/a.yaml'] },
    ];
    expect(policyHistory(log, ['schedules/b.yaml', 'schedules/a.yaml', 'schedules/a.yaml'])).toEqual([
      { sha: 'c3', files: ['schedules/a.yaml'] },
      { sha: 'c2', files: ['schedules/b.yaml'] },
      { sha: 'c1', files: ['schedules/a.yaml'] },
    ]);
    expect(policyHistory(log, [])).toEqual([]);
  });
});
